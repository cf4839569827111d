"""`--demo`: a seeded district on loopback, this counter enrolled, synced in the background."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import func, select

from desktop.demo import start_demo
from desktop.services.applications import record_push_result
from desktop.store.models import PersonRecord
from desktop.sync.credentials import MemoryKeyring
from desktop.sync.worker import SyncWorker


def test_demo_district_syncs(tmp_path: Path, memory_keyring: MemoryKeyring) -> None:
    demo = start_demo(tmp_path, persons=40)
    try:
        statuses = []
        worker = SyncWorker(demo.store, demo.client, on_status=statuses.append,
                            on_result=record_push_result)
        status = worker.sync_now()
        assert status.online and status.waiting == 0 and status.last_sync is not None
        assert any(s.progress for s in statuses)  # the pull reported rows done / total
        with demo.store.session() as session:
            assert session.scalar(select(func.count()).select_from(PersonRecord))
        assert demo.url.startswith("http://127.0.0.1:")
        # the token went to the keyring, nowhere else
        assert any(v for v in memory_keyring.secrets.values())
    finally:
        demo.close()
    assert demo.server.poll() is not None


def test_demo_screenshots_of_the_main_screens(tmp_path: Path) -> None:
    """`python -m desktop --demo --screenshots DIR` (issue 4): the main screens as PNGs."""
    import os
    import subprocess
    import sys

    root = Path(__file__).resolve().parents[2]
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "PYTHON_KEYRING_BACKEND":
           "keyring.backends.null.Keyring", "XDG_CONFIG_HOME": str(tmp_path / "config")}
    done = subprocess.run([sys.executable, "-m", "desktop", "--demo", "--screenshots",
                           str(tmp_path / "shots")], cwd=root, env=env, capture_output=True,
                          text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    names = sorted(p.name for p in (tmp_path / "shots").glob("*.png"))
    assert names == ["01-search.png", "02-person-ticked.png", "03-trace.png", "04-submit.png",
                     "05-approval-queue.png"]
    assert all((tmp_path / "shots" / n).stat().st_size > 10_000 for n in names)
