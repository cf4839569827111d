"""The month's report as a workbook for the district, who works in spreadsheets (CN-2026 3.5):
one sheet 结算汇总表, one sheet 发放清单, written with openpyxl from desktop.services.reports.

The writer does no arithmetic: every figure, totals included, is the one the report computed.
Totals are written as values, not formulas: openpyxl cannot compute a formula, so a formula cell
has no value until Excel recalculates it, and a district that imports the file with a program
(or opens it in a viewer that does not recalculate) would read an empty total; a value also
keeps the sheet identical to the printed report even if someone edits a line afterwards.
Amounts are numeric cells (Decimal) shown "#,##0.00"; ID and card numbers are text, so no
digit is lost to a number format.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Sequence
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any, Protocol

from openpyxl import Workbook
from openpyxl.styles import Alignment, Border, Font, Side
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

from desktop.domain.clock import SHANGHAI
from desktop.printing.numerals import rmb_capital

AMOUNT = "#,##0.00"
COUNT = "0"
TEXT = "@"
SUMMARY_SHEET = "结算汇总表"
PAYOUT_SHEET = "发放清单"
_THIN = Side(style="thin")
_BOX = Border(left=_THIN, right=_THIN, top=_THIN, bottom=_THIN)
_BOLD = Font(bold=True)
_TITLE = Font(bold=True, size=14)
_CENTER = Alignment(horizontal="center", vertical="center")


class XlsxWriteError(ValueError):
    """The workbook could not be written; the message names the file, in Chinese."""


# -- what the writer reads (desktop.services.reports' values, by shape: printing does not
#    import services) -------------------------------------------------------------------------

class _CountedLine(Protocol):
    """A program or category line."""

    @property
    def program(self) -> str: ...
    @property
    def label(self) -> str: ...
    @property
    def applications(self) -> int: ...
    @property
    def persons(self) -> int: ...
    @property
    def amount(self) -> Decimal: ...


class _BucketLine(Protocol):
    @property
    def program(self) -> str: ...
    @property
    def label(self) -> str: ...
    @property
    def applications(self) -> int: ...
    @property
    def amount(self) -> Decimal: ...


class _EnrolmentLine(Protocol):
    @property
    def label(self) -> str: ...
    @property
    def count(self) -> int: ...
    @property
    def fees(self) -> Decimal: ...


class _Period(Protocol):
    @property
    def street_code(self) -> str: ...
    @property
    def year(self) -> int: ...
    @property
    def month(self) -> int: ...
    @property
    def period_start(self) -> date: ...
    @property
    def period_end(self) -> date: ...


class Summary(_Period, Protocol):
    """What write_monthly_xlsx reads of a desktop.services.reports.MonthlySummary."""

    @property
    def programs(self) -> Sequence[_CountedLine]: ...
    @property
    def categories(self) -> Sequence[_CountedLine]: ...
    @property
    def buckets(self) -> Sequence[_BucketLine]: ...
    @property
    def enrolments(self) -> _EnrolmentLine: ...
    @property
    def applications(self) -> int: ...
    @property
    def persons(self) -> int: ...
    @property
    def total(self) -> Decimal: ...
    @property
    def auto_enrolled(self) -> int: ...


class _PayoutLine(Protocol):
    @property
    def number(self) -> int: ...
    @property
    def name(self) -> str: ...
    @property
    def id_number(self) -> str: ...
    @property
    def committee(self) -> str | None: ...
    @property
    def bank_account(self) -> str | None: ...
    @property
    def applications(self) -> int: ...
    @property
    def assistance(self) -> Decimal: ...
    @property
    def mutual_aid(self) -> Decimal: ...
    @property
    def amount(self) -> Decimal: ...


class Payout(_Period, Protocol):
    """What write_monthly_xlsx reads of a desktop.services.reports.PayoutList."""

    @property
    def masked(self) -> bool: ...
    @property
    def lines(self) -> Sequence[_PayoutLine]: ...
    @property
    def persons(self) -> int: ...
    @property
    def applications(self) -> int: ...
    @property
    def assistance(self) -> Decimal: ...
    @property
    def mutual_aid(self) -> Decimal: ...
    @property
    def total(self) -> Decimal: ...
    @property
    def without_card(self) -> int: ...


# -- the workbook -------------------------------------------------------------------------------

def write_monthly_xlsx(summary: Summary, payout: Payout, path: Path | str, *,
                       street_name: str | None = None, prepared_by: str = "",
                       prepared_on: date | None = None) -> None:
    """Write the month's 结算汇总表 and 发放清单 to `path` (.xlsx), replacing the file whole:
    it is written beside it first, so a failure leaves any earlier file as it was.
    Raises XlsxWriteError (a ValueError) naming the file."""
    target = Path(path)
    if (summary.street_code, summary.year, summary.month) != (
            payout.street_code, payout.year, payout.month):
        raise ValueError(f"结算汇总表与发放清单不是同一街镇、同一月份，未写入 {target.name}")
    day = prepared_on or datetime.now(SHANGHAI).date()
    street = f"{street_name}（{summary.street_code}）" if street_name else summary.street_code
    workbook = Workbook()
    first = workbook.active
    assert first is not None
    _summary_sheet(first, summary, street, prepared_by, day)
    _payout_sheet(workbook.create_sheet(PAYOUT_SHEET), payout, street, prepared_by, day)
    _save(workbook, target)


def _save(workbook: Workbook, target: Path) -> None:
    temp: str | None = None
    try:
        handle, temp = tempfile.mkstemp(prefix=".~", suffix=".xlsx", dir=target.parent)
        os.close(handle)
        workbook.save(temp)
        os.replace(temp, target)
        temp = None
    except PermissionError:
        raise XlsxWriteError(f"无法写入 {target}：没有写入权限，或该文件正在 Excel 等程序中打开，"
                             "请关闭后重试。") from None
    except OSError as exc:
        raise XlsxWriteError(f"无法写入 {target}：{exc.strerror or exc}") from None
    finally:
        if temp is not None:
            Path(temp).unlink(missing_ok=True)


def _period_text(report: _Period) -> str:
    return (f"统计期间：{_date_cn(report.period_start)}至{_date_cn(report.period_end)}"
            "（按审批人签字日期，上海时间）")


def _date_cn(day: date) -> str:
    return f"{day.year}年{day.month:02d}月{day.day:02d}日"


def _summary_sheet(sheet: Worksheet, summary: Summary, street: str, prepared_by: str,
                   day: date) -> None:
    sheet.title = SUMMARY_SHEET
    columns = ("申请项目", "对象类别 / 分项", "件数", "人数", "金额（元）")
    widths = (26, 34, 10, 10, 18)
    formats = (TEXT, TEXT, COUNT, COUNT, AMOUNT)
    _heading(sheet, f"{street} {summary.year}年{summary.month:02d}月 结算汇总表",
             _period_text(summary), columns, widths)
    rows: list[tuple[str, Sequence[Any], bool]] = []  # (section title | "", cells, is total)
    rows.append(("一、按申请项目", (), False))
    rows += [("", (p.label, "", p.applications, p.persons, p.amount), False)
             for p in summary.programs]
    rows.append(("", ("合计", "", summary.applications, summary.persons, summary.total), True))
    rows.append(("", ("其中免申即享", "", summary.auto_enrolled, None, None), False))
    # Category and bucket counts overlap (an application in two categories counts in both),
    # so their total rows carry the amount only.
    rows.append(("二、按对象类别", (), False))
    labels = {p.program: p.label for p in summary.programs}
    rows += [("", (labels.get(c.program, c.program), c.label, c.applications, c.persons,
                   c.amount), False) for c in summary.categories]
    rows.append(("", ("合计", "", None, None, summary.total), True))
    rows.append(("三、按分项", (), False))
    rows += [("", (labels.get(b.program, b.program), b.label, b.applications, None, b.amount),
              False) for b in summary.buckets]
    rows.append(("", ("合计", "", None, None, summary.total), True))
    rows.append(("四、互助帮困登记缴费（本月收取，不计入发放）", (), False))
    enrolments = summary.enrolments
    rows.append(("", (enrolments.label, "", enrolments.count, enrolments.count,
                      enrolments.fees), False))
    for section, cells, total in rows:
        if section:
            row = sheet.max_row + 1
            sheet.cell(row, 1, section).font = _BOLD
            sheet.merge_cells(start_row=row, start_column=1, end_row=row,
                              end_column=len(columns))
        else:
            _table_row(sheet, cells, formats, bold=total)
    _footer(sheet, prepared_by, day, len(columns))


def _payout_sheet(sheet: Worksheet, payout: Payout, street: str, prepared_by: str,
                  day: date) -> None:
    columns = ("序号", "姓名", "身份证号", "居委", "银行卡号", "件数", "医疗救助（元）",
               "互助帮困（元）", "金额（元）")
    widths = (7, 12, 22, 16, 24, 7, 16, 16, 16)
    formats = (COUNT, TEXT, TEXT, TEXT, TEXT, COUNT, AMOUNT, AMOUNT, AMOUNT)
    copy = ("银行卡号仅显示前6位和后4位（街镇留存）" if payout.masked
            else "完整银行卡号，报区医保局发放使用，请妥善保管")
    _heading(sheet, f"{street} {payout.year}年{payout.month:02d}月 发放清单",
             f"{_period_text(payout)}；{copy}", columns, widths)
    for line in payout.lines:
        _table_row(sheet, (line.number, line.name, line.id_number, line.committee or "",
                           line.bank_account or "未登记银行卡", line.applications,
                           line.assistance, line.mutual_aid, line.amount), formats)
    _table_row(sheet, ("合计", f"{payout.persons}人", "", "", "", payout.applications,
                       payout.assistance, payout.mutual_aid, payout.total),
               (TEXT, *formats[1:]), bold=True)
    row = sheet.max_row + 1
    sheet.cell(row, 1, f"合计金额（大写）：{rmb_capital(payout.total)}").font = _BOLD
    sheet.merge_cells(start_row=row, start_column=1, end_row=row, end_column=len(columns))
    if payout.without_card:
        row += 1
        sheet.cell(row, 1, f"注：有 {payout.without_card} 人未登记银行卡号，请补录后再报送。")
        sheet.merge_cells(start_row=row, start_column=1, end_row=row, end_column=len(columns))
    sheet.freeze_panes = "A4"
    sheet.page_setup.orientation = "landscape"
    _footer(sheet, prepared_by, day, len(columns))


def _heading(sheet: Worksheet, title: str, subtitle: str, columns: Sequence[str],
             widths: Sequence[int]) -> None:
    """Row 1 the title (street, month, form), row 2 the period, row 3 the column headings."""
    last = len(columns)
    sheet.cell(1, 1, title).font = _TITLE
    sheet.cell(1, 1).alignment = _CENTER
    sheet.merge_cells(start_row=1, start_column=1, end_row=1, end_column=last)
    sheet.row_dimensions[1].height = 28
    sheet.cell(2, 1, subtitle)
    sheet.merge_cells(start_row=2, start_column=1, end_row=2, end_column=last)
    for column, (text, width) in enumerate(zip(columns, widths, strict=True), start=1):
        cell = sheet.cell(3, column, text)
        cell.font, cell.alignment, cell.border = _BOLD, _CENTER, _BOX
        sheet.column_dimensions[get_column_letter(column)].width = width
    sheet.print_title_rows = "3:3"
    sheet.page_setup.fitToWidth = 1
    sheet.page_setup.fitToHeight = 0
    sheet.sheet_properties.pageSetUpPr.fitToPage = True


def _table_row(sheet: Worksheet, cells: Sequence[Any], formats: Sequence[str], *,
               bold: bool = False) -> None:
    row = sheet.max_row + 1
    for column, (value, number_format) in enumerate(zip(cells, formats, strict=True), start=1):
        cell = sheet.cell(row, column, value)
        cell.number_format = number_format if value is not None else TEXT
        cell.border = _BOX
        if bold:
            cell.font = _BOLD


def _footer(sheet: Worksheet, prepared_by: str, day: date, width: int) -> None:
    row = sheet.max_row + 2
    sheet.cell(row, 1, f"制表人：{prepared_by or '__________'}　　　　日期：{_date_cn(day)}")
    sheet.merge_cells(start_row=row, start_column=1, end_row=row, end_column=width)


__all__ = ["PAYOUT_SHEET", "SUMMARY_SHEET", "XlsxWriteError", "write_monthly_xlsx"]
