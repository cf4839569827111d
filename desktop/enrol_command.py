"""`counter-desk enrol --server URL --code CODE [--ca FILE] [--name NAME]`: register this PC.

For scripted installs (docs/first-run.md). It does what 设置 → 注册本柜台 does: checks the
address and the CA file, registers this PC with the district using a one-time enrolment code,
keeps the device token in the keyring of the Windows user running it, and the server, the CA
file and the street in that user's settings (QSettings, as the GUI reads them).

`--server` may be left out when the deployment file names the server; when both are given they
must agree (the deployment file's server wins in the GUI). Exit 0 with one line on stdout;
exit 2 with one line in Chinese on stderr for anything the installer must fix. Never a traceback.
"""

from __future__ import annotations

import argparse
import os
import platform
import traceback
from typing import TYPE_CHECKING, NoReturn, TextIO

from desktop.deployment import DeploymentError, load_deployment, register_here
from desktop.services.device import (
    DeviceSetupError,
    ServerSettings,
    check_ca_file,
    check_server_url,
)
from desktop.sync.credentials import CredentialsUnavailable, load_device_token

if TYPE_CHECKING:
    from PySide6.QtCore import QSettings

USAGE = ("usage: counter-desk enrol --server URL --code CODE [--ca FILE] [--name NAME]\n"
         "  为本机注册柜台：--server 区服务器地址，--code 区医保中心发放的一次性注册码，\n"
         "  --ca 区自建证书时的证书文件，--name 柜台名称（默认为计算机名）。")


class _Usage(Exception):
    pass


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        raise _Usage(message)


def _parser() -> _Parser:
    parser = _Parser(prog="counter-desk enrol", add_help=False)
    parser.add_argument("--server", default="")
    parser.add_argument("--code", default="")
    parser.add_argument("--ca", default="")
    parser.add_argument("--name", default="")
    parser.add_argument("-h", "--help", action="store_true")
    return parser


def run(args: list[str], stdout: TextIO, stderr: TextIO, *,
        settings: QSettings | None = None) -> int:
    """`settings`: where to keep the server (tests); by default the user's QSettings."""
    try:
        options = _parser().parse_args(args)
    except _Usage as exc:
        print(f"参数错误：{exc}\n{USAGE}", file=stderr)
        return 2
    if options.help:
        print(USAGE, file=stdout)
        return 0
    try:
        return _enrol(options, stdout, settings)
    except (DeviceSetupError, DeploymentError, CredentialsUnavailable) as exc:
        print(f"注册失败：{exc}", file=stderr)
        return 2
    except Exception as exc:  # a bug of ours: one line, the traceback only on request
        if os.environ.get("COUNTER_DESK_DEBUG"):
            traceback.print_exc(file=stderr)
        print(f"注册失败（程序内部错误）：{type(exc).__name__}: {exc}", file=stderr)
        return 3


def _enrol(options: argparse.Namespace, stdout: TextIO, settings: QSettings | None) -> int:
    deployment = load_deployment()
    if not options.code.strip():
        raise DeviceSetupError("enrolment_code",
                               "请用 --code 给出区医保中心发放的一次性注册码。")
    if deployment.server:
        server = ServerSettings(deployment.server, deployment.ca_file)
        if options.server and check_server_url(options.server) != deployment.server:
            raise DeviceSetupError("server_url",
                                   f"部署文件 {deployment.source} 已指定区服务器 "
                                   f"{deployment.server}，与 --server 不一致。")
        if options.ca and check_ca_file(options.ca) != deployment.ca_file:
            raise DeviceSetupError("ca_file", f"部署文件 {deployment.source} 已指定证书文件，"
                                              "与 --ca 不一致。")
    else:
        if not options.server.strip():
            raise DeviceSetupError("server_url", "请用 --server 给出区服务器地址。")
        ca_file = check_ca_file(options.ca)
        server = ServerSettings(check_server_url(options.server),
                                ca_file.resolve() if ca_file else None)
    # the keyring is checked before the code is spent: a used code cannot be used again
    load_device_token(server.url)
    name = options.name.strip() or platform.node() or "counter"
    registration = register_here(deployment, server, options.code, name)
    _save(settings, server, registration.street_name, registration.street_code,
          registration.device_number)
    print(f"本柜台已注册：{registration.street_name}（{registration.street_code}），"
          f"设备 {registration.device_id}，区服务器 {server.url}。", file=stdout)
    return 0


def _save(settings: QSettings | None, server: ServerSettings, street_name: str,
          street_code: str, device_number: int | None) -> None:
    """The keys of desktop.ui.settings_dialog (save_registration), written with QtCore only:
    no widgets are loaded for a command run by an install script."""
    from PySide6.QtCore import QCoreApplication, QSettings

    if settings is None:  # the same place run_gui's QSettings() reads
        QCoreApplication.setOrganizationName("counter-desk")
        QCoreApplication.setApplicationName("counter-desk")
        settings = QSettings()
    settings.setValue("server/url", server.url)
    settings.setValue("server/caFile", str(server.ca_file) if server.ca_file else "")
    settings.setValue("counter/streetName", street_name)
    settings.setValue("counter/streetCode", street_code)
    if device_number is None:
        settings.remove("counter/deviceNumber")
    else:
        settings.setValue("counter/deviceNumber", device_number)
    settings.sync()
