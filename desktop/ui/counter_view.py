"""The counter: find the person, tick or scan their fee rows, see the amount live, submit.

Keyboard first: F2 (or Ctrl+F) to the search box, type a person, a receipt number or an
application number, Enter opens it; the fee table takes the focus on the first row that can
count, ↑/↓ move, Space ticks, Ctrl+A ticks every countable row, F4 shows the trace, F9 submits,
Esc goes back to the search. Leaving a person with ticks not yet submitted asks first.
Everything is computed by the counter session; this view shows and forwards.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, date, datetime
from html import escape
from pathlib import Path

from PySide6.QtCore import QEvent, QModelIndex, QObject, Qt, Signal
from PySide6.QtGui import QFont, QKeyEvent, QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QFileDialog,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QListWidget,
    QPushButton,
    QScrollArea,
    QSplitter,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from desktop.domain.errors import DomainError
from desktop.domain.id_number import normalize_id_number
from desktop.policy.explain import human_lines
from desktop.policy.model import WAIVABLE
from desktop.printing.context import NO_CONTEXT, PrintContext
from desktop.services.commitments import commitment_state
from desktop.services.counter import (
    CounterSession,
    NotTickable,
    PersonCard,
    Quote,
    find_numbers,
    find_persons,
    format_amount,
    program_label,
)
from desktop.services.scanning import pending_scans, record_scan, scan_owner
from desktop.services.signing import SigningUnavailable
from desktop.services.waivers import WaiverRefused
from desktop.store import NumberHit, Store
from desktop.ui.commitment import ask_revocation
from desktop.ui.dialogs import CredentialsDialog, SubmitDialog, TraceDialog
from desktop.ui.enrolment_dialog import EnrolmentDialog
from desktop.ui.models import FeeRowsFilter, FeeRowsModel, PersonResultsModel
from desktop.ui.print_preview import PrintPreview
from desktop.ui.widgets import error_label, unsaved_ticks_question

PROGRAMS = (("assistance", "医疗救助"), ("mutual_aid", "互助帮困"))
WAIVABLE_CODES = frozenset(r.value for r in WAIVABLE)


class CounterView(QWidget):
    """One person at a time; `application_saved(application_id)` after each submit."""

    application_saved = Signal(str)
    queued = Signal()  # something was saved for the district: push it soon
    message = Signal(str)  # for the status bar

    def __init__(self, store: Store, clerk: str, *, today: Callable[[], date] = date.today,
                 print_context: PrintContext = NO_CONTEXT,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.print_context = print_context
        self.last_saved: uuid.UUID | None = None
        # what 打印申请表 prints: an application of the person on screen, and that person
        self.print_target: tuple[str, uuid.UUID] | None = None
        # asked before ticks not yet submitted are dropped: True keeps them (replaced in tests)
        self.keep_unsaved_ticks: Callable[[str, int], bool] = self._ask_keep_ticks
        self.store = store
        self.clerk = clerk
        self.today = today
        self.session: CounterSession | None = None
        self.opened_at: datetime | None = None  # when the person was opened (repeat scans)
        self.last_quote: Quote | None = None
        self.auto_enrolled_default = False  # 免申即享 ticked in the submit dialog
        self._build()
        self._connect()

    # -- building ----------------------------------------------------------------------------

    def _build(self) -> None:
        self.search = QLineEdit()
        self.search.setObjectName("personSearch")
        self.search.setAccessibleName("查找对象：身份证号、姓名、拼音首字母或电话")
        self.search.setPlaceholderText("身份证号 / 姓名 / 拼音首字母 / 电话（F2）")
        self.search.setClearButtonEnabled(True)
        self.results_model = PersonResultsModel()
        self.results = QTableView()
        self.results.setObjectName("personResults")
        self.results.setAccessibleName("查找结果")
        self.results.setModel(self.results_model)
        table_look(self.results)
        elide_columns(self.results, PersonResultsModel.ELASTIC)
        self.card = QLabel("请先查找并打开一位对象。")
        self.card.setObjectName("personCard")
        self.card.setAccessibleName("对象信息")
        self.card.setWordWrap(True)
        self.card.setTextFormat(Qt.TextFormat.RichText)
        self.card.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
        self.card.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)

        self.program = QComboBox()
        self.program.setObjectName("programChoice")
        self.program.setAccessibleName("申请项目")
        for code, label in PROGRAMS:
            self.program.addItem(label, code)
        self.year_filter = QComboBox()
        self.year_filter.setObjectName("yearFilter")
        self.year_filter.setAccessibleName("按年度筛选")
        self.kind_filter = QComboBox()
        self.kind_filter.setObjectName("kindFilter")
        self.kind_filter.setAccessibleName("按费用类别筛选")
        kinds: tuple[tuple[str, str | None], ...] = (
            ("全部类别", None), ("门急诊", "outpatient"), ("住院", "inpatient"),
            ("门诊大病", "major_outpatient"))
        for kind_label, kind in kinds:
            self.kind_filter.addItem(kind_label, kind)

        self.rows_model = FeeRowsModel(self._tick_from_model)
        self.rows_filter = FeeRowsFilter()
        self.rows_filter.setSourceModel(self.rows_model)
        self.fee_table = QTableView()
        self.fee_table.setObjectName("feeTable")
        self.fee_table.setAccessibleName("费用明细（空格键勾选）")
        self.fee_table.setModel(self.rows_filter)
        table_look(self.fee_table)
        elide_columns(self.fee_table, FeeRowsModel.ELASTIC)
        self.fee_table.installEventFilter(self)
        self.ticked_label = QLabel()
        self.ticked_label.setObjectName("tickedTotal")
        self.waive_button = QPushButton("审批人豁免(&W)…")
        self.waive_button.setObjectName("waiveRow")
        self.waive_button.setToolTip("超过申请期限或缺居保大病认定材料的费用，经审批人确认并填写原因后可勾选")
        self.waive_button.setEnabled(False)
        self.tick_all_button = QPushButton("全选可计入(Ctrl+A)")
        self.tick_all_button.setObjectName("tickAllCountable")
        self.tick_all_button.setToolTip("勾选当前列表中所有可以计入的费用（灰色的不会勾选）")
        self.tick_all_button.setEnabled(False)

        self.scan_input = QLineEdit()
        self.scan_input.setObjectName("scanInput")
        self.scan_input.setAccessibleName("扫描票据二维码")
        self.scan_input.setPlaceholderText("扫描票据二维码（扫码枪在任何位置都可直接扫描）")
        # a Chinese input method would turn the scanner's keys into composition (RECEIPTS.md)
        self.scan_input.setAttribute(Qt.WidgetAttribute.WA_InputMethodEnabled, False)
        self.scan_image = QPushButton("从图片识别(&I)…")
        self.scan_image.setObjectName("scanFromImage")
        self.scan_list = QListWidget()
        self.scan_list.setObjectName("scanList")
        self.scan_list.setAccessibleName("扫描记录")
        self.scan_list.setMaximumHeight(110)

        self.total = QLabel("本次应付：0.00 元")
        self.total.setObjectName("subsidyTotal")
        self.total.setAccessibleName("本次应付金额")
        font = QFont(self.total.font())
        font.setPointSizeF(font.pointSizeF() * 1.6)
        font.setBold(True)
        self.total.setFont(font)
        self.buckets = QLabel()
        self.buckets.setObjectName("subsidyBuckets")
        self.buckets.setWordWrap(True)
        self.warnings = QLabel()
        self.warnings.setObjectName("subsidyWarnings")
        self.warnings.setWordWrap(True)
        self.warnings.setStyleSheet("color: #a05a00;")
        self.enrol_button = QPushButton("互助帮困登记缴费(&E)…")
        self.enrol_button.setObjectName("enrolMutualAid")
        self.enrol_button.setEnabled(False)
        self.trace_button = QPushButton("计算过程(F4)")
        self.trace_button.setObjectName("showTrace")
        self.error = error_label("counterError")
        self.preview_button = QPushButton("申请表预览(&V)…")
        self.preview_button.setObjectName("previewApplication")
        self.print_button = QPushButton("打印申请表(&R)…")
        self.print_button.setObjectName("printApplication")
        self.print_button.setEnabled(False)
        self.submit = QPushButton("提交申请(F9)")
        self.submit.setObjectName("submitApplication")
        self.submit.setAccessibleName("提交申请")
        self.submit.setEnabled(False)

        left = QWidget()
        left_layout = QVBoxLayout(left)
        left_layout.addWidget(QLabel("查找对象(&F)"))
        left_layout.addWidget(self.search)
        left_layout.addWidget(self.results, 2)
        card_box = QGroupBox("对象信息")
        card_layout = QVBoxLayout(card_box)
        card_layout.addWidget(self.card)
        # the person's 免申即享 commitment (issue 15): since when, or revoked when and why
        self.commitment_label = QLabel()
        self.commitment_label.setObjectName("personCommitment")
        self.commitment_label.setWordWrap(True)
        self.revoke_button = QPushButton("撤销免申即享(&X)…")
        self.revoke_button.setObjectName("personRevokeCommitment")
        self.revoke_button.setToolTip("本人不再同意免申即享：写明原因，以本人密码确认")
        self.revoke_button.hide()
        self.revoke_button.clicked.connect(self._ask_revoke)
        self.revoke_dialog: CredentialsDialog | None = None
        self._commitment_id: str | None = None
        card_layout.addWidget(self.commitment_label)
        card_layout.addWidget(self.revoke_button)
        card_layout.addWidget(self.enrol_button)
        left_layout.addWidget(card_box, 3)

        filters = QHBoxLayout()
        filters.addWidget(QLabel("申请项目"))
        filters.addWidget(self.program)
        filters.addStretch(1)
        filters.addWidget(self.year_filter)
        filters.addWidget(self.kind_filter)
        scan = QHBoxLayout()
        scan.addWidget(self.scan_input, 1)
        scan.addWidget(self.scan_image)
        middle = QWidget()
        middle_layout = QVBoxLayout(middle)
        middle_layout.addLayout(filters)
        middle_layout.addWidget(self.fee_table, 1)
        footer = QHBoxLayout()
        _fixed_to(self.ticked_label, "已勾选 9,999 行，自负合计 99,999,999.99 元")
        footer.addWidget(self.ticked_label)
        footer.addStretch(1)
        footer.addWidget(self.tick_all_button)
        footer.addWidget(self.waive_button)
        middle_layout.addLayout(footer)
        middle_layout.addLayout(scan)
        middle_layout.addWidget(self.scan_list)

        right = QGroupBox("救助金额（实时计算）")
        right_layout = QVBoxLayout(right)
        right_layout.addWidget(_amount_panel(self.total, self.buckets, self.warnings), 1)
        right_layout.addWidget(self.error)
        right_layout.addWidget(self.trace_button)
        right_layout.addWidget(self.preview_button)
        right_layout.addWidget(self.print_button)
        right_layout.addWidget(self.submit)

        splitter = QSplitter(Qt.Orientation.Horizontal)
        splitter.setObjectName("counterSplitter")
        splitter.addWidget(left)
        splitter.addWidget(middle)
        splitter.addWidget(right)
        splitter.setStretchFactor(0, 2)
        splitter.setStretchFactor(1, 5)
        splitter.setStretchFactor(2, 2)
        layout = QVBoxLayout(self)
        layout.addWidget(splitter)
        self.splitter = splitter
        self.setTabOrder(self.search, self.results)
        self.setTabOrder(self.results, self.program)
        self.setTabOrder(self.program, self.fee_table)
        self.setTabOrder(self.fee_table, self.scan_input)
        self.setTabOrder(self.scan_input, self.trace_button)
        self.setTabOrder(self.trace_button, self.submit)

    def _connect(self) -> None:
        self.search.textChanged.connect(self.run_search)
        self.search.returnPressed.connect(self.open_selected)
        self.search.installEventFilter(self)
        self.results.activated.connect(lambda index: self.open_row(index.row()))
        self.program.currentIndexChanged.connect(lambda _i: self._reopen())
        self.year_filter.currentIndexChanged.connect(lambda _i: self._apply_filters())
        self.kind_filter.currentIndexChanged.connect(lambda _i: self._apply_filters())
        self.trace_button.clicked.connect(self.show_trace)
        self.submit.clicked.connect(self.submit_application)
        self.scan_input.returnPressed.connect(self._scan_field_entered)
        self.scan_image.clicked.connect(self._choose_image)
        self.enrol_button.clicked.connect(self.enrol_mutual_aid)
        self.preview_button.clicked.connect(self.preview_application)
        self.print_button.clicked.connect(self.print_application)
        self.waive_button.clicked.connect(self.waive_current)
        self.tick_all_button.clicked.connect(self.tick_all_countable)
        self.fee_table.selectionModel().currentRowChanged.connect(
            lambda _current, _previous: self._update_waive_button())
        for keys, slot in ((("F2", "Ctrl+F"), self.focus_search), (("F4",), self.show_trace),
                           (("F9", "Ctrl+Return"), self.submit_application),
                           (("Ctrl+A",), self.tick_all_countable)):
            for key in keys:
                shortcut = QShortcut(QKeySequence(key), self)
                shortcut.setContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
                shortcut.activated.connect(slot)

    # -- search ------------------------------------------------------------------------------

    def focus_search(self) -> None:
        self.search.setFocus()
        self.search.selectAll()

    def run_search(self, text: str) -> None:
        hits = find_persons(self.store, text) if text.strip() else []
        self.results_model.set_hits(hits)
        if hits:
            self.results.selectRow(0)

    def open_selected(self) -> None:
        """Enter in the search box: a receipt or application number opens what it names;
        anything else opens the person selected in the results (the best match)."""
        text = self.search.text().strip()
        numbers = find_numbers(self.store, text) if text else []
        if numbers:
            self.open_number(numbers[0])
            return
        if not self.results_model.hits:
            self.run_search(self.search.text())
        if not self.results_model.hits:
            self.message.emit("没有找到符合条件的对象。")
            return
        current = self.results.currentIndex()
        self.open_row(current.row() if current.isValid() else 0)

    def open_row(self, row: int) -> None:
        if 0 <= row < len(self.results_model.hits):
            self.open_person(self.results_model.hits[row].person_id)

    def open_number(self, hit: NumberHit) -> None:
        """A receipt opens its owner on that row, ticked if it can count; an application
        opens its person with 打印申请表 ready for it."""
        if not self.open_person(hit.person_id):
            return
        if hit.kind == "receipt" and hit.fee_row_id is not None and self.session is not None:
            row_id = hit.fee_row_id
            view = self.session.row(row_id)
            if view.tickable and row_id not in self.session.ticked:
                self.tick(row_id, True)
            self._select_row(row_id)
            said = (f"已打开票据 {view.receipt_no} 的费用并勾选。" if view.tickable
                    else f"票据 {view.receipt_no} 不能勾选：{view.reason}")
            self.message.emit(said)
        elif hit.application_id is not None:
            self._point_print_at(hit.person_id, hit.application_id)
            self.message.emit("已打开该申请的对象，可打印申请表。")

    def open_person(self, person_id: str, *, confirm: bool = True) -> bool:
        """Open `person_id` (again); False if the clerk kept unsaved ticks of the person on
        screen (asked when `confirm`) or the person is gone."""
        if confirm and not self.confirm_leave():
            return False
        program = self.program.currentData()
        self.auto_enrolled_default = False
        self.opened_at = datetime.now(UTC)
        try:
            self.session = CounterSession(self.store, person_id, program=program,
                                          clerk=self.clerk, application_date=self.today())
        except LookupError as exc:
            self.error.setText(str(exc))
            return False
        self.error.clear()
        if self.print_target is None or self.print_target[0] != person_id:
            # the print button follows the person on screen: their application of today
            earlier = self.session.todays_application()
            self.print_target = None if earlier is None else (person_id, earlier)
        self.print_button.setEnabled(self.print_target is not None)
        self.tick_all_button.setEnabled(True)
        self._show_person(self.session.card)
        self.enrol_button.setEnabled(True)
        self._show_pending_scans(person_id)
        self._fill_years()
        self.rows_model.set_rows(self.session.rows, self.session.ticked)
        self._apply_filters()
        self._show_quote(self.session.quote())
        self.fee_table.setFocus()
        shown = self._shown_row_ids()
        start = self.session.first_countable(shown) or (shown[0] if shown else None)
        if start is not None:
            self._select_row(start)
        return True

    def _shown_row_ids(self) -> list[str]:
        """The fee rows the table shows now (the filters applied), top to bottom."""
        out = []
        for n in range(self.rows_filter.rowCount()):
            row_id = self.rows_filter.index(n, 0).data(Qt.ItemDataRole.UserRole)
            if row_id is not None:
                out.append(str(row_id))
        return out

    def confirm_leave(self) -> bool:
        """Before the person on screen is left: ticks not yet submitted are kept (stay) or
        dropped, as the clerk answers; True when leaving may go on."""
        session = self.session
        if session is None or not session.ticked:
            return True
        if self.keep_unsaved_ticks(session.card.name, len(session.ticked)):
            self.fee_table.setFocus()
            return False
        self._show_quote(session.clear())
        self.rows_model.set_ticked(session.ticked)
        return True

    def _ask_keep_ticks(self, name: str, count: int) -> bool:
        box, discard = unsaved_ticks_question(self, name, count,
                                              "保留勾选继续办理，还是放弃这些勾选？",
                                              "保留勾选(&K)", "放弃勾选(&D)")
        self.leave_box = box  # for tests: the question while it is open
        box.exec()
        return box.clickedButton() is not discard

    def open_for_auto_run(self, person_id: str, program: str, rows: tuple[str, ...]) -> None:
        """From the monthly 免申即享 run: the person, their new rows ticked, the flag set."""
        self.program.blockSignals(True)
        self.program.setCurrentIndex(max(0, self.program.findData(program)))
        self.program.blockSignals(False)
        if not self.open_person(person_id):
            return
        if self.session is not None:
            self._show_quote(self.session.tick_all(rows))
            self.rows_model.set_ticked(self.session.ticked)
            self.auto_enrolled_default = True

    def _reopen(self) -> None:
        """Another program: the person again, for it (unsaved ticks are asked about first)."""
        if self.session is None:
            return
        if not self.open_person(self.session.person_id):
            self.program.blockSignals(True)  # ticks kept: back to the program they are for
            self.program.setCurrentIndex(max(0, self.program.findData(
                self.session.program.value)))
            self.program.blockSignals(False)

    # -- ticking -----------------------------------------------------------------------------

    def tick(self, row_id: str, on: bool = True) -> bool:
        """Tick or untick through the session; a refused tick says why and changes nothing."""
        if self.session is None:
            return False
        try:
            quote = self.session.tick(row_id, on)
        except NotTickable as exc:
            self.message.emit(str(exc))
            return False
        self.rows_model.set_ticked(self.session.ticked)
        self._show_quote(quote)
        return True

    def _tick_from_model(self, row_id: str, on: bool) -> bool:
        return self.tick(row_id, on)

    def tick_all_countable(self) -> None:
        """Ctrl+A: tick every row shown that can count; greyed rows are never ticked."""
        session = self.session
        if session is None:
            return
        before = len(session.ticked)
        quote = session.tick_countable(self._shown_row_ids())
        self.rows_model.set_ticked(session.ticked)
        self._show_quote(quote)
        self.message.emit(f"已勾选全部可计入的费用（新增 {len(session.ticked) - before} 行）。")

    def toggle_current(self) -> None:
        index = self.fee_table.currentIndex()
        if not index.isValid() or self.session is None:
            return
        row_id = index.siblingAtColumn(0).data(Qt.ItemDataRole.UserRole)
        self.tick(row_id, row_id not in self.session.ticked)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() == QEvent.Type.KeyPress and isinstance(event, QKeyEvent):
            if watched is self.fee_table and event.key() == Qt.Key.Key_Space:
                self.toggle_current()
                return True
            if watched is self.fee_table and event.key() == Qt.Key.Key_Escape:
                if self.confirm_leave():
                    self.focus_search()
                return True
            if watched is self.search and event.key() == Qt.Key.Key_Down:
                self.results.setFocus()
                return True
        return super().eventFilter(watched, event)

    def _current_row_id(self) -> str | None:
        index = self.fee_table.currentIndex()
        if not index.isValid():
            return None
        row_id = index.siblingAtColumn(0).data(Qt.ItemDataRole.UserRole)
        return str(row_id) if row_id is not None else None

    def _update_waive_button(self) -> None:
        row_id = self._current_row_id()
        view = self.session.row(row_id) if self.session and row_id else None
        self.waive_button.setEnabled(view is not None and not view.tickable
                                     and view.reason_code in WAIVABLE_CODES)

    def waive_current(self) -> None:
        """An 审批人 (not the clerk) waives the row's procedural check, with a reason."""
        row_id = self._current_row_id()
        if self.session is None or row_id is None:
            return
        dialog = CredentialsDialog("审批人豁免", ask_reason=True, parent=self)
        self.waive_dialog = dialog
        dialog.accepted.connect(lambda: self._waive(row_id, dialog))
        dialog.open()

    def _waive(self, row_id: str, dialog: CredentialsDialog) -> None:
        session = self.session
        if session is None:
            return
        try:
            view = session.waive(row_id, approver=dialog.username.text().strip(),
                                 password=dialog.password.text(),
                                 reason=dialog.reason.toPlainText())
        except (WaiverRefused, NotTickable) as exc:
            self.error.setText(f"未豁免：{exc}")
            return
        finally:
            dialog.password.clear()
        self.error.clear()
        self.rows_model.set_rows(session.rows, session.ticked)
        self._select_row(row_id)
        self.message.emit(view.waived_by or "已豁免。")
        self._update_waive_button()

    # -- scanning ----------------------------------------------------------------------------

    def _scan_field_entered(self) -> None:
        text = self.scan_input.text()
        self.scan_input.clear()
        if text.strip():
            self.handle_scan(text)

    def handle_scan(self, text: str) -> None:
        """A receipt QR (or an ID number) from the scanner, whatever had the focus."""
        try:  # an ID card's number scanned: find the person
            number = normalize_id_number(text.strip())
        except (DomainError, ValueError):
            number = None
        if number is not None:
            self.search.setText(number)
            self.open_selected()
            return
        if self.session is None:  # nobody open: the receipt's owner, if the cache knows them
            owner = scan_owner(self.store, text)
            if owner is not None:
                self.open_person(owner)
        outcome = record_scan(self.store, raw_text=text, clerk=self.clerk,
                              person_id=self.session.person_id if self.session else None,
                              session_started=self.opened_at)
        self.scan_list.insertItem(0, outcome.message)
        if outcome.status in ("matched", "repeat") and outcome.fee_row_id is not None:
            if self.session is not None and outcome.fee_row_id not in self.session.ticked:
                self.tick(outcome.fee_row_id, True)
            self._select_row(outcome.fee_row_id)
        self.message.emit(outcome.message)

    def scan_image_file(self, path: Path) -> None:
        """“从图片识别”: every QR code in a photo or scan of a receipt, as if scanned."""
        # PIL and zxing-cpp (about 3.5 MiB) are loaded when a photo is first read
        from desktop.services.receipt_image import ReceiptImageError, decode_receipt_image

        try:
            texts = decode_receipt_image(path)
        except ReceiptImageError as exc:
            self.scan_list.insertItem(0, str(exc))
            self.message.emit(str(exc))
            return
        for text in texts:
            self.handle_scan(text)

    def _choose_image(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "选择票据图片", "",
                                              "图片 (*.png *.jpg *.jpeg *.bmp)")
        if path:
            self.scan_image_file(Path(path))

    def _show_pending_scans(self, person_id: str) -> None:
        self.scan_list.clear()
        for pending in pending_scans(self.store, person_id=person_id):
            self.scan_list.addItem(f"待处理 · {pending.summary}")

    def _select_row(self, row_id: str) -> None:
        source = self.rows_model.row_index(row_id)
        if source >= 0:
            index = self.rows_filter.mapFromSource(self.rows_model.index(source, 0))
            if index.isValid():
                self.fee_table.setCurrentIndex(index)

    # -- the amount --------------------------------------------------------------------------

    def _show_quote(self, quote: Quote) -> None:
        self.last_quote = quote
        if quote.error:
            self.total.setText("无法计算")
            self.buckets.setText(escape(quote.error))
        else:
            self.total.setText(f"本次应付：{quote.payable_text} 元")
            lines = [f"{label}：{amount} 元" for label, amount in quote.buckets]
            self.buckets.setText("<br>".join(escape(line) for line in lines))
        self.warnings.setText("<br>".join(f"注意：{escape(w)}"
                                          for w in human_lines(quote.warnings)))
        count = len(quote.ticked)
        self.ticked_label.setText(
            f"已勾选 {count} 行，自负合计 {format_amount(quote.ticked_self_pay)} 元")
        self.submit.setEnabled(count > 0 and quote.error is None and quote.payable > 0)

    def show_trace(self) -> None:
        if self.last_quote is None or self.session is None:
            return
        dialog = TraceDialog(human_lines(self.last_quote.trace) or ["尚未勾选费用。"], self)
        dialog.open()
        self.trace_dialog = dialog

    # -- submitting --------------------------------------------------------------------------

    def submit_application(self) -> None:
        session, quote = self.session, self.last_quote
        if session is None or quote is None or not self.submit.isEnabled():
            return
        dialog = SubmitDialog(person_name=session.card.name,
                              program_label=program_label(session.program.value),
                              payable_text=quote.payable_text,
                              bank_account=session.card.bank_account,
                              household_address=session.card.address,
                              medical_rows=tuple(session.row(i).receipt_no for i in
                                                 session.needing_medical_records()),
                              parent=self)
        dialog.auto.setChecked(self.auto_enrolled_default)
        self.submit_dialog = dialog
        dialog.accepted.connect(lambda: self._save(dialog))
        dialog.open()

    def _save(self, dialog: SubmitDialog) -> None:
        session, choices = self.session, dialog.choices
        if session is None or choices is None:
            return
        try:
            saved = session.submit(proxy_name=choices.proxy_name,
                                   proxy_id_number=choices.proxy_id_number,
                                   auto_enrolled=choices.auto_enrolled,
                                   bank_account=choices.bank_account,
                                   bank_name=choices.bank_name,
                                   household_address=choices.household_address,
                                   medical_records=(session.needing_medical_records()
                                                    if choices.medical_records else ()))
        except ValueError as exc:  # NothingToClaim, NotTickable: said in Chinese
            self.error.setText(f"未保存：{exc}")
            return
        except SigningUnavailable as exc:  # the clerk's key is not open here: nothing saved
            self.error.setText(f"未保存：{exc.message}")
            return
        self.error.clear()
        self.message.emit(f"申请已保存（{format_amount(saved.payable)} 元），"
                          "将在联网时自动上传。")
        self.application_saved.emit(str(saved.application_id))
        self.queued.emit()
        self.last_saved = saved.application_id
        self._point_print_at(session.person_id, saved.application_id)
        self.open_person(session.person_id, confirm=False)  # its rows now held by it

    def _point_print_at(self, person_id: str, application_id: uuid.UUID) -> None:
        self.print_target = (person_id, application_id)
        self.print_button.setEnabled(True)

    def preview_application(self) -> None:
        """The application form for the ticks on screen, watermarked: nothing saved yet."""
        from desktop.printing.jobs import draft_application_pdf  # the form engine, on demand

        session = self.session
        if session is None or not session.ticked:
            self.message.emit("请先勾选本次申请的费用。")
            return
        person, fees = session.draft()
        try:
            pdf = draft_application_pdf(person, fees, auto_enrolled=self.auto_enrolled_default,
                                        bank_account=session.card.bank_account,
                                        applied_on=self.today(), context=self.print_context)
        except (ValueError, LookupError) as exc:  # a form definition or value it cannot print
            self.error.setText(f"无法生成申请表：{exc}")
            return
        self.print_preview = PrintPreview("申请表（未保存）", pdf, None, parent=self)
        self.print_preview.open()

    def print_application(self) -> None:
        """The saved application's form: the original, then counted copies (副本)."""
        from desktop.printing.jobs import document_pdf, print_copy, prints_so_far

        target = self.print_target
        if target is None or self.session is None or target[0] != self.session.person_id:
            return
        application_id = target[1]
        context, store, clerk = self.print_context, self.store, self.clerk

        def job(reason: str | None) -> bytes:
            return print_copy(store, application_id, "application", clerk=clerk,
                              reason=reason, context=context)

        try:
            pdf = document_pdf(store, application_id, "application", context=context)
        except (ValueError, LookupError) as exc:
            self.error.setText(f"无法生成申请表：{exc}")
            return
        self.print_preview = PrintPreview(
            "申请表", pdf, job, copies_so_far=prints_so_far(store, application_id, "application"),
            parent=self)
        self.print_preview.open()

    def print_enrolment(self, enrolment_id: uuid.UUID) -> None:
        """MA-2021 附件1 for the applicant to sign, right after the enrolment is saved."""
        from desktop.printing.jobs import document_pdf, print_copy, prints_so_far

        context, store, clerk = self.print_context, self.store, self.clerk

        def job(reason: str | None) -> bytes:
            return print_copy(store, enrolment_id, "enrolment", clerk=clerk, reason=reason,
                              context=context)

        try:
            pdf = document_pdf(store, enrolment_id, "enrolment", context=context)
        except (ValueError, LookupError) as exc:
            self.error.setText(f"无法生成参加人员申请表：{exc}")
            return
        self.print_preview = PrintPreview(
            "参加人员申请表", pdf, job,
            copies_so_far=prints_so_far(store, enrolment_id, "enrolment"), parent=self)
        self.print_preview.open()

    def enrol_mutual_aid(self) -> None:
        """互助帮困登记 (MA-2021 二): the form, the fee received, saved for the district."""
        session = self.session
        if session is None:
            return
        dialog = EnrolmentDialog(self.store, session.card, clerk=self.clerk, today=self.today(),
                                 parent=self)
        self.enrolment_dialog = dialog

        def saved() -> None:
            if dialog.saved is not None:
                terms = dialog.saved.terms
                fee = format_amount(terms.fee)
                self.message.emit(f"已登记 {terms.year} 年度互助帮困（{fee} 元），"
                                  "将在联网时上传区里。")
                self.queued.emit()
                self.print_enrolment(dialog.saved.enrolment_id)

        dialog.accepted.connect(saved)
        dialog.open()

    # -- the person card ---------------------------------------------------------------------

    def _show_person(self, card: PersonCard) -> None:
        self.card.setText(person_card_html(card))
        self._show_commitment()

    def _show_commitment(self) -> None:
        """The person's commitment for the program on screen, and the revoke button if live."""
        state = None if self.session is None else commitment_state(
            self.store, self.session.person_id, str(self.program.currentData()))
        self.commitment_label.setText("" if state is None else state.label)
        self._commitment_id = state.id if state is not None and state.live else None
        self.revoke_button.setVisible(self._commitment_id is not None)

    def _ask_revoke(self) -> None:
        if self._commitment_id is None:
            return
        self.revoke_dialog = ask_revocation(self, self.store, self.clerk,
                                            self._commitment_id, self.error,
                                            self._show_commitment)

    def _fill_years(self) -> None:
        self.year_filter.blockSignals(True)
        self.year_filter.clear()
        self.year_filter.addItem("全部年度", None)
        years = sorted({r.date.year for r in (self.session.rows if self.session else [])},
                       reverse=True)
        for year in years:
            self.year_filter.addItem(f"{year} 年", year)
        self.year_filter.blockSignals(False)

    def _apply_filters(self) -> None:
        self.rows_filter.set_filter(self.year_filter.currentData(),
                                    self.kind_filter.currentData())

    def current_index(self) -> QModelIndex:
        return self.fee_table.currentIndex()


