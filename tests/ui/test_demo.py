"""`--demo`: a seeded district on loopback, this counter enrolled, synced in the background.

The district runs inside the process (seeded by a call, served by uvicorn in a thread): no
child process, and nothing of it (thread, folder, keyring entries) left once the demo closes.
"""

from __future__ import annotations

import multiprocessing
import os
import subprocess
import threading
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from desktop.demo import DEMO_PASSWORD, SERVER_THREAD, DemoError, start_demo
from desktop.services.applications import record_push_result
from desktop.store.models import PersonRecord
from desktop.sync.client import DistrictClient
from desktop.sync.credentials import MemoryKeyring
from desktop.sync.worker import SyncStatus, SyncWorker


def _children() -> set[int]:
    """This process's child processes (Linux: /proc; elsewhere multiprocessing's own)."""
    found = {p.pid for p in multiprocessing.active_children() if p.pid is not None}
    tasks = Path("/proc/self/task")
    if tasks.is_dir():
        for task in tasks.iterdir():
            found |= {int(pid) for pid in (task / "children").read_text("ascii").split()}
    return found


def _no_subprocesses(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    started: list[Any] = []

    def refuse(*args: Any, **_kwargs: Any) -> Any:
        started.append(args)
        raise AssertionError(f"the demo started a process: {args!r}")

    monkeypatch.setattr(subprocess, "Popen", refuse)
    monkeypatch.setattr(os, "posix_spawn", refuse, raising=False)
    return started


def test_demo_district_syncs(tmp_path: Path, memory_keyring: MemoryKeyring) -> None:
    demo = start_demo(tmp_path / "demo", persons=40)
    try:
        statuses: list[SyncStatus] = []
        worker = SyncWorker(demo.store, demo.client, on_status=statuses.append,
                            on_result=record_push_result)
        status = worker.sync_now()
        assert status.online and status.waiting == 0 and status.last_sync is not None
        assert any(s.progress for s in statuses)  # the pull reported rows done / total
        with demo.store.session() as session:
            assert session.scalar(select(func.count()).select_from(PersonRecord))
        assert demo.url.startswith("http://127.0.0.1:")
        # `make run` prints the console's address and its demo administrator, and they work
        console = next(n for n in demo.notes if "区管理台" in n)
        assert f"{demo.url}/console/" in console and "changning.admin" in console
        with httpx.Client(base_url=demo.url) as browser:
            signed_in = browser.post("/console/login", data={
                "username": "changning.admin", "password": DEMO_PASSWORD})
            assert signed_in.status_code == 303
            assert signed_in.headers["location"] == "/console/"
        # the token went to the keyring, nowhere else
        assert any(v for v in memory_keyring.secrets.values())
    finally:
        demo.close()
    assert not demo.server.alive


def test_demo_runs_in_process_and_leaves_nothing_behind(
        tmp_path: Path, memory_keyring: MemoryKeyring, monkeypatch: pytest.MonkeyPatch) -> None:
    children_before = _children()
    started = _no_subprocesses(monkeypatch)
    folder = tmp_path / "demo"
    demo = start_demo(folder, persons=10)
    try:
        assert [t for t in threading.enumerate() if t.name == SERVER_THREAD]
        assert httpx.get(f"{demo.url}/api/v1/health", timeout=5).status_code == 200
        assert (folder / "district.sqlite").is_file() and (folder / "counter.sqlite").is_file()
        assert _children() <= children_before
        assert memory_keyring.secrets  # the device token and the cache's key
    finally:
        demo.close()
    assert started == []
    assert not folder.exists()
    assert not [t for t in threading.enumerate() if t.name == SERVER_THREAD and t.is_alive()]
    with pytest.raises(httpx.HTTPError):  # nothing listens there any more
        httpx.get(f"{demo.url}/api/v1/health", timeout=2)
    assert not any(memory_keyring.secrets.values())  # no entry per run left in the keyring
    demo.close()  # a second close does nothing


def test_demo_in_a_fresh_temporary_folder_is_removed(
        tmp_path: Path, memory_keyring: MemoryKeyring, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    monkeypatch.setattr("tempfile.tempdir", None)  # read TMPDIR again
    demo = start_demo(persons=0)
    try:
        assert demo.folder.parent == tmp_path
        assert demo.folder.name.startswith("counter-desk-demo-")
    finally:
        demo.close()
    assert list(tmp_path.iterdir()) == []


def test_a_demo_that_fails_to_start_says_so_in_chinese_and_cleans_up(
        tmp_path: Path, memory_keyring: MemoryKeyring, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(*_args: Any, **_kwargs: Any) -> None:
        raise OSError("no route")

    monkeypatch.setattr(DistrictClient, "register", broken)
    folder = tmp_path / "demo"
    with pytest.raises(DemoError, match="演示模式无法启动"):
        start_demo(folder, persons=0)
    assert not folder.exists()
    assert not [t for t in threading.enumerate() if t.name == SERVER_THREAD and t.is_alive()]


def test_demo_screenshots_of_the_main_screens(tmp_path: Path) -> None:
    """`python -m desktop --demo --screenshots DIR` (issue 4): the main screens as PNGs; the
    demo's folder is gone when the program has ended."""
    import sys

    root = Path(__file__).resolve().parents[2]
    temp = tmp_path / "temp"
    temp.mkdir()
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "PYTHON_KEYRING_BACKEND":
           "keyring.backends.null.Keyring", "XDG_CONFIG_HOME": str(tmp_path / "config"),
           "TMPDIR": str(temp), "TEMP": str(temp), "TMP": str(temp)}
    done = subprocess.run([sys.executable, "-m", "desktop", "--demo", "--screenshots",
                           str(tmp_path / "shots")], cwd=root, env=env, capture_output=True,
                          text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    names = sorted(p.name for p in (tmp_path / "shots").glob("*.png"))
    assert names == ["01-search.png", "02-person-ticked.png", "03-trace.png", "04-submit.png",
                     "05-approval-queue.png"]
    assert all((tmp_path / "shots" / n).stat().st_size > 10_000 for n in names)
    assert list(temp.glob("counter-desk-demo-*")) == []


def test_a_program_that_dies_with_the_demo_open_still_removes_it(tmp_path: Path) -> None:
    """The atexit hook: an exception that ends the program before Demo.close stops the
    district and removes the folder all the same."""
    import sys

    folder = tmp_path / "demo"
    script = ("import keyring, sys\n"
              "from desktop.sync.credentials import MemoryKeyring\n"
              "keyring.set_keyring(MemoryKeyring())\n"
              "from pathlib import Path\n"
              "from desktop.demo import start_demo\n"
              f"demo = start_demo(Path({str(folder)!r}), persons=0)\n"
              "print(demo.url, flush=True)\n"
              "raise RuntimeError('the counter crashed')\n")
    root = Path(__file__).resolve().parents[2]
    done = subprocess.run([sys.executable, "-c", script], cwd=root, capture_output=True,
                          text=True, timeout=120, check=False)
    assert done.returncode == 1 and "the counter crashed" in done.stderr, done.stderr[-3000:]
    assert done.stdout.startswith("http://127.0.0.1:")
    assert not folder.exists()
    with pytest.raises(httpx.HTTPError):
        httpx.get(f"{done.stdout.strip()}/api/v1/health", timeout=2)
