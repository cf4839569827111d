"""The whole counter scenario through the real window, against a real district server.

Issue 4: sign in, search by pinyin initials, open the person, scan two receipts (one valid,
one already claimed), tick a row by keyboard, check the total equals the engine's figure,
submit offline, come online, sync, reviewer and approver sign, the handler cannot approve.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot
from sqlalchemy import create_engine, select, text

from desktop.policy.contract import default_parameters
from desktop.policy.engine import calculate
from desktop.services.accounts import sign_in
from desktop.services.applications import record_push_result, settled_rows
from desktop.services.counter import CounterSession
from desktop.services.device import ServerSettings, district_client, register_counter
from desktop.store import Store, case_for, open_store, outbox_waiting_count
from desktop.store.models import ApplicationRecord, FeeRowRecord, PersonRecord
from desktop.sync.credentials import MemoryKeyring
from desktop.sync.worker import SyncWorker
from desktop.ui.login import LoginDialog
from desktop.ui.main_window import CounterUser, MainWindow
from desktop.ui.scanner import ScanBurstDetector
from tests.sync.conftest import PASSWORD, DistrictServer, seed_and_serve

TODAY = date.today()


@pytest.fixture
def district(tmp_path: Path) -> Iterator[DistrictServer]:
    server = seed_and_serve(tmp_path, persons=80)
    yield server
    server.kill()


def receipt_qr(row: FeeRowRecord) -> str:
    """The fiscal e-receipt URL form of RECEIPTS.md for a cached fee row."""
    fields = f"{row.issuer_code}_{row.receipt_no}_{row.check_code}_{row.total}_" \
             f"{row.date:%Y%m%d}"
    return f"https://ebill.example/eips-wxapp-service/d?t=504&a=X&d={fields}&s=0"


def pick_person(store: Store, clerk: str) -> tuple[PersonRecord, list[str], FeeRowRecord]:
    """A person with at least two rows to claim and one row claimed earlier."""
    with store.read_session() as session:
        persons = list(session.scalars(select(PersonRecord).order_by(PersonRecord.id)))
    for person in persons:
        counter = CounterSession(store, person.id, program="assistance", clerk=clerk,
                                 application_date=TODAY)
        tickable = [r.id for r in counter.rows if r.tickable]
        claimed = [r.id for r in counter.rows if r.reason_code == "already_claimed"]
        if len(tickable) >= 2 and claimed:
            with store.read_session() as session:
                taken = session.get(FeeRowRecord, claimed[0])
                assert taken is not None
                if taken.issuer_code and taken.check_code:
                    return person, tickable, taken
    raise AssertionError("the seeded district has no person for the scenario")


def user_of(signed: object) -> CounterUser:
    return CounterUser(signed.username, signed.display_name,  # type: ignore[attr-defined]
                       tuple(signed.roles), signed.offline)  # type: ignore[attr-defined]


def engine_payable(store: Store, person_id: str, ticked: list[str]) -> str:
    with store.read_session() as session:
        years = {r.date.year for r in session.scalars(
            select(FeeRowRecord).where(FeeRowRecord.id.in_(ticked)))}
        history = settled_rows(session, person_id, "assistance", years, exclude=ticked)
        case = case_for(session, person_id, "assistance", "changning", TODAY, ticked, history)
    return f"{calculate(case, default_parameters()).payable:,.2f}"


def test_the_whole_counter_scenario(qtbot: QtBot, district: DistrictServer,
                                    memory_keyring: MemoryKeyring, tmp_path: Path) -> None:
    server = ServerSettings(district.url)
    register_counter(server, district.codes()[0], "华阳路 1号窗口")
    client = district_client(server)
    store = open_store(tmp_path / "counter.sqlite")
    worker = SyncWorker(store, client, on_result=record_push_result)
    clerk_name = district.user("clerk")

    # -- sign in through the sign-in window (online: the district knows the clerk) ---------
    login: LoginDialog[CounterUser] = LoginDialog(
        lambda username, password: user_of(sign_in(store, client, username, password)))
    qtbot.addWidget(login)
    login.show()
    qtbot.keyClicks(login.username, clerk_name)
    qtbot.keyClicks(login.password, "wrong password")
    qtbot.keyClick(login.password, Qt.Key.Key_Return)
    assert login.user is None and login.error.text()
    qtbot.keyClicks(login.password, PASSWORD)
    qtbot.keyClick(login.password, Qt.Key.Key_Return)
    clerk = login.user
    assert clerk is not None and not clerk.offline and "clerk" in clerk.roles
    assert worker.sync_now().online
    window = MainWindow(store, clerk, today=lambda: TODAY)
    qtbot.addWidget(window)
    window.show()
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow)  # the window's shortcuts (F9) need it active
    view = window.counter

    # -- search by pinyin initials and open ---------------------------------------------------
    person, tickable, taken = pick_person(store, clerk_name)
    from desktop.store.search_keys import name_keys

    initials = name_keys(person.name).initials
    qtbot.keyClicks(view.search, initials)
    hits = view.results_model.hits
    row = next(n for n, h in enumerate(hits) if h.person_id == person.id)
    assert "*" in hits[row].masked_id_number
    view.results.selectRow(row)
    qtbot.keyClick(view.search, Qt.Key.Key_Return)
    assert view.session is not None and view.session.person_id == person.id

    # -- scan two receipts: one valid, one already claimed --------------------------------------
    with store.read_session() as session:
        valid = session.get(FeeRowRecord, tickable[0])
        assert valid is not None
        valid_qr = receipt_qr(valid)
    # the scanner types the QR text as a burst of keys into whatever has the focus
    detector = ScanBurstDetector()
    app = QApplication.instance()
    assert app is not None
    app.installEventFilter(detector)
    detector.scanned.connect(view.handle_scan)
    try:
        view.fee_table.setFocus()
        qtbot.keyClicks(view.fee_table, valid_qr)
        qtbot.keyClick(view.fee_table, Qt.Key.Key_Return)
        qtbot.waitUntil(lambda: view.session is not None
                        and view.session.ticked == (tickable[0],), timeout=5000)
    finally:
        app.removeEventFilter(detector)
    view.handle_scan(receipt_qr(taken))
    refused = view.scan_list.item(0).text()
    assert "不能重复" in refused or "已" in refused
    assert taken.id not in view.session.ticked
    assert view.scan_list.count() == 2  # both scans listed, nothing lost

    # -- tick a second row by keyboard -----------------------------------------------------------
    table = view.fee_table
    model = table.model()
    second = next(r for r in range(model.rowCount())
                  if model.index(r, 0).data(Qt.ItemDataRole.UserRole) == tickable[1])
    table.setFocus()
    table.setCurrentIndex(model.index(second, 0))
    qtbot.keyClick(table, Qt.Key.Key_Space)
    ticked = list(view.session.ticked)
    assert ticked == tickable[:2]
    expected = engine_payable(store, person.id, ticked)
    assert view.total.text() == f"本次应付：{expected} 元"

    # -- submit offline -------------------------------------------------------------------------
    district.kill()
    qtbot.keyClick(table, Qt.Key.Key_F9)
    dialog = view.submit_dialog
    dialog.confirm_bank_warning = lambda warning: True
    if dialog.medical_rows:  # a 住院 or 门诊大病 row: its 病史资料 were received
        dialog.records.setChecked(True)
    with qtbot.waitSignal(view.application_saved) as saved:
        dialog.accept()
    application_id = saved.args[0]
    status = worker.sync_now()
    assert not status.online and status.waiting >= 1
    with store.read_session() as session:
        assert outbox_waiting_count(session) >= 1

    # -- come online, sync ----------------------------------------------------------------------
    district.start()
    status = worker.sync_now()
    assert status.online and status.waiting == 0
    with store.read_session() as session:
        app = session.scalar(select(ApplicationRecord).where(
            ApplicationRecord.created_by == clerk_name))
        assert app is not None and str(app.id) == application_id and app.status == "accepted"

    # -- the handler cannot approve, the reviewer and the approver sign -----------------------
    reviewer = user_of(sign_in(store, client, district.user("reviewer"), PASSWORD))
    approver = user_of(sign_in(store, client, district.user("approver"), PASSWORD))
    for user, stage_role in ((reviewer, "reviewer"), (approver, "approver")):
        supervisor = MainWindow(store, user, today=lambda: TODAY)
        qtbot.addWidget(supervisor)
        supervisor.show()
        approvals = supervisor.approvals
        assert approvals is not None
        supervisor.tabs.setCurrentWidget(approvals)
        assert approvals.queue.objectName() == "approvalQueue"
        stage = "review" if stage_role == "reviewer" else "approval"
        approvals.stage.setCurrentIndex(approvals.stage.findData(stage))
        assert [str(e.application_id) for e in approvals.entries] == [application_id]
        if stage_role == "approver":  # the handler tries to approve with their own password
            approvals.sign_current()
            credentials = approvals.credentials_dialog
            credentials.username.setText(clerk_name)
            credentials.password.setText(PASSWORD)
            credentials.accept()
            assert approvals.error.text(), "the handler was allowed to approve"
            assert [str(e.application_id) for e in approvals.entries] == [application_id]
        approvals.sign_current()
        credentials = approvals.credentials_dialog
        credentials.password.setText(PASSWORD)
        credentials.accept()
        assert approvals.error.text() == ""
        assert approvals.entries == []  # signed: it left this queue
    status = worker.sync_now()
    assert status.online and status.waiting == 0
    engine = create_engine(district.database_url)
    with engine.connect() as connection:
        server_status = connection.execute(
            text("SELECT status FROM applications WHERE id = :i"),
            {"i": application_id}).scalar_one()
        signers = dict(connection.execute(text(
            "SELECT role, username FROM signatures WHERE application_id = :i"),
            {"i": application_id}).all())
    engine.dispose()
    assert server_status == "approved"
    assert signers["reviewer"] == reviewer.username and signers["approver"] == approver.username
    assert len({clerk_name, reviewer.username, approver.username}) == 3
    window.close()
    worker.stop()
    client.close()
    store.close()