def person_card_html(card: PersonCard) -> str:
    e = escape
    parts = [f"<b style='font-size:large'>{e(card.name)}</b>　{e(card.sex)}　"
             f"{card.birth_date.isoformat()} 出生",
             f"身份证号：{e(card.id_masked)}",
             f"电话：{e(card.phone or '—')}　居委：{e(card.committee or '—')}",
             f"地址：{e(card.address or '—')}"]
    if card.categories:
        parts.append("<b>对象类别</b>")
        for c in card.categories:
            until = c.end.isoformat() if c.end else "至今"
            mark = "（当前）" if c.current else ""
            parts.append(f"· {e(c.label)}：{c.start.isoformat()} — {until}{mark}"
                         f"<br><small>{e(c.source)}</small>")
    else:
        parts.append("对象类别：无")
    if card.member:
        years = "、".join(str(y) for y in card.mutual_aid_years)
        parts.append(f"<b>互助帮困</b>：参加年度 {e(years)}；"
                     f"卡内补贴余额 {format_amount(card.allowance_balance)} 元")
    if card.standing:
        parts.append(f"<b>{card.standing[0].year} 年已用</b>")
        for line in card.standing:
            cap = f" / {format_amount(line.cap)}" if line.cap is not None else ""
            parts.append(f"· {e(line.label)}：{format_amount(line.used)}{cap}")
    return "<br>".join(parts)


