"""帮助 (issue 12): F1 opens the shortcut list and the day's flow, in Chinese."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QSettings, Qt
from PySide6.QtGui import QAction
from pytestqt.qtbot import QtBot

from desktop.store import Store, open_store
from desktop.ui.main_window import CounterUser, MainWindow


def test_f1_opens_help(qtbot: QtBot, tmp_path: Path) -> None:
    store: Store = open_store(tmp_path / "s.sqlite")
    try:
        window = MainWindow(store, CounterUser("clerk1", "李经办", ("clerk",)),
                            settings=QSettings(str(tmp_path / "c.ini"),
                                               QSettings.Format.IniFormat), check_audit=False)
        qtbot.addWidget(window)
        window.show()
        window.activateWindow()
        action = window.findChild(QAction, "helpAction")
        assert action is not None and action.shortcut().toString() == "F1"
        assert action.toolTip()
        qtbot.waitUntil(window.isActiveWindow)
        qtbot.keyClick(window.tabs, Qt.Key.Key_F1)
        dialog = window.help_dialog
        assert dialog is not None and dialog.isVisible()
        text = dialog.text.toPlainText()  # type: ignore[attr-defined]
        for words in ("查找对象", "提交申请（F9）", "打印", "审核审批", "月度报表", "F1",
                      "Ctrl+Shift+L", "今日受理"):
            assert words in text
        dialog.close()
    finally:
        store.close()
