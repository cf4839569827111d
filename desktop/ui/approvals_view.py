"""Review and approval: a supervisor's queue, the application in full, sign or send back.

Made for twenty signatures at the end of the day: the queue keeps its place, Enter opens the
next one, Ctrl+Enter signs (the password is asked each time, CN-2026 §3), and after each
signature the next application is shown. The rules (roles, three different people, order)
are the approvals service's; this view shows its refusals as they are.
"""

from __future__ import annotations

import uuid
from decimal import Decimal
from html import escape
from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QComboBox,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QSplitter,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from desktop.domain.clock import local_time
from desktop.policy.explain import human_lines
from desktop.policy.money import percent
from desktop.printing.context import NO_CONTEXT, PrintContext
from desktop.services.approvals import (
    ApplicationDetail,
    ApprovalRefused,
    QueueEntry,
    application_detail,
    approval_queue,
    review_queue,
    send_back,
    sign,
)
from desktop.services.counter import format_amount
from desktop.services.export import ExportFailed, export_application
from desktop.store import Store
from desktop.ui.counter_view import elide_columns, table_look
from desktop.ui.dialogs import CredentialsDialog
from desktop.ui.identity import CounterUser
from desktop.ui.models import RowsTableModel
from desktop.ui.print_preview import PrintPreview
from desktop.ui.widgets import error_label

STAGES = (("review", "待审核（审核人）", "reviewer"), ("approval", "待审批（审批人）", "approver"))


