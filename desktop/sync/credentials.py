"""The device token lives in the OS keyring, never in the database, a config file or a log."""

from __future__ import annotations

import keyring
from keyring.backend import KeyringBackend
from keyring.errors import KeyringError, NoKeyringError, PasswordDeleteError

SERVICE = "counter-desk"


class CredentialsUnavailable(RuntimeError):
    """The OS keyring cannot be used; the message is for the clerk (Chinese)."""


def _account(server_url: str, profile: str) -> str:
    return f"device-token:{profile}@{server_url.rstrip('/')}"


def save_device_token(server_url: str, token: str, profile: str = "default") -> None:
    """`profile` separates counters sharing one OS account (a test, a training room)."""
    try:
        keyring.set_password(SERVICE, _account(server_url, profile), token)
    except NoKeyringError:
        raise CredentialsUnavailable(
            "本机没有可用的系统密钥库，无法保存设备令牌。请联系管理员配置 Windows 凭据管理器。"
        ) from None
    except KeyringError as exc:
        raise CredentialsUnavailable(f"无法保存设备令牌：{type(exc).__name__}") from None


def load_device_token(server_url: str, profile: str = "default") -> str | None:
    try:
        return keyring.get_password(SERVICE, _account(server_url, profile))
    except NoKeyringError:
        raise CredentialsUnavailable(
            "本机没有可用的系统密钥库，无法读取设备令牌。请联系管理员配置 Windows 凭据管理器。"
        ) from None
    except KeyringError as exc:
        raise CredentialsUnavailable(f"无法读取设备令牌：{type(exc).__name__}") from None


def forget_device_token(server_url: str, profile: str = "default") -> None:
    try:
        keyring.delete_password(SERVICE, _account(server_url, profile))
    except PasswordDeleteError:
        pass  # nothing stored: nothing to forget
    except NoKeyringError:
        raise CredentialsUnavailable("本机没有可用的系统密钥库。") from None


class MemoryKeyring(KeyringBackend):
    """A keyring held in this process only: for tests, and for the demo on a machine without
    an OS keyring. Never used for a real counter."""

    priority = 0.5

    def __init__(self) -> None:
        super().__init__()  # type: ignore[no-untyped-call]
        self.secrets: dict[tuple[str, str], str] = {}

    def get_password(self, service: str, username: str) -> str | None:
        return self.secrets.get((service, username))

    def set_password(self, service: str, username: str, password: str) -> None:
        self.secrets[(service, username)] = password

    def delete_password(self, service: str, username: str) -> None:
        if self.secrets.pop((service, username), None) is None:
            raise PasswordDeleteError(username)
