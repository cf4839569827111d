"""One test per remaining counter flow (issue 4): the monthly run, sending back, the idle lock,
scanning an ID card and a photo of a receipt."""

from __future__ import annotations

import random
import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
import segno
from PySide6.QtCore import QSettings, Qt
from PySide6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot

from desktop.services.counter import CounterSession
from desktop.store import Store, apply_changes, open_store
from desktop.store.models import ApplicationRecord, FeeRowRecord
from desktop.ui.approvals_view import ApprovalsView
from desktop.ui.counter_view import CounterView
from desktop.ui.main_window import CounterUser, MainWindow
from tests.services.test_counter import TODAY, P, fill, row
from tests.signers import remember_with_key
from tests.store.conftest import fee_row_data, person_data, upsert

SECRET = "pass-2026-synthetic"


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    opened = open_store(tmp_path / "counter.sqlite")
    fill(opened, [row("F1", "2026-04-08", "1000.00", issuer_code="31060126",
                      check_code="a1b2c3", receipt_no="0000012345"),
                  row("F2", "2026-05-08", "500.00")])
    yield opened
    opened.close()


def test_the_monthly_run_opens_the_person_with_new_rows_ticked(qtbot: QtBot,
                                                              store: Store) -> None:
    first = CounterSession(store, P, program="assistance", clerk="li",
                           application_date=date(2026, 4, 20))
    first.tick("F1")
    first.submit(auto_enrolled=True, now=datetime(2026, 4, 20, 2, tzinfo=UTC))
    window = MainWindow(store, CounterUser("li", "李经办", ("clerk",)), today=lambda: TODAY)
    qtbot.addWidget(window)
    window.show()
    window.tabs.setCurrentWidget(window.monthly)  # showing the tab runs the search
    qtbot.waitUntil(lambda: window.monthly.refresh_button.isEnabled(), timeout=10_000)
    assert [e.person_id for e in window.monthly.entries] == [P]
    assert "2026-06-15" in window.monthly.heading.text()
    assert window.monthly.model.rows[0][-1] == "300.00"  # F2: 60 % of 500 (POLICY.md §1)
    window.monthly.table.activated.emit(window.monthly.model.index(0, 0))
    assert window.tabs.currentWidget() is window.counter
    assert window.counter.session is not None and window.counter.session.ticked == ("F2",)
    assert "300.00" in window.counter.total.text()
    window.counter.submit_application()
    assert window.counter.submit_dialog.auto.isChecked()  # 免申即享 carried over


def test_a_reviewer_sends_back_with_a_reason(qtbot: QtBot, store: Store) -> None:
    counter = CounterSession(store, P, program="assistance", clerk="li",
                             application_date=TODAY)
    counter.tick("F1")
    saved = counter.submit()
    remember_with_key(store, "zhao", "赵审核", ["reviewer"], SECRET)
    view = ApprovalsView(store, CounterUser("zhao", "赵审核", ("reviewer",)))
    qtbot.addWidget(view)
    view.show()
    assert [e.application_id for e in view.entries] == [saved.application_id]
    assert "600.00" in view.header.text() and view.trace.toPlainText()
    view.send_back_current()
    dialog = view.credentials_dialog
    dialog.password.setText(SECRET)
    dialog.accept()
    assert dialog.isVisible() and "原因" in dialog.error.text()  # a reason is required
    dialog.reason.setPlainText("缺少门诊病历")
    dialog.accept()
    assert view.error.text() == "" and view.entries == []
    with store.read_session() as session:
        app = session.get(ApplicationRecord, saved.application_id)
        assert app is not None and app.status == "returned"


def test_the_handler_cannot_review_their_own_application(qtbot: QtBot, store: Store) -> None:
    counter = CounterSession(store, P, program="assistance", clerk="li",
                             application_date=TODAY)
    counter.tick("F1")
    counter.submit()
    remember_with_key(store, "li", "李经办", ["clerk", "reviewer"], SECRET)
    view = ApprovalsView(store, CounterUser("li", "李经办", ("clerk", "reviewer")))
    qtbot.addWidget(view)
    view.sign_current()
    view.credentials_dialog.password.setText(SECRET)
    view.credentials_dialog.accept()
    assert "三个不同的人" in view.error.text()
    assert len(view.entries) == 1


