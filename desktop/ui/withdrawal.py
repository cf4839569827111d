"""Withdrawing an application from a list (待处理, 今日受理): the 经办人's or supervisor's
password and a reason, then `applications.withdraw_application`, which decides who may withdraw
what (before review only the application's own 经办人; once sent back, the 经办人 or a
supervisor) and says why not in Chinese."""

from __future__ import annotations

import uuid
from collections.abc import Callable

from PySide6.QtWidgets import QLabel, QWidget

from desktop.services.applications import WithdrawalRefused, withdraw_application
from desktop.store import Store
from desktop.ui.dialogs import CredentialsDialog

WITHDRAWN_MESSAGE = "已撤回，费用可重新勾选；将在联网时通知区里释放。"


def ask_withdrawal(parent: QWidget, store: Store, username: str, application_id: uuid.UUID,
                   error: QLabel, withdrawn: Callable[[], None]) -> CredentialsDialog:
    """Open the dialog; once withdrawn, `error` is cleared and `withdrawn()` called; when
    refused, `error` says why (in Chinese)."""
    dialog = CredentialsDialog("撤回申请", username=username, ask_reason=True, parent=parent)

    def withdraw() -> None:
        try:
            withdraw_application(store, application_id,
                                 username=dialog.username.text().strip(),
                                 password=dialog.password.text(),
                                 reason=dialog.reason.toPlainText())
        except WithdrawalRefused as exc:
            error.setText(f"未撤回：{exc}")
            return
        finally:
            dialog.password.clear()
        error.clear()
        withdrawn()

    dialog.accepted.connect(withdraw)
    dialog.open()
    return dialog
