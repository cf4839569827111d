"""今日受理: this counter's applications of the day (or of chosen days), their states and next
steps in the office's words; open one at the counter, reprint its form, or print the day's
审批表 as one print job.

The list comes from desktop.services.today; printing counts and audits through
desktop.printing (jobs, batch): this view only shows and forwards.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from datetime import date
from decimal import Decimal

from PySide6.QtCore import QDate, QEvent, QObject, QSettings, Qt, Signal
from PySide6.QtGui import QKeyEvent
from PySide6.QtPrintSupport import QPrintDialog, QPrinter
from PySide6.QtWidgets import (
    QComboBox,
    QDateEdit,
    QDialog,
    QHBoxLayout,
    QInputDialog,
    QLabel,
    QPushButton,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from desktop.printing.context import NO_CONTEXT, PrintContext
from desktop.services.today import STATE_LABELS, TodayEntry, format_amount, todays_work
from desktop.store import Store
from desktop.ui.counter_view import table_look
from desktop.ui.models import RowsTableModel
from desktop.ui.print_preview import (
    PrintedPages,
    PrintPreview,
    configured_printer,
    new_printer,
    print_pdfs,
)
from desktop.ui.widgets import error_label
from desktop.ui.withdrawal import WITHDRAWN_MESSAGE, ask_withdrawal

log = logging.getLogger(__name__)

COLUMNS = ("申请编号", "姓名", "项目", "金额", "状态", "下一步", "经办人")
FORMS = (("approval", "审批表"), ("application", "申请表"))
# an approval form is not printed for these in a batch of "all": nothing more will be signed
NOT_IN_BATCH = frozenset({"withdrawn", "refused"})


def _qdate(day: date) -> QDate:
    return QDate(day.year, day.month, day.day)


def _day(value: QDate) -> date:
    return date(value.year(), value.month(), value.day())


class TodayView(QWidget):
    open_application = Signal(object)  # uuid.UUID of the application to open at the counter
    message = Signal(str)
    queued = Signal()  # something new waits in the outbox (a withdrawal)

    def __init__(self, store: Store, clerk: str, *, today: Callable[[], date] = date.today,
                 print_context: PrintContext = NO_CONTEXT,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.store, self.clerk, self.today = store, clerk, today
        self.print_context = print_context
        self.entries: list[TodayEntry] = []
        self.last_batch: PrintedPages | None = None
        self.print_preview: PrintPreview | None = None

        self.first = QDateEdit(_qdate(today()))
        self.first.setObjectName("todayFrom")
        self.first.setCalendarPopup(True)
        self.first.setDisplayFormat("yyyy-MM-dd")
        self.first.setToolTip("从哪一天起列出本机受理的申请")
        self.last = QDateEdit(_qdate(today()))
        self.last.setObjectName("todayTo")
        self.last.setCalendarPopup(True)
        self.last.setDisplayFormat("yyyy-MM-dd")
        self.last.setToolTip("列到哪一天为止")
        self.today_button = QPushButton("今天(&T)")
        self.today_button.setObjectName("todayButton")
        self.today_button.setToolTip("只列今天受理的申请")
        self.heading = QLabel()
        self.heading.setObjectName("todayHeading")
        dates = QHBoxLayout()
        dates.addWidget(QLabel("受理日期"))
        dates.addWidget(self.first)
        dates.addWidget(QLabel("至"))
        dates.addWidget(self.last)
        dates.addWidget(self.today_button)
        dates.addWidget(self.heading, 1)

        self.model = RowsTableModel(COLUMNS)
        self.table = QTableView()
        self.table.setObjectName("todayList")
        self.table.setAccessibleName("今日受理")
        self.table.setModel(self.model)
        table_look(self.table)
        self.table.setSelectionMode(QTableView.SelectionMode.ExtendedSelection)

        self.open_button = QPushButton("打开(&O)")
        self.open_button.setObjectName("todayOpen")
        self.open_button.setToolTip("在柜台受理中打开这份申请的申请人（回车或双击）")
        self.form = QComboBox()
        self.form.setObjectName("todayForm")
        for kind, label in FORMS:
            self.form.addItem(label, kind)
        self.form.setToolTip("重印哪一张表")
        self.reprint_button = QPushButton("打印 / 重印(&R)…")
        self.reprint_button.setObjectName("todayReprint")
        self.reprint_button.setToolTip("预览并打印所选申请的表；已打印过的打印为副本，须填写原因")
        self.batch_selected_button = QPushButton("打印所选审批表(&S)…")
        self.batch_selected_button.setObjectName("todayBatchSelected")
        self.batch_selected_button.setToolTip("把所选申请的审批表作为一次打印任务打印")
        self.batch_all_button = QPushButton("打印全部审批表(&A)…")
        self.batch_all_button.setObjectName("todayBatchAll")
        self.batch_all_button.setToolTip(
            "把列表中全部申请（已撤回、被拒的除外）的审批表作为一次打印任务打印")
        self.withdraw_button = QPushButton("撤回(&W)…")
        self.withdraw_button.setObjectName("todayWithdraw")
        self.withdraw_button.setToolTip(
            "撤回所选申请（须填写原因）：审核前只有经办人本人可以撤回；已审核的须先由审核人或"
            "审批人退回。撤回后其中的费用可重新勾选。")
        self.error = error_label("todayError")
        buttons = QHBoxLayout()
        buttons.addWidget(self.open_button)
        buttons.addWidget(self.form)
        buttons.addWidget(self.reprint_button)
        buttons.addWidget(self.withdraw_button)
        buttons.addStretch(1)
        buttons.addWidget(self.batch_selected_button)
        buttons.addWidget(self.batch_all_button)

        layout = QVBoxLayout(self)
        layout.addLayout(dates)
        layout.addWidget(self.table, 1)
        layout.addWidget(self.error)
        layout.addLayout(buttons)

        self.first.dateChanged.connect(lambda _d: self.refresh())
        self.last.dateChanged.connect(lambda _d: self.refresh())
        self.today_button.clicked.connect(self.show_today)
        self.table.doubleClicked.connect(lambda _i: self.open_current())
        self.table.installEventFilter(self)  # Enter opens, as in the other lists
        self.open_button.clicked.connect(self.open_current)
        self.reprint_button.clicked.connect(self.reprint_current)
        self.withdraw_button.clicked.connect(self.withdraw_current)
        self.batch_selected_button.clicked.connect(self.print_selected)
        self.batch_all_button.clicked.connect(self.print_all)
        self.ask_reason = self._ask_reason  # replaced in tests
        self.choose_printer = self._choose_printer  # replaced in tests
        self.refresh()

    # -- the list ------------------------------------------------------------------------------

    def show_today(self) -> None:
        day = _qdate(self.today())
        for edit in (self.first, self.last):
            edit.blockSignals(True)
            edit.setDate(day)
            edit.blockSignals(False)
        self.refresh()

    def refresh(self) -> None:
        first, last = _day(self.first.date()), _day(self.last.date())
        if last < first:
            first, last = last, first
        try:
            self.entries = todays_work(self.store, first, last)
        except Exception as exc:  # a broken cache is said in words, never a traceback
            log.exception("today's list failed")
            self.error.setText(f"无法读取本机的申请：{exc}")
            self.entries = []
        self.model.set_rows([(e.number, e.person_name, e.program_label,
                              format_amount(e.payable), e.state_label, e.next_step, e.handler)
                             for e in self.entries], [e.application_id for e in self.entries])
        total = sum((e.payable for e in self.entries), start=Decimal(0))
        counts: dict[str, int] = {}
        for e in self.entries:
            counts[e.state_label] = counts.get(e.state_label, 0) + 1
        states = "，".join(f"{label} {counts[label]}" for label in STATE_LABELS.values()
                          if label in counts)
        when = f"{first:%Y-%m-%d}" if first == last else f"{first:%Y-%m-%d} 至 {last:%Y-%m-%d}"
        self.heading.setText(f"{when}：{len(self.entries)} 份申请，合计 {format_amount(total)} 元"
                             + (f"（{states}）" if states else ""))
        if self.entries and not self.table.currentIndex().isValid():
            self.table.selectRow(0)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if (watched is self.table and event.type() == QEvent.Type.KeyPress
                and isinstance(event, QKeyEvent)
                and event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter)
                and not event.modifiers() & ~Qt.KeyboardModifier.KeypadModifier):
            self.open_current()
            return True
        return super().eventFilter(watched, event)

    def current(self) -> TodayEntry | None:
        index = self.table.currentIndex()
        return self.entries[index.row()] if index.isValid() and index.row() < len(
            self.entries) else None

    def selected(self) -> list[TodayEntry]:
        rows = sorted({i.row() for i in self.table.selectionModel().selectedRows()})
        return [self.entries[r] for r in rows if r < len(self.entries)]

    def open_current(self) -> None:
        entry = self.current()
        if entry is None:
            self.error.setText("请先选择一份申请。")
            return
        self.error.clear()
        self.open_application.emit(entry.application_id)

    # -- printing ------------------------------------------------------------------------------

    def _settings(self) -> QSettings:
        settings = getattr(self.window(), "settings", None)
        return settings if isinstance(settings, QSettings) else QSettings()

    def _ask_reason(self, copies: int) -> str | None:
        text, ok = QInputDialog.getText(
            self, "重印原因", f"其中 {copies} 份已打印过，重印为副本。请填写原因（整批一个）：")
        return text if ok else None

    def _choose_printer(self) -> QPrinter | None:
        printer = new_printer(configured_printer(self._settings()))
        dialog = QPrintDialog(printer, self)
        return printer if dialog.exec() == QDialog.DialogCode.Accepted else None

    def reprint_current(self) -> None:
        from desktop.printing.jobs import DOCUMENTS, document_pdf, print_copy, prints_so_far

        entry = self.current()
        if entry is None:
            self.error.setText("请先选择一份申请。")
            return
        kind = str(self.form.currentData())
        label = DOCUMENTS[kind][1]
        store, clerk, context = self.store, self.clerk, self.print_context
        application_id = entry.application_id

        def job(reason: str | None) -> bytes:
            return print_copy(store, application_id, kind, clerk=clerk, reason=reason,
                              context=context)

        try:
            pdf = document_pdf(store, application_id, kind, context=context)
            so_far = prints_so_far(store, application_id, kind)
        except (ValueError, LookupError) as exc:
            self.error.setText(f"无法生成{label}：{exc}")
            return
        self.error.clear()
        self.print_preview = PrintPreview(f"{label} {entry.number} {entry.person_name}", pdf,
                                          job, copies_so_far=so_far, parent=self)
        self.print_preview.open()

    def withdraw_current(self) -> None:
        """The clerk takes back a submission (their own before review, or one sent back)."""
        entry = self.current()
        if entry is None:
            self.error.setText("请先选择一份申请。")
            return
        self.withdrawal_dialog = ask_withdrawal(self, self.store, self.clerk,
                                                entry.application_id, self.error,
                                                self._withdrawn)

    def _withdrawn(self) -> None:
        self.message.emit(WITHDRAWN_MESSAGE)
        self.queued.emit()
        self.refresh()

    def print_selected(self) -> None:
        self.print_batch([e.application_id for e in self.selected()])

    def print_all(self) -> None:
        self.print_batch([e.application_id for e in self.entries
                          if e.state not in NOT_IN_BATCH])

    def print_batch(self, application_ids: list[uuid.UUID]) -> None:
        """The 审批表 of these applications as one print job, each counted and audited; one
        reason asked for the batch's copies."""
        from desktop.printing.batch import copies_in_batch, print_batch
        from desktop.printing.jobs import ReprintNeedsReason

        if not application_ids:
            self.error.setText("没有要打印的申请，请先选择。")
            return
        try:
            copies = copies_in_batch(self.store, application_ids)
        except (ValueError, LookupError) as exc:
            self.error.setText(f"无法打印：{exc}")
            return
        reason = None
        if copies:
            reason = self.ask_reason(copies)
            if reason is None:
                return
            if not reason.strip():
                self.error.setText("重印为副本须填写原因，未打印。")
                return
        printer = self.choose_printer()
        if printer is None:
            return
        try:
            forms = print_batch(self.store, application_ids, "approval", clerk=self.clerk,
                                reason=reason, context=self.print_context)
        except ReprintNeedsReason as exc:
            self.error.setText(str(exc))
            return
        except (ValueError, LookupError) as exc:
            self.error.setText(f"无法生成审批表，未打印：{exc}")
            return
        try:
            self.last_batch = print_pdfs([f.pdf for f in forms], printer, self)
        except (ValueError, OSError, MemoryError) as exc:  # in words, never a traceback
            log.error("batch printing failed: %r", exc)
            words = str(exc) if isinstance(exc, ValueError) else "打印失败，请检查打印机。"
            self.error.setText(f"{words}这 {len(forms)} 份已计入打印次数，重印时须填写原因。")
            return
        self.error.clear()
        copies_done = sum(1 for f in forms if f.copy > 1)
        text = (f"已打印 {len(forms)} 份审批表，共 {self.last_batch.pages} 页"
                + (f"（其中副本 {copies_done} 份）。" if copies_done else "。"))
        self.heading.setToolTip(text)
        self.message.emit(text)
