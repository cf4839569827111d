"""Starts the counter's GUI: settings, sign-in, the main window, sync, scanner and idle lock.

`python -m desktop` signs in against the configured district server (or offline, for users
who signed in here before); `--demo` starts a seeded synthetic district on loopback, registers
this counter, signs in the demo clerk and opens the main window. `--screenshots DIR` (with
`--demo`) writes PNGs of the main screens and quits; `--exit-when-ready` quits as soon as the
first window is ready (the startup benchmark, bench/bench_start.py).

The sign-in window shows first, importing only what it uses (tests/ui/test_startup_imports.py
holds that): the counter behind it (deployment file, store, district client, sync, the main
window's modules) starts once it is shown, see SignInFirst.

A fresh counter PC: the deployment file (desktop.deployment, `counter-desk.toml`) may give the
district server, the CA file and the cache's folder; the sign-in window's 设置 button opens the
settings before anyone signs in, where the PC is registered with a one-time enrolment code, after
which the sign-in goes online. A bad deployment file is shown in the sign-in window, not fatal.

COUNTER_DESK_SMOKE=1 shows the first window, reports it on stdout and quits by itself, so the
bundle can be checked on a build machine without anyone clicking; with `--demo` that window is
the main window, the demo clerk signed in (the in-process district started, and stopped again).
"""

from __future__ import annotations

import argparse
import importlib
import logging
import os
import sys
import threading
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QSettings, QTimer
from PySide6.QtWidgets import QApplication, QMessageBox

import desktop.ui.lean_imports  # noqa: F401  (first: what the process never imports or keeps)
from desktop.ui.fonts import apply_ui_font
from desktop.ui.identity import WINDOW_TITLE, CounterUser

if TYPE_CHECKING:
    from desktop.deployment import Deployment
    from desktop.printing.context import PrintContext
    from desktop.services.device import ServerSettings
    from desktop.store import Store
    from desktop.sync.client import DistrictClient
    from desktop.sync.worker import SyncStatus, SyncWorker
    from desktop.ui.login import LoginDialog
    from desktop.ui.main_window import MainWindow
    from desktop.ui.scanner import ScanBurstDetector

log = logging.getLogger(__name__)
SMOKE_ENV = "COUNTER_DESK_SMOKE"
SMOKE_QUIT_MS = 200


def _arguments(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="counter-desk", add_help=False)
    parser.add_argument("--demo", action="store_true")
    parser.add_argument("--screenshots", type=Path)
    parser.add_argument("--exit-when-ready", action="store_true")
    parser.add_argument("--store", type=Path)
    args, _unknown = parser.parse_known_args(argv[1:])
    return args


def run_gui(argv: list[str]) -> int:
    """Show the counter and run the event loop; returns the process exit code."""
    args = _arguments(argv)
    existing = QApplication.instance()
    app = existing if isinstance(existing, QApplication) else QApplication(argv)
    app.setOrganizationName("counter-desk")
    app.setApplicationName("counter-desk")
    app.setApplicationDisplayName(WINDOW_TITLE)
    apply_ui_font(app)
    smoke = os.environ.get(SMOKE_ENV) == "1"
    if smoke and not args.demo:
        return _smoke(app)
    if not args.demo:
        return _run_installed(app, args)
    try:
        counter = CounterApp.for_demo(app)
    except Exception as exc:  # said in words, never a traceback at the counter
        _cannot_start(exc, quiet=smoke)
        return 1
    if args.exit_when_ready or smoke:
        def ready() -> None:
            if smoke and counter.window is not None:  # --demo: the main window, signed in
                _report(f"counter-desk: window shown: {counter.window.windowTitle()}")
                _report(f"counter-desk: signed in: {counter.last_clerk}")
            _report("counter-desk: ready")
            app.quit()

        QTimer.singleShot(SMOKE_QUIT_MS if smoke else 0, ready)
        counter.show_first_window()
        app.exec()
        counter.close()
        return 0
    if args.screenshots is not None:
        from desktop.ui.screenshots import take_screenshots

        QTimer.singleShot(0, lambda: take_screenshots(counter, args.screenshots, app.quit))
        counter.show_first_window()
        app.exec()
        counter.close()
        return 0
    counter.show_first_window()
    code = int(app.exec())
    counter.close()
    return code


