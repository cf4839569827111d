"""月度报表: the street's month — 结算汇总表, 发放清单 (the street's copy, cards masked; the
district's copy, cards whole, for 审核人/审批人 only), and the workbook, each previewed first."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from pathlib import Path

from PySide6.QtWidgets import (
    QComboBox,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from desktop.printing.context import NO_CONTEXT, PrintContext
from desktop.services.reports import monthly_summary, payout_list, record_report
from desktop.store import Store
from desktop.ui.identity import CounterUser
from desktop.ui.print_preview import PrintPreview
from desktop.ui.widgets import error_label


def recent_months(today: date, count: int = 12) -> list[tuple[int, int]]:
    year, month = today.year, today.month
    out = []
    for _ in range(count):
        out.append((year, month))
        year, month = (year, month - 1) if month > 1 else (year - 1, 12)
    return out


class ReportsView(QWidget):
    def __init__(self, store: Store, user: CounterUser, *, today: Callable[[], date] = date.today,
                 print_context: PrintContext = NO_CONTEXT, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.store, self.user, self.today, self.context = store, user, today, print_context
        self.month = QComboBox()
        self.month.setObjectName("reportMonth")
        self.month.setAccessibleName("结算月份")
        for year, month in recent_months(today()):
            self.month.addItem(f"{year}年{month:02d}月", f"{year}-{month:02d}")
        self.summary_button = QPushButton("结算汇总表(&S)…")
        self.summary_button.setObjectName("printSummary")
        self.kept_button = QPushButton("发放清单（留存联）(&K)…")
        self.kept_button.setObjectName("printPayoutKept")
        self.district_button = QPushButton("发放清单（报区联）(&D)…")
        self.district_button.setObjectName("printPayoutDistrict")
        supervisor = bool({"reviewer", "approver"} & set(user.roles))
        self.district_button.setEnabled(supervisor)  # whole card numbers: supervisors only
        self.xlsx_button = QPushButton("导出 Excel(&X)…")
        self.xlsx_button.setObjectName("exportXlsx")
        self.xlsx_button.setEnabled(supervisor)
        self.status = QLabel()
        self.status.setObjectName("reportStatus")
        if not print_context.street_code:
            for button in (self.summary_button, self.kept_button, self.district_button,
                           self.xlsx_button):
                button.setEnabled(False)
            self.status.setText("本柜台尚未注册到区服务器（不知道所属街镇），请先在“设置”中注册。")
        self.error = error_label("reportError")
        row = QHBoxLayout()
        row.addWidget(QLabel("结算月份"))
        row.addWidget(self.month)
        row.addStretch(1)
        layout = QVBoxLayout(self)
        layout.addLayout(row)
        for button in (self.summary_button, self.kept_button, self.district_button,
                       self.xlsx_button):
            layout.addWidget(button)
        layout.addWidget(self.status)
        layout.addWidget(self.error)
        layout.addStretch(1)
        self.summary_button.clicked.connect(self.show_summary)
        self.kept_button.clicked.connect(lambda: self.show_payout(masked=True))
        self.district_button.clicked.connect(lambda: self.show_payout(masked=False))
        self.xlsx_button.clicked.connect(self._choose_xlsx)

    def _period(self) -> tuple[str, int, int]:
        year, month = str(self.month.currentData()).split("-")
        return self.context.street_code or "", int(year), int(month)

    def _kwargs(self) -> dict[str, object]:
        return {"street_name": self.context.street_name, "prepared_by": self.user.display_name,
                "prepared_on": self.today()}

    def show_summary(self) -> None:
        from desktop.printing.reports_pdf import summary_pdf  # the form engine, on demand

        street, year, month = self._period()
        try:
            summary = monthly_summary(self.store, street_code=street, year=year, month=month)
            pdf = summary_pdf(summary, **self._kwargs())
        except (ValueError, LookupError) as exc:
            self.error.setText(f"无法生成结算汇总表：{exc}")
            return
        self.status.setText(f"{year}年{month:02d}月：申请 {summary.applications} 件"
                            f"（其中免申即享 {summary.auto_enrolled} 件），"
                            f"合计 {summary.total:,.2f} 元")
        self._preview("结算汇总表", pdf, "summary")

    def show_payout(self, *, masked: bool) -> None:
        from desktop.printing.reports_pdf import payout_pdf

        street, year, month = self._period()
        try:
            payout = payout_list(self.store, street_code=street, year=year, month=month,
                                 masked=masked)
            pdf = payout_pdf(payout, **self._kwargs())
        except (ValueError, LookupError) as exc:
            self.error.setText(f"无法生成发放清单：{exc}")
            return
        self._preview("发放清单（留存联）" if masked else "发放清单（报区联）", pdf,
                      "payout" if masked else "payout_district")

    def _preview(self, title: str, pdf: bytes, report: str) -> None:
        street, year, month = self._period()

        def job(reason: str | None) -> bytes:
            record_report(self.store, self.user.username, report, street, year, month,
                          reason=reason)
            return pdf

        self.print_preview = PrintPreview(title, pdf, job, parent=self)
        self.print_preview.open()

    def _choose_xlsx(self) -> None:
        _street, year, month = self._period()
        path, _ = QFileDialog.getSaveFileName(
            self, "导出 Excel", f"医疗救助帮困-{year}{month:02d}.xlsx", "Excel (*.xlsx)")
        if path:
            self.export_xlsx(Path(path))

    def export_xlsx(self, path: Path) -> None:
        from desktop.printing.xlsx import XlsxWriteError, write_monthly_xlsx  # openpyxl: slow

        street, year, month = self._period()
        try:
            summary = monthly_summary(self.store, street_code=street, year=year, month=month)
            payout = payout_list(self.store, street_code=street, year=year, month=month,
                                 masked=False)
            write_monthly_xlsx(summary, payout, path, street_name=self.context.street_name,
                               prepared_by=self.user.display_name, prepared_on=self.today())
        except (XlsxWriteError, ValueError) as exc:
            self.error.setText(str(exc))
            return
        record_report(self.store, self.user.username, "xlsx", street, year, month,
                      reason=None)
        self.error.clear()
        self.status.setText(f"已导出到 {path}")