def test_the_idle_lock_hides_the_window_until_the_password(qtbot: QtBot, store: Store,
                                                          tmp_path: Path) -> None:
    from desktop.ui.app import CounterApp

    remember_with_key(store, "li", "李经办", ["clerk"], SECRET)
    app = QApplication.instance()
    assert isinstance(app, QApplication)
    QSettings().setValue("counter/idleMinutes", 10)
    counter = CounterApp(app, store)
    try:
        counter.open_window(CounterUser("li", "李经办", ("clerk",)))
        window = counter.window
        assert window is not None
        window.show()
        counter.idle.idle.emit()  # the idle time ran out
        assert not window.isVisible()
        lock = counter.lock_dialog
        assert lock.username.text() == "li" and lock.username.isReadOnly()
        lock.password.setText("wrong")
        lock.accept()
        assert lock.isVisible() and not window.isVisible() and lock.error.text()
        lock.password.setText(SECRET)
        lock.accept()
        assert window.isVisible()
    finally:
        app.removeEventFilter(counter.idle)
        app.removeEventFilter(counter.scanner)
        if counter.window is not None:
            counter.window.close()


def test_scanning_an_id_card_opens_the_person(qtbot: QtBot, store: Store) -> None:
    view = CounterView(store, "li", today=lambda: TODAY)
    qtbot.addWidget(view)
    with store.read_session() as session:
        from desktop.store.models import PersonRecord

        person = session.get(PersonRecord, P)
        assert person is not None
        number = person.id_number
    view.handle_scan(number)
    assert view.session is not None and view.session.person_id == P


def test_a_photo_of_a_receipt_ticks_its_row(qtbot: QtBot, store: Store, tmp_path: Path) -> None:
    view = CounterView(store, "li", today=lambda: TODAY)
    qtbot.addWidget(view)
    view.open_person(P)
    with store.read_session() as session:
        fee = session.get(FeeRowRecord, "F1")
        assert fee is not None
        qr = (f"https://ebill.example/eips-wxapp-service/d?t=504&a=X&d={fee.issuer_code}_"
              f"{fee.receipt_no}_{fee.check_code}_{fee.total}_{fee.date:%Y%m%d}&s=0")
    image = tmp_path / "receipt.png"
    segno.make_qr(qr).save(str(image), scale=6)
    view.scan_image_file(image)
    assert view.session is not None and view.session.ticked == ("F1",)
    view.scan_image_file(tmp_path / "missing.png")
    assert "missing.png" in view.scan_list.item(0).text()


def test_a_receipt_scanned_for_nobody_is_kept_pending(qtbot: QtBot, store: Store) -> None:
    rnd = random.Random(3)
    with store.session() as session:
        apply_changes(session, [upsert("person", "P2", person_data(rnd, "P2", "李四")),
                                upsert("fee_row", "G1", fee_row_data("G1", "P2", "2026-05-01",
                                                                     "80.00"))])
    view = CounterView(store, "li", today=lambda: TODAY)
    qtbot.addWidget(view)
    view.handle_scan("not a receipt at all " + uuid.uuid4().hex)
    view.open_person(P)
    pending = [view.scan_list.item(i).text() for i in range(view.scan_list.count())]
    assert pending == []  # scanned with nobody open: not this person's
    from desktop.services.scanning import pending_scans

    assert len(pending_scans(store)) == 1
    _ = Qt


def test_mutual_aid_enrolment_from_the_card(qtbot: QtBot, store: Store) -> None:
    """Flow 6: 互助帮困登记 (MA-2021 二): in the window, the fee must be confirmed received."""
    view = CounterView(store, "li", today=lambda: date(2026, 11, 24))
    qtbot.addWidget(view)
    assert not view.enrol_button.isEnabled()
    view.open_person(P)
    view.enrol_mutual_aid()
    dialog = view.enrolment_dialog
    assert "参加 2027 年度" in dialog.terms.text() and "130.00" in dialog.terms.text()
    dialog.attribute.setCurrentIndex(dialog.attribute.findData("zhijiang"))
    for line, text in ((dialog.hukou_district, "长宁区"), (dialog.hukou_street, "华阳路街道"),
                       (dialog.contact_district, "长宁区")):
        line.setText(text)
    dialog.accept()
    assert "收取" in dialog.error.text() and dialog.saved is None
    dialog.fee_received.setChecked(True)
    dialog.accept()
    assert "联系住址（街道）" in dialog.error.text()  # the missing field is named
    dialog.contact_street.setText("华阳路街道")
    with qtbot.waitSignal(view.queued):
        dialog.accept()
    assert dialog.saved is not None and dialog.saved.terms.year == 2027
    assert view.print_preview.document.pageCount() == 1  # 附件1, ready to print and sign
    assert view.print_preview.print_button.isEnabled()


def test_outside_the_window_the_dialog_asks_for_the_reason(qtbot: QtBot, store: Store) -> None:
    view = CounterView(store, "li", today=lambda: date(2026, 5, 10))
    qtbot.addWidget(view)
    view.open_person(P)
    view.enrol_mutual_aid()
    dialog = view.enrolment_dialog
    assert "特殊情况" in dialog.terms.text()
    dialog.reason.setText("外省市退休证明迟到")
    assert "2026-06-01 起" in dialog.terms.text()