def _run_installed(app: QApplication, args: argparse.Namespace) -> int:
    """An installed counter: the sign-in window first, the counter (deployment file, store,
    district client, sync) started behind it. `--exit-when-ready` quits once the sign-in
    window is shown, before the counter behind it starts."""
    if args.screenshots is not None:
        _report("counter-desk: --screenshots needs --demo")
        return 2
    first = SignInFirst(app, args.store)
    first.show()
    if args.exit_when_ready:
        def ready() -> None:
            _report("counter-desk: ready")
            app.quit()

        QTimer.singleShot(0, ready)
        app.exec()
        first.close()
        return 0
    first.start_behind()
    code = int(app.exec())
    return first.close(code)


def _cannot_start(exc: BaseException, *, quiet: bool = False) -> None:
    """The counter could not start: said on stdout and in a message box, in words."""
    log.error("the counter could not start: %r", exc)
    message = f"柜台程序无法启动：{exc or type(exc).__name__}"
    _report(f"counter-desk: {message}")
    if os.environ.get("QT_QPA_PLATFORM") != "offscreen" and not quiet:
        QMessageBox.critical(None, WINDOW_TITLE, message)


# What the counter behind the sign-in window imports: the store with SQLAlchemy and Alembic,
# sync and the services, none of which defines a Qt class, in a thread while the clerk types,
# so the window answers keys meanwhile; then its windows and views on the main thread, one
# module a turn of the event loop. PySide6 cannot define a Qt class in one thread while another
# uses Qt: the process crashed now and then ("deallocating None", a segmentation fault) when
# the views were imported in the thread. The counter itself is built on the main thread.
BEHIND_MODULES = (
    "desktop.deployment",
    "desktop.store",
    "desktop.sync.worker",
    "desktop.services.accounts",
    "desktop.services.applications",
    "desktop.services.scanning",
    "desktop.services.numbering",
    "desktop.services.counter",
    "desktop.services.approvals",
    "desktop.services.monthly",
    "desktop.services.today",
    "desktop.services.enrolment",
)
VIEW_MODULES = (  # the main window's parts first: no turn takes long
    "desktop.ui.settings_dialog",
    "desktop.ui.models",
    "desktop.ui.print_preview",
    "desktop.ui.counter_view",
    "desktop.ui.today_view",
    "desktop.ui.monthly_view",
    "desktop.ui.main_window",
    "desktop.ui.attention_view",  # the main window's own lazy imports
    "desktop.ui.reports_view",
    "desktop.ui.approvals_view",
)
BEHIND_POLL_MS = 25


def _import_counter_modules() -> None:
    """The thread behind the sign-in window: BEHIND_MODULES and the policy parameters."""
    for name in BEHIND_MODULES:
        if not _imported(name):
            return
    try:  # read once per process (cached); the main window's calculator needs them at once
        from desktop.policy.contract import default_parameters

        default_parameters()
    except Exception as exc:  # the calculator reads them again and says why
        log.warning("reading the policy parameters behind the sign-in window failed: %r", exc)


def _imported(name: str) -> bool:
    try:
        importlib.import_module(name)
    except Exception as exc:  # imported again where it is needed, which says why
        log.warning("importing %s behind the sign-in window failed: %r", name, exc)
        return False
    return True


