"""The status bar's sync indicator: online or offline, items waiting, last sync, pull progress,
and the last cycle's error with the time of the next automatic attempt. A button beside it
opens the 待上传 list (waiting_requested); offline_changed tells the main window to show or hide
its offline banner.

The sync worker reports from its own thread; the signal hands the status to the GUI thread.
"""

from __future__ import annotations

from PySide6.QtCore import Signal, Slot
from PySide6.QtWidgets import QHBoxLayout, QLabel, QProgressBar, QToolButton, QWidget

from desktop.domain.clock import SHANGHAI
from desktop.sync.worker import SyncStatus


class SyncStatusWidget(QWidget):
    status_changed = Signal(object)  # SyncStatus, emitted from any thread
    offline_changed = Signal(bool)  # True when the district cannot be reached
    waiting_requested = Signal()  # the clerk asked to see what waits to be sent

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("syncStatus")
        self.setAccessibleName("同步状态")
        self.label = QLabel("未连接区服务器")
        self.label.setObjectName("syncStatusText")
        self.progress = QProgressBar()
        self.progress.setObjectName("syncProgress")
        self.progress.setMaximumWidth(180)
        self.progress.setTextVisible(True)
        self.progress.hide()
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.progress)
        layout.addWidget(self.label)
        self.waiting_button = QToolButton()
        self.waiting_button.setObjectName("showWaiting")
        self.waiting_button.setText("待上传列表…")
        self.waiting_button.setToolTip("查看本机等待上传区里的各项：内容、已等待多久、最近错误")
        self.waiting_button.setAutoRaise(True)
        self.waiting_button.clicked.connect(self.waiting_requested)
        layout.addWidget(self.waiting_button)
        self.offline: bool | None = None  # None: no status yet
        self.status_changed.connect(self.show_status)
        self.last: SyncStatus | None = None

    def text(self) -> str:
        return self.label.text()

    def report(self, status: SyncStatus) -> None:
        """Give to SyncWorker(on_status=...): safe to call from the worker thread."""
        self.status_changed.emit(status)

    @Slot(object)
    def show_status(self, status: SyncStatus) -> None:
        self.last = status
        parts = ["在线" if status.online else "离线", f"待上传 {status.waiting} 项"]
        if status.progress is not None:
            done, total = status.progress
            parts.append(f"正在同步 {done}/{total}")
            self.progress.setRange(0, max(total, 1))
            self.progress.setValue(min(done, max(total, 1)))
            self.progress.setVisible(done < total)
        else:
            self.progress.hide()
        if status.last_sync is not None:
            parts.append(f"上次同步 {status.last_sync.astimezone(SHANGHAI):%H:%M}")
        if status.last_error:
            parts.append(status.last_error)
            if status.retry_at is not None:
                parts.append(f"{status.retry_at.astimezone(SHANGHAI):%H:%M:%S} 自动重试")
        if status.notice:  # what a recovery did: the clerk and the supervisor must see it
            parts.append(status.notice)
        text = " · ".join(parts)
        self.label.setText(text)
        self.label.setToolTip(text)  # an error may be longer than the status bar
        trouble = not status.online or bool(status.last_error) or bool(status.notice)
        self.label.setStyleSheet("color: #c00000;" if trouble else "")
        self.waiting_button.setText(f"待上传 {status.waiting} 项…" if status.waiting
                                    else "待上传列表…")
        if self.offline is not (not status.online):
            self.offline = not status.online
            self.offline_changed.emit(self.offline)


SyncStatusLabel = SyncStatusWidget  # the name the first window used
