"""`counter-desk --demo`: a seeded synthetic district on 127.0.0.1 and this counter enrolled in it.

Everything lives in a fresh temporary folder and the data are synthetic (generated names and
ID numbers). The district server is a child process that stops with the application.
"""

from __future__ import annotations

import contextlib
import json
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import keyring
from keyring.errors import NoKeyringError

from desktop.store import Store, open_store
from desktop.sync.client import DistrictClient
from desktop.sync.credentials import (
    CredentialsUnavailable,
    MemoryKeyring,
    forget_cache_key,
    load_device_token,
    load_or_create_cache_key,
    save_device_token,
)

DEMO_STREET = "310105001"  # 长宁区华阳路街道
DEMO_PASSWORD = "demo-2026"
DEMO_PERSONS = 300


@dataclass
class Demo:
    folder: Path
    url: str
    store: Store
    client: DistrictClient
    clerk: str
    server: subprocess.Popen[bytes]
    notes: list[str] = field(default_factory=list)
    users: dict[str, str] = field(default_factory=dict)  # role -> a demo user holding it
    street_name: str = ""  # the enrolled counter's street, printed on the forms

    def close(self) -> None:
        self.client.close()
        self.store.close()
        with contextlib.suppress(CredentialsUnavailable):  # the demo's cache is not reopened:
            forget_cache_key(self.store.path)  # no entry per run left in Credential Manager
        self.server.terminate()
        try:
            self.server.wait(10)
        except subprocess.TimeoutExpired:
            self.server.kill()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


_ROLE_WORDS = {"clerk": "经办人", "reviewer": "审核人", "approver": "审批人"}


def start_demo(folder: Path | None = None, persons: int = DEMO_PERSONS) -> Demo:
    folder = folder or Path(tempfile.mkdtemp(prefix="counter-desk-demo-"))
    database_url = f"sqlite:///{folder / 'district.sqlite'}"
    seeded = subprocess.run(
        [sys.executable, "-m", "district", "seed", "--persons", str(persons),
         "--streets", DEMO_STREET, "--password", DEMO_PASSWORD, "--json",
         "--database-url", database_url],
        capture_output=True, text=True, timeout=600, check=True)
    seed = json.loads(seeded.stdout[seeded.stdout.index("{\n"):])
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    server = subprocess.Popen(
        [sys.executable, "-m", "district", "serve", "--port", str(port),
         "--database-url", database_url],
        stdout=subprocess.DEVNULL, stderr=(folder / "district.log").open("wb"))
    _wait_until_up(url, server)
    notes = []
    try:
        keyring.get_password("counter-desk", "probe")
    except NoKeyringError:
        keyring.set_keyring(MemoryKeyring())
        notes.append("本机没有系统密钥库：演示模式的设备令牌只保存在内存中。")
    code = next(s for s in seed["streets"] if s["code"] == DEMO_STREET)["enrolment_codes"][0]
    with DistrictClient(url) as enrol:
        registered = enrol.register(code, "演示柜台")
    save_device_token(url, registered.token)
    if load_device_token(url) != registered.token:  # a keyring that keeps nothing (null)
        keyring.set_keyring(MemoryKeyring())
        save_device_token(url, registered.token)
        notes.append("系统密钥库未保存设备令牌：演示模式的设备令牌只保存在内存中。")
    clerk = next(u["username"] for u in seed["users"]
                 if u["street_code"] == DEMO_STREET and "clerk" in u["roles"])
    client = DistrictClient(url, lambda: load_device_token(url))
    client.login(clerk, DEMO_PASSWORD)
    # sealed like a real counter's cache, under a key in the same keyring as the token
    store_path = folder / "counter.sqlite"
    store = open_store(store_path, key=load_or_create_cache_key(store_path))
    # the demo's other staff sign in here once, as at a real counter, so that their signing
    # keys are registered at this PC and “切换用户” can review and approve (the clerk's own
    # sign-in follows in the window)
    from desktop.services.accounts import sign_in

    for u in seed["users"]:
        if u["street_code"] == DEMO_STREET and u["username"] != clerk:
            sign_in(store, client, u["username"], DEMO_PASSWORD)
    staff = "；".join(f"{'、'.join(_ROLE_WORDS.get(r, r) for r in u['roles'])} {u['username']}"
                     for u in seed["users"] if u["street_code"] == DEMO_STREET)
    notes.append(f"演示数据在 {folder}（模拟数据，非真实人员）。账号：{staff}；"
                 f"密码均为 {DEMO_PASSWORD}（“柜台 → 切换用户”可换人审核、审批）")
    users: dict[str, str] = {}
    for u in seed["users"]:
        if u["street_code"] == DEMO_STREET:
            for role in u["roles"]:
                users.setdefault(role, u["username"])
    return Demo(folder, url, store, client, clerk, server, notes, users, registered.street_name)


def _wait_until_up(url: str, server: subprocess.Popen[bytes], seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError("the demo district server stopped at start")
        try:
            if httpx.get(f"{url}/api/v1/health", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            time.sleep(0.1)
    server.kill()
    raise RuntimeError("the demo district server did not start")
