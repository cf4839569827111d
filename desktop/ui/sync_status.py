"""The status bar's sync indicator: online or offline, and how many items wait to be sent.

The sync worker reports from its own thread; the signal hands the status to the GUI thread.
"""

from __future__ import annotations

from PySide6.QtCore import Signal, Slot
from PySide6.QtWidgets import QLabel, QWidget

from desktop.sync.worker import SyncStatus


class SyncStatusLabel(QLabel):
    status_changed = Signal(object)  # SyncStatus, emitted from any thread

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("syncStatus")
        self.status_changed.connect(self.show_status)
        self.setText("未连接区服务器")

    def report(self, status: SyncStatus) -> None:
        """Give to SyncWorker(on_status=...): safe to call from the worker thread."""
        self.status_changed.emit(status)

    @Slot(object)
    def show_status(self, status: SyncStatus) -> None:
        parts = ["在线" if status.online else "离线", f"待上传 {status.waiting} 项"]
        if status.progress is not None:
            done, total = status.progress
            parts.append(f"正在同步 {done}/{total}")
        if status.last_error:
            parts.append(status.last_error)
        self.setText(" · ".join(parts))
        self.setStyleSheet("" if status.online else "color: #c00000;")
