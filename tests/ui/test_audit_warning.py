"""A supervisor signing in is told at once when this PC's audit trail has been tampered with."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QLabel
from pytestqt.qtbot import QtBot

from desktop.services.audit_check import AuditCheck
from desktop.store import Store, append_audit, open_store
from desktop.ui.main_window import CounterUser, MainWindow


@pytest.fixture
def settings(tmp_path: Path) -> QSettings:
    return QSettings(str(tmp_path / "counter.ini"), QSettings.Format.IniFormat)


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    opened = open_store(tmp_path / "s.sqlite")
    with opened.session() as session:
        for n in range(3):
            append_audit(session, "li", "application.saved", f"application:A{n}", {"n": n})
    yield opened
    opened.close()


def _edit_behind_the_triggers(path: Path) -> None:
    connection = sqlite3.connect(path)
    with connection:
        triggers = [sql for (sql,) in connection.execute(
            "SELECT sql FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'audit_event'")]
        connection.execute("DROP TRIGGER audit_event_no_update")
        connection.execute("UPDATE audit_event SET actor = 'wang' WHERE id = 2")
        connection.execute("DROP TRIGGER audit_event_no_delete")
        for sql in triggers:
            connection.execute(sql)
    connection.close()


def _banner(window: MainWindow) -> QLabel:
    banner = window.findChild(QLabel, "auditWarning")
    assert banner is not None
    return banner


def test_an_approver_sees_a_tampered_audit_trail_at_start(qtbot: QtBot, store: Store,
                                                          settings: QSettings) -> None:
    _edit_behind_the_triggers(store.path)
    window = MainWindow(store, CounterUser("wang", "王审批", ("approver",)), settings=settings,
                        check_audit=False)
    qtbot.addWidget(window)
    window.show()
    with qtbot.waitSignal(window.audit_checked, timeout=10_000) as checked:
        window.check_audit_trail()
    result = checked.args[0]
    assert isinstance(result, AuditCheck) and not result.intact
    banner = _banner(window)
    assert banner.isVisible()
    assert "审计记录被篡改" in banner.text() and "第 2 行" in banner.text()


def test_the_check_runs_for_supervisors_only_and_stays_quiet_when_intact(
        qtbot: QtBot, store: Store, settings: QSettings) -> None:
    reviewer = MainWindow(store, CounterUser("zhao", "赵审核", ("clerk", "reviewer")),
                          settings=settings)
    qtbot.addWidget(reviewer)
    with qtbot.waitSignal(reviewer.audit_checked, timeout=10_000) as checked:
        reviewer.show()
    assert checked.args[0].intact and not _banner(reviewer).isVisible()
    clerk = MainWindow(store, CounterUser("li", "李经办", ("clerk",)), settings=settings)
    qtbot.addWidget(clerk)
    clerk.show()
    with qtbot.assertNotEmitted(clerk.audit_checked, wait=300):
        pass
    assert not _banner(clerk).isVisible()
