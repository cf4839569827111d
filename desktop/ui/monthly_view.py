"""The monthly 免申即享 run: every committed person with every new row and its reason, one Enter to
open a person with their rows ticked, the late warning; and the supervisors' view of the month."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

from PySide6.QtCore import QItemSelection, Qt, Signal
from PySide6.QtWidgets import (
    QLabel,
    QPushButton,
    QSplitter,
    QStackedWidget,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from desktop.services.commitments import commitment_state
from desktop.services.counter import format_amount, program_label
from desktop.services.monthly import (
    MISSED,
    NOTHING_DUE,
    PROCESSED,
    STATE_LABELS,
    AutoEntry,
    MonthlyRun,
    month_run,
    sees_month_overview,
)
from desktop.store import Store
from desktop.ui.commitment import ask_revocation
from desktop.ui.counter_view import table_look
from desktop.ui.dialogs import CredentialsDialog
from desktop.ui.models import RowsTableModel
from desktop.ui.workers import run_in_background

RED = "color: #c00000;"


class MonthlyView(QWidget):
    open_requested = Signal(object)  # AutoEntry

    def __init__(self, store: Store, clerk: str, *, today: Callable[[], date] = date.today,
                 street_code: str | None = None, supervisor: bool | None = None,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.store, self.clerk, self.today, self.street_code = store, clerk, today, street_code
        self.entries: list[AutoEntry] = []
        self.run: MonthlyRun | None = None
        self._late_wanted = False
        self.heading = QLabel()
        self.heading.setObjectName("autoRunHeading")
        self.heading.setWordWrap(True)
        self.late = QLabel()
        self.late.setObjectName("autoRunLate")
        self.late.setStyleSheet(RED)
        self.late.setWordWrap(True)
        self.late.setToolTip("长宁区医疗救助操作细则第3.3条：经办人员应于每月15日前逐一勾选"
                             "已签署免申即享承诺的申请人已发生的医疗费用。")
        self.late.hide()
        self.not_applicable = QLabel()
        self.not_applicable.setObjectName("autoRunNotApplicable")
        self.not_applicable.setWordWrap(True)
        self.not_applicable.hide()

        self.model = RowsTableModel(("姓名", "身份证号", "项目", "承诺日期", "本月情况",
                                     "新费用", "自负合计", "本次应付"))
        self.table = QTableView()
        self.table.setObjectName("autoRunList")
        self.table.setAccessibleName("免申即享本月对象")
        self.table.setToolTip("已签署免申即享承诺的对象；回车打开并自动勾选可申请的费用")
        self.table.setModel(self.model)
        table_look(self.table)
        self.table.activated.connect(lambda index: self._open(index.row()))
        self.table.selectionModel().selectionChanged.connect(self._selected)
        self.person_note = QLabel()
        self.person_note.setObjectName("autoRunPersonNote")
        self.person_note.setWordWrap(True)
        self.rows_model = RowsTableModel(("费用日期", "票据号码", "类别", "医疗机构", "自负金额",
                                          "能否申请"))
        self.rows_table = QTableView()
        self.rows_table.setObjectName("autoRunRows")
        self.rows_table.setAccessibleName("该对象的新费用")
        self.rows_table.setToolTip("该对象本月的每一笔新费用；不能申请的写明原因")
        self.rows_table.setModel(self.rows_model)
        table_look(self.rows_table)
        below = QWidget()
        below_layout = QVBoxLayout(below)
        below_layout.setContentsMargins(0, 0, 0, 0)
        self.commitment_note = QLabel()
        self.commitment_note.setObjectName("autoRunCommitment")
        self.commitment_note.setWordWrap(True)
        self.revoke_button = QPushButton("撤销免申即享(&X)…")
        self.revoke_button.setObjectName("autoRunRevoke")
        self.revoke_button.setToolTip("本人不再同意免申即享：写明原因，以本人密码确认；"
                                      "撤销后不再列入每月办理")
        self.revoke_button.setEnabled(False)
        self.revoke_button.clicked.connect(self.ask_revoke)
        self.revoke_dialog: CredentialsDialog | None = None
        self._commitment_id: str | None = None
        self.revoke_result = QLabel()  # what became of the last revocation asked for
        self.revoke_result.setObjectName("autoRunRevokeResult")
        self.revoke_result.setWordWrap(True)
        below_layout.addWidget(self.person_note)
        below_layout.addWidget(self.commitment_note)
        below_layout.addWidget(self.revoke_button)
        below_layout.addWidget(self.revoke_result)
        below_layout.addWidget(self.rows_table, 1)
        splitter = QSplitter(Qt.Orientation.Vertical)
        splitter.addWidget(self.table)
        splitter.addWidget(below)
        splitter.setStretchFactor(0, 3)
        splitter.setStretchFactor(1, 2)
        run_page = QWidget()
        run_layout = QVBoxLayout(run_page)
        run_layout.setContentsMargins(0, 0, 0, 0)
        run_layout.addWidget(splitter, 1)

        self.overview = MonthOverview()
        self.pages = QStackedWidget()
        self.pages.addWidget(run_page)
        self.pages.addWidget(self.overview)

        self.refresh_button = QPushButton("刷新(F5)")
        self.refresh_button.setObjectName("autoRunRefresh")
        self.refresh_button.setShortcut("F5")
        self.refresh_button.setToolTip("重新查找本月免申即享对象和新费用")
        self.refresh_button.clicked.connect(self.refresh)
        self.overview_button = QPushButton("本月情况")
        self.overview_button.setObjectName("autoRunOverviewButton")
        self.overview_button.setCheckable(True)
        self.overview_button.setToolTip("本月已办理、本月无可报销费用、逾期未办理的对象（主管查看）")
        self.overview_button.toggled.connect(self.show_overview)
        if supervisor is None:
            supervisor = sees_month_overview(store, clerk)
        self.overview_button.setVisible(supervisor)
        layout = QVBoxLayout(self)
        layout.addWidget(self.heading)
        layout.addWidget(self.late)
        layout.addWidget(self.not_applicable)
        layout.addWidget(self.pages, 1)
        layout.addWidget(self.overview_button)
        layout.addWidget(self.refresh_button)

    def refresh(self) -> None:
        today = self.today()
        self.heading.setText("正在查找本月免申即享对象……")
        self.refresh_button.setEnabled(False)
        run_in_background(lambda: month_run(self.store, today=today, clerk=self.clerk,
                                            street_code=self.street_code),
                          self.show_run, self._failed)

    def show_overview(self, on: bool) -> None:
        self.overview_button.setChecked(on)
        self.pages.setCurrentIndex(1 if on else 0)
        self.late.setVisible(self._late_wanted and not on)  # the overview says it itself

    def show_run(self, run: MonthlyRun) -> None:
        self.run = run
        self.entries = list(run.entries)
        self.refresh_button.setEnabled(True)
        self.not_applicable.setText("\n".join(run.not_applicable))
        self.not_applicable.setVisible(bool(run.not_applicable))
        self._heading(run)
        self.model.set_rows([
            (e.name, e.id_masked, program_label(e.program), e.last_applied.isoformat(),
             e.state_label, self._rows_text(e), format_amount(e.self_pay),
             format_amount(e.payable))
            for e in self.entries], [e.person_id for e in self.entries])
        self.overview.show_run(run)
        if self.entries:
            self.table.selectRow(0)
        else:
            self._show_person(None)

    def _heading(self, run: MonthlyRun) -> None:
        if not run.applies:
            self.heading.setText("本柜台所在区的医疗救助不适用免申即享办理程序，本月无须办理。")
            self._late_wanted = False
            self.late.hide()
            return
        open_ = run.open_entries
        due = run.deadline.isoformat() if run.deadline else ""
        text = (f"已签署免申即享承诺的对象：{len(self.entries)} 人，其中有费用待申请："
                f"{len(open_)} 人。")
        if due:
            text += f"请在 {due} 前逐一办理（回车打开并自动勾选可申请的费用）。"
        self.heading.setText(text)
        if run.days_late > 0 and open_:
            self.late.setText(f"已超过办理期限 {run.days_late} 天（期限 {due}），"
                              f"尚有 {len(open_)} 人未办理，请尽快办理。")
            self._late_wanted = True
        else:
            self._late_wanted = False
        self.late.setVisible(self._late_wanted and self.pages.currentIndex() == 0)

    @staticmethod
    def _rows_text(e: AutoEntry) -> str:
        cannot = sum(1 for r in e.new_rows if not r.countable)
        text = f"{len(e.new_rows)} 笔"
        if cannot:
            text += f"（{cannot} 笔不能申请）"
        return text

    def _selected(self, selected: QItemSelection, _deselected: QItemSelection) -> None:
        indexes = selected.indexes()
        row = indexes[0].row() if indexes else -1
        self._show_person(self.entries[row] if 0 <= row < len(self.entries) else None)

    def _show_person(self, entry: AutoEntry | None) -> None:
        self._commitment_id = None
        if entry is None:
            self.person_note.setText("")
            self.rows_model.set_rows([])
            self.revoke_button.setEnabled(False)
            return
        state = commitment_state(self.store, entry.person_id, entry.program)
        self.commitment_note.setText(state.label if state is not None else "")
        self._commitment_id = state.id if state is not None and state.live else None
        self.revoke_button.setEnabled(self._commitment_id is not None)
        if entry.state == NOTHING_DUE:
            note = "本月无可报销费用"
            if entry.done_on is not None:
                note += f"，已办结（{entry.done_on.isoformat()}，经办人 {entry.done_by}）"
        elif entry.state == PROCESSED:
            note = (f"本月已办理（{entry.done_on.isoformat() if entry.done_on else ''}，"
                    f"经办人 {entry.done_by}）")
        else:
            note = (f"{entry.name}：可申请 {len(entry.rows)} 笔，"
                    f"本次应付 {format_amount(entry.payable)} 元")
            if entry.state == MISSED:
                note += "（已逾期）"
        self.person_note.setText(note)
        self.person_note.setStyleSheet(RED if entry.state == MISSED else "")
        self.rows_model.set_rows([
            (r.date.isoformat(), r.receipt_no, r.kind_label, r.institution,
             format_amount(r.self_pay), r.reason) for r in entry.new_rows],
            [r.id for r in entry.new_rows])

    def _failed(self, exc: Exception) -> None:
        self.refresh_button.setEnabled(True)
        self.heading.setText(f"查找失败：{exc}")

    def _open(self, row: int) -> None:
        if 0 <= row < len(self.entries) and self.entries[row].rows:
            self.open_requested.emit(self.entries[row])

    def ask_revoke(self) -> None:
        """Revoke the selected person's commitment (who, password, reason); the run again."""
        if self._commitment_id is None:
            return
        self.revoke_dialog = ask_revocation(self, self.store, self.clerk, self._commitment_id,
                                            self.revoke_result, self.refresh)

    def current(self) -> AutoEntry | None:
        index = self.table.currentIndex()
        return self.entries[index.row()] if index.isValid() else None


