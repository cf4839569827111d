"""A clerk's morning through the real window, by keyboard and scanner, against a real district.

Issue 12's acceptance: three persons, a scan with nobody open, tick-all, a withdrawn submission,
offline then online, batch print of the day's forms.

- B: before anyone is open, the scanner reads one of B's receipts: B opens with that row ticked;
  F9, (Alt+M for the 病史资料), Enter: saved. The keystrokes are counted.
- A: the clerk types A's pinyin initials, Enter opens the best match, Ctrl+A ticks every
  countable row, F9 … Enter: saved. A sync delivers A and B.
- The district goes away. C's ID card is scanned: C opens; Ctrl+A, F9 … Enter: saved offline,
  the sync says offline and the window's offline banner shows. The clerk then withdraws C before
  any review (no screen offers that for an application not sent back — 待处理 withdraws returned
  ones only — so the service is called as 待处理 calls it).
- The district comes back; one sync delivers everything in order: A and B 已受理 at the district,
  C accepted and then withdrawn, its claims released (C's rows can be ticked again here).
- 今日受理 (Ctrl+2) lists the three with their human numbers; 打印全部审批表 (Alt+A) prints A's and
  B's 审批表 as one job into a PDF: its pages are theirs, one audit entry per form, none for C.
"""

from __future__ import annotations

import io
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pdfplumber
import pytest
from PySide6.QtCore import QSettings, Qt
from PySide6.QtPrintSupport import QPrinter
from PySide6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot
from sqlalchemy import create_engine, select, text

from desktop.domain.streets import NUMBER, street_short_name
from desktop.printing.context import PrintContext
from desktop.printing.jobs import PRINTED, document_pdf
from desktop.services.accounts import sign_in
from desktop.services.applications import record_push_result, withdraw_application
from desktop.services.counter import CounterSession, find_persons
from desktop.services.device import (
    Registration,
    ServerSettings,
    district_client,
    register_counter,
)
from desktop.services.numbering import remember_registration
from desktop.services.scanning import scan_owner
from desktop.store import Store, open_store, outbox_waiting_count
from desktop.store.models import (
    ApplicationRecord,
    AuditEventRecord,
    ClaimRecord,
    FeeRowRecord,
    PersonRecord,
)
from desktop.store.search_keys import name_keys
from desktop.sync.client import DistrictClient
from desktop.sync.credentials import MemoryKeyring
from desktop.sync.worker import SyncWorker
from desktop.ui.counter_view import CounterView
from desktop.ui.login import LoginDialog
from desktop.ui.main_window import OFFLINE_BANNER, CounterUser, MainWindow
from desktop.ui.scanner import ScanBurstDetector
from tests.e2e.test_counter_scenario import receipt_qr, user_of
from tests.sync.conftest import PASSWORD, DistrictServer, seed_and_serve
from tests.ui.test_scanner import FAST, SLOW, Keyboard

TODAY = date.today()
WAIT = 5000  # ms; waits end as soon as their condition holds
CTRL, ALT = Qt.KeyboardModifier.ControlModifier, Qt.KeyboardModifier.AltModifier


@dataclass
class Desk:
    """A counter as its first run leaves it: registered, its number kept, a sync worker."""

    registration: Registration
    client: DistrictClient
    store: Store
    worker: SyncWorker


def registered_desk(district: DistrictServer, tmp_path: Path, window: str) -> Desk:
    server = ServerSettings(district.url)
    registration = register_counter(server, district.codes()[0], window)
    assert registration.device_number is not None
    client = district_client(server)
    store = open_store(tmp_path / "counter.sqlite")
    remember_registration(store, registration.street_name, registration.device_number)
    return Desk(registration, client, store,
                SyncWorker(store, client, on_result=record_push_result))


@pytest.fixture
def district(tmp_path: Path) -> Iterator[DistrictServer]:
    server = seed_and_serve(tmp_path, persons=40)
    yield server
    server.kill()


@dataclass(frozen=True)
class Cast:
    """The morning's three persons, chosen from the synced cache."""

    a: PersonRecord  # found by typing their initials
    a_initials: str
    b: PersonRecord  # opened by a receipt scanned with nobody open
    b_qr: str
    b_row: str
    c: PersonRecord  # opened by scanning their ID card; withdrawn later