class ApprovalsView(QWidget):
    message = Signal(str)

    def __init__(self, store: Store, user: CounterUser, *,
                 print_context: PrintContext = NO_CONTEXT,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.print_context = print_context
        self.store = store
        self.user = user
        self.entries: list[QueueEntry] = []
        self.detail: ApplicationDetail | None = None
        self.stage = QComboBox()
        self.stage.setObjectName("queueChoice")
        self.stage.setAccessibleName("队列")
        for code, label, role in STAGES:
            if role in user.roles:
                self.stage.addItem(label, code)
        if "approver" in user.roles:  # an approver's own queue first
            self.stage.setCurrentIndex(self.stage.findData("approval"))
        self.queue_model = RowsTableModel(("申请人", "身份证号", "项目", "本次应付", "经办人",
                                           "审核人", "提交时间", "状态"))
        self.queue = QTableView()
        self.queue.setObjectName("approvalQueue")
        self.queue.setAccessibleName("审核审批队列")
        self.queue.setModel(self.queue_model)
        table_look(self.queue)
        self.header = QLabel()
        self.header.setObjectName("applicationHeader")
        self.header.setWordWrap(True)
        self.header.setTextFormat(Qt.TextFormat.RichText)
        self.rows_model = RowsTableModel(("日期", "医疗机构", "类别", "票据号码", "自负",
                                          "是否计入", "对象类别/比例", "原因"))
        self.rows = QTableView()
        self.rows.setObjectName("applicationRows")
        self.rows.setModel(self.rows_model)
        table_look(self.rows)
        elide_columns(self.rows, (1, 7))  # 医疗机构 and 原因: elided, the whole as tooltip
        self.trace = QPlainTextEdit()
        self.trace.setObjectName("applicationTrace")
        self.trace.setReadOnly(True)
        self.sign_button = QPushButton("签字(Ctrl+Enter)")
        self.sign_button.setObjectName("signApplication")
        self.back_button = QPushButton("退回经办人(&B)…")
        self.back_button.setObjectName("sendBack")
        self.refresh_button = QPushButton("刷新(F5)")
        self.refresh_button.setObjectName("refreshQueue")
        self.export_button = QPushButton("导出申请数据(&X)…")
        self.export_button.setObjectName("exportApplication")
        self.print_button = QPushButton("打印审批表(&P)…")
        self.print_button.setObjectName("printApproval")
        self.error = error_label("approvalError")

        left = QWidget()
        left_layout = QVBoxLayout(left)
        left_layout.addWidget(self.stage)
        left_layout.addWidget(self.queue, 1)
        left_layout.addWidget(self.refresh_button)
        right = QWidget()
        right_layout = QVBoxLayout(right)
        right_layout.addWidget(self.header)
        right_layout.addWidget(self.rows, 2)
        right_layout.addWidget(QLabel("计算过程"))
        right_layout.addWidget(self.trace, 2)
        right_layout.addWidget(self.error)
        buttons = QHBoxLayout()
        buttons.addWidget(self.export_button)
        buttons.addWidget(self.print_button)
        buttons.addStretch(1)
        buttons.addWidget(self.back_button)
        buttons.addWidget(self.sign_button)
        right_layout.addLayout(buttons)
        splitter = QSplitter(Qt.Orientation.Horizontal)
        splitter.addWidget(left)
        splitter.addWidget(right)
        splitter.setStretchFactor(0, 2)
        splitter.setStretchFactor(1, 3)
        layout = QVBoxLayout(self)
        layout.addWidget(splitter)

        self.stage.currentIndexChanged.connect(lambda _i: self.refresh())
        self.queue.selectionModel().currentRowChanged.connect(
            lambda current, _previous: self.show_entry(current.row()))
        self.sign_button.clicked.connect(self.sign_current)
        self.back_button.clicked.connect(self.send_back_current)
        self.refresh_button.clicked.connect(self.refresh)
        self.export_button.clicked.connect(self._choose_export)
        self.print_button.clicked.connect(self.print_approval)
        for key, slot in (("Ctrl+Return", self.sign_current), ("F5", self.refresh)):
            shortcut = QShortcut(QKeySequence(key), self)
            shortcut.setContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
            shortcut.activated.connect(slot)
        self.refresh()

    # -- the queue ---------------------------------------------------------------------------

    def current_stage(self) -> str | None:
        data = self.stage.currentData()
        return str(data) if data else None

    def refresh(self, keep_row: int = 0) -> None:
        stage = self.current_stage()
        self.entries = (review_queue(self.store) if stage == "review"
                        else approval_queue(self.store) if stage == "approval" else [])
        self.queue_model.set_rows([
            (e.person_name, e.id_masked, e.program_label, format_amount(e.payable), e.handler_name,
             e.reviewer_name or "", local_time(e.created_at), e.status_label)
            for e in self.entries], [e.application_id for e in self.entries])
        if self.entries:
            row = min(keep_row, len(self.entries) - 1)
            self.queue.selectRow(row)
            self.show_entry(row)
        else:
            self.show_entry(-1)

    def show_entry(self, row: int) -> None:
        self.error.clear()
        if not 0 <= row < len(self.entries):
            self.detail = None
            self.header.setText("队列中没有待办的申请。")
            self.rows_model.set_rows([])
            self.trace.clear()
            self.sign_button.setEnabled(False)
            self.back_button.setEnabled(False)
            return
        self.detail = application_detail(self.store, self.entries[row].application_id)
        self._show_detail(self.detail)
        self.sign_button.setEnabled(True)
        self.back_button.setEnabled(True)

    def _show_detail(self, d: ApplicationDetail) -> None:
        signatures = "；".join(f"{s.role_label} {s.display_name or s.username} "
                              f"{local_time(s.signed_at)}" for s in d.signatures)
        buckets = "；".join(f"{b.label} {format_amount(b.amount)} 元" for b in d.buckets)
        lines = [f"<b>{escape(d.person_name)}</b>（{escape(d.id_masked)}）　"
                 f"{escape(d.program_label)}　<b>本次应付 {format_amount(d.payable)} 元</b>",
                 f"分项：{escape(buckets or '—')}",
                 f"状态：{escape(d.status_label)}　签名：{escape(signatures or '—')}"]
        if d.proxy_name:
            lines.append(f"委托代办：{escape(d.proxy_name)}")
        if d.auto_enrolled:
            lines.append("免申即享")
        if d.server_message:
            lines.append(f"<span style='color:#c00000'>区里意见：{escape(d.server_message)}</span>")
        if d.returned is not None:
            who = d.returned.display_name or d.returned.username
            lines.append(f"<span style='color:#a05a00'>曾被 {escape(who)} 退回："
                         f"{escape(d.returned.reason)}</span>")
        for warning in human_lines(d.warnings):
            lines.append(f"<span style='color:#a05a00'>注意：{escape(warning)}</span>")
        self.header.setText("<br>".join(lines))
        self.rows_model.set_rows([
            (r.date.isoformat() if r.date else "（已撤回）", r.institution or "",
             r.kind_label or "", r.receipt_no or "",
             format_amount(r.self_pay) if r.self_pay is not None else "",
             "计入" if r.counts else "不计入",
             " ".join(x for x in (r.category_label, percent(Decimal(r.rate)) if r.rate else None)
                      if x), r.reason_label or "")
            for r in d.rows])
        self.trace.setPlainText("\n".join(human_lines(d.trace)))

    def print_approval(self) -> None:
        """医疗救助帮困审批表 of the application shown: preview, then counted copies."""
        from desktop.printing.jobs import document_pdf, print_copy, prints_so_far  # on demand

        if self.detail is None:
            return
        application_id = self.detail.application_id
        context, store, username = self.print_context, self.store, self.user.username

        def job(reason: str | None) -> bytes:
            return print_copy(store, application_id, "approval", clerk=username, reason=reason,
                              context=context)

        try:
            pdf = document_pdf(store, application_id, "approval", context=context)
        except (ValueError, LookupError) as exc:  # a form definition or value it cannot print
            self.error.setText(f"无法生成审批表：{exc}")
            return
        self.print_preview = PrintPreview(
            "审批表", pdf, job, copies_so_far=prints_so_far(store, application_id, "approval"),
            parent=self)
        self.print_preview.open()

    def _choose_export(self) -> None:
        if self.detail is None:
            return
        name = f"申请-{self.detail.person_name}-{str(self.detail.application_id)[:8]}.json"
        path, _ = QFileDialog.getSaveFileName(self, "导出申请数据", name, "JSON (*.json)")
        if path:
            self.export_to(Path(path))

    def export_to(self, path: Path) -> None:
        """Until the forms issue prints them: the application's data as a file (audited)."""
        if self.detail is None:
            return
        try:
            export_application(self.store, self.detail.application_id, path,
                               clerk=self.user.username)
        except ExportFailed as exc:
            self.error.setText(str(exc))
            return
        self.message.emit(f"已导出到 {path}")

    # -- acting ------------------------------------------------------------------------------

    def _role(self) -> str:
        return "reviewer" if self.current_stage() == "review" else "approver"

    def sign_current(self) -> None:
        detail = self.detail
        if detail is None:
            return
        role = self._role()
        title = "审核签字" if role == "reviewer" else "审批签字"
        confirm = None
        if role == "approver" and detail.card_changed:
            confirm = (f"确认变更收款账户：{detail.card_masked}"
                       f"（登记账户 {detail.card_on_file_masked or '无'}）")
        dialog = CredentialsDialog(title, username=self.user.username, confirm=confirm,
                                   parent=self)
        self.credentials_dialog = dialog
        row = self.queue.currentIndex().row()
        dialog.accepted.connect(lambda: self._sign(detail.application_id, role, dialog, row))
        dialog.open()

    def _sign(self, application_id: uuid.UUID, role: str, dialog: CredentialsDialog,
              row: int) -> None:
        try:
            sign(self.store, application_id, role=role,  # type: ignore[arg-type]
                 username=dialog.username.text().strip(), password=dialog.password.text(),
                 confirm_card=dialog.confirm.isChecked())
        except ApprovalRefused as exc:
            self.error.setText(f"{dialog.windowTitle()}未完成：{exc.message}")
            return
        finally:
            dialog.password.clear()
        self.error.clear()
        self.message.emit("已签字，将在联网时上传区里。")
        self.refresh(keep_row=max(row, 0))
        self.queue.setFocus()

    def send_back_current(self) -> None:
        detail = self.detail
        if detail is None:
            return
        dialog = CredentialsDialog("退回经办人", username=self.user.username, ask_reason=True,
                                   parent=self)
        self.credentials_dialog = dialog
        row = self.queue.currentIndex().row()
        dialog.accepted.connect(lambda: self._send_back(detail.application_id, dialog, row))
        dialog.open()

    def _send_back(self, application_id: uuid.UUID, dialog: CredentialsDialog,
                   row: int) -> None:
        try:
            send_back(self.store, application_id, username=dialog.username.text().strip(),
                      password=dialog.password.text(), reason=dialog.reason.toPlainText())
        except ApprovalRefused as exc:
            self.error.setText(f"退回未完成：{exc.message}")
            return
        finally:
            dialog.password.clear()
        self.error.clear()
        self.message.emit("已退回经办人。")
        self.refresh(keep_row=max(row, 0))