class SignInFirst:
    """The sign-in window, shown before the counter behind it exists, so that it comes up as
    fast as a bare window (issue 13). The counter (CounterApp.installed) is started after the
    window shows: its modules imported in a thread (those without Qt classes) and on the main
    thread (its windows and views), then built on the main thread. A clerk who
    signs in, or opens 设置, before that waits for it there; a scan meanwhile is kept and
    handed to the counter, as one at an open sign-in window always was."""

    def __init__(self, app: QApplication, store_path: Path | None, *,
                 settings: QSettings | None = None) -> None:
        from desktop.ui.login import LoginDialog

        self.app = app
        self.store_path = store_path
        self.settings = settings
        self.counter: CounterApp | None = None
        self.failed = False
        _set_icon(app)
        self.scanner = _scanner(app)
        self._scans: list[str] = []
        self.scanner.scanned.connect(self._scans.append)
        self._importing: threading.Thread | None = None
        self._views = list(VIEW_MODULES)  # imported on this thread once the thread is done
        self._poll: QTimer | None = None
        self.dialog: LoginDialog[CounterUser] = LoginDialog(
            self._authenticate, open_settings=self._open_settings)
        self.dialog.rejected.connect(self._cancelled)

    def show(self) -> None:
        self.dialog.show()

    def start_behind(self) -> None:
        """Import the counter's modules (in a thread, then its views on this one); build the
        counter when they are in."""
        self._importing = threading.Thread(target=_import_counter_modules,
                                           name="counter-imports")
        self._importing.start()
        poll = QTimer()
        poll.setInterval(BEHIND_POLL_MS)
        poll.timeout.connect(self._imported_yet)
        poll.start()
        self._poll = poll

    def _imported_yet(self) -> None:
        if self._importing is not None and self._importing.is_alive():
            return
        if self._views:  # Qt classes: defined on this thread, one module a turn
            if not _imported(self._views.pop(0)):
                self._views.clear()
            return
        if self._poll is not None:
            self._poll.stop()
        self.started()

    def started(self) -> CounterApp | None:
        """The counter behind the sign-in window, started now if it was not yet; None when
        it could not start (said in words; the event loop then ends with 1)."""
        if self.counter is not None or self.failed:
            return self.counter
        if self._poll is not None:
            self._poll.stop()
        if self._importing is not None:
            self._importing.join()  # one thread imports at a time: no import-lock races
        try:
            counter = _installed_counter(self.app, self.store_path, self.scanner,
                                         self.settings)
        except Exception as exc:  # said in words, never a traceback at the counter
            self.failed = True
            self.dialog.hide()
            _cannot_start(exc)
            self.app.exit(1)
            return None
        self.counter = counter
        self.scanner.scanned.disconnect(self._scans.append)
        counter.adopt_sign_in(self.dialog)
        for text in self._scans:  # scanned before the counter was there: kept, not lost
            counter._scanned(text)
        self._scans.clear()
        return counter

    def _authenticate(self, username: str, password: str) -> CounterUser:
        counter = self.started()
        if counter is None:
            raise ValueError("柜台程序无法启动。")
        return counter.authenticate(username, password)

    def _open_settings(self) -> None:
        counter = self.started()
        if counter is not None:
            counter.settings_before_sign_in()

    def _cancelled(self) -> None:
        if self.counter is None:  # the counter's own handler quits once it is there
            self.app.quit()

    def close(self, code: int = 0) -> int:
        """After the event loop: close the counter (or, before it started, the window and the
        scanner) and wait for the imports; returns the exit code."""
        if self._poll is not None:
            self._poll.stop()
        if self.counter is not None:
            self.counter.close()
        else:
            self.dialog.close()
            self.app.removeEventFilter(self.scanner)
        if self._importing is not None:
            self._importing.join()
        return 1 if self.failed else code


def _installed_counter(app: QApplication, store_path: Path | None,
                       scanner: ScanBurstDetector | None = None,
                       settings: QSettings | None = None) -> CounterApp:
    from desktop.deployment import NO_DEPLOYMENT, DeploymentError, load_deployment

    deployment, deployment_problem = NO_DEPLOYMENT, None
    try:
        deployment = load_deployment()
    except DeploymentError as exc:  # shown at sign-in; the counter still starts
        log.error("bad deployment file: %s", exc)
        deployment_problem = str(exc)
        _report(f"counter-desk: {exc}")
    return CounterApp.installed(app, store_path, deployment, settings=settings,
                                deployment_problem=deployment_problem, scanner=scanner)


