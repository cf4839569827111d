"""`counter-desk enrol`: a scripted install registers this PC; its errors are one Chinese line."""

from __future__ import annotations

import io
import subprocess
import sys
from pathlib import Path

import keyring
import pytest
from keyring.backends import fail
from PySide6.QtCore import QSettings

from desktop.deployment import ENV_VAR
from desktop.enrol_command import run
from desktop.services.accounts import sign_in
from desktop.services.device import district_client, is_registered
from desktop.store import open_store
from desktop.sync.credentials import MemoryKeyring
from desktop.ui.settings_dialog import KEY_STREET_CODE, registered_device_number, server_settings
from tests.sync.conftest import PASSWORD, ROOT, STREET, DistrictServer, free_port
from tests.sync.test_tls import tls_server  # noqa: F401  (a TLS server of an unknown CA)


@pytest.fixture
def settings(tmp_path: Path) -> QSettings:
    return QSettings(str(tmp_path / "counter.ini"), QSettings.Format.IniFormat)


@pytest.fixture(autouse=True)
def no_deployment_file(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv(ENV_VAR, str(tmp_path / "no-deployment.toml"))


def enrol(args: list[str], settings: QSettings) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = run(args, out, err, settings=settings)
    return code, out.getvalue(), err.getvalue()


def test_a_fresh_pc_enrolled_by_the_command_signs_in_online(
        served: DistrictServer, settings: QSettings, tmp_path: Path,
        memory_keyring: MemoryKeyring) -> None:
    code, out, err = enrol(["--server", served.url + "/", "--code", served.codes()[0],
                            "--name", "华阳路 1号窗口"], settings)
    assert (code, err) == (0, "")
    assert out.count("\n") == 1 and "本柜台已注册" in out and "华阳路街道" in out
    server = server_settings(settings)
    assert server is not None and server.url == served.url and server.ca_file is None
    assert settings.value(KEY_STREET_CODE) == STREET
    assert registered_device_number(settings) is not None  # for the application numbers
    assert is_registered(server)
    token = next(iter(memory_keyring.secrets.values()))
    assert token not in Path(settings.fileName()).read_text()  # only in the keyring

    store = open_store(tmp_path / "cache.sqlite")
    try:
        with district_client(server) as client:
            signed = sign_in(store, client, served.user("clerk"), PASSWORD)
        assert not signed.offline
    finally:
        store.close()

    code, _, err = enrol(["--server", served.url, "--code", served.codes()[0]], settings)
    assert code == 2 and err.startswith("注册失败：") and err.count("\n") == 1  # a used code


def test_a_wrong_code_is_refused(served: DistrictServer, settings: QSettings) -> None:
    code, out, err = enrol(["--server", served.url, "--code", "NOT-A-CODE"], settings)
    assert code == 2 and out == ""
    assert err.startswith("注册失败：") and "Traceback" not in err
    assert server_settings(settings) is None  # nothing kept


def test_an_unreachable_server(settings: QSettings) -> None:
    url = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    code, _, err = enrol(["--server", url, "--code", "ABCD-EFGH"], settings)
    assert code == 2 and "无法连接区服务器" in err


def test_a_certificate_that_does_not_verify(tls_server: tuple[str, Path],  # noqa: F811
                                            settings: QSettings) -> None:
    url, _ca = tls_server
    code, _, err = enrol(["--server", url, "--code", "ABCD-EFGH"], settings)
    assert code == 2 and "证书无法验证" in err


@pytest.mark.parametrize(("args", "words"), [
    (["--server", "https://yibao.example.gov.cn", "--code", "X", "--ca", "missing.pem"],
     "找不到证书文件"),
    (["--server", "yibao.example.gov.cn", "--code", "X"], "区服务器地址应形如"),
    (["--server", "http://yibao.example.gov.cn", "--code", "X"], "https"),
    (["--code", "X"], "--server"),
    (["--server", "https://yibao.example.gov.cn"], "--code"),
    (["--server"], "参数错误"),
])
def test_bad_arguments(settings: QSettings, args: list[str], words: str) -> None:
    code, out, err = enrol(args, settings)
    assert code == 2 and out == "" and words in err


def test_no_keyring_is_said_before_the_code_is_spent(
        served: DistrictServer, settings: QSettings) -> None:
    keyring.set_keyring(fail.Keyring())  # the conftest puts its memory keyring back
    code, _, err = enrol(["--server", served.url, "--code", served.codes()[1]], settings)
    assert code == 2 and "密钥库" in err
    keyring.set_keyring(MemoryKeyring())
    code, _, err = enrol(["--server", served.url, "--code", served.codes()[1]], settings)
    assert (code, err) == (0, "")  # the code was still good


def test_the_deployment_files_server_and_street(
        served: DistrictServer, settings: QSettings, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    deployment = tmp_path / "counter-desk.toml"
    deployment.write_text(f'server = "{served.url}"\nstreet = "310105002"\n', encoding="utf-8")
    monkeypatch.setenv(ENV_VAR, str(deployment))
    code, _, err = enrol(["--server", "https://elsewhere.example.cn", "--code", "X"], settings)
    assert code == 2 and "部署文件" in err and "不一致" in err
    deployment.write_text("idle_minutes = 0\n", encoding="utf-8")
    code, _, err = enrol(["--code", "X"], settings)
    assert code == 2 and str(deployment) in err and "idle_minutes" in err


def test_from_the_command_line_without_a_traceback() -> None:
    done = subprocess.run([sys.executable, "-m", "desktop", "enrol", "--server", "ftp://x",
                           "--code", "X"], cwd=ROOT, capture_output=True, text=True,
                          encoding="utf-8", timeout=120,
                          env={"PATH": "/usr/bin:/bin", "PYTHONIOENCODING": "utf-8",
                               ENV_VAR: str(ROOT / "no-such-deployment.toml")})
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert "区服务器地址" in done.stderr
