"""Offline you can see (issue 12): a banner across the window while the district cannot be
reached, and the 待上传 list of what waits, in words, with its age and last error."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from PySide6.QtCore import QSettings, Qt
from pytestqt.qtbot import QtBot
from sqlalchemy import select

from desktop.store import Store
from desktop.store.models import OutboxRecord
from desktop.sync.worker import SyncStatus
from desktop.ui.main_window import OFFLINE_BANNER, MainWindow
from tests.printing.test_forms import CONTEXT, TODAY, store  # noqa: F401  (the fixture)
from tests.services.test_today import submit
from tests.ui.test_today_view import CLERK


def a_window(qtbot: QtBot, store: Store, tmp_path: Path) -> MainWindow:  # noqa: F811
    window = MainWindow(store, CLERK, today=lambda: TODAY, print_context=CONTEXT,
                        settings=QSettings(str(tmp_path / "c.ini"), QSettings.Format.IniFormat),
                        check_audit=False)
    qtbot.addWidget(window)
    window.show()
    return window


def test_the_banner_shows_while_offline(qtbot: QtBot, store: Store,  # noqa: F811
                                        tmp_path: Path) -> None:
    window = a_window(qtbot, store, tmp_path)
    assert not window.offline_banner.isVisible()
    window.sync_status.report(SyncStatus(online=False, waiting=2,
                                         last_error="区服务器无法连接，已离线工作"))
    qtbot.waitUntil(window.offline_banner.isVisible)
    assert window.offline_banner.text() == OFFLINE_BANNER == "离线：本机保存，联网后自动上传"
    assert window.sync_status.waiting_button.text() == "待上传 2 项…"
    window.sync_status.report(SyncStatus(online=True, waiting=0))
    qtbot.waitUntil(lambda: not window.offline_banner.isVisible())


def test_the_waiting_list_says_what_waits(qtbot: QtBot, store: Store,  # noqa: F811
                                          tmp_path: Path) -> None:
    submit(store, [0, 1])
    with store.session() as session:
        item = session.scalars(select(OutboxRecord).where(
            OutboxRecord.kind == "application")).one()
        item.created_at = datetime.now(UTC) - timedelta(hours=3, minutes=5)
        item.attempts, item.last_error = 2, "连接区服务器超时"
    window = a_window(qtbot, store, tmp_path)
    qtbot.mouseClick(window.sync_status.waiting_button, Qt.MouseButton.LeftButton)
    dialog = window.waiting_dialog
    assert dialog is not None and dialog.isVisible()
    model = dialog.model
    rows = [[model.index(r, c).data() for c in range(model.columnCount())]
            for r in range(model.rowCount())]
    application = next(r for r in rows if r[0].startswith("申请 张三 "))
    assert application[0].endswith(" 元")
    assert application[2] == "3 小时前" and application[3] == "2"
    assert application[4] == "连接区服务器超时"
    assert any(r[0].startswith("签名 张三（经办人") or r[0].startswith("审计记录")
               for r in rows if r is not application)
    assert f"{len(rows)} 项" in dialog.heading.text()
