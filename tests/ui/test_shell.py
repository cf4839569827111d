"""The shell around the counter: sign-in, the idle lock, settings, tabs by role, window state."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import QSettings, Qt
from PySide6.QtWidgets import QApplication, QLabel, QLineEdit, QWidget
from pytestqt.qtbot import QtBot

from desktop.store import Store, open_store
from desktop.sync.credentials import MemoryKeyring
from desktop.ui.login import IdleWatch, LoginDialog
from desktop.ui.main_window import CounterUser, MainWindow
from desktop.ui.settings_dialog import KEY_IDLE, KEY_URL, SettingsDialog, idle_minutes
from tests.sync.conftest import DistrictServer


@pytest.fixture
def settings(tmp_path: Path) -> QSettings:
    return QSettings(str(tmp_path / "counter.ini"), QSettings.Format.IniFormat)


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    opened = open_store(tmp_path / "s.sqlite")
    yield opened
    opened.close()


def test_sign_in_says_why_it_was_refused(qtbot: QtBot) -> None:
    def authenticate(username: str, password: str) -> str:
        if password != "right":
            raise ValueError("用户名或密码不正确。")
        return username

    dialog: LoginDialog[str] = LoginDialog(authenticate)
    qtbot.addWidget(dialog)
    dialog.show()
    dialog.accept()
    assert dialog.error.text() == "请输入用户名和密码。" and dialog.isVisible()
    qtbot.keyClicks(dialog.username, "clerk1")
    qtbot.keyClicks(dialog.password, "wrong")
    qtbot.keyClick(dialog.password, Qt.Key.Key_Return)
    assert dialog.error.text() == "用户名或密码不正确。"
    assert dialog.password.text() == "" and dialog.isVisible()
    assert dialog.password.echoMode() == QLineEdit.EchoMode.Password
    qtbot.keyClicks(dialog.password, "right")
    with qtbot.waitSignal(dialog.accepted):
        qtbot.keyClick(dialog.password, Qt.Key.Key_Return)
    assert dialog.user == "clerk1"


def test_a_locked_counter_stays_locked_on_escape(qtbot: QtBot) -> None:
    dialog: LoginDialog[str] = LoginDialog(lambda u, p: u, username="clerk1",
                                           locked_for="李经办")
    qtbot.addWidget(dialog)
    dialog.show()
    qtbot.keyClick(dialog, Qt.Key.Key_Escape)
    assert dialog.isVisible() and dialog.username.isReadOnly()
    assert "已锁定" in dialog.windowTitle()


def test_idle_time_without_input_locks(qtbot: QtBot) -> None:
    watch = IdleWatch(0.002)  # 120 ms
    app = QApplication.instance()
    assert app is not None
    app.installEventFilter(watch)
    widget = QWidget()
    qtbot.addWidget(widget)
    widget.show()
    try:
        with qtbot.waitSignal(watch.idle, timeout=3000):
            pass
        watch.set_minutes(0.01)  # 600 ms
        remaining = watch.timer.remainingTime()
        qtbot.wait(200)
        qtbot.keyClick(widget, Qt.Key.Key_A)  # input restarts the count
        assert watch.timer.remainingTime() > remaining - 200
    finally:
        app.removeEventFilter(watch)


def test_settings_are_checked_and_kept(qtbot: QtBot, settings: QSettings) -> None:
    dialog = SettingsDialog(settings)
    qtbot.addWidget(dialog)
    dialog.show()
    dialog.url.setText("http://district.example.cn")
    dialog.accept()
    assert "https" in dialog.error.text() and dialog.isVisible()
    dialog.url.setText("https://district.example.cn/")
    dialog.idle.setValue(7)
    dialog.accept()
    assert settings.value(KEY_URL) == "https://district.example.cn"
    assert idle_minutes(settings) == 7 and int(str(settings.value(KEY_IDLE))) == 7


def test_registering_this_counter_from_settings(qtbot: QtBot, settings: QSettings,
                                                district: DistrictServer,
                                                memory_keyring: MemoryKeyring) -> None:
    dialog = SettingsDialog(settings)
    qtbot.addWidget(dialog)
    dialog.show()
    assert dialog.registered.text() == "未设置区服务器"
    dialog.url.setText(district.url)
    dialog.device_name.setText("华阳路 1号窗口")
    dialog.code.setText("NOT-A-CODE")
    qtbot.mouseClick(dialog.register_button, Qt.MouseButton.LeftButton)
    assert dialog.error.text() and "已注册" not in dialog.registered.text()
    dialog.code.setText(district.codes()[0])
    qtbot.mouseClick(dialog.register_button, Qt.MouseButton.LeftButton)
    assert dialog.registered.text().startswith("已注册（华阳路街道") and dialog.code.text() == ""
    assert settings.value("counter/streetName") == "华阳路街道"
    assert settings.value(KEY_URL) == district.url
    assert len(memory_keyring.secrets) == 1
    token = next(iter(memory_keyring.secrets.values()))
    settings.sync()
    assert token not in Path(settings.fileName()).read_text()  # not in the config file


def test_tabs_follow_the_role_and_the_window_remembers(qtbot: QtBot, store: Store,
                                                       settings: QSettings) -> None:
    clerk = MainWindow(store, CounterUser("clerk1", "李经办", ("clerk",)), settings=settings)
    qtbot.addWidget(clerk)
    tabs = [clerk.tabs.tabText(i) for i in range(clerk.tabs.count())]
    assert tabs == ["柜台受理(&1)", "今日受理(&2)", "免申即享(&3)", "待处理(&5)", "月度报表(&6)",
                    "计算器(&7)"]
    assert clerk.findChild(QWidget, "syncStatus") is not None
    who = clerk.statusBar().findChild(QLabel, "signedInUser")
    assert who is not None and "李经办" in who.text()
    clerk.resize(790, 560)  # within the offscreen screen, above the minimum size
    clerk.show()
    clerk.close()
    again = MainWindow(store, CounterUser("clerk1", "李经办", ("clerk",)), settings=settings)
    qtbot.addWidget(again)
    assert (again.size().width(), again.size().height()) == (790, 560)


def test_the_named_widgets_fonts_and_tab_order(qtbot: QtBot, store: Store,
                                              settings: QSettings) -> None:
    """Issue 4: the objectNames automation relies on, each with a Chinese accessible name;
    Windows' Chinese fonts first, with fallbacks; Tab from the search reaches the fee table."""
    from PySide6.QtWidgets import QAbstractItemView, QPushButton, QTableView

    from desktop.ui.main_window import UI_FONTS, apply_ui_font

    app = QApplication.instance()
    assert isinstance(app, QApplication)
    apply_ui_font(app)
    assert app.font().families()[:2] == ["Microsoft YaHei UI", "Microsoft YaHei"]
    assert "SimSun" in UI_FONTS and "WenQuanYi Micro Hei" in UI_FONTS
    window = MainWindow(store, CounterUser("wang", "王审批", ("approver",)), settings=settings)
    qtbot.addWidget(window)
    window.show()
    named: dict[str, type] = {
        "personSearch": QLineEdit, "personResults": QAbstractItemView,
        "feeTable": QTableView, "scanInput": QLineEdit, "subsidyTotal": QLabel,
        "submitApplication": QPushButton, "syncStatus": QWidget,
        "approvalQueue": QAbstractItemView}
    for name, kind in named.items():
        widget = window.findChild(kind, name)
        assert widget is not None, name
        accessible = widget.accessibleName()
        assert any("\u4e00" <= ch <= "\u9fff" for ch in accessible), (name, accessible)
    fee_table = window.findChild(QTableView, "feeTable")
    assert fee_table is not None and fee_table.model().columnCount() == 10
    chain, widget = [], window.counter.search
    for _ in range(6):
        widget = widget.nextInFocusChain()
        while not widget.focusPolicy() & Qt.FocusPolicy.TabFocus:
            widget = widget.nextInFocusChain()
        chain.append(widget.objectName())
    assert chain.index("personResults") < chain.index("feeTable")