def choose_cast(store: Store, clerk: str) -> Cast:
    with store.read_session() as session:
        persons = list(session.scalars(select(PersonRecord).order_by(PersonRecord.id)))
    candidates: list[tuple[PersonRecord, list[str]]] = []
    for person in persons:
        counter = CounterSession(store, person.id, program="assistance", clerk=clerk,
                                 application_date=TODAY)
        tickable = [r.id for r in counter.rows if r.tickable]
        if tickable and counter.tick_countable(tickable).payable > 0:
            candidates.append((person, tickable))
    b = b_qr = b_row = None
    for person, tickable in candidates:
        with store.read_session() as session:
            rows = [session.get(FeeRowRecord, i) for i in tickable]
        for row in rows:
            if row is None or not (row.issuer_code and row.check_code):
                continue
            qr = receipt_qr(row)
            if scan_owner(store, qr) == person.id:
                b, b_qr, b_row = person, qr, row.id
                break
        if b is not None:
            break
    assert b is not None and b_qr is not None and b_row is not None, "no receipt to scan"
    a = a_initials = None
    for person, _tickable in candidates:
        initials = name_keys(person.name).initials
        hits = find_persons(store, initials) if person.id != b.id else []
        if hits and hits[0].person_id == person.id:  # Enter opens the best match
            a, a_initials = person, initials
            break
    assert a is not None and a_initials, "no person whose initials find them first"
    c = next((p for p, _t in candidates if p.id not in (a.id, b.id)), None)
    assert c is not None, "the seeded district has too few persons for the morning"
    return Cast(a, a_initials, b, b_qr, b_row, c)


def submit_by_keyboard(qtbot: QtBot, window: MainWindow, view: CounterView) -> tuple[str, int]:
    """F9, Alt+M when the dialog asks for the 病史资料, Enter: the application id, keystrokes."""
    strokes = 0
    qtbot.waitUntil(window.isActiveWindow, timeout=WAIT)  # F9 is the window's shortcut
    qtbot.keyClick(view.fee_table, Qt.Key.Key_F9)
    strokes += 1
    dialog = view.submit_dialog
    qtbot.waitExposed(dialog)
    dialog.activateWindow()  # as the window system does for a dialog that opens
    qtbot.waitUntil(dialog.isActiveWindow, timeout=WAIT)
    dialog.confirm_bank_warning = lambda warning: True  # the seeded cards are synthetic
    if dialog.medical_rows:
        qtbot.keyClick(QApplication.focusWidget() or dialog, Qt.Key.Key_M, ALT)
        strokes += 1
        qtbot.waitUntil(dialog.records.isChecked, timeout=WAIT)  # a mnemonic's click animates
    with qtbot.waitSignal(view.application_saved, timeout=WAIT) as saved:
        qtbot.keyClick(QApplication.focusWidget() or dialog, Qt.Key.Key_Return)
        strokes += 1
    assert not dialog.isVisible()
    window.activateWindow()  # back to the window when the dialog closes
    qtbot.waitUntil(window.isActiveWindow, timeout=WAIT)
    return str(saved.args[0]), strokes


def file_printer(path: Path) -> QPrinter:
    printer = QPrinter(QPrinter.PrinterMode.HighResolution)
    printer.setOutputFormat(QPrinter.OutputFormat.PdfFormat)
    printer.setOutputFileName(str(path))
    printer.setResolution(150)  # enough to count pages, quick on a shared machine
    return printer


def page_count(pdf: bytes) -> int:
    with pdfplumber.open(io.BytesIO(pdf)) as document:
        return len(document.pages)


def approval_prints(store: Store) -> list[AuditEventRecord]:
    with store.read_session() as session:
        return [e for e in session.scalars(select(AuditEventRecord).where(
            AuditEventRecord.action == PRINTED).order_by(AuditEventRecord.id))
            if e.detail.get("form") == "approval"]


def local_status(store: Store, application_id: str) -> str:
    with store.read_session() as session:
        app = session.get(ApplicationRecord, uuid.UUID(application_id))
        assert app is not None
        return app.status


