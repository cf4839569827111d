"""The monthly 免申即享 run through the real window, against a real district (issue 15 point 3).

Two persons of 长宁 signed the commitment this month at the counter: X claimed one row and has
more to claim; Y claimed everything countable. On the 20th of the next month (5 days after the
15th) the 免申即享 tab lists both: X missed, in red with the days late; Y with nothing payable,
done. Enter on X opens the counter with X's new rows ticked; F9 … Enter saves; the sync delivers
it and the district accepts. Refreshed, X is processed and nothing is late; the month's overview
counts processed, nothing due and missed; and the run again offers nothing to pay twice.

The commitment is its own record (issue 15 point 2): given with the first applications, accepted
by the district; shown for the selected person; revoked in the run with a reason and the
clerk's password, Y leaves the run, and the district accepts the revocation.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path

import pytest
from PySide6.QtCore import QSettings
from pytestqt.qtbot import QtBot
from sqlalchemy import select

from desktop.printing.context import PrintContext
from desktop.services.accounts import sign_in
from desktop.services.commitments import commitment_state
from desktop.services.counter import CounterSession
from desktop.services.monthly import MISSED, NOTHING_DUE, PROCESSED, month_run
from desktop.store import Store
from desktop.store.models import OutboxRecord, PersonRecord
from desktop.sync.credentials import MemoryKeyring
from desktop.ui.main_window import MainWindow
from tests.e2e.test_clerks_morning import (
    WAIT,
    local_status,
    registered_desk,
    submit_by_keyboard,
)
from tests.e2e.test_counter_scenario import user_of
from tests.sync.conftest import PASSWORD, DistrictServer, seed_and_serve

TODAY = date.today()
_NEXT = (TODAY.replace(day=1) + timedelta(days=32)).replace(day=1)
RUN_DAY = _NEXT.replace(day=20)  # the next month, 5 days after its 15th


@pytest.fixture
def district(tmp_path: Path) -> Iterator[DistrictServer]:
    server = seed_and_serve(tmp_path, persons=40)
    yield server
    server.kill()


def countable(store: Store, person_id: str, clerk: str, day: date) -> list[str]:
    counter = CounterSession(store, person_id, program="assistance", clerk=clerk,
                             application_date=day)
    return [r.id for r in counter.rows if r.tickable]


def choose(store: Store, clerk: str) -> tuple[str, list[str], str, list[str]]:
    """X: two or more rows countable today, some still paying on the run day after the first
    is claimed; Y: another person with a countable row today."""
    with store.read_session() as session:
        persons = [p.id for p in session.scalars(select(PersonRecord).order_by(PersonRecord.id))]
    x = x_rows = None
    for person_id in persons:
        rows = countable(store, person_id, clerk, TODAY)
        if len(rows) < 2:
            continue
        later = CounterSession(store, person_id, program="assistance", clerk=clerk,
                               application_date=RUN_DAY)
        rest = [r.id for r in later.rows if r.tickable and r.id != rows[0]]
        if rest and later.tick_all(rest).payable > 0:
            x, x_rows = person_id, rows
            break
    assert x is not None and x_rows is not None, "the seeded district has no person for X"
    for person_id in persons:
        rows = countable(store, person_id, clerk, TODAY)
        if person_id != x and rows:
            return x, x_rows, person_id, rows
    raise AssertionError("the seeded district has no person for Y")


def test_the_monthly_run_through_the_window(qtbot: QtBot, district: DistrictServer,
                                            memory_keyring: MemoryKeyring,
                                            tmp_path: Path) -> None:
    desk = registered_desk(district, tmp_path, "华阳路 2号窗口")
    registration, client, store, worker = desk.registration, desk.client, desk.store, desk.worker
    clerk_name = district.user("clerk")
    clerk = user_of(sign_in(store, client, clerk_name, PASSWORD))
    assert worker.sync_now().online
    x, x_rows, y, y_rows = choose(store, clerk_name)

    # -- this month: both sign the commitment with an application marked 免申即享 --
    for person_id, rows in ((x, x_rows[:1]), (y, y_rows)):
        counter = CounterSession(store, person_id, program="assistance", clerk=clerk_name,
                                 application_date=TODAY)
        counter.tick_all(rows)
        counter.submit(auto_enrolled=True, medical_records=counter.needing_medical_records())
    assert worker.sync_now().online
    for person_id in (x, y):  # each commitment given, and accepted by the district
        state = commitment_state(store, person_id, "assistance")
        assert state is not None and state.live and state.status == "accepted"
        assert state.given_on == TODAY and state.given_by == clerk_name

    # -- the next month's run, after the 15th --
    context = PrintContext(street_name=registration.street_name,
                           street_code=registration.street_code)
    window = MainWindow(store, clerk, today=lambda: RUN_DAY, print_context=context,
                        settings=QSettings(str(tmp_path / "counter.ini"),
                                           QSettings.Format.IniFormat))
    qtbot.addWidget(window)
    window.show()
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow, timeout=WAIT)
    monthly = window.monthly
    window.tabs.setCurrentWidget(monthly)  # showing the tab runs the search
    qtbot.waitUntil(lambda: monthly.run is not None and monthly.refresh_button.isEnabled(),
                    timeout=20_000)
    states = {e.person_id: e.state for e in monthly.entries}
    assert states == {x: MISSED, y: NOTHING_DUE}
    assert monthly.late.isVisible() and "已超过办理期限 5 天" in monthly.late.text()
    y_entry = next(e for e in monthly.entries if e.person_id == y)
    assert all(not r.countable and r.reason for r in y_entry.new_rows)  # each with its reason
    assert y_entry.done_on == RUN_DAY

    # -- Enter on X: the counter opens with X's new rows ticked; F9 … Enter saves it --
    x_entry = next(e for e in monthly.entries if e.person_id == x)
    row = monthly.entries.index(x_entry)
    monthly.table.activated.emit(monthly.model.index(row, 0))
    view = window.counter
    assert window.tabs.currentWidget() is view
    assert view.session is not None and view.session.person_id == x
    assert set(view.session.ticked) == set(x_entry.rows)
    view.keep_unsaved_ticks = lambda name, count: False
    saved, _strokes = submit_by_keyboard(qtbot, window, view)
    # saved at the counter; not pushed: the district checks an application's date against its
    # own clock, and this run's day is next month (pushing is the other e2e tests' subject)
    assert local_status(store, saved) == "saved"

    # -- refreshed: X processed, nothing late; the month's overview counts --
    window.tabs.setCurrentWidget(monthly)
    monthly.refresh()
    qtbot.waitUntil(lambda: monthly.refresh_button.isEnabled()
                    and {e.state for e in monthly.entries} == {PROCESSED, NOTHING_DUE},
                    timeout=20_000)
    assert not monthly.late.isVisible()
    assert "已办理 1 人，本月无可报销费用 1 人，逾期未办理 0 人" in monthly.overview.counts.text()

    # -- running the month again pays nothing twice --
    again = month_run(store, today=RUN_DAY, clerk=clerk_name)
    x_again = next(e for e in again.entries if e.person_id == x)
    assert x_again.state == PROCESSED and x_again.rows == () and x_again.payable == 0
    assert not set(x_entry.rows) & set(countable(store, x, clerk_name, RUN_DAY))

    # -- Y no longer consents: the commitment shown, revoked with a reason; Y leaves the run --
    monthly.table.selectRow(next(n for n, e in enumerate(monthly.entries) if e.person_id == y))
    assert monthly.commitment_note.text() == f"已承诺免申即享（自 {TODAY.isoformat()} 起）"
    assert monthly.revoke_button.isEnabled()
    monthly.revoke_button.click()
    dialog = monthly.revoke_dialog
    assert dialog is not None and dialog.username.text() == clerk_name
    dialog.password.setText(PASSWORD)
    dialog.reason.setPlainText("本人书面申请撤销免申即享")
    dialog.accept()
    qtbot.waitUntil(lambda: monthly.refresh_button.isEnabled()
                    and {e.person_id for e in monthly.entries} == {x}, timeout=20_000)
    assert "已撤销免申即享" in monthly.revoke_result.text()
    revoked = commitment_state(store, y, "assistance")
    assert revoked is not None and not revoked.live
    assert "原因：本人书面申请撤销免申即享" in revoked.label
    assert worker.sync_now().online
    with store.read_session() as session:
        (sent,) = session.scalars(select(OutboxRecord).where(OutboxRecord.kind == "revocation"))
        assert sent.result is not None and sent.result["status"] == "accepted"
    window.close()
    store.close()
