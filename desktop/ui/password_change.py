"""The new password a user must choose after an administrator reset theirs (issue 14).

Shown by the sign-in window when the district answers that the password is a one-time one: the
new password twice, checked here first (desktop.services.accounts.new_password_problem) and
then set at the district. There is no way around it into the counter: 返回登录 goes back to the
sign-in window, signed in as no one.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtWidgets import QDialog, QFormLayout, QLabel, QLineEdit, QWidget

from desktop.services.accounts import PASSWORD_CHANGE_TEXT, new_password_problem
from desktop.ui.identity import WINDOW_TITLE
from desktop.ui.widgets import dialog_frame, error_label, line_edit


class NewPasswordDialog(QDialog):
    """Asks for the new password twice; `change(new)` sets it (raising, with the Chinese
    message, if it cannot). `new_password` holds it after acceptance, for the sign-in."""

    def __init__(self, username: str, current: str, change: Callable[[str], None], *,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(f"{WINDOW_TITLE} — 设置新密码")
        self.setObjectName("newPasswordDialog")
        self._current = current
        self._change = change
        self.new_password = ""
        self.first = line_edit("newPassword", "新密码")
        self.again = line_edit("newPasswordAgain", "再次输入新密码")
        for field in (self.first, self.again):
            field.setEchoMode(QLineEdit.EchoMode.Password)
            field.setMaxLength(256)
        self.error = error_label("newPasswordError")
        intro = QLabel(f"{username}：{PASSWORD_CHANGE_TEXT}")
        intro.setObjectName("newPasswordIntro")
        intro.setWordWrap(True)
        form = QFormLayout()
        form.addRow("新密码(&N)（至少 10 个字符）", self.first)
        form.addRow("再次输入(&A)", self.again)
        dialog_frame(self, form, self.error, "修改密码并登录", above=intro)
        self.first.setFocus()

    def accept(self) -> None:
        new, again = self.first.text(), self.again.text()
        problem = new_password_problem(new, again, self._current)
        if problem:
            self.error.setText(problem)
            return
        try:
            self._change(new)
        except Exception as exc:  # the district's refusal, in Chinese; never a traceback
            self.error.setText(str(exc) or "未能修改密码。")
            return
        self.new_password = new
        self._current = ""
        super().accept()

    def reject(self) -> None:
        self._current = ""
        super().reject()