def table_look(view: QTableView) -> None:
    view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    view.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
    view.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    view.verticalHeader().setVisible(False)
    view.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
    # sizing a column from its first rows, not all: a person may have hundreds of fee rows
    view.horizontalHeader().setResizeContentsPrecision(40)
    view.horizontalHeader().setStretchLastSection(True)
    view.setAlternatingRowColors(True)


def elide_columns(view: QTableView, elastic: tuple[int, ...]) -> None:
    """The columns in `elastic` share what the others leave, and elide (…) what does not fit
    (the model gives the whole text as the tooltip); the others stay as wide as their text,
    so the key ones (date, amounts, receipt) are never cut on a 1366-wide screen."""
    header = view.horizontalHeader()
    header.setStretchLastSection(False)
    for column in elastic:
        header.setSectionResizeMode(column, QHeaderView.ResizeMode.Stretch)
    # an elided column still shows its first characters: a name, the start of a reason
    header.setMinimumSectionSize(max(header.minimumSectionSize(),
                                     view.fontMetrics().horizontalAdvance("一二三…") + 12))
    view.setTextElideMode(Qt.TextElideMode.ElideRight)
    view.setWordWrap(False)


# -- a tick repaints what changed ----------------------------------------------------------------
# A label whose text changes asks its parents to lay out again, up to the tab widget, which then
# repaints the whole tab (QTabWidget::setUpLayout): every tick would repaint the window. The
# figures a tick changes therefore sit where that request stops: a label of fixed size, or the
# scroll area of the amount panel.


