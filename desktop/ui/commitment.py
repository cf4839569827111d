"""Revoking a person's 免申即享 commitment (the person withdrew their consent): who revokes
it, their password and a reason, then `commitments.revoke_commitment`, which says why not in
Chinese. The monthly run and the person's view use it."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtWidgets import QLabel, QWidget

from desktop.services.commitments import RevocationRefused, revoke_commitment
from desktop.store import Store
from desktop.ui.dialogs import CredentialsDialog

REVOKED_MESSAGE = "已撤销免申即享，该对象不再列入每月办理；将在联网时通知区里。"


def ask_revocation(parent: QWidget, store: Store, username: str, commitment_id: str,
                   error: QLabel, revoked: Callable[[], None]) -> CredentialsDialog:
    """Open the dialog; once revoked, `error` says so and `revoked()` is called; when refused,
    `error` says why."""
    dialog = CredentialsDialog("撤销免申即享", username=username, ask_reason=True,
                               parent=parent)
    dialog.setObjectName("revokeCommitmentDialog")
    dialog.reason.setToolTip("例如：本人书面申请撤销免申即享承诺")

    def revoke() -> None:
        try:
            revoke_commitment(store, commitment_id, username=dialog.username.text().strip(),
                              password=dialog.password.text(),
                              reason=dialog.reason.toPlainText())
        except RevocationRefused as exc:
            error.setText(f"未撤销：{exc}")
            return
        finally:
            dialog.password.clear()
        error.setText(REVOKED_MESSAGE)
        revoked()

    dialog.accepted.connect(revoke)
    dialog.open()
    return dialog
