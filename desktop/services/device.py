"""First run and settings: which district server, this PC's registration, its client.

The server address and the CA file are settings (not secrets); the device token the server
gives at registration goes to the OS keyring only (desktop.sync.credentials).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from desktop.store import Store, outbox_waiting_count
from desktop.sync.client import DistrictClient, Offline, ServerRefused
from desktop.sync.credentials import (
    CredentialsUnavailable,
    load_device_token,
    save_device_token,
)

log = logging.getLogger(__name__)
LOOPBACK = ("127.0.0.1", "localhost", "::1")


class DeviceSetupError(ValueError):
    """What went wrong, in Chinese, naming the field."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


@dataclass(frozen=True)
class ServerSettings:
    url: str
    ca_file: Path | None = None


def check_server_url(text: str) -> str:
    """An https address (plain http only on this PC itself, for a demo or a test)."""
    url = text.strip().rstrip("/")
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise DeviceSetupError("server_url", "区服务器地址应形如 https://yibao.example.gov.cn")
    if parts.scheme == "http" and parts.hostname not in LOOPBACK:
        raise DeviceSetupError("server_url", "区服务器地址必须使用 https（加密连接）。")
    return url


def check_ca_file(text: str) -> Path | None:
    if not text.strip():
        return None
    path = Path(text.strip())
    if not path.is_file():
        raise DeviceSetupError("ca_file", f"找不到证书文件：{path}")
    return path


@dataclass(frozen=True)
class Registration:
    device_id: str
    street_code: str
    street_name: str  # printed on the forms
    # this PC's number within its street (申请编号's `03`; None from a server before it):
    # keep it in the counter store with desktop.services.numbering.remember_registration
    device_number: int | None = None


def register_counter(server: ServerSettings, enrolment_code: str, device_name: str,
                     *, profile: str = "default") -> Registration:
    """Register this PC with a one-time enrolment code; the token goes to the keyring."""
    if not enrolment_code.strip():
        raise DeviceSetupError("enrolment_code", "请输入区医保中心发放的一次性注册码。")
    if not device_name.strip():
        raise DeviceSetupError("device_name", "请为本柜台填写一个名称，例如“华阳路街道 1号窗口”。")
    try:
        with DistrictClient(server.url, ca_file=server.ca_file) as client:
            registered = client.register(enrolment_code.strip(), device_name.strip())
    except Offline as exc:
        raise DeviceSetupError("server_url", f"无法连接区服务器：{exc}") from None
    except ServerRefused as exc:
        raise DeviceSetupError(exc.field or "enrolment_code", exc.message) from None
    try:
        save_device_token(server.url, registered.token, profile)
    except CredentialsUnavailable as exc:
        raise DeviceSetupError("keyring", str(exc)) from None
    return Registration(registered.device_id, registered.street_code, registered.street_name,
                        registered.device_number)


def is_registered(server: ServerSettings, *, profile: str = "default") -> bool:
    try:
        return bool(load_device_token(server.url, profile))
    except CredentialsUnavailable:
        return False


def outbox_counter(store: Store) -> Callable[[], int | None]:
    """How many outbox items wait to be sent, told to the district on every request (the
    console shows it per PC): one indexed count in a read transaction; None, never an
    exception, when the store cannot say (closed, locked, broken)."""
    def waiting() -> int | None:
        try:
            with store.read_session() as session:
                return outbox_waiting_count(session)
        except Exception:  # a count is no reason to fail a sync
            log.debug("could not count the outbox for the district", exc_info=True)
            return None
    return waiting


def district_client(server: ServerSettings, *, profile: str = "default",
                    store: Store | None = None) -> DistrictClient:
    """The client the counter syncs through; the token is read from the keyring per call.
    Given the counter's `store`, every request also tells the district how many outbox items
    wait here (X-Outbox-Waiting)."""
    return DistrictClient(server.url, lambda: load_device_token(server.url, profile),
                          ca_file=server.ca_file,
                          waiting=outbox_counter(store) if store is not None else None)