def test_a_supervisor_exports_the_application_data(qtbot: QtBot, store: Store,
                                                   tmp_path: Path) -> None:
    """Until the forms issue: “print” exports the data (issue 4 flow 6), audited."""
    import json

    from sqlalchemy import select

    from desktop.store.models import AuditEventRecord

    counter = CounterSession(store, P, program="assistance", clerk="li",
                             application_date=TODAY)
    counter.tick("F1")
    counter.submit(bank_account="6222021234567890128")
    view = ApprovalsView(store, CounterUser("zhao", "赵审核", ("reviewer",)))
    qtbot.addWidget(view)
    target = tmp_path / "application.json"
    view.export_to(target)
    data = json.loads(target.read_text(encoding="utf-8"))
    assert data["payable"] == "600.00" and data["fee_rows"] == ["F1"]
    assert data["bank_account"] == "6222021234567890128"
    assert data["person"]["id_number"].count("*") == 10  # masked in the file
    assert any("本次应付合计 600.00 元" in line for line in data["result"]["trace"])
    with store.read_session() as session:
        assert session.scalar(select(AuditEventRecord).where(
            AuditEventRecord.action == "application.exported")) is not None
    view.export_to(tmp_path / "no" / "such" / "folder.json")
    assert "无法写入" in view.error.text()


def test_an_approver_waives_an_overdue_row_from_the_table(qtbot: QtBot, tmp_path: Path) -> None:
    """Flow 3: a row that cannot count is not tickable until an 审批人 records a reason."""
    store = open_store(tmp_path / "waive.sqlite")
    fill(store, [row("OLD", "2025-10-01", "500.00"), row("NEW", "2026-04-08", "1000.00")])
    remember_with_key(store, "wang", "王审批", ["approver"], SECRET)
    view = CounterView(store, "li", today=lambda: TODAY)
    qtbot.addWidget(view)
    view.open_person(P)
    table = view.fee_table
    table.setCurrentIndex(table.model().index(1, 0))  # NEW: tickable, nothing to waive
    assert not view.waive_button.isEnabled()
    table.setCurrentIndex(table.model().index(0, 0))  # OLD: overdue
    assert view.waive_button.isEnabled()
    view.waive_current()
    dialog = view.waive_dialog
    dialog.username.setText("wang")
    dialog.password.setText("wrong")
    dialog.reason.setPlainText("住院期间无法申请")
    dialog.accept()
    assert "未豁免" in view.error.text() and not view.session.row("OLD").tickable  # type: ignore[union-attr]
    view.waive_current()
    dialog = view.waive_dialog
    dialog.username.setText("wang")
    dialog.password.setText(SECRET)
    dialog.reason.setPlainText("住院期间无法申请")
    dialog.accept()
    assert view.error.text() == ""
    assert "wang" in table.model().index(0, 9).data()
    qtbot.keyClick(table, Qt.Key.Key_Space)
    assert "300.00" in view.total.text()  # 60 % of 500 (POLICY.md §1)
    store.close()


def test_preview_before_saving_and_counted_copies_after(qtbot: QtBot, store: Store,
                                                        tmp_path: Path) -> None:
    """Issue 5 in the application: a watermarked preview until saved; then the original and
    副本 copies with a reason, each sent to the printer and audited."""
    from PySide6.QtPrintSupport import QPrinter

    from desktop.printing.jobs import prints_so_far

    view = CounterView(store, "li", today=lambda: TODAY)
    qtbot.addWidget(view)
    view.open_person(P)
    view.tick("F1")
    view.preview_application()
    preview = view.print_preview
    assert preview.job is None and not preview.print_button.isEnabled()
    assert preview.document.pageCount() == 1
    preview.close()
    assert not view.print_button.isEnabled()
    view.submit_application()
    view.submit_dialog.bank.setText("")
    view.submit_dialog.accept()
    assert view.last_saved is not None and view.print_button.isEnabled()

    def to_file(name: str) -> QPrinter:
        printer = QPrinter(QPrinter.PrinterMode.HighResolution)
        printer.setOutputFormat(QPrinter.OutputFormat.PdfFormat)
        printer.setOutputFileName(str(tmp_path / name))
        return printer

    for n, reason in ((1, None), (2, "申请人遗失")):
        view.print_application()
        preview = view.print_preview
        preview.choose_printer = lambda n=n: to_file(f"printed-{n}.pdf")
        preview.ask_reason = lambda reason=reason: reason
        preview.print_now()
        assert preview.error.text() == "" and preview.printed is not None
        assert (tmp_path / f"printed-{n}.pdf").stat().st_size > 10_000
        preview.close()
    assert prints_so_far(store, view.last_saved, "application") == 2