class MonthOverview(QWidget):
    """The month as a supervisor checks it: who was processed, who had nothing due, who was
    missed (something payable and nothing done by the deadline)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.counts = QLabel()
        self.counts.setObjectName("monthOverviewCounts")
        self.counts.setWordWrap(True)
        self.counts.setToolTip("已办理：本月已保存免申即享申请；本月无可报销费用：新费用均不能"
                               "报销，已办结；逾期未办理：有可报销费用，期限已过仍未办理")
        self.missed = QLabel()
        self.missed.setObjectName("monthOverviewMissed")
        self.missed.setStyleSheet(RED)
        self.missed.setWordWrap(True)
        self.missed.hide()
        self.model = RowsTableModel(("姓名", "身份证号", "项目", "本月情况", "办理日期", "经办人",
                                     "本次应付"))
        self.table = QTableView()
        self.table.setObjectName("monthOverviewList")
        self.table.setAccessibleName("免申即享本月情况")
        self.table.setModel(self.model)
        table_look(self.table)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.counts)
        layout.addWidget(self.missed)
        layout.addWidget(self.table, 1)

    def show_run(self, run: MonthlyRun) -> None:
        month = f"{run.today.year} 年 {run.today.month} 月"
        if not run.applies:
            self.counts.setText(f"{month}：本柜台所在区不适用免申即享办理程序。")
            self.missed.hide()
            self.model.set_rows([])
            return
        processed, nothing, missed = (run.count(PROCESSED), run.count(NOTHING_DUE),
                                      run.count(MISSED))
        pending = len(run.open_entries) - missed
        text = (f"{month}免申即享：已办理 {processed} 人，本月无可报销费用 {nothing} 人，"
                f"逾期未办理 {missed} 人")
        if pending:
            text += f"，待办理 {pending} 人"
        self.counts.setText(text + "。")
        if missed:
            self.missed.setText(f"已超过办理期限 {run.days_late} 天，{missed} 人未办理。")
            self.missed.show()
        else:
            self.missed.hide()
        self.model.set_rows([
            (e.name, e.id_masked, program_label(e.program), STATE_LABELS[e.state],
             e.done_on.isoformat() if e.done_on else "", e.done_by or "",
             format_amount(e.payable) if e.open else "")
            for e in run.entries], [e.person_id for e in run.entries])
