"""The deployment file `counter-desk.toml`: what district IT sets for every counter PC.

Where it is read from (the first one that exists is used; files are not merged):
1. the file named by the environment variable COUNTER_DESK_DEPLOYMENT, if it is set (then only
   that one: a test, or IT trying a file out, must not pick up the machine's own);
2. beside the executable, in a PyInstaller bundle (`counter-desk.toml` next to counter-desk.exe);
3. the machine-wide config folder, `platformdirs.site_config_dir("counter-desk")`
   (C:\\ProgramData\\counter-desk on Windows, /etc/xdg/counter-desk on Linux).

Keys (all optional):
    server = "https://yibao.example.gov.cn"   # the district server
    ca_file = "district-ca.pem"               # the district's own CA; relative to this file
    street = "310105001"                      # the street this PC serves (9-digit code)
    printer = "HP LaserJet 1号窗口"            # the default printer
    idle_minutes = 10                         # idle lock, 1–120 minutes
    data_folder = "D:/counter-desk"           # where the cache lives; relative to this file

Who wins over a clerk's own settings (QSettings), decided here:
- `server` and `ca_file` are IT's: when the file names a server, it wins and the settings dialog
  shows it read-only, so a PC cannot be pointed at another server (or trust another CA) by a
  user. Without it the clerk's setting is used, as before.
- `printer` and `idle_minutes` are defaults: a clerk's own choice in 设置 wins.
- `street` is a check: registering with a code of another street is refused.
- `data_folder` moves the cache (unless `--store` is given on the command line).

A bad file raises DeploymentError with a Chinese message naming the file and the key; the GUI
shows it and still starts, the `enrol` command stops with it.
"""

from __future__ import annotations

import contextlib
import os
import re
import sys
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import platformdirs

from desktop.services.device import (
    DeviceSetupError,
    Registration,
    ServerSettings,
    check_server_url,
    register_counter,
)
from desktop.sync.credentials import CredentialsUnavailable, forget_device_token

APP_NAME = "counter-desk"
FILE_NAME = "counter-desk.toml"
ENV_VAR = "COUNTER_DESK_DEPLOYMENT"
IDLE_RANGE = (1, 120)  # the settings dialog's range
KEYS = ("server", "ca_file", "street", "printer", "idle_minutes", "data_folder")
_STREET = re.compile(r"\d{9}")


class DeploymentError(ValueError):
    """A bad deployment file, in Chinese, naming the file and (when one is at fault) the key."""

    def __init__(self, path: Path, key: str | None, message: str) -> None:
        where = f"部署文件 {path}" + (f" 中的 {key}" if key else "")
        super().__init__(f"{where}：{message}")
        self.path = path
        self.key = key


@dataclass(frozen=True)
class Deployment:
    server: str | None = None
    ca_file: Path | None = None
    street: str | None = None
    printer: str | None = None
    idle_minutes: int | None = None
    data_folder: Path | None = None
    source: Path | None = None  # the file these came from; None: no file

    def check_street(self, street_code: str) -> None:
        """Raise DeploymentError if a registration's street is not the one IT configured."""
        if self.street and street_code != self.street and self.source is not None:
            raise DeploymentError(self.source, "street",
                                  f"本柜台应属于街道 {self.street}，"
                                  f"但该注册码属于街道 {street_code}。请核对注册码。")


NO_DEPLOYMENT = Deployment()


def register_here(deployment: Deployment, server: ServerSettings, enrolment_code: str,
                  device_name: str) -> Registration:
    """register_counter, then the deployment file's street check: a code of another street
    leaves this PC unregistered (its new token is forgotten) and raises DeploymentError.

    Raises DeviceSetupError as register_counter does.
    """
    registration = register_counter(server, enrolment_code, device_name)
    try:
        deployment.check_street(registration.street_code)
    except DeploymentError:
        with contextlib.suppress(CredentialsUnavailable):
            forget_device_token(server.url)
        raise
    return registration


def candidate_paths() -> list[Path]:
    """Where the file is looked for, in order (see the module's docstring)."""
    override = os.environ.get(ENV_VAR, "").strip()
    if override:
        return [Path(override)]
    paths: list[Path] = []
    if getattr(sys, "frozen", False):
        paths.append(Path(sys.executable).resolve().parent / FILE_NAME)
    paths.append(Path(platformdirs.site_config_dir(APP_NAME, appauthor=False)) / FILE_NAME)
    return paths


def load_deployment(paths: list[Path] | None = None) -> Deployment:
    """The first deployment file found, checked; NO_DEPLOYMENT when there is none."""
    for path in candidate_paths() if paths is None else paths:
        if path.is_file():
            return read_deployment(path)
        if path.exists():
            raise DeploymentError(path, None, "不是文件。")
    return NO_DEPLOYMENT


def read_deployment(path: Path) -> Deployment:
    try:
        with open(path, "rb") as file:
            data = tomllib.load(file)
    except OSError as exc:
        raise DeploymentError(path, None, f"无法读取（{exc.strerror or exc}）。") from None
    except UnicodeDecodeError:
        raise DeploymentError(path, None, "不是 UTF-8 编码的文本。") from None
    except tomllib.TOMLDecodeError as exc:
        raise DeploymentError(path, None, f"格式错误（TOML）：{exc}") from None
    unknown = [key for key in data if key not in KEYS]
    if unknown:
        raise DeploymentError(path, unknown[0],
                              f"无法识别的设置项。可用的设置项：{'、'.join(KEYS)}。")
    folder = path.resolve().parent
    server = _text(path, data, "server")
    if server is not None:
        try:
            server = check_server_url(server)
        except DeviceSetupError as exc:
            raise DeploymentError(path, "server", str(exc)) from None
    ca_file = _path(path, data, "ca_file", folder)
    if ca_file is not None and not ca_file.is_file():
        raise DeploymentError(path, "ca_file", f"找不到证书文件：{ca_file}")
    if ca_file is not None and server is None:
        raise DeploymentError(path, "ca_file", "只有同时设置 server 时才能设置证书文件。")
    street = _text(path, data, "street")
    if street is not None and not _STREET.fullmatch(street):
        raise DeploymentError(path, "street",
                              f"应为 9 位街道代码，例如 310105001，而不是“{street}”。")
    idle = data.get("idle_minutes")
    if idle is not None and (isinstance(idle, bool) or not isinstance(idle, int)
                             or not IDLE_RANGE[0] <= idle <= IDLE_RANGE[1]):
        raise DeploymentError(path, "idle_minutes",
                              f"应为 {IDLE_RANGE[0]} 到 {IDLE_RANGE[1]} 之间的整数（分钟）。")
    data_folder = _path(path, data, "data_folder", folder)
    if data_folder is not None and data_folder.exists() and not data_folder.is_dir():
        raise DeploymentError(path, "data_folder", f"{data_folder} 不是文件夹。")
    return Deployment(server=server, ca_file=ca_file, street=street,
                      printer=_text(path, data, "printer"), idle_minutes=idle,
                      data_folder=data_folder, source=path)


def _text(path: Path, data: dict[str, Any], key: str) -> str | None:
    value = data.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        raise DeploymentError(path, key, "应为带引号的文本。")
    return value.strip() or None


def _path(path: Path, data: dict[str, Any], key: str, folder: Path) -> Path | None:
    text = _text(path, data, key)
    if text is None:
        return None
    expanded = Path(os.path.expanduser(os.path.expandvars(text)))
    return expanded if expanded.is_absolute() else folder / expanded
