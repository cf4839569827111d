"""The sign-in window comes up importing only what it uses (issue 13): a fresh `python -m
desktop --exit-when-ready` lists its modules at the moment the window is shown, and none of the
counter's heavy ones may be among them. Then the counter started behind that window still
signs a clerk in, whether it was ready before the clerk pressed 登录 or not.
No timing here: bench/bench_start.py measures."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest
from PySide6.QtCore import QSettings, QTimer
from PySide6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot

from desktop.deployment import ENV_VAR
from desktop.services.accounts import remember_user
from desktop.ui.app import SignInFirst, open_sealed_store

ROOT = Path(__file__).resolve().parents[2]

# The desktop modules the sign-in window may have imported when it shows: a new one here is a
# choice to make on purpose (it costs every start), never a side effect of another import.
ALLOWED_DESKTOP = frozenset({
    "desktop", "desktop.__main__", "desktop.paths", "desktop.ui", "desktop.ui.app",
    "desktop.ui.fonts", "desktop.ui.identity", "desktop.ui.lean_imports", "desktop.ui.login",
    "desktop.ui.scanner", "desktop.ui.widgets",
})
# Third-party packages the counter uses behind the sign-in window, never for it.
REFUSED_PACKAGES = frozenset({
    "sqlalchemy", "sqlcipher3", "alembic", "mako", "pygments", "pypinyin", "reportlab",
    "openpyxl", "cn2an", "yaml", "httpx", "httpcore", "pydantic", "keyring", "cryptography",
    "fastapi", "uvicorn", "platformdirs",
})

LIST_MODULES = """
import json, sys
from desktop.__main__ import main
code = main(["--exit-when-ready", "--store", sys.argv[1]])
print("MODULES " + json.dumps(sorted(k for k, v in sys.modules.items() if v is not None)))
raise SystemExit(code)
"""

USER, PASSWORD = "early.clerk", "早到-口令-2026"


def modules_when_sign_in_shows(tmp_path: Path) -> list[str]:
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen",
           ENV_VAR: str(tmp_path / "no-deployment.toml")}
    done = subprocess.run([sys.executable, "-c", LIST_MODULES, str(tmp_path / "cache.sqlite")],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=120,
                          check=False)
    assert done.returncode == 0, done.stderr
    assert "counter-desk: ready" in done.stdout
    line = next(x for x in done.stdout.splitlines() if x.startswith("MODULES "))
    modules: list[str] = json.loads(line.removeprefix("MODULES "))
    return modules


def test_the_sign_in_window_imports_only_what_it_uses(tmp_path: Path) -> None:
    modules = modules_when_sign_in_shows(tmp_path)
    assert "desktop.ui.login" in modules  # the window was made, in this process
    ours = {m for m in modules if m == "desktop" or m.startswith("desktop.")}
    assert ours <= ALLOWED_DESKTOP, f"imported before the sign-in window: {ours - ALLOWED_DESKTOP}"
    theirs = {m.split(".")[0] for m in modules} & REFUSED_PACKAGES
    assert not theirs, f"imported before the sign-in window: {sorted(theirs)}"
    # nothing was opened behind the window either: --exit-when-ready quits before the store
    assert not (tmp_path / "cache.sqlite").exists()


EXTRAS = """
import json, sys
import desktop.ui.app
import httpx
import mako.exceptions
import alembic.command
import linecache
loaded = {m.split(".")[0] for m, v in sys.modules.items() if v is not None}
print("EXTRAS " + json.dumps({"client": hasattr(httpx, "Client"),
                              "loaded": sorted(loaded & {"click", "rich", "pygments"}),
                              "sources kept": [f for f in linecache.cache if f[:1] != "<"]}))
"""


def test_libraries_work_without_what_the_counter_leaves_out() -> None:
    done = subprocess.run([sys.executable, "-c", EXTRAS], cwd=ROOT, capture_output=True,
                          text=True, timeout=120, check=False,
                          env={**os.environ, "QT_QPA_PLATFORM": "offscreen"})
    assert done.returncode == 0, done.stderr
    line = next(x for x in done.stdout.splitlines() if x.startswith("EXTRAS "))
    # PySide6 reads each new module's source (its __feature__ check): no file is kept (only
    # the code SQLAlchemy generates is, by SQLAlchemy itself, under names in <…>)
    assert json.loads(line.removeprefix("EXTRAS ")) == {"client": True, "loaded": [],
                                                        "sources kept": []}


IN_THE_THREAD = """
import json, sys, threading
from PySide6.QtWidgets import QApplication
from shiboken6 import Shiboken
from desktop.ui.app import SignInFirst, _import_counter_modules
app = QApplication(sys.argv)
first = SignInFirst(app, None)  # the sign-in window, as it is when the thread starts
first.show()
app.processEvents()
before = {k for k, v in sys.modules.items() if v is not None}
thread = threading.Thread(target=_import_counter_modules)
thread.start()
thread.join()
new = sorted({k for k, v in sys.modules.items() if v is not None} - before)
qt = sorted(f"{m}.{n}" for m in new for n, v in list(vars(sys.modules[m]).items())
            if isinstance(v, type) and issubclass(v, Shiboken.Object) and v.__module__ == m)
