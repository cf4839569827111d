"""待上传: every item this counter still has to send to the district, in words, with its age,
its attempts and its last error. Opened from the status bar's 待上传 count; the data comes from
desktop.services.today.waiting_items."""

from __future__ import annotations

import logging

from PySide6.QtWidgets import (
    QDialog,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from desktop.domain.clock import local_time
from desktop.services.today import WaitingItem, waiting_items
from desktop.store import Store
from desktop.ui.counter_view import table_look
from desktop.ui.models import RowsTableModel
from desktop.ui.screen_fit import fit_to_screen
from desktop.ui.widgets import error_label

log = logging.getLogger(__name__)

COLUMNS = ("内容", "保存于", "已等待", "尝试次数", "最近错误")


class WaitingDialog(QDialog):
    def __init__(self, store: Store, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.store = store
        self.items: list[WaitingItem] = []
        self.setWindowTitle("待上传")
        self.setObjectName("waitingDialog")
        self.heading = QLabel()
        self.heading.setObjectName("waitingHeading")
        self.heading.setWordWrap(True)
        self.model = RowsTableModel(COLUMNS)
        self.table = QTableView()
        self.table.setObjectName("waitingList")
        self.table.setAccessibleName("待上传")
        self.table.setModel(self.model)
        table_look(self.table)
        self.error = error_label("waitingError")
        refresh = QPushButton("刷新(&R)")
        refresh.setObjectName("waitingRefresh")
        refresh.setToolTip("重新读取本机待上传的各项")
        refresh.setShortcut("F5")
        close = QPushButton("关闭")
        close.clicked.connect(self.reject)
        refresh.clicked.connect(self.refresh)
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        buttons.addWidget(refresh)
        buttons.addWidget(close)
        layout = QVBoxLayout(self)
        layout.addWidget(self.heading)
        layout.addWidget(self.table, 1)
        layout.addWidget(self.error)
        layout.addLayout(buttons)
        fit_to_screen(self, 900, 480)
        self.refresh()

    def refresh(self) -> None:
        try:
            self.items = waiting_items(self.store)
        except Exception as exc:  # a broken cache is said in words, never a traceback
            log.exception("reading the outbox failed")
            self.error.setText(f"无法读取待上传的各项：{exc}")
            self.items = []
        else:
            self.error.clear()
        self.heading.setText(
            f"本机还有 {len(self.items)} 项等待上传区里；联网后自动上传，无需重复操作。"
            if self.items else "本机没有等待上传的项目。")
        self.model.set_rows([(i.what, local_time(i.created_at), i.age, str(i.attempts),
                              i.last_error or "") for i in self.items],
                            [i.key for i in self.items])
