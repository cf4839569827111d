"""今日受理 (issue 12): the day's applications in the office's words, opened at the counter,
and the day's 审批表 printed as one print job, each form counted and audited."""

from __future__ import annotations

import io
import uuid
from collections.abc import Iterator
from pathlib import Path

import pdfplumber
import pytest
from PySide6.QtCore import QSettings, Qt
from PySide6.QtPrintSupport import QPrinter
from pytestqt.qtbot import QtBot
from sqlalchemy import select

from desktop.printing.jobs import PRINTED, document_pdf
from desktop.services.accounts import remember_user
from desktop.store import Store
from desktop.store.models import AuditEventRecord
from desktop.ui.main_window import CounterUser, MainWindow
from tests.printing.test_forms import CONTEXT, SECRET, TODAY, store  # noqa: F401  (the fixture)
from tests.services.test_counter import P
from tests.services.test_today import MORNING, submit

CLERK = CounterUser("li", "李经办", ("clerk",))


@pytest.fixture
def window(qtbot: QtBot, store: Store, tmp_path: Path  # noqa: F811
           ) -> Iterator[MainWindow]:
    remember_user(store, "li", "李经办", ["clerk"], SECRET, now=MORNING)
    for rows in ([0, 1], [2, 3], [4, 5]):
        submit(store, rows)
    opened = MainWindow(store, CLERK, today=lambda: TODAY, print_context=CONTEXT,
                        settings=QSettings(str(tmp_path / "c.ini"), QSettings.Format.IniFormat),
                        check_audit=False)
    qtbot.addWidget(opened)
    yield opened


def file_printer(path: Path) -> QPrinter:
    printer = QPrinter(QPrinter.PrinterMode.HighResolution)
    printer.setOutputFormat(QPrinter.OutputFormat.PdfFormat)
    printer.setOutputFileName(str(path))
    printer.setResolution(150)  # enough to count pages, quick on a shared machine
    return printer


def page_count(pdf: bytes) -> int:
    return len(pdfplumber.open(io.BytesIO(pdf)).pages)


def approval_prints(store: Store) -> list[dict[str, object]]:  # noqa: F811
    with store.read_session() as session:
        return [e.detail for e in session.scalars(select(AuditEventRecord).where(
            AuditEventRecord.action == PRINTED).order_by(AuditEventRecord.id))
            if e.detail.get("form") == "approval"]


def test_the_tab_lists_the_days_applications(qtbot: QtBot, window: MainWindow) -> None:
    window.show()
    window.tabs.setCurrentWidget(window.today)
    view = window.today
    assert window.tabs.tabText(window.tabs.currentIndex()) == "今日受理(&2)"
    model = view.model
    assert [model.headerData(c, Qt.Orientation.Horizontal) for c in range(model.columnCount())
            ] == ["申请编号", "姓名", "项目", "金额", "状态", "下一步", "经办人"]
    rows = [[model.index(r, c).data() for c in range(model.columnCount())]
            for r in range(model.rowCount())]
    assert len(rows) == 3
    for row in rows:
        assert row[1] == "张三" and row[6] == "李经办"
        assert row[4] == "待上传" and row[5].startswith("待上传")
        assert "," in row[3] or len(row[3].split(".")[0]) <= 3  # thousands separated
        assert row[3].count(".") == 1 and len(row[3].split(".")[1]) == 2
    assert "3 份申请" in view.heading.text()
    # another day: nothing; back to today: the three
    view.first.setDate(view.first.date().addDays(1))
    view.last.setDate(view.last.date().addDays(1))
    assert model.rowCount() == 0
    qtbot.mouseClick(view.today_button, Qt.MouseButton.LeftButton)
    assert model.rowCount() == 3


def test_enter_opens_the_application_at_the_counter(qtbot: QtBot, window: MainWindow) -> None:
    window.show()
    window.tabs.setCurrentWidget(window.today)
    view = window.today
    view.table.setFocus()
    view.table.selectRow(1)
    with qtbot.waitSignal(view.open_application) as opened:
        qtbot.keyClick(view.table, Qt.Key.Key_Return)
    assert opened.args == [view.entries[1].application_id]
    assert window.tabs.currentWidget() is window.counter
    assert window.counter.session is not None and window.counter.session.person_id == P


