"""The deployment file counter-desk.toml: where it is read from, what it sets, bad values."""

from __future__ import annotations

import sys
from pathlib import Path

import platformdirs
import pytest

from desktop import deployment
from desktop.deployment import (
    ENV_VAR,
    FILE_NAME,
    NO_DEPLOYMENT,
    DeploymentError,
    load_deployment,
)


@pytest.fixture(autouse=True)
def no_machine_file(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """The machine's own config folder is never read: it is a temp folder here."""
    site = tmp_path / "site"
    monkeypatch.setattr(platformdirs, "site_config_dir", lambda *a, **k: str(site))
    monkeypatch.delenv(ENV_VAR, raising=False)
    return site


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def test_read_from_the_environment_variable(tmp_path: Path,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    ca = write(tmp_path / "it" / "district-ca.pem", "-----BEGIN CERTIFICATE-----\n")
    path = write(tmp_path / "it" / "counter.toml", """
server = "https://yibao.example.gov.cn/"
ca_file = "district-ca.pem"
street = "310105001"
printer = "HP 1号窗口"
idle_minutes = 5
data_folder = "cache"
""")
    monkeypatch.setenv(ENV_VAR, str(path))
    found = load_deployment()
    assert found.server == "https://yibao.example.gov.cn"  # checked like the settings' field
    assert found.ca_file == ca.resolve()  # relative to the file
    assert found.street == "310105001" and found.printer == "HP 1号窗口"
    assert found.idle_minutes == 5
    assert found.data_folder == (tmp_path / "it").resolve() / "cache"
    assert found.source == path


def test_read_from_the_machine_wide_config_folder(no_machine_file: Path) -> None:
    write(no_machine_file / FILE_NAME, 'server = "https://yibao.example.gov.cn"\n')
    assert load_deployment().server == "https://yibao.example.gov.cn"


def test_beside_the_executable_first_in_a_bundle(tmp_path: Path, no_machine_file: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    write(no_machine_file / FILE_NAME, "idle_minutes = 3\n")
    write(tmp_path / "bundle" / FILE_NAME, "idle_minutes = 7\n")
    monkeypatch.setattr(sys, "frozen", True, raising=False)
    monkeypatch.setattr(sys, "executable", str(tmp_path / "bundle" / "counter-desk.exe"))
    assert load_deployment().idle_minutes == 7


def test_the_environment_variable_replaces_the_other_places(
        tmp_path: Path, no_machine_file: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write(no_machine_file / FILE_NAME, "idle_minutes = 3\n")
    monkeypatch.setenv(ENV_VAR, str(tmp_path / "nothing-here.toml"))
    assert load_deployment() == NO_DEPLOYMENT


def test_a_missing_file_is_fine() -> None:
    assert load_deployment() == NO_DEPLOYMENT
    assert NO_DEPLOYMENT.server is None and NO_DEPLOYMENT.data_folder is None


@pytest.mark.parametrize(("text", "key", "words"), [
    ('server = "http://yibao.example.gov.cn"', "server", "https"),
    ('server = "yibao"', "server", "区服务器地址"),
    ("server = 8470", "server", "文本"),
    ('server = "https://a.example.cn"\nca_file = "missing.pem"', "ca_file", "找不到证书文件"),
    ('street = "华阳路"', "street", "9 位街道代码"),
    ("idle_minutes = 0", "idle_minutes", "1 到 120"),
    ('idle_minutes = "10"', "idle_minutes", "整数"),
    ("idle_minutes = true", "idle_minutes", "整数"),
    ('sever = "https://a.example.cn"', "sever", "无法识别"),
])
def test_a_bad_value_names_the_file_and_the_key(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                text: str, key: str, words: str) -> None:
    path = write(tmp_path / FILE_NAME, text + "\n")
    monkeypatch.setenv(ENV_VAR, str(path))
    with pytest.raises(DeploymentError) as raised:
        load_deployment()
    message = str(raised.value)
    assert str(path) in message and f" {key}" in message and words in message
    assert raised.value.key == key


def test_a_file_that_is_not_toml_says_so(tmp_path: Path,
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    path = write(tmp_path / FILE_NAME, 'server = "https://a.example.cn\n')
    monkeypatch.setenv(ENV_VAR, str(path))
    with pytest.raises(DeploymentError, match="格式错误") as raised:
        load_deployment()
    assert str(path) in str(raised.value)
    path.write_bytes(b'printer = "\xff\xfe"\n')
    with pytest.raises(DeploymentError, match=str(path).replace("\\", "\\\\")):
        load_deployment()


def test_another_streets_registration_is_refused(tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    path = write(tmp_path / FILE_NAME, 'street = "310105001"\n')
    monkeypatch.setenv(ENV_VAR, str(path))
    found = load_deployment()
    found.check_street("310105001")
    with pytest.raises(DeploymentError, match="310105002"):
        found.check_street("310105002")
    NO_DEPLOYMENT.check_street("310105002")  # no file: nothing to check against


def test_the_module_does_not_load_qt() -> None:
    from tests.layering import imported_modules

    assert not [m for m in imported_modules(Path(deployment.__file__)) if "PySide6" in m]


def test_the_values_become_the_settings_defaults(tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    """Defaults for the printer and the idle lock (the clerk's own choice wins); the server
    from the file wins over the clerk's setting."""
    from PySide6.QtCore import QSettings

    from desktop.ui.settings_dialog import (
        KEY_IDLE,
        KEY_PRINTER,
        KEY_URL,
        idle_minutes,
        printer_name,
        server_settings,
    )

    path = write(tmp_path / FILE_NAME, 'server = "https://yibao.example.gov.cn"\n'
                                       'printer = "HP"\nidle_minutes = 4\n')
    monkeypatch.setenv(ENV_VAR, str(path))
    found = load_deployment()
    settings = QSettings(str(tmp_path / "counter.ini"), QSettings.Format.IniFormat)
    assert idle_minutes(settings, found) == 4 and printer_name(settings, found) == "HP"
    server = server_settings(settings, found)
    assert server is not None and server.url == "https://yibao.example.gov.cn"
    settings.setValue(KEY_IDLE, 12)
    settings.setValue(KEY_PRINTER, "")
    settings.setValue(KEY_URL, "https://elsewhere.example.cn")
    assert idle_minutes(settings, found) == 12 and printer_name(settings, found) == ""
    server = server_settings(settings, found)
    assert server is not None and server.url == "https://yibao.example.gov.cn"
    server = server_settings(settings)
    assert server is not None and server.url == "https://elsewhere.example.cn"
