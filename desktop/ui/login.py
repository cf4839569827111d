"""Signing in, and the lock screen after the counter was left idle.

Both ask `authenticate(username, password)`, which the app wires to the accounts service;
a refusal arrives as an exception whose text is the Chinese message to show. The sign-in
window (not the lock screen) can have a 设置 button, so a fresh PC can be given its district
server and registered before anyone has signed in.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Generic, TypeVar

from PySide6.QtCore import QEvent, QObject, QTimer, Signal
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QWidget,
)

from desktop.ui.identity import WINDOW_TITLE
from desktop.ui.widgets import dialog_frame, error_label, line_edit

T = TypeVar("T")


class LoginDialog(QDialog, Generic[T]):
    def __init__(self, authenticate: Callable[[str, str], T], *, username: str = "",
                 locked_for: str | None = None, parent: QWidget | None = None,
                 open_settings: Callable[[], object] | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(WINDOW_TITLE if locked_for is None else f"{WINDOW_TITLE} — 已锁定")
        self.setObjectName("loginDialog" if locked_for is None else "lockDialog")
        self._authenticate = authenticate
        self.user: T | None = None
        self.username = line_edit("loginUsername", "用户名", username)
        self.password = line_edit("loginPassword", "密码")
        self.password.setEchoMode(QLineEdit.EchoMode.Password)
        self.error = error_label("loginError")
        intro = QLabel("请使用本人账号登录。" if locked_for is None
                       else f"柜台已锁定，请 {locked_for} 输入密码解锁。")
        form = QFormLayout()
        form.addRow("用户名(&U)", self.username)
        form.addRow("密码(&P)", self.password)
        if locked_for is not None:
            self.username.setReadOnly(True)
        dialog_frame(self, form, self.error, "登录" if locked_for is None else "解锁",
                     cancel=False, above=intro)
        self.settings_button: QPushButton | None = None
        if open_settings is not None and locked_for is None:
            buttons = self.findChild(QDialogButtonBox)
            assert buttons is not None
            button = QPushButton("设置(&S)…")
            button.setObjectName("loginSettings")
            button.setAutoDefault(False)  # Enter in the password field still signs in
            button.setToolTip("区服务器地址、证书文件、注册本柜台")
            button.clicked.connect(lambda: open_settings())
            buttons.addButton(button, QDialogButtonBox.ButtonRole.ResetRole)
            self.settings_button = button
        (self.password if username else self.username).setFocus()

    def accept(self) -> None:
        username, password = self.username.text().strip(), self.password.text()
        if not username or not password:
            self.error.setText("请输入用户名和密码。")
            return
        try:
            self.user = self._authenticate(username, password)
        except Exception as exc:  # the service's refusal, in Chinese; never a traceback
            self.password.clear()
            self.error.setText(str(exc) or "登录失败。")
            return
        finally:
            password = ""
        super().accept()

    def reject(self) -> None:
        if self.objectName() == "lockDialog":
            return  # a locked counter stays locked: Esc does not unlock it
        super().reject()


class IdleWatch(QObject):
    """Emits `idle` after `minutes` without a key press or a click anywhere in the app."""

    idle = Signal()

    def __init__(self, minutes: float, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.timer = QTimer(self)
        self.timer.setSingleShot(True)
        self.timer.timeout.connect(self.idle)
        self.set_minutes(minutes)

    def set_minutes(self, minutes: float) -> None:
        self.timer.setInterval(max(1, int(minutes * 60_000)))
        self.timer.start()

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() in (QEvent.Type.KeyPress, QEvent.Type.MouseButtonPress,
                            QEvent.Type.Wheel):
            self.timer.start()
        return False
