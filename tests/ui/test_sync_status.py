"""The sync indicator: issue 3 §3 and issue 4 flow 9 (online/offline, waiting, progress)."""

from __future__ import annotations

import threading
from datetime import UTC, datetime

from pytestqt.qtbot import QtBot

from desktop.sync.worker import SyncStatus
from desktop.ui.sync_status import SyncStatusWidget


def test_offline_waiting_items_and_progress(qtbot: QtBot) -> None:
    widget = SyncStatusWidget()
    qtbot.addWidget(widget)
    widget.show()
    thread = threading.Thread(target=widget.report, args=(SyncStatus(
        online=False, waiting=3, last_error="区服务器无法连接，已离线工作"),))
    with qtbot.waitSignal(widget.status_changed, timeout=2000):
        thread.start()
    thread.join()
    qtbot.waitUntil(lambda: "离线" in widget.text())
    assert "待上传 3 项" in widget.text()
    assert not widget.progress.isVisible()
    widget.report(SyncStatus(online=True, waiting=0, progress=(50, 200),
                             last_sync=datetime(2026, 11, 24, 2, 5, tzinfo=UTC)))
    qtbot.waitUntil(lambda: widget.text().startswith("在线"))
    assert "正在同步 50/200" in widget.text()
    assert "上次同步 10:05" in widget.text()  # Shanghai time
    assert widget.progress.isVisible() and widget.progress.value() == 50
    widget.report(SyncStatus(online=True, waiting=0, progress=(200, 200)))
    qtbot.waitUntil(lambda: not widget.progress.isVisible())
