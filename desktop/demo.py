"""`counter-desk --demo`: a seeded synthetic district on 127.0.0.1 and this counter enrolled in it.

Everything lives in a fresh temporary folder and the data are synthetic (generated names and
ID numbers). The district runs inside this process: it is seeded by a function call and served
by uvicorn in a background thread, so the demo works the same from the source tree and from the
PyInstaller bundle (where `sys.executable` is the counter itself) and never leaves a server
process behind. `Demo.close` stops the server, closes every database and removes the folder; an
atexit hook does the same when the application ends on an exception before closing the demo.
"""

from __future__ import annotations

import atexit
import contextlib
import logging
import shutil
import socket
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import keyring
from keyring.errors import NoKeyringError

from desktop.services.device import outbox_counter
from desktop.services.numbering import remember_registration
from desktop.store import Store, open_store
from desktop.sync.client import DistrictClient
from desktop.sync.credentials import (
    CredentialsUnavailable,
    MemoryKeyring,
    forget_cache_key,
    forget_device_token,
    load_device_token,
    load_or_create_cache_key,
    save_device_token,
)

if TYPE_CHECKING:
    import uvicorn

    from district.config import Settings
    from district.db import Database

log = logging.getLogger(__name__)

DEMO_STREET = "310105001"  # 长宁区华阳路街道
DEMO_PASSWORD = "demo-2026"
DEMO_PERSONS = 300
FOLDER_PREFIX = "counter-desk-demo-"
SERVER_THREAD = "counter-desk-demo-district"  # the uvicorn thread's name
START_SECONDS = 60  # how long the server may take to listen
STOP_SECONDS = 10  # how long it may take to finish its requests at close


class DemoError(RuntimeError):
    """The demo could not start; the message is for the clerk (Chinese)."""


class _Resources:
    """What a demo holds, released newest first by `release` (once; also at interpreter exit),
    and then its folder removed. SQLite files can be deleted on Windows only after every
    connection to them is closed, so the folder goes last."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self._closers: list[Callable[[], None]] = []
        self._lock = threading.Lock()
        atexit.register(self.release)

    def add(self, closer: Callable[[], None]) -> None:
        self._closers.append(closer)

    def release(self) -> None:
        with self._lock:
            while self._closers:
                closer = self._closers.pop()
                try:
                    closer()
                except Exception as exc:  # the rest must still be released
                    log.warning("demo: could not release %r: %r", closer, exc)
            shutil.rmtree(self.folder, ignore_errors=True)
            if self.folder.exists():
                log.warning("demo: folder %s could not be removed", self.folder)
            atexit.unregister(self.release)


class DistrictThread:
    """The demo district's uvicorn server, in a daemon thread of this process."""

    def __init__(self, server: uvicorn.Server, sock: socket.socket) -> None:
        self.server = server
        self.socket = sock
        self.thread = threading.Thread(target=self._run, name=SERVER_THREAD, daemon=True)
        self.failure: BaseException | None = None

    @property
    def url(self) -> str:
        host, port = self.socket.getsockname()[:2]
        return f"http://{host}:{port}"

    def _run(self) -> None:
        try:
            self.server.run(sockets=[self.socket])
        except BaseException as exc:  # reported by start(), logged otherwise
            self.failure = exc
            log.error("demo: the district server stopped: %r", exc)

    def start(self, seconds: float = START_SECONDS) -> None:
        self.thread.start()
        deadline = time.monotonic() + seconds
        while not self.server.started:
            if not self.thread.is_alive():
                raise DemoError(f"演示区服务器启动失败：{self.failure or '已停止'}")
            if time.monotonic() > deadline:
                raise DemoError("演示区服务器未能在规定时间内启动。")
            time.sleep(0.02)

    def stop(self, seconds: float = STOP_SECONDS) -> None:
        self.server.should_exit = True
        if self.thread.is_alive():
            self.thread.join(seconds)
        if self.thread.is_alive():  # requests that will not end: close the connections
            self.server.force_exit = True
            self.thread.join(seconds)
        self.socket.close()

    @property
    def alive(self) -> bool:
        return self.thread.is_alive()


@dataclass
class Demo:
    folder: Path
    url: str
    store: Store
    client: DistrictClient
    clerk: str
    server: DistrictThread
    notes: list[str] = field(default_factory=list)
    users: dict[str, str] = field(default_factory=dict)  # role -> a demo user holding it
    street_name: str = ""  # the enrolled counter's street, printed on the forms
    resources: _Resources | None = field(default=None, repr=False)

    def close(self) -> None:
        """Stop the district, close both databases and remove the demo's folder. Idempotent."""
        if self.resources is not None:
            self.resources.release()


_ROLE_WORDS = {"clerk": "经办人", "reviewer": "审核人", "approver": "审批人"}