def test_the_months_reports_from_the_reports_tab(qtbot: QtBot, store: Store,
                                                 tmp_path: Path) -> None:
    """Issue 5: 结算汇总表 and 发放清单 previewed and printed (audited); the district's copy
    with whole card numbers and the workbook for supervisors only."""
    from PySide6.QtPrintSupport import QPrinter
    from sqlalchemy import select

    from desktop.printing.context import PrintContext
    from desktop.services.approvals import sign
    from desktop.store.models import AuditEventRecord
    from desktop.ui.reports_view import ReportsView
    from tests.services.test_reports import district_answers

    remember_with_key(store, "zhao", "赵审核", ["reviewer"], SECRET)
    remember_with_key(store, "wang", "王审批", ["approver"], SECRET)
    counter = CounterSession(store, P, program="assistance", clerk="li", application_date=TODAY)
    counter.tick("F1")
    saved = counter.submit(now=datetime(2026, 6, 10, 2, tzinfo=UTC))
    district_answers(store, saved.application_id)  # the district holds its claims
    sign(store, saved.application_id, role="reviewer", username="zhao", password=SECRET,
         now=datetime(2026, 6, 11, 2, tzinfo=UTC))
    sign(store, saved.application_id, role="approver", username="wang", password=SECRET,
         now=datetime(2026, 6, 12, 2, tzinfo=UTC))
    # the district accepts the approval in June: that places it in June's report
    district_answers(store, saved.application_id, "signature", role="approver",
                     detail={"accepted_at": "2026-06-12T02:05:00+00:00"})
    context = PrintContext(street_name="华阳路街道", street_code="310105001")
    clerk = ReportsView(store, CounterUser("li", "李经办", ("clerk",)),
                        today=lambda: date(2026, 7, 3), print_context=context)
    qtbot.addWidget(clerk)
    assert not clerk.district_button.isEnabled() and not clerk.xlsx_button.isEnabled()
    supervisor = ReportsView(store, CounterUser("wang", "王审批", ("approver",)),
                             today=lambda: date(2026, 7, 3), print_context=context)
    qtbot.addWidget(supervisor)
    supervisor.month.setCurrentIndex(supervisor.month.findData("2026-06"))
    assert supervisor.month.currentText() == "2026年06月"
    supervisor.show_summary()
    assert "合计 600.00 元" in supervisor.status.text()  # 60 % of 1,000 (POLICY.md §1)
    preview = supervisor.print_preview
    printer = QPrinter(QPrinter.PrinterMode.HighResolution)
    printer.setOutputFormat(QPrinter.OutputFormat.PdfFormat)
    printer.setOutputFileName(str(tmp_path / "summary.pdf"))
    preview.choose_printer = lambda: printer
    preview.print_now()
    assert (tmp_path / "summary.pdf").stat().st_size > 10_000
    supervisor.show_payout(masked=False)
    assert supervisor.print_preview.document.pageCount() == 1
    supervisor.export_xlsx(tmp_path / "month.xlsx")
    assert (tmp_path / "month.xlsx").stat().st_size > 3_000
    with store.read_session() as session:
        actions = [e.action for e in session.scalars(select(AuditEventRecord).where(
            AuditEventRecord.subject == "report:310105001:2026-06"))]
    assert actions == ["report.printed", "report.exported"]


def test_a_returned_application_is_withdrawn_from_the_attention_tab(qtbot: QtBot,
                                                                    store: Store) -> None:
    from desktop.services.approvals import send_back
    from desktop.ui.attention_view import AttentionView

    remember_with_key(store, "li", "李经办", ["clerk"], SECRET)
    remember_with_key(store, "zhao", "赵审核", ["reviewer"], SECRET)
    counter = CounterSession(store, P, program="assistance", clerk="li", application_date=TODAY)
    counter.tick("F1")
    saved = counter.submit()
    send_back(store, saved.application_id, username="zhao", password=SECRET,
              reason="银行卡号有误")
    view = AttentionView(store, CounterUser("li", "李经办", ("clerk",)))
    qtbot.addWidget(view)
    assert [e.application_id for e in view.entries] == [saved.application_id]
    assert "银行卡号有误" in view.model.rows[0][-1]
    view.withdraw_current()
    dialog = view.credentials_dialog
    dialog.password.setText(SECRET)
    dialog.reason.setPlainText("更正卡号后重新申请")
    with qtbot.waitSignal(view.queued):
        dialog.accept()
    assert view.entries == [] and view.error.text() == ""
    again = CounterSession(store, P, program="assistance", clerk="li", application_date=TODAY)
    assert again.row("F1").tickable  # the receipt can go into a corrected application