def _fixed_to(label: QLabel, widest: str) -> None:
    """A label as wide as `widest` and one line high, whatever its text: a fixed size does not
    ask its parents to lay out again when the text changes."""
    metrics = label.fontMetrics()
    label.setFixedSize(metrics.horizontalAdvance(widest) + 8, label.sizeHint().height())


def _amount_panel(*labels: QLabel) -> QScrollArea:
    """The live amount, its buckets and warnings, in a frameless scroll area (long warnings
    scroll instead of pushing the buttons away)."""
    inner = QWidget()
    layout = QVBoxLayout(inner)
    layout.setContentsMargins(0, 0, 0, 0)
    for label in labels:
        layout.addWidget(label)
    layout.addStretch(1)
    area = QScrollArea()
    area.setObjectName("amountPanel")
    area.setWidgetResizable(True)
    area.setFrameShape(QScrollArea.Shape.NoFrame)
    area.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
    area.setWidget(inner)
    area.viewport().setAutoFillBackground(False)  # the group box's own background shows
    inner.setAutoFillBackground(False)
    # as wide as the largest amount in the large font: the total is never cut
    widest = labels[0].fontMetrics().horizontalAdvance("本次应付：999,999.99 元")
    area.setMinimumWidth(widest + area.verticalScrollBar().sizeHint().width() + 8)
    return area