class CounterApp:
    """What lives as long as the process: the store, the district client, the sync worker,
    the signed-in user's window, the scanner and the idle lock."""

    def __init__(self, app: QApplication, store: Store, *, client: DistrictClient | None = None,
                 today: Callable[[], date] = date.today,
                 on_close: Callable[[], None] = lambda: None,
                 settings: QSettings | None = None, deployment: Deployment | None = None,
                 server: ServerSettings | None = None, deployment_problem: str | None = None,
                 scanner: ScanBurstDetector | None = None) -> None:
        from desktop.deployment import NO_DEPLOYMENT
        from desktop.ui.login import IdleWatch
        from desktop.ui.settings_dialog import idle_minutes

        deployment = NO_DEPLOYMENT if deployment is None else deployment

        self.app = app
        self.store = store
        self.client = client
        self.today = today
        self.settings = QSettings() if settings is None else settings
        self.deployment = deployment
        self.deployment_problem = deployment_problem  # a bad deployment file, in words
        self.server = server  # what `client` talks to (None: the demo's, or none)
        self.window: MainWindow | None = None
        self.worker: SyncWorker | None = None
        self.demo_users: dict[str, str] = {}
        self.street_name = ""  # the demo's street; an installed counter's comes from settings
        self.street_code = ""
        self._on_close = on_close
        _set_icon(app)
        self.scanner = _scanner(app) if scanner is None else scanner  # one made before us
        self.scanner.scanned.connect(self._scanned)
        # installed after the scanner, so it sees every key first (Qt calls the application's
        # filters newest first): a scan is activity too
        self.idle = IdleWatch(idle_minutes(self.settings, deployment))
        self.idle.idle.connect(self.lock)
        app.installEventFilter(self.idle)
        self.last_clerk: str | None = None
        self._locked = False

    # -- ways to start -----------------------------------------------------------------------

    @classmethod
    def for_demo(cls, app: QApplication) -> CounterApp:
        from desktop.demo import DEMO_PASSWORD, start_demo

        _report("counter-desk: 正在生成演示辖区并启动区服务器……")
        demo = start_demo()
        for note in demo.notes:
            _report(f"counter-desk: {note}")
        counter = cls(app, demo.store, client=demo.client, on_close=demo.close)
        counter.demo_users = demo.users
        counter.street_name = demo.street_name
        from desktop.demo import DEMO_STREET

        counter.street_code = DEMO_STREET
        counter.start_sync()
        counter.sign_in(demo.clerk, DEMO_PASSWORD)
        return counter

    @classmethod
    def installed(cls, app: QApplication, store_path: Path | None,
                  deployment: Deployment | None = None, *, settings: QSettings | None = None,
                  deployment_problem: str | None = None,
                  scanner: ScanBurstDetector | None = None) -> CounterApp:
        """The counter of a real installation. The cache is at `store_path` (`--store`), else
        in the deployment file's `data_folder`, else in the per-user data folder."""
        from desktop.deployment import NO_DEPLOYMENT
        from desktop.services.device import district_client
        from desktop.store.database import FILE_NAME
        from desktop.ui.settings_dialog import server_settings

        deployment = NO_DEPLOYMENT if deployment is None else deployment
        if store_path is None and deployment.data_folder is not None:
            store_path = deployment.data_folder / FILE_NAME
        store = open_sealed_store(store_path)
        settings = QSettings() if settings is None else settings
        server = server_settings(settings, deployment)
        client = district_client(server, store=store) if server is not None else None
        counter = cls(app, store, client=client, on_close=store.close, settings=settings,
                      deployment=deployment, server=server,
                      deployment_problem=deployment_problem, scanner=scanner)
        counter.remember_registration()
        if client is not None:
            counter.start_sync()
        return counter

    def remember_registration(self) -> None:
        """This PC's street and its number there, from its registration (the settings: the
        settings dialog and `enrol` write them) into the store, where the application numbers
        are made (desktop.services.numbering)."""
        from desktop.services.numbering import remember_registration
        from desktop.ui.settings_dialog import KEY_STREET, registered_device_number

        street = str(self.settings.value(KEY_STREET, "") or "")
        if street:
            remember_registration(self.store, street, registered_device_number(self.settings))

    # -- signing in and out ------------------------------------------------------------------

    def authenticate(self, username: str, password: str) -> CounterUser:
        from desktop.services.accounts import sign_in

        signed = sign_in(self.store, self.client, username, password)
        return CounterUser(signed.username, signed.display_name, tuple(signed.roles),
                           signed.offline)

    def sign_in(self, username: str, password: str) -> None:
        self.open_window(self.authenticate(username, password))

    def open_window(self, user: CounterUser) -> None:
        from desktop.ui.main_window import MainWindow

        if self.window is not None:
            self.window.close_for_good()
        self.window = MainWindow(self.store, user, today=self.today, settings=self.settings,
                                 print_context=self.print_context())
        self.last_clerk = user.username
        self.window.sign_out_requested.connect(self.sign_out)
        self.window.settings_requested.connect(self.edit_settings)
        self.window.lock_requested.connect(self.lock)
        worker = self.worker
        if worker is not None:  # push what was just saved or signed, not at the next interval
            self.window.counter.queued.connect(worker.wake)
            self.window.attention.queued.connect(worker.wake)
            self.window.today.queued.connect(worker.wake)
            if self.window.approvals is not None:
                self.window.approvals.message.connect(lambda _text: worker.wake())
        if self.worker is not None:
            self.window.sync_status.show_status(self.worker.status)

    def print_context(self) -> PrintContext:
        from desktop.printing.context import PrintContext
        from desktop.ui.settings_dialog import KEY_STREET, KEY_STREET_CODE

        street = self.street_name or str(self.settings.value(KEY_STREET, "") or "")
        code = self.street_code or str(self.settings.value(KEY_STREET_CODE, "") or "")
        return PrintContext(street_name=street or None, street_code=code or None)

    def show_first_window(self) -> None:
        if self.window is not None:
            self.window.show()
            self.window.focus_counter()
            return
        self._ask_sign_in()

    def _ask_sign_in(self) -> None:
        from desktop.ui.login import LoginDialog

        dialog: LoginDialog[CounterUser] = LoginDialog(
            self.authenticate, open_settings=self.settings_before_sign_in)
        self.adopt_sign_in(dialog)
        dialog.show()

    def adopt_sign_in(self, dialog: LoginDialog[CounterUser]) -> None:
        """`dialog` is this counter's sign-in window: its notice said, signing in opens the
        main window, closing it quits (SignInFirst shows one before the counter exists)."""
        self.login_dialog = dialog
        self._sign_in_notice(dialog)

        def done() -> None:
            if dialog.user is not None:
                self.open_window(dialog.user)
                assert self.window is not None
                self.window.show()
                self.window.focus_counter()

        dialog.accepted.connect(done)
        dialog.rejected.connect(self.app.quit)

    def _sign_in_notice(self, dialog: LoginDialog[CounterUser]) -> None:
        """What a clerk must know before signing in: no server yet, this PC not registered,
        a bad deployment file."""
        from desktop.services.device import is_registered

        notes: list[str] = []
        if self.deployment_problem:
            notes.append(self.deployment_problem)
        if self.client is None:
            notes.append("尚未设置区服务器：只能离线登录（曾在本机联网登录过的账号）。"
                         "新装的柜台请点“设置”，填写区服务器地址和一次性注册码，注册本柜台。")
        elif self.server is not None and not is_registered(self.server):
            notes.append("本柜台尚未注册：只能离线登录（曾在本机联网登录过的账号）。"
                         "请点“设置”，填写一次性注册码，注册本柜台。")
        dialog.error.setText("\n".join(notes))

    def settings_before_sign_in(self) -> None:
        """The sign-in window's 设置: server, CA file, this PC's registration, before anyone
        has signed in. Afterwards the counter talks to the server that is now set."""
        from desktop.ui.settings_dialog import SettingsDialog

        login = self.login_dialog
        dialog = SettingsDialog(self.settings, login, deployment=self.deployment)
        self.settings_dialog = dialog

        def closed(_result: int) -> None:  # saved or not: a registration is kept either way
            self._settings_changed()
            if login.isVisible():
                self._sign_in_notice(login)
                login.username.setFocus()

        dialog.finished.connect(closed)
        dialog.open()

    def _settings_changed(self) -> None:
        """Take up the idle time, and a district server set (or changed) before sign-in."""
        from desktop.services.device import district_client
        from desktop.ui.settings_dialog import idle_minutes, server_settings

        self.idle.set_minutes(idle_minutes(self.settings, self.deployment))
        self.remember_registration()
        server = server_settings(self.settings, self.deployment)
        if server is None or (server == self.server and self.client is not None):
            return  # the client reads the token from the keyring per call: a new one is used
        if self.worker is not None:
            self.worker.stop()
            self.worker = None
        if self.client is not None:
            self.client.close()
        self.server = server
        self.client = district_client(server, store=self.store)
        self.start_sync()

    def sign_out(self) -> None:
        from desktop.services.signing import forget

        if self.window is not None:
            if not self.window.counter.confirm_leave():  # ticks not submitted: stay
                return
            forget(self.window.user.username)  # the key closes with the session
            self.window.close_for_good()
            self.window = None
        self._ask_sign_in()

    def lock(self) -> None:
        """After the idle time: the same user must type their password again."""
        window = self.window
        if window is None or self._locked:
            return
        from desktop.services import signing
        from desktop.ui.login import LoginDialog

        user = window.user

        def unlock(username: str, password: str) -> CounterUser:
            # the password's check opens the signing key again (one scrypt)
            try:
                signing.remember(signing.unlock(self.store, user.username, password))
            except signing.SigningUnavailable as exc:
                if exc.reason == "password":
                    raise ValueError("密码不正确。") from None
            return user

        signing.forget(user.username)  # locked: nothing is signed in this user's name
        self._locked = True
        window.hide()
        dialog: LoginDialog[CounterUser] = LoginDialog(unlock, username=user.username,
                                                       locked_for=user.display_name)
        self.lock_dialog = dialog

        def unlocked() -> None:
            self._locked = False
            window.show()
            self.idle.timer.start()

        dialog.accepted.connect(unlocked)
        dialog.show()

    def edit_settings(self) -> None:
        from desktop.ui.settings_dialog import SettingsDialog, idle_minutes

        dialog = SettingsDialog(self.settings, self.window, deployment=self.deployment)
        accepted = dialog.exec()
        self.remember_registration()  # a registration is kept, saved or not
        if accepted:
            self.idle.set_minutes(idle_minutes(self.settings, self.deployment))
            QMessageBox.information(self.window, "设置",
                                    "设置已保存。区服务器地址的更改在重新启动后生效。")

    # -- sync and scanning -------------------------------------------------------------------

    def start_sync(self) -> None:
        from desktop.services.applications import record_push_result
        from desktop.sync.worker import SyncWorker

        if self.client is None:
            return

        from desktop.services.scanning import rematch_pending

        synced: list[object] = [None]

        def report(status: SyncStatus) -> None:  # in the sync worker's thread
            if status.online and status.progress is None and status.last_sync != synced[0]:
                synced[0] = status.last_sync  # new fee rows may match receipts scanned before
                rematch_pending(self.store, clerk=self.last_clerk or "sync")
            window = self.window
            if window is not None:
                window.sync_status.report(status)

        self.worker = SyncWorker(self.store, self.client, interval=15.0, on_status=report,
                                 on_result=record_push_result)
        self.worker.start()

    def _scanned(self, text: str) -> None:
        if self.window is not None and self.window.isVisible():
            self.window.tabs.setCurrentWidget(self.window.counter)
            self.window.counter.handle_scan(text)
            return
        # locked or signed out: the scan is kept (pending, with no person) rather than lost
        from desktop.services.scanning import record_scan

        record_scan(self.store, raw_text=text, clerk=self.last_clerk or "（未登录）",
                    person_id=None)

    def close(self) -> None:
        """Stop the sync, close every window and dialog this counter opened, and take its
        event filters (scanner, idle watch) off the application: nothing of it stays behind
        to hold the keyboard or swallow keys."""
        if self.worker is not None:
            self.worker.stop()
        for name in ("settings_dialog", "lock_dialog", "login_dialog"):
            dialog = getattr(self, name, None)
            if dialog is not None:
                dialog.close()
        if self.window is not None:
            self.window.close_for_good()
        self.app.removeEventFilter(self.scanner)
        self.app.removeEventFilter(self.idle)
        self._on_close()


