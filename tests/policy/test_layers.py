"""The policy engine imports neither Qt nor a database nor the network (ARCHITECTURE.md)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.layering import imported_modules

ROOT = Path(__file__).resolve().parents[2]
FORBIDDEN = ("PySide6", "sqlalchemy", "sqlite3", "httpx", "keyring", "desktop.store",
             "desktop.ui", "desktop.sync", "desktop.services", "desktop.printing")


def test_policy_sources_import_nothing_forbidden() -> None:
    for path in sorted((ROOT / "desktop" / "policy").glob("*.py")):
        for name in imported_modules(path):
            assert not name.startswith(FORBIDDEN), f"{path.name} imports {name}"


def test_running_the_engine_loads_no_forbidden_module() -> None:
    code = (
        "import json, sys\n"
        "from desktop.policy.contract import calculate_text\n"
        "from tests.policy.builders import assistance, fee\n"
        "calculate_text(json.dumps(assistance([fee('A', '2026-04-08', '10.00')])))\n"
        f"bad = [m for m in sys.modules if m.startswith({FORBIDDEN!r})]\n"
        "print(','.join(bad))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          cwd=ROOT, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == ""


def test_no_float_in_money_code() -> None:
    for path in sorted((ROOT / "desktop" / "policy").glob("*.py")):
        text = path.read_text(encoding="utf-8")
        assert "float(" not in text and ": float" not in text, path.name