def start_demo(folder: Path | None = None, persons: int = DEMO_PERSONS) -> Demo:
    """Seed a district in `folder` (a new temporary one by default), serve it on loopback,
    enrol this counter and sign the demo's staff in. The folder belongs to the demo: it is
    removed by `Demo.close` (or at exit). DemoError, in Chinese, when it cannot start."""
    if folder is None:
        folder = Path(tempfile.mkdtemp(prefix=FOLDER_PREFIX))
    else:
        folder.mkdir(parents=True, exist_ok=True)
    resources = _Resources(folder)
    try:
        return _start(folder, persons, resources)
    except BaseException as exc:
        resources.release()
        if isinstance(exc, DemoError | CredentialsUnavailable) or not isinstance(exc, Exception):
            raise
        log.error("demo: could not start: %r", exc)
        raise DemoError(f"演示模式无法启动：{exc or type(exc).__name__}") from exc


def _start(folder: Path, persons: int, resources: _Resources) -> Demo:
    from district.config import Settings
    from district.db import Database
    from district.seed import SeedOptions, seed_district

    database_url = f"sqlite:///{folder / 'district.sqlite'}"
    db = Database(database_url)
    resources.add(db.dispose)
    # what `python -m district seed` does: migrate, then one transaction of synthetic rows
    report = seed_district(db, SeedOptions(persons=persons, password=DEMO_PASSWORD,
                                           streets=[DEMO_STREET]))
    server = _serve(db, Settings(database_url=database_url))
    resources.add(server.stop)
    server.start()
    url = server.url
    notes = []
    try:
        keyring.get_password("counter-desk", "probe")
    except NoKeyringError:
        keyring.set_keyring(MemoryKeyring())
        notes.append("本机没有系统密钥库：演示模式的设备令牌只保存在内存中。")
    code = report.enrolment_codes[DEMO_STREET][0]
    with DistrictClient(url) as enrol:
        registered = enrol.register(code, "演示柜台")
    save_device_token(url, registered.token)
    if load_device_token(url) != registered.token:  # a keyring that keeps nothing (null)
        keyring.set_keyring(MemoryKeyring())
        save_device_token(url, registered.token)
        notes.append("系统密钥库未保存设备令牌：演示模式的设备令牌只保存在内存中。")
    # the district is gone after the demo: neither its token nor the cache's key is of use,
    # and no entry per run is left in Credential Manager
    resources.add(lambda: _forget(lambda: forget_device_token(url)))
    staff_users = [u for u in report.users if u.street_code == DEMO_STREET]
    clerk = next(u.username for u in staff_users if "clerk" in u.roles)
    # sealed like a real counter's cache, under a key in the same keyring as the token
    store_path = folder / "counter.sqlite"
    resources.add(lambda: _forget(lambda: forget_cache_key(store_path)))
    store = open_store(store_path, key=load_or_create_cache_key(store_path))
    resources.add(store.close)
    client = DistrictClient(url, lambda: load_device_token(url), waiting=outbox_counter(store))
    resources.add(client.close)
    client.login(clerk, DEMO_PASSWORD)
    # the demo's other staff sign in here once, as at a real counter, so that their signing
    # keys are registered at this PC and “切换用户” can review and approve (the clerk's own
    # sign-in follows in the window)
    from desktop.services.accounts import sign_in

    for u in staff_users:
        if u.username != clerk:
            sign_in(store, client, u.username, DEMO_PASSWORD)
    staff = "；".join(f"{'、'.join(_ROLE_WORDS.get(r, r) for r in u.roles)} {u.username}"
                     for u in staff_users)
    notes.append(f"演示数据在 {folder}（模拟数据，非真实人员，退出时删除），区服务器 {url}。"
                 f"账号：{staff}；"
                 f"密码均为 {DEMO_PASSWORD}（“柜台 → 切换用户”可换人审核、审批）")
    admins = [u.username for u in report.users
              if u.street_code is None and "district_admin" in u.roles]
    if admins:  # the district's own console, in a browser (issue 14)
        notes.append(f"区管理台：{url}/console/ ，演示区管理员 {admins[0]}，密码 {DEMO_PASSWORD}"
                     "（在浏览器中打开；管理人员、柜台电脑、数据导入、政策参数、月度汇总、审计）")
    users: dict[str, str] = {}
    for u in staff_users:
        for role in u.roles:
            users.setdefault(role, u.username)
    # the demo's applications get their human numbers (desktop.services.numbering)
    remember_registration(store, registered.street_name, registered.device_number)
    return Demo(folder, url, store, client, clerk, server, notes, users, registered.street_name,
                resources)


def _serve(db: Database, settings: Settings) -> DistrictThread:
    """What `python -m district serve` does (district.server), on a loopback socket of a port
    the system picks, bound here so no other program can take it in between."""
    import uvicorn

    from district.app import create_app
    from district.server import prepare

    prepare(db)
    app = create_app(settings, db)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        sock.bind(("127.0.0.1", 0))
    except OSError:
        sock.close()
        raise
    config = uvicorn.Config(app, log_config=None, access_log=False, server_header=False,
                            lifespan="on")
    return DistrictThread(uvicorn.Server(config), sock)


def _forget(forget: Callable[[], None]) -> None:
    with contextlib.suppress(CredentialsUnavailable):
        forget()
