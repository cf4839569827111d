"""A fresh counter PC gets past its first sign-in (issue 11): 设置 in the sign-in window, the
deployment file's server and data folder, registration, then an online sign-in."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import QSettings, Qt
from PySide6.QtWidgets import QApplication, QDialogButtonBox
from pytestqt.qtbot import QtBot

from desktop.deployment import ENV_VAR, load_deployment
from desktop.services import numbering
from desktop.services.device import ServerSettings, is_registered
from desktop.sync.credentials import MemoryKeyring
from desktop.ui.app import CounterApp
from desktop.ui.settings_dialog import KEY_STREET, KEY_URL, SettingsDialog, registered_device_number
from tests.sync.conftest import (  # served: one seeded district for the module
    PASSWORD,
    DistrictServer,
    served_district,  # noqa: F401
)


@pytest.fixture
def settings(tmp_path: Path) -> QSettings:
    return QSettings(str(tmp_path / "counter.ini"), QSettings.Format.IniFormat)


@pytest.fixture
def qapp_() -> QApplication:
    app = QApplication.instance()
    assert isinstance(app, QApplication)
    return app


def register_and_sign_in(qtbot: QtBot, counter: CounterApp, served: DistrictServer,
                         code: str) -> None:
    login = counter.login_dialog
    assert login.isVisible() and login.settings_button is not None
    qtbot.mouseClick(login.settings_button, Qt.MouseButton.LeftButton)
    dialog = counter.settings_dialog
    assert isinstance(dialog, SettingsDialog) and dialog.isVisible()
    if not dialog.url.isReadOnly():
        dialog.url.setText(served.url)
    dialog.device_name.setText("华阳路 1号窗口")
    dialog.code.setText(code)
    qtbot.mouseClick(dialog.register_button, Qt.MouseButton.LeftButton)
    assert dialog.registered.text().startswith("已注册（华阳路街道"), dialog.error.text()
    buttons = dialog.findChild(QDialogButtonBox)
    assert buttons is not None
    with qtbot.waitSignal(dialog.finished):
        qtbot.mouseClick(buttons.button(QDialogButtonBox.StandardButton.Ok),
                         Qt.MouseButton.LeftButton)
    assert counter.client is not None and counter.worker is not None
    assert login.isVisible() and login.error.text() == ""  # nothing left to warn about
    # set, not typed: a fast burst of keys would be taken for a scan (desktop.ui.scanner)
    login.username.setText(served.user("clerk"))
    login.password.setText(PASSWORD)
    with qtbot.waitSignal(login.accepted):
        qtbot.keyClick(login.password, Qt.Key.Key_Return)  # Enter signs in, not 设置
    assert counter.window is not None and counter.window.isVisible()
    assert not counter.window.user.offline  # online: the district knew this PC


def test_a_fresh_pc_registers_from_the_sign_in_window(
        qtbot: QtBot, qapp_: QApplication, served: DistrictServer, settings: QSettings,
        tmp_path: Path, memory_keyring: MemoryKeyring,
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(ENV_VAR, str(tmp_path / "none.toml"))
    counter = CounterApp.installed(qapp_, tmp_path / "cache.sqlite", load_deployment(),
                                   settings=settings)
    try:
        counter.show_first_window()
        assert counter.client is None
        assert "尚未设置区服务器" in counter.login_dialog.error.text()
        assert "设置" in counter.login_dialog.error.text()
        assert "登录后" not in counter.login_dialog.error.text()
        register_and_sign_in(qtbot, counter, served, served.codes()[0])
        assert settings.value(KEY_URL) == served.url
        assert settings.value(KEY_STREET) == "华阳路街道"
        assert is_registered(ServerSettings(served.url)) and len(memory_keyring.secrets) >= 1
        # the registration's street and number reach the store: applications get numbers
        number = registered_device_number(settings)
        assert number is not None
        with counter.store.read_session() as session:
            assert numbering.device_number(session) == number
            assert numbering.next_number(session, 2026) == f"华阳-2026-{number:02d}-0001"
    finally:
        counter.close()


def test_the_deployment_files_server_and_data_folder(
        qtbot: QtBot, qapp_: QApplication, served: DistrictServer, settings: QSettings,
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    file = tmp_path / "it" / "counter-desk.toml"
    file.parent.mkdir()
    file.write_text(f'server = "{served.url}"\nstreet = "310105001"\nidle_minutes = 25\n'
                    f'data_folder = "data"\n', encoding="utf-8")
    monkeypatch.setenv(ENV_VAR, str(file))
    deployment = load_deployment()
    counter = CounterApp.installed(qapp_, None, deployment, settings=settings)
    try:
        assert counter.store.path == file.parent.resolve() / "data" / "store.sqlite"
        assert counter.store.path.is_file()
        assert counter.client is not None  # the file's server, before any setting
        assert counter.idle.timer.interval() == 25 * 60_000
        counter.show_first_window()
        assert "本柜台尚未注册" in counter.login_dialog.error.text()
        login = counter.login_dialog
        assert login.settings_button is not None
        qtbot.mouseClick(login.settings_button, Qt.MouseButton.LeftButton)
        dialog = counter.settings_dialog
        assert dialog.url.text() == served.url and dialog.url.isReadOnly()
        assert dialog.idle.value() == 25
        dialog.reject()
        register_and_sign_in(qtbot, counter, served, served.codes()[1])
        assert settings.value(KEY_URL) == served.url
        assert not settings.contains("counter/idleMinutes")  # the file's default stays one
    finally:
        counter.close()


def test_a_bad_deployment_file_is_shown_at_sign_in(
        qtbot: QtBot, qapp_: QApplication, settings: QSettings, tmp_path: Path) -> None:
    problem = (f"部署文件 {tmp_path / 'counter-desk.toml'} 中的 idle_minutes："
               "应为 1 到 120 之间的整数")
    counter = CounterApp.installed(qapp_, tmp_path / "cache.sqlite", settings=settings,
                                   deployment_problem=problem)
    try:
        counter.show_first_window()
        assert problem in counter.login_dialog.error.text()
    finally:
        counter.close()
