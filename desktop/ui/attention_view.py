"""待处理申请: what the 经办人 must act on — applications sent back or refused by the district —
with the reason, and 撤回 for a sent-back one so its receipts can go into a corrected
application."""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QLabel, QPushButton, QTableView, QVBoxLayout, QWidget

from desktop.services.approvals import AttentionEntry, needing_attention
from desktop.services.counter import format_amount
from desktop.store import Store
from desktop.ui.counter_view import table_look
from desktop.ui.identity import CounterUser
from desktop.ui.models import RowsTableModel
from desktop.ui.widgets import error_label
from desktop.ui.withdrawal import WITHDRAWN_MESSAGE, ask_withdrawal


class AttentionView(QWidget):
    message = Signal(str)
    queued = Signal()

    def __init__(self, store: Store, user: CounterUser, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.store, self.user = store, user
        self.entries: list[AttentionEntry] = []
        self.heading = QLabel()
        self.heading.setObjectName("attentionHeading")
        self.model = RowsTableModel(("申请人", "身份证号", "项目", "本次应付", "状态", "原因"))
        self.table = QTableView()
        self.table.setObjectName("attentionList")
        self.table.setAccessibleName("待处理申请")
        self.table.setModel(self.model)
        table_look(self.table)
        self.withdraw_button = QPushButton("撤回，以便重新申请(&W)…")
        self.withdraw_button.setObjectName("withdrawApplication")
        self.error = error_label("attentionError")
        layout = QVBoxLayout(self)
        layout.addWidget(self.heading)
        layout.addWidget(self.table, 1)
        layout.addWidget(self.error)
        layout.addWidget(self.withdraw_button)
        self.withdraw_button.clicked.connect(self.withdraw_current)
        self.refresh()

    def refresh(self) -> None:
        self.entries = needing_attention(self.store)
        self.heading.setText(f"被退回或区里未受理的申请：{len(self.entries)} 份。"
                             "被退回的申请撤回后，其中的费用可重新勾选申请。")
        self.model.set_rows([(e.person_name, e.id_masked, e.program_label,
                              format_amount(e.payable), e.status_label, e.why)
                             for e in self.entries], [e.application_id for e in self.entries])
        if self.entries:
            self.table.selectRow(0)

    def current(self) -> AttentionEntry | None:
        index = self.table.currentIndex()
        return self.entries[index.row()] if index.isValid() else None

    def withdraw_current(self) -> None:
        entry = self.current()
        if entry is None or entry.status != "returned":
            self.error.setText("请选择一份被退回的申请。")
            return
        self.credentials_dialog = ask_withdrawal(self, self.store, self.user.username,
                                                 entry.application_id, self.error,
                                                 self._withdrawn)

    def _withdrawn(self) -> None:
        self.message.emit(WITHDRAWN_MESSAGE)
        self.queued.emit()
        self.refresh()