print("THREAD " + json.dumps({"modules": new, "qt_classes": qt}))
"""


def test_the_thread_behind_the_sign_in_window_defines_no_qt_class(tmp_path: Path) -> None:
    """PySide6 cannot define a Qt class in one thread while another uses Qt: a thread defining
    QWidget subclasses while the main thread sets texts and runs the event loop crashes the
    process within seconds ("deallocating None"), and the counter's start did so now and then
    when its views were imported behind the sign-in window. The thread imports only modules
    without Qt classes; the views are imported on the main thread."""
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen",
           ENV_VAR: str(tmp_path / "no-deployment.toml")}
    done = subprocess.run([sys.executable, "-c", IN_THE_THREAD], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    line = next(x for x in done.stdout.splitlines() if x.startswith("THREAD "))
    found = json.loads(line.removeprefix("THREAD "))
    assert "desktop.store" in found["modules"] and "sqlalchemy" in found["modules"]
    assert found["qt_classes"] == []
    assert not [m for m in found["modules"] if m.startswith(("PySide6", "desktop.ui"))]


@pytest.fixture
def settings(tmp_path: Path) -> QSettings:
    return QSettings(str(tmp_path / "counter.ini"), QSettings.Format.IniFormat)


@pytest.fixture
def known_clerk(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A cache where USER signed in online before: they can sign in offline."""
    monkeypatch.setenv(ENV_VAR, str(tmp_path / "no-deployment.toml"))
    path = tmp_path / "cache.sqlite"
    with open_sealed_store(path) as store:
        remember_user(store, USER, "早到的经办人", ["clerk"], PASSWORD,
                      now=datetime.now(UTC))
    return path


def sign_in(qtbot: QtBot, first: SignInFirst) -> None:
    first.dialog.username.setText(USER)  # set, not typed: a fast burst is taken for a scan
    first.dialog.password.setText(PASSWORD)
    with qtbot.waitSignal(first.dialog.accepted, timeout=60_000):
        first.dialog.accept()
        assert first.dialog.user is not None, first.dialog.error.text()


def test_signing_in_once_the_counter_behind_the_window_started(
        qtbot: QtBot, known_clerk: Path, settings: QSettings) -> None:
    app = QApplication.instance()
    assert isinstance(app, QApplication)
    first = SignInFirst(app, known_clerk, settings=settings)
    try:
        first.show()
        assert first.dialog.isVisible() and first.counter is None
        first.start_behind()
        qtbot.waitUntil(lambda: first.counter is not None, timeout=60_000)
        counter = first.counter
        assert counter is not None and counter.login_dialog is first.dialog
        assert "尚未设置区服务器" in first.dialog.error.text()  # the notice, once known
        sign_in(qtbot, first)
        assert counter.window is not None and counter.window.isVisible()
        assert counter.window.user.username == USER and counter.window.user.offline
    finally:
        assert first.close() == 0


def test_signing_in_before_the_counter_behind_the_window_started(
        qtbot: QtBot, known_clerk: Path, settings: QSettings) -> None:
    app = QApplication.instance()
    assert isinstance(app, QApplication)
    first = SignInFirst(app, known_clerk, settings=settings)
    try:
        first.show()
        first.start_behind()
        sign_in(qtbot, first)  # at once: the sign-in waits for the counter
        counter = first.counter
        assert counter is not None and counter.window is not None
        assert counter.window.isVisible() and counter.window.user.username == USER
    finally:
        assert first.close() == 0


def test_a_counter_that_cannot_start_says_so_and_ends(
        qtbot: QtBot, known_clerk: Path, settings: QSettings, tmp_path: Path) -> None:
    app = QApplication.instance()
    assert isinstance(app, QApplication)
    other = tmp_path / "other.sqlite"
    other.write_bytes(known_clerk.read_bytes())  # sealed under a key the keyring lacks
    first = SignInFirst(app, other, settings=settings)
    guard = QTimer()  # the event loop ends with 1 when the counter cannot start; 2: it hung
    guard.setSingleShot(True)
    guard.timeout.connect(lambda: app.exit(2))
    try:
        first.show()
        first.start_behind()
        guard.start(60_000)
        assert app.exec() == 1
        assert first.failed and first.counter is None and not first.dialog.isVisible()
    finally:
        guard.stop()
        assert first.close(1) == 1