def test_the_days_approval_forms_print_as_one_job(qtbot: QtBot, window: MainWindow,
                                                  store: Store, tmp_path: Path  # noqa: F811
                                                  ) -> None:
    view = window.today
    ids: list[uuid.UUID] = [e.application_id for e in view.entries]
    expected = sum(page_count(document_pdf(store, a, "approval", context=CONTEXT)) for a in ids)
    asked: list[int] = []

    def no_reason(copies: int) -> str | None:
        asked.append(copies)
        return None

    view.ask_reason = no_reason
    view.choose_printer = lambda: file_printer(tmp_path / "batch.pdf")
    with qtbot.waitSignal(view.message) as said:
        qtbot.mouseClick(view.batch_all_button, Qt.MouseButton.LeftButton)
    assert view.error.text() == "" and asked == []  # originals: no reason asked
    out = tmp_path / "batch.pdf"
    assert page_count(out.read_bytes()) == expected  # one job, every form's pages
    assert view.last_batch is not None and view.last_batch.pages == expected
    assert f"已打印 3 份审批表，共 {expected} 页" in str(said.args[0])
    prints = approval_prints(store)
    assert [p["copy"] for p in prints] == [1, 1, 1] and all(p["reason"] is None for p in prints)

    # a second batch: one reason asked for the batch; cancelled, nothing is counted
    view.choose_printer = lambda: file_printer(tmp_path / "again.pdf")
    qtbot.mouseClick(view.batch_all_button, Qt.MouseButton.LeftButton)
    assert asked == [3] and len(approval_prints(store)) == 3
    assert not (tmp_path / "again.pdf").exists()
    view.ask_reason = lambda copies: "卡纸"
    qtbot.mouseClick(view.batch_all_button, Qt.MouseButton.LeftButton)
    prints = approval_prints(store)
    assert [p["copy"] for p in prints] == [1, 1, 1, 2, 2, 2]
    assert [p["reason"] for p in prints[3:]] == ["卡纸"] * 3
    assert page_count((tmp_path / "again.pdf").read_bytes()) == expected

    # the selected ones only
    view.table.clearSelection()
    view.table.selectRow(2)
    view.choose_printer = lambda: file_printer(tmp_path / "one.pdf")
    qtbot.mouseClick(view.batch_selected_button, Qt.MouseButton.LeftButton)
    prints = approval_prints(store)
    assert len(prints) == 7 and prints[-1]["copy"] == 3
    assert page_count((tmp_path / "one.pdf").read_bytes()) == page_count(
        document_pdf(store, ids[2], "approval", context=CONTEXT))


def test_a_printer_that_cannot_start_is_said_in_words(qtbot: QtBot, window: MainWindow,
                                                     tmp_path: Path) -> None:
    view = window.today
    view.choose_printer = lambda: file_printer(tmp_path / "no such folder" / "x.pdf")
    qtbot.mouseClick(view.batch_all_button, Qt.MouseButton.LeftButton)
    assert "打印机无法开始打印" in view.error.text()
    assert "重印时须填写原因" in view.error.text()


def test_reprint_opens_the_preview_of_a_copy(qtbot: QtBot, window: MainWindow) -> None:
    view = window.today
    view.table.selectRow(0)
    view.form.setCurrentIndex(view.form.findData("application"))
    qtbot.mouseClick(view.reprint_button, Qt.MouseButton.LeftButton)
    preview = view.print_preview
    assert preview is not None and preview.job is not None
    assert "申请表" in preview.windowTitle() and "张三" in preview.windowTitle()
    preview.close()


def test_the_clerk_withdraws_their_own_submission_from_the_list(
        qtbot: QtBot, window: MainWindow, store: Store) -> None:  # noqa: F811
    """Issue 12: the 经办人 takes back a submission before review, from 今日受理 (password
    and reason); another user is refused in words and nothing changes."""
    from desktop.store.models import ApplicationRecord, OutboxRecord
    from tests.signers import remember_with_key

    remember_with_key(store, "li", "李经办", ["clerk"], SECRET)
    window.show()
    view = window.today
    view.table.selectRow(0)
    entry = view.current()
    assert entry is not None
    view.withdraw_current()
    dialog = view.withdrawal_dialog
    dialog.username.setText("zhao")  # a reviewer, before review: not theirs to withdraw
    dialog.password.setText(SECRET)
    dialog.reason.setPlainText("申请人要求撤回")
    dialog.accept()
    assert view.error.text().startswith("未撤回：") and "经办人" in view.error.text()
    view.withdraw_current()
    dialog = view.withdrawal_dialog
    dialog.password.setText(SECRET)
    dialog.reason.setPlainText("申请人要求撤回")
    with qtbot.waitSignal(view.queued):
        dialog.accept()
    assert view.error.text() == ""
    with store.read_session() as session:
        application = session.get(ApplicationRecord, entry.application_id)
        assert application is not None and application.status == "withdrawn"
        kinds = [o.kind for o in session.scalars(select(OutboxRecord).order_by(OutboxRecord.id))
                 if o.payload.get("application_id") == str(entry.application_id)]
    assert kinds[0] == "application" and kinds[-1] == "withdrawal"  # in the outbox's order
    states = {view.entries[r].application_id: view.model.index(r, 4).data()
              for r in range(view.model.rowCount())}
    assert states[entry.application_id] == "已撤回"
