"""The sync indicator: issue 3 §3 and issue 4 flow 9 (online/offline, waiting, progress), issue 9
point 8 (the last error and the next attempt)."""

from __future__ import annotations

import threading
from datetime import UTC, datetime
from pathlib import Path

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


def test_an_error_shows_with_the_waiting_count_and_the_next_attempt(qtbot: QtBot) -> None:
    """Issue 9 point 8: the worker's error, in Chinese, with what still waits to be sent."""
    widget = SyncStatusWidget()
    qtbot.addWidget(widget)
    widget.show()
    error = "本机磁盘已满，同步的数据无法写入：请清理磁盘空间，同步会自动重试"
    thread = threading.Thread(target=widget.report, args=(SyncStatus(
        online=True, waiting=120, last_error=error, failures=3,
        retry_at=datetime(2026, 11, 24, 2, 5, 4, tzinfo=UTC),
        last_sync=datetime(2026, 11, 24, 1, 0, tzinfo=UTC)),))
    with qtbot.waitSignal(widget.status_changed, timeout=2000):
        thread.start()
    thread.join()
    qtbot.waitUntil(lambda: error in widget.text())
    assert widget.text() == (f"在线 · 待上传 120 项 · 上次同步 09:00 · {error} · "
                             "10:05:04 自动重试")  # Shanghai time
    assert widget.label.toolTip() == widget.text()
    assert "#c00000" in widget.label.styleSheet()  # an error shows red even when online
    # the next good cycle clears it
    widget.report(SyncStatus(online=True, waiting=0,
                             last_sync=datetime(2026, 11, 24, 2, 6, tzinfo=UTC)))
    qtbot.waitUntil(lambda: error not in widget.text())
    assert widget.text() == "在线 · 待上传 0 项 · 上次同步 10:06"
    assert widget.label.styleSheet() == ""


def test_the_status_of_a_real_worker_that_met_a_malformed_page(qtbot: QtBot,
                                                                tmp_path: Path) -> None:
    """The widget fed by a SyncWorker in its own thread, against a loopback server whose page
    cannot be applied: the error and the waiting count reach the status bar."""
    from desktop.store import open_store
    from desktop.sync.client import DistrictClient
    from desktop.sync.worker import SyncWorker
    from tests.sync.test_worker_resilience import (
        BAD_PERSON,
        ChangesServer,
        queue_audit_events,
    )

    widget = SyncStatusWidget()
    qtbot.addWidget(widget)
    with open_store(tmp_path / "counter.sqlite") as store, ChangesServer() as server, \
            DistrictClient(server.url, timeout=5) as client:
        server.changes = [{"seq": 7, "entity": "person", "key": "P-1", "op": "upsert",
                           "data": BAD_PERSON}]
        server.fail_push = True
        queue_audit_events(store, 2)
        worker = SyncWorker(store, client, interval=3600, on_status=widget.report)
        worker.start()
        try:
            qtbot.waitUntil(lambda: "变更有误" in widget.text(), timeout=10_000)
            assert worker.is_alive()
            assert "区服务器发来的变更有误（序号 7）" in widget.text()
            assert "待上传 2 项" in widget.text()
        finally:
            worker.stop()