def test_a_clerks_morning(qtbot: QtBot, district: DistrictServer,
                          memory_keyring: MemoryKeyring, tmp_path: Path) -> None:
    desk = registered_desk(district, tmp_path, "华阳路 1号窗口")
    registration, client, store, worker = desk.registration, desk.client, desk.store, desk.worker
    clerk_name = district.user("clerk")

    # -- sign in, sync the street's persons and fee rows -----------------------------------------
    login: LoginDialog[CounterUser] = LoginDialog(
        lambda username, password: user_of(sign_in(store, client, username, password)))
    qtbot.addWidget(login)
    login.show()
    qtbot.keyClicks(login.username, clerk_name)
    qtbot.keyClicks(login.password, PASSWORD)
    qtbot.keyClick(login.password, Qt.Key.Key_Return)
    clerk = login.user
    assert clerk is not None and not clerk.offline
    assert worker.sync_now().online
    cast = choose_cast(store, clerk_name)

    context = PrintContext(street_name=registration.street_name,
                           street_code=registration.street_code)
    window = MainWindow(store, clerk, today=lambda: TODAY, print_context=context,
                        settings=QSettings(str(tmp_path / "counter.ini"),
                                           QSettings.Format.IniFormat))
    qtbot.addWidget(window)
    worker.on_status = window.sync_status.report  # as the app wires it
    window.show()
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow, timeout=WAIT)
    view = window.counter
    view.keep_unsaved_ticks = lambda name, count: False  # never asked: every tick is submitted
    detector = ScanBurstDetector()
    detector.install()
    detector.scanned.connect(view.handle_scan)  # the app: whatever has the focus
    keys = Keyboard()
    try:
        # -- B: a receipt scanned with nobody open opens its owner, the row ticked; submit --
        assert view.session is None
        view.search.setFocus()  # where the focus is in the morning: the scan goes anywhere
        keys.type(view.search, cast.b_qr, FAST)
        keys.enter(view.search)
        b_strokes = 1  # the scan (one trigger pull)
        qtbot.waitUntil(lambda: view.session is not None, timeout=WAIT)
        assert view.session is not None and view.session.person_id == cast.b.id
        assert view.session.ticked == (cast.b_row,)
        assert view.search.text() == ""  # the scan was taken back out of the search box
        assert "已匹配" in view.scan_list.item(0).text()
        b_id, strokes = submit_by_keyboard(qtbot, window, view)
        b_strokes += strokes
        assert b_strokes <= 4  # scan, F9, (Alt+M), Enter
        print(f"\nkeystrokes for B, scan with nobody open → saved: {b_strokes}")

        # -- A: typed initials, Enter, Ctrl+A ticks every countable row, submit --
        qtbot.keyClick(view.fee_table, Qt.Key.Key_F2)
        assert view.search.hasFocus()
        keys.type(view.search, cast.a_initials, SLOW)  # a person types: no scan
        assert view.search.text() == cast.a_initials
        assert view.results_model.hits[0].person_id == cast.a.id
        keys.enter(view.search, SLOW)
        assert view.session is not None and view.session.person_id == cast.a.id
        assert view.fee_table.hasFocus()
        qtbot.keyClick(view.fee_table, Qt.Key.Key_A, CTRL)
        countable = [r.id for r in view.session.rows if r.tickable]
        assert countable and list(view.session.ticked) == countable
        a_id, _ = submit_by_keyboard(qtbot, window, view)
        status = worker.sync_now()
        assert status.online and status.waiting == 0
        assert local_status(store, a_id) == local_status(store, b_id) == "accepted"
        assert not window.offline_banner.isVisible()

        # -- the district goes away; C's ID card is scanned, Ctrl+A, submitted offline --
        district.kill()
        view.fee_table.setFocus()
        keys.type(view.fee_table, cast.c.id_number, FAST)  # the ID card reader, into the table
        keys.enter(view.fee_table)
        qtbot.waitUntil(lambda: view.session is not None
                        and view.session.person_id == cast.c.id, timeout=WAIT)
        qtbot.keyClick(view.fee_table, Qt.Key.Key_A, CTRL)
        c_rows = list(view.session.ticked)
        assert c_rows == [r.id for r in view.session.rows if r.tickable]
        c_id, _ = submit_by_keyboard(qtbot, window, view)
        status = worker.sync_now()
        assert not status.online and status.waiting >= 1
        qtbot.waitUntil(window.offline_banner.isVisible, timeout=WAIT)
        assert window.offline_banner.text() == OFFLINE_BANNER
        assert local_status(store, c_id) == "saved"

        # -- the clerk withdraws C before any review (still offline) --
        # No screen offers it for a saved/accepted application (待处理 withdraws sent-back ones
        # only): the service, called as 待处理 calls it, with the clerk's password and a reason.
        withdraw_application(store, uuid.UUID(c_id), username=clerk_name, password=PASSWORD,
                             reason="申请人要补交一张票据，重新申请")
        assert local_status(store, c_id) == "withdrawn"
        with store.read_session() as session:
            waiting_before = outbox_waiting_count(session)
        assert waiting_before >= 2  # C's application, then its withdrawal

        # -- the district comes back; one sync delivers everything waiting --
        district.start()
        status = worker.sync_now()
        assert status.online and status.waiting == 0
        qtbot.waitUntil(lambda: not window.offline_banner.isVisible(), timeout=WAIT)
        assert [local_status(store, i) for i in (a_id, b_id, c_id)] == [
            "accepted", "accepted", "withdrawn"]
        engine = create_engine(district.database_url)
        try:
            with engine.connect() as connection:
                ours = {"a": a_id, "b": b_id, "c": c_id}
                at_district = dict(connection.execute(text(
                    "SELECT id, status FROM applications WHERE id IN (:a, :b, :c)"), ours).all())
                numbers = dict(connection.execute(text(
                    "SELECT id, number FROM applications WHERE id IN (:a, :b, :c)"), ours).all())
                c_claims = connection.execute(text(
                    "SELECT count(*) FROM claims WHERE application_id = :i"),
                    {"i": c_id}).scalar_one()
                c_history = connection.execute(text(
                    "SELECT kind, from_status, to_status, username FROM application_transitions"
                    " WHERE application_id = :i AND kind = 'withdrawal'"), {"i": c_id}).all()
                ab_claims = connection.execute(text(
                    "SELECT count(*) FROM claims WHERE application_id IN (:a, :b)"),
                    {"a": a_id, "b": b_id}).scalar_one()
        finally:
            engine.dispose()
        assert at_district == {a_id: "accepted", b_id: "accepted", c_id: "withdrawn"}
        # C was accepted first, then withdrawn by its own 经办人: the outbox kept the order
        assert [tuple(t) for t in c_history] == [
            ("withdrawal", "accepted", "withdrawn", clerk_name)]
        assert c_claims == 0 and ab_claims > 0  # C's released, A's and B's still held
        with store.read_session() as session:
            assert session.scalars(select(ClaimRecord).where(
                ClaimRecord.application_id == uuid.UUID(c_id))).first() is None
            local_numbers = {str(a.id): a.number for a in session.scalars(
                select(ApplicationRecord).where(ApplicationRecord.id.in_(
                    [uuid.UUID(i) for i in (a_id, b_id, c_id)])))}
        assert local_numbers == numbers  # the human numbers given here, kept there
        short = street_short_name(registration.street_name)
        for number in numbers.values():
            match = NUMBER.match(number or "")
            assert match is not None and match["street"] == short
            assert int(match["device"]) == registration.device_number
        assert len(set(numbers.values())) == 3
        again = CounterSession(store, cast.c.id, program="assistance", clerk=clerk_name,
                               application_date=TODAY)
        assert all(again.row(r).tickable for r in c_rows)  # C's receipts can be claimed again

        # -- 今日受理: the day's three, their numbers; print all the 审批表 as one job --
        qtbot.waitUntil(window.isActiveWindow, timeout=WAIT)
        qtbot.keyClick(window, Qt.Key.Key_2, CTRL)
        today = window.today
        assert window.tabs.currentWidget() is today
        listed = {str(e.application_id): e for e in today.entries}
        assert set(listed) == {a_id, b_id, c_id}
        assert {i: e.number for i, e in listed.items()} == numbers
        assert listed[c_id].state == "withdrawn" and listed[c_id].state_label == "已撤回"
        expected = sum(page_count(document_pdf(store, uuid.UUID(i), "approval",
                                               context=context)) for i in (a_id, b_id))

        def no_reason_expected(copies: int) -> str | None:
            raise AssertionError(f"{copies} copies: nothing was printed before")

        out = tmp_path / "day.pdf"
        today.ask_reason = no_reason_expected
        today.choose_printer = lambda: file_printer(out)  # the print dialog, answered
        with qtbot.waitSignal(today.message, timeout=WAIT) as said:
            qtbot.keyClick(today.table, Qt.Key.Key_A, ALT)  # 打印全部审批表(&A)
        assert today.error.text() == ""
        assert page_count(out.read_bytes()) == expected
        assert today.last_batch is not None and today.last_batch.pages == expected
        assert f"已打印 2 份审批表，共 {expected} 页" in str(said.args[0])
        prints = approval_prints(store)
        assert sorted(e.subject for e in prints) == sorted(
            f"application:{i}" for i in (a_id, b_id))  # one each; the withdrawn C left out
        assert [(e.actor, e.detail["copy"], e.detail["reason"]) for e in prints] == [
            (clerk_name, 1, None)] * 2
    finally:
        detector.uninstall()
        window.close()
        worker.stop()
        client.close()
        store.close()
