"""The counter's main window: the counter, the day's work (今日受理), the supervisors' queues and
the calculator, in tabs; 帮助 (F1) lists the shortcuts and the day's flow.

The status bar always shows who is signed in and the sync state. The window remembers its size
and splitters (QSettings); it holds no business rule — the views call the services. For a
reviewer or approver it checks the audit trail's hash chains at start and shows a red banner when
they are broken (desktop.services.audit_check). While the sync status says the district cannot
be reached, a banner across the window says so; the status bar's 待上传 button lists what waits.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import date
from typing import TYPE_CHECKING

import shiboken6
from PySide6.QtCore import QByteArray, QSettings, Qt, Signal
from PySide6.QtGui import QAction, QCloseEvent, QKeySequence, QShortcut, QShowEvent
from PySide6.QtWidgets import (
    QDialog,
    QLabel,
    QMainWindow,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from desktop.policy.contract import default_parameters
from desktop.printing.context import NO_CONTEXT, PrintContext
from desktop.services.monthly import AutoEntry
from desktop.store import Store
from desktop.ui.counter_view import CounterView
from desktop.ui.fonts import UI_FONTS, apply_ui_font
from desktop.ui.identity import WINDOW_TITLE, CounterUser
from desktop.ui.monthly_view import MonthlyView
from desktop.ui.screen_fit import fit_to_screen, keep_on_screen
from desktop.ui.sync_status import SyncStatusWidget
from desktop.ui.today_view import TodayView
from desktop.ui.widgets import unsaved_ticks_question
from desktop.ui.workers import run_in_background

if TYPE_CHECKING:
    from desktop.services.audit_check import AuditCheck
    from desktop.ui.approvals_view import ApprovalsView
    from desktop.ui.calc_view import CalcView
    from desktop.ui.outbox_view import WaitingDialog

ROLE_LABELS = {"clerk": "经办人", "reviewer": "审核人", "approver": "审批人"}
SUPERVISORS = frozenset({"reviewer", "approver"})  # told when the audit trail is broken
OFFLINE_BANNER = "离线：本机保存，联网后自动上传"


class MainWindow(QMainWindow):
    sign_out_requested = Signal()
    settings_requested = Signal()
    lock_requested = Signal()
    audit_checked = Signal(object)  # the AuditCheck, once the start-up check has run

    def __init__(self, store: Store, user: CounterUser, *,
                 today: Callable[[], date] = date.today,
                 settings: QSettings | None = None, print_context: PrintContext = NO_CONTEXT,
                 check_audit: bool = True, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(f"{WINDOW_TITLE} — {user.display_name}")
        self.store = store
        self.user = user
        self._asked = False  # close_for_good: the counter closes it, unsaved ticks asked or not
        self.settings = settings or QSettings()
        self.tabs = QTabWidget()
        self.tabs.setObjectName("mainTabs")
        self.counter = CounterView(store, user.username, today=today,
                                   print_context=print_context)
        self.tabs.addTab(self.counter, "柜台受理(&1)")
        self.today = TodayView(store, user.username, today=today, print_context=print_context)
        self.tabs.addTab(self.today, "今日受理(&2)")
        self.today.open_application.connect(self.open_application)
        self.today.message.connect(lambda text: self.statusBar().showMessage(text, 15000))
        self.monthly = MonthlyView(store, user.username, today=today,
                                   street_code=print_context.street_code,
                                   supervisor=bool(SUPERVISORS & set(user.roles)))
        self.tabs.addTab(self.monthly, "免申即享(&3)")
        self.monthly.open_requested.connect(self._open_auto_entry)
        self.approvals: ApprovalsView | None = None
        if {"reviewer", "approver"} & set(user.roles):
            from desktop.ui.approvals_view import ApprovalsView

            self.approvals = ApprovalsView(store, user, print_context=print_context)
            self.approvals.message.connect(
                lambda text: self.statusBar().showMessage(text, 15000))
            self.tabs.addTab(self.approvals, "审核审批(&4)")
        from desktop.ui.attention_view import AttentionView
        from desktop.ui.reports_view import ReportsView

        self.attention = AttentionView(store, user)
        self.tabs.addTab(self.attention, "待处理(&5)")
        self.attention.message.connect(lambda text: self.statusBar().showMessage(text, 15000))

        self.reports = ReportsView(store, user, today=today, print_context=print_context)
        self.tabs.addTab(self.reports, "月度报表(&6)")
        # built the first time it is shown: its forms cost about 160 ms and 17 MiB that a clerk
        # who never opens it should not pay when signing in (issue 13)
        self.calculator_tab = QWidget()
        self.calculator_tab.setObjectName("calculatorTab")
        QVBoxLayout(self.calculator_tab).setContentsMargins(0, 0, 0, 0)
        self._calculator: CalcView | None = None
        self.tabs.addTab(self.calculator_tab, "计算器(&7)")
        self.tabs.currentChanged.connect(self._tab_shown)
        self.audit_warning = QLabel()
        self.audit_warning.setObjectName("auditWarning")
        self.audit_warning.setWordWrap(True)
        self.audit_warning.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.audit_warning.setStyleSheet(
            "QLabel { background: #fdecea; color: #8a1f11; border: 1px solid #e0a39a;"
            " padding: 6px; font-weight: bold; }")
        self.audit_warning.hide()
        self.offline_banner = QLabel(OFFLINE_BANNER)
        self.offline_banner.setObjectName("offlineBanner")
        self.offline_banner.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.offline_banner.setToolTip("区服务器暂时连不上。申请、签名都已保存在本机，"
                                       "联网后自动上传；点击状态栏的“待上传”查看等待的各项。")
        self.offline_banner.setStyleSheet(
            "QLabel { background: #fff4ce; color: #6b4e00; border: 1px solid #e0c46c;"
            " padding: 6px; font-weight: bold; }")
        self.offline_banner.hide()
        central = QWidget()
        column = QVBoxLayout(central)
        column.setContentsMargins(0, 0, 0, 0)
        column.setSpacing(0)
        column.addWidget(self.audit_warning)
        column.addWidget(self.offline_banner)
        column.addWidget(self.tabs)
        self.setCentralWidget(central)

        roles = "、".join(ROLE_LABELS.get(r, r) for r in user.roles)
        who = QLabel(f"{user.display_name}（{roles}）" + ("· 离线登录" if user.offline else ""))
        who.setObjectName("signedInUser")
        self.sync_status = SyncStatusWidget()
        self.statusBar().addPermanentWidget(who)
        self.statusBar().addPermanentWidget(self.sync_status)
        self.sync_status.offline_changed.connect(self.offline_banner.setVisible)
        self.sync_status.waiting_requested.connect(self.show_waiting)
        self.waiting_dialog: WaitingDialog | None = None
        self.help_dialog: QDialog | None = None
        self.counter.message.connect(lambda text: self.statusBar().showMessage(text, 15000))
        for n in range(self.tabs.count()):  # Ctrl+the number the tab's label shows
            digit = self.tabs.tabText(n).rsplit("&", 1)[-1][:1]
            shortcut = QShortcut(QKeySequence(f"Ctrl+{digit}"), self)
            shortcut.activated.connect(lambda n=n: self.tabs.setCurrentIndex(n))
        self._menus()
        # the policy parameters are read once per process; read them now, off the GUI thread,
        # so that opening the first person does not wait for it
        run_in_background(default_parameters, lambda _p: None, lambda _e: None)
        if check_audit and SUPERVISORS & set(user.roles):
            self.check_audit_trail()
        fit_to_screen(self, 1360, 820)  # 1360×820 is taller than a 1366×768 screen (issue 11)
        self._placed = False  # checked against the screen once shown, when its frame is known
        self._restore()

    def check_audit_trail(self) -> None:
        """Check the audit trail off the GUI thread; the banner shows what it found."""
        from desktop.services.audit_check import verify_audit_chain

        store = self.store
        run_in_background(lambda: verify_audit_chain(store), self._show_audit_check,
                          self._audit_check_failed)

    def _show_audit_check(self, check: AuditCheck) -> None:
        if not shiboken6.isValid(self):
            return  # the window closed before the check finished
        self.audit_warning.setVisible(not check.intact)
        if not check.intact:
            self.audit_warning.setText(
                f"⚠ 本机审计记录被篡改，请立即报告区里并保留这台电脑的现状。{check.summary()}")
        self.audit_checked.emit(check)

    def _audit_check_failed(self, error: Exception) -> None:
        if shiboken6.isValid(self):
            self.audit_warning.setText(f"⚠ 无法检查本机审计记录：{error}")
            self.audit_warning.show()

    def _menus(self) -> None:
        menu = self.menuBar().addMenu("柜台(&C)")
        for text, keys, signal, name in (
                ("设置(&S)…", "Ctrl+,", self.settings_requested, "settingsAction"),
                ("锁定(&L)", "Ctrl+L", self.lock_requested, "lockAction"),
                ("切换用户(&U)", "Ctrl+Shift+L", self.sign_out_requested, "signOutAction")):
            action = QAction(text, self)
            action.setObjectName(name)
            action.setShortcut(QKeySequence(keys))
            action.triggered.connect(signal)
            menu.addAction(action)
        menu.addSeparator()
        quit_action = QAction("退出(&Q)", self)
        quit_action.setShortcut(QKeySequence("Ctrl+Q"))
        quit_action.triggered.connect(self.close)
        menu.addAction(quit_action)
        help_menu = self.menuBar().addMenu("帮助(&H)")
        help_menu.setToolTipsVisible(True)
        menu.setToolTipsVisible(True)
        for text, keys, slot, name, tip in (
                ("快捷键与操作流程(&K)", "F1", self.show_help, "helpAction",
                 "快捷键一览和一天的工作流程"),
                ("待上传列表(&W)…", "", self.show_waiting, "waitingAction",
                 "查看本机等待上传区里的各项及其最近错误")):
            action = QAction(text, self)
            action.setObjectName(name)
            action.setToolTip(tip)
            action.setStatusTip(tip)
            if keys:
                action.setShortcut(QKeySequence(keys))
            action.triggered.connect(slot)
            help_menu.addAction(action)
            self.addAction(action)  # F1 works wherever the focus is

    def show_help(self) -> None:
        from desktop.ui.help_dialog import HelpDialog

        if self.help_dialog is None:
            self.help_dialog = HelpDialog(self)
        self.help_dialog.show()
        self.help_dialog.raise_()

    def show_waiting(self) -> None:
        """The 待上传 list: each waiting item in words, its age and its last error."""
        from desktop.ui.outbox_view import WaitingDialog

        if self.waiting_dialog is None:
            self.waiting_dialog = WaitingDialog(self.store, self)
        else:
            self.waiting_dialog.refresh()
        self.waiting_dialog.show()
        self.waiting_dialog.raise_()

    def open_application(self, application_id: uuid.UUID) -> None:
        """From 今日受理: the application's person opened at the counter, in its program."""
        from desktop.services.today import application_person

        try:
            person_id, program = application_person(self.store, application_id)
        except LookupError as exc:
            self.statusBar().showMessage(str(exc), 15000)
            return
        self.tabs.setCurrentWidget(self.counter)
        index = self.counter.program.findData(program)
        if index >= 0 and index != self.counter.program.currentIndex():
            self.counter.program.setCurrentIndex(index)
        self.counter.open_person(person_id)

    def _restore(self) -> None:
        geometry = self.settings.value("window/geometry")
        if isinstance(geometry, QByteArray):
            self.restoreGeometry(geometry)
        state = self.settings.value("window/counterSplitter")
        if isinstance(state, QByteArray):
            self.counter.splitter.restoreState(state)

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        if not self._placed:  # a geometry restored from a larger screen: back inside this one
            self._placed = True
            keep_on_screen(self)

    def _ask_before_closing(self, name: str, count: int) -> None:
        box, discard = unsaved_ticks_question(self, name, count, "关闭窗口将放弃这些勾选。",
                                              "继续办理(&K)", "放弃并关闭(&D)")
        self.close_question = box

        def answered(_result: int) -> None:
            if box.clickedButton() is discard:
                self.close_for_good()

        box.finished.connect(answered)
        box.open()

    def close_for_good(self) -> None:
        """Close without asking about unsaved ticks: the counter closes it (a sign-out that
        already asked, another user signing in, the program ending)."""
        self._asked = True
        self.close()

    def closeEvent(self, event: QCloseEvent) -> None:
        # the clerk closing the window: ticks not yet submitted are asked about first (without
        # blocking: the window stays until the clerk answers; discarding closes it)
        session = self.counter.session
        if not self._asked and session is not None and session.ticked:
            event.ignore()
            self._ask_before_closing(session.card.name, len(session.ticked))
            return
        self.settings.setValue("window/geometry", self.saveGeometry())
        self.settings.setValue("window/counterSplitter", self.counter.splitter.saveState())
        super().closeEvent(event)

    @property
    def calculator(self) -> CalcView:
        """The 计算器 tab's view, built the first time it is shown or asked for."""
        if self._calculator is None:
            from desktop.services.policy_values import current_parameters
            from desktop.ui.calc_view import CalcView

            self._calculator = CalcView(roles=self.user.roles,
                                        parameters=current_parameters(self.store))
            layout = self.calculator_tab.layout()
            assert layout is not None
            layout.addWidget(self._calculator)
        return self._calculator

    def _tab_shown(self, index: int) -> None:
        widget = self.tabs.widget(index)
        if widget is self.calculator_tab:
            self.calculator.setFocus()
        elif widget is self.monthly:
            self.monthly.refresh()
        elif self.approvals is not None and widget is self.approvals:
            self.approvals.refresh()
        elif widget is self.today:
            self.today.refresh()
        elif widget is self.attention:
            self.attention.refresh()

    def _open_auto_entry(self, entry: AutoEntry) -> None:
        self.tabs.setCurrentWidget(self.counter)
        self.counter.open_for_auto_run(entry.person_id, entry.program, entry.rows)

    def focus_counter(self) -> None:
        self.tabs.setCurrentWidget(self.counter)
        self.counter.focus_search()


__all__ = ["UI_FONTS", "WINDOW_TITLE", "CounterUser", "MainWindow", "Qt", "apply_ui_font"]
