"""Signing in, and the lock screen after the counter was left idle.

Both ask `authenticate(username, password)`, which the app wires to the accounts service;
a refusal arrives as an exception whose text is the Chinese message to show. A password an
administrator set (PasswordChangeRequired) opens the new-password dialog first
(desktop.ui.password_change), then signs in with the new password. The sign-in
window (not the lock screen) can have a 设置 button, so a fresh PC can be given its district
server and registered before anyone has signed in.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Generic, TypeVar

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

if TYPE_CHECKING:  # the accounts service (the store, SQLAlchemy) loads after the window shows
    from desktop.services.accounts import PasswordChangeRequired

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
        from desktop.services.accounts import PasswordChangeRequired

        try:
            self.user = self._authenticate(username, password)
        except PasswordChangeRequired as required:
            self.user = self._after_new_password(required, password)
            if self.user is None:
                return
        except Exception as exc:  # the service's refusal, in Chinese; never a traceback
            self.password.clear()
            self.error.setText(str(exc) or "登录失败。")
            return
        finally:
            password = ""
        super().accept()

    def _after_new_password(self, required: PasswordChangeRequired, current: str) -> T | None:
        """The one-time password was right: the user chooses their own (no way around it),
        then signs in with it as with any password."""
        from desktop.ui.password_change import NewPasswordDialog

        self.password.clear()
        ask = NewPasswordDialog(required.username, current,
                                lambda new: required.change(current, new), parent=self)
        self.password_dialog: NewPasswordDialog | None = ask  # for tests, which answer it
        accepted = ask.exec() == QDialog.DialogCode.Accepted
        new, ask.new_password = ask.new_password, ""
        self.password_dialog = None
        ask.deleteLater()
        if not accepted:
            self.error.setText("须先设置新密码才能登录。")
            return None
        try:
            return self._authenticate(required.username, new)
        except Exception as exc:
            self.error.setText(str(exc) or "登录失败。")
            return None

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