def test_a_closed_counter_leaves_nothing_that_takes_the_keyboard(qtbot: QtBot,
                                                                 store: Store) -> None:
    """Closing the counter closes its sign-in window and takes its scanner and idle watch off
    the application: fast typing afterwards is typing, not a scan held back."""
    from desktop.ui.app import CounterApp

    app = QApplication.instance()
    assert isinstance(app, QApplication)
    counter = CounterApp(app, store)
    assert not app.windowIcon().isNull()  # the counter's own icon, on every window
    counter.show_first_window()
    login = counter.login_dialog
    assert login.isVisible()
    counter.close()
    assert not login.isVisible()
    edit = QLineEdit()
    qtbot.addWidget(edit)
    edit.show()
    edit.setFocus()
    qtbot.keyClicks(edit, "310105195804121450")  # as fast as a scanner
    assert edit.text() == "310105195804121450"


def test_closing_the_window_with_unsaved_ticks_asks_first(qtbot: QtBot, tmp_path: Path,
                                                          settings: QSettings) -> None:
    """Ticks not yet submitted are not thrown away by closing the window: the clerk is asked
    (without blocking), keeping them keeps the window open, discarding closes it (issue 12)."""
    from datetime import date, timedelta

    from tests.services.test_counter import P, fill, row

    filled = open_store(tmp_path / "ticks.sqlite")
    fill(filled, [row("F1", (date.today() - timedelta(days=20)).isoformat(), "1000.00")])
    window = MainWindow(filled, CounterUser("clerk1", "李经办", ("clerk",)), settings=settings)
    qtbot.addWidget(window)
    window.show()
    assert window.counter.open_person(P)
    window.counter.tick_all_countable()
    window.close()
    box = window.close_question
    assert window.isVisible() and box.isVisible() and "1 行" in box.text()
    keep = next(b for b in box.buttons() if "继续办理" in b.text())
    keep.click()
    assert window.isVisible() and window.counter.session is not None
    assert window.counter.session.ticked
    window.close()
    discard = next(b for b in window.close_question.buttons() if "放弃" in b.text())
    discard.click()
    assert not window.isVisible()
    filled.close()
