"""The monthly 免申即享 run: who is due, and one Enter to open them with their rows ticked."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QLabel, QPushButton, QTableView, QVBoxLayout, QWidget

from desktop.services.counter import format_amount, program_label
from desktop.services.monthly import AutoEntry, auto_enrolled_due, deadline
from desktop.store import Store
from desktop.ui.counter_view import table_look
from desktop.ui.models import RowsTableModel
from desktop.ui.workers import run_in_background


class MonthlyView(QWidget):
    open_requested = Signal(object)  # AutoEntry

    def __init__(self, store: Store, clerk: str, *, today: Callable[[], date] = date.today,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.store, self.clerk, self.today = store, clerk, today
        self.entries: list[AutoEntry] = []
        self.heading = QLabel()
        self.heading.setObjectName("autoRunHeading")
        self.model = RowsTableModel(("姓名", "身份证号", "项目", "上次申请", "可申请费用",
                                     "自负合计", "本次应付"))
        self.table = QTableView()
        self.table.setObjectName("autoRunList")
        self.table.setAccessibleName("免申即享本月待办")
        self.table.setModel(self.model)
        table_look(self.table)
        self.table.activated.connect(lambda index: self._open(index.row()))
        self.refresh_button = QPushButton("刷新(F5)")
        self.refresh_button.setObjectName("autoRunRefresh")
        self.refresh_button.setShortcut("F5")
        self.refresh_button.clicked.connect(self.refresh)
        layout = QVBoxLayout(self)
        layout.addWidget(self.heading)
        layout.addWidget(self.table, 1)
        layout.addWidget(self.refresh_button)

    def refresh(self) -> None:
        today = self.today()
        self.heading.setText("正在查找本月待办……")
        self.refresh_button.setEnabled(False)
        run_in_background(lambda: auto_enrolled_due(self.store, today=today, clerk=self.clerk),
                          self.show_entries, self._failed)

    def show_entries(self, entries: list[AutoEntry]) -> None:
        self.entries = entries
        self.refresh_button.setEnabled(True)
        due = deadline(self.today())
        self.heading.setText(f"已签署免申即享承诺、有新费用可申请的对象：{len(entries)} 人。"
                             f"请在 {due.isoformat()} 前逐一办理（回车打开并自动勾选）。")
        self.model.set_rows([
            (e.name, e.id_masked, program_label(e.program), e.last_applied.isoformat(),
             f"{len(e.rows)} 笔", format_amount(e.self_pay), format_amount(e.payable))
            for e in entries], [e.person_id for e in entries])
        if entries:
            self.table.selectRow(0)

    def _failed(self, exc: Exception) -> None:
        self.refresh_button.setEnabled(True)
        self.heading.setText(f"查找失败：{exc}")

    def _open(self, row: int) -> None:
        if 0 <= row < len(self.entries):
            self.open_requested.emit(self.entries[row])

    def current(self) -> AutoEntry | None:
        index = self.table.currentIndex()
        return self.entries[index.row()] if index.isValid() else None
