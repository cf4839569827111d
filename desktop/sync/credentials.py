"""The device token and the cache's key live in the OS keyring (Windows Credential Manager),
never in the database, a config file or a log."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

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


# -- the cache's key ------------------------------------------------------------------------------

CACHE_KEY_BYTES = 32  # what desktop.store opens SQLCipher with (a raw AES-256 key)
_NO_KEYRING_FOR_CACHE = ("本机没有可用的系统密钥库，无法打开加密的本机缓存。"
                         "请联系管理员配置 Windows 凭据管理器。")


def _cache_account(path: Path) -> str:
    """One key per cache file: two profiles (or two test stores) never share one."""
    return f"cache-key:{os.path.normcase(os.path.abspath(path))}"


def load_or_create_cache_key(path: Path) -> bytes:
    """The key of the cache at `path`; the first time, a new random one, stored before it is
    used (and read back: a keyring that silently keeps nothing would lose the cache)."""
    account = _cache_account(path)
    try:
        stored = keyring.get_password(SERVICE, account)
        if stored is None:
            stored = secrets.token_hex(CACHE_KEY_BYTES)
            keyring.set_password(SERVICE, account, stored)
            if keyring.get_password(SERVICE, account) != stored:
                raise CredentialsUnavailable(
                    "系统密钥库没有保存本机缓存的密钥，无法加密本机缓存。"
                    "请联系管理员配置 Windows 凭据管理器。")
    except NoKeyringError:
        raise CredentialsUnavailable(_NO_KEYRING_FOR_CACHE) from None
    except KeyringError as exc:
        raise CredentialsUnavailable(f"无法读取本机缓存的密钥：{type(exc).__name__}") from None
    try:
        key = bytes.fromhex(stored)
    except ValueError:
        key = b""
    if len(key) != CACHE_KEY_BYTES:
        raise CredentialsUnavailable("系统密钥库中本机缓存的密钥已损坏。请联系管理员，"
                                     "不要删除缓存文件，其中可能有尚未上传的申请。")
    return key


def forget_cache_key(path: Path) -> None:
    """For a cache that is deleted with it (the demo's): the key is of no use afterwards."""
    try:
        keyring.delete_password(SERVICE, _cache_account(path))
    except PasswordDeleteError:
        pass
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