def open_sealed_store(store_path: Path | None = None) -> Store:
    """The counter's cache (default: the per-user data folder), encrypted under its key from
    the OS keyring; a plain cache left by an earlier version is sealed in place first.

    Raises CredentialsUnavailable or StoreKeyError / StoreSealError, each with a message for
    the clerk: run_gui shows it in words.
    """
    from desktop.store import default_path, open_store
    from desktop.sync.credentials import load_or_create_cache_key

    path = store_path or default_path()
    return open_store(path, key=load_or_create_cache_key(path))


def _set_icon(app: QApplication) -> None:
    """The counter's icon on every window and the taskbar (resources/icons, drawn by
    scripts/make_icon.py; the Windows bundle's programs carry the .ico)."""
    from PySide6.QtGui import QIcon

    from desktop.paths import resources_dir

    icon = resources_dir() / "icons" / "counter-desk.png"
    if icon.is_file():
        app.setWindowIcon(QIcon(str(icon)))


def _scanner(app: QApplication) -> ScanBurstDetector:
    from desktop.ui.scanner import ScanBurstDetector

    detector = ScanBurstDetector(app)
    app.installEventFilter(detector)
    return detector


def _smoke(app: QApplication) -> int:
    from desktop.ui.login import LoginDialog

    def refuse(_u: str, _p: str) -> CounterUser:
        raise ValueError("smoke")

    dialog: LoginDialog[CounterUser] = LoginDialog(refuse)
    dialog.show()
    QTimer.singleShot(SMOKE_QUIT_MS, app.quit)
    app.exec()
    _report(f"counter-desk: window shown: {dialog.windowTitle()}")
    store_path = os.environ.get("COUNTER_DESK_SMOKE_STORE")
    if store_path:  # the bundle's migrations are found and applied, under SQLCipher
        import secrets

        from desktop.store import open_store

        # a throwaway key: this checks the bundled SQLCipher driver, not the machine's keyring
        open_store(Path(store_path), key=secrets.token_bytes(32)).close()
        _report("counter-desk: store ready")
    forms_path = os.environ.get("COUNTER_DESK_SMOKE_FORMS")
    if forms_path:  # the bundle prints: forms, the embedded font, capital numerals
        from desktop.printing.render_all import render_all

        written = render_all(Path(forms_path))
        _report(f"counter-desk: forms written: {len([p for p in written if p.suffix == '.pdf'])}")
    return 0


def _report(line: str) -> None:
    # A windowed (no-console) build on Windows has no stdout at all.
    stream = sys.stdout
    if stream is None:
        return
    try:
        print(line, file=stream, flush=True)
    except UnicodeEncodeError:  # a legacy console code page; the smoke test reads UTF-8
        stream.buffer.write((line + "\n").encode("utf-8"))
        stream.flush()
