"""The month's workbook (desktop.printing.xlsx), read back with openpyxl: sheets, headings,
values as numbers with their formats, the totals the report computed, the footer."""

from __future__ import annotations

import os
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from openpyxl import Workbook, load_workbook
from openpyxl.worksheet.worksheet import Worksheet

from desktop.printing import xlsx
from desktop.printing.xlsx import PAYOUT_SHEET, SUMMARY_SHEET, XlsxWriteError, write_monthly_xlsx
from desktop.services.reports import (
    BucketLine,
    CategoryLine,
    EnrolmentLine,
    MonthlySummary,
    PayoutLine,
    PayoutList,
    ProgramLine,
    monthly_summary,
    payout_list,
)
from desktop.store import open_store
from tests.layering import imported_modules

D = Decimal
START, END = date(2026, 6, 1), date(2026, 6, 30)
SUMMARY = MonthlySummary(
    street_code="310105001", year=2026, month=6, period_start=START, period_end=END,
    programs=(ProgramLine("assistance", "医疗救助（事后救助）", 2, 2, D("1234.56")),
              ProgramLine("mutual_aid", "市民社区医疗互助帮困", 1, 1, D("840.00"))),
    categories=(CategoryLine("assistance", "dibao", "城乡低保家庭成员", 2, 2, D("1000.00")),
                CategoryLine("assistance", "low_income", "低收入困难家庭成员", 1, 1, D("234.56")),
                CategoryLine("mutual_aid", "member", "互助帮困参加对象", 1, 1, D("840.00"))),
    buckets=(BucketLine("assistance", "outpatient", "门急诊", 2, D("1234.56")),
             BucketLine("mutual_aid", "allowance", "门急诊医疗互助帮困补贴（卡内余额）", 1,
                        D("100.00")),
             BucketLine("mutual_aid", "inpatient", "住院医疗互助帮困补助", 1, D("740.00"))),
    enrolments=EnrolmentLine("市民社区医疗互助帮困登记缴费", 3, D("390.00")),
    applications=3, persons=3, total=D("2074.56"), auto_enrolled=2)
LINES = (
    PayoutLine(1, "P1", "张三", "3101**********1234", "新华居委", "622202*********0123", 2,
               D("1234.56"), D("0.00"), D("1234.56")),
    PayoutLine(2, "P2", "李四", "3101**********5678", None, None, 1, D("0.00"), D("840.00"),
               D("840.00")),
)
PAYOUT = PayoutList(
    street_code="310105001", year=2026, month=6, period_start=START, period_end=END,
    masked=True, lines=LINES, persons=2, applications=3, assistance=D("1234.56"),
    mutual_aid=D("840.00"), total=D("2074.56"), without_card=1)
MADE = date(2026, 7, 5)


@pytest.fixture
def workbook_path(tmp_path: Path) -> Path:
    path = tmp_path / "2026-06 华阳路街道.xlsx"
    write_monthly_xlsx(SUMMARY, PAYOUT, path, street_name="华阳路街道", prepared_by="王芳",
                       prepared_on=MADE)
    return path


def sheet(path: Path, name: str) -> Worksheet:
    workbook = load_workbook(path)
    found = workbook[name]
    assert isinstance(found, Worksheet)
    return found


def rows(ws: Worksheet) -> list[tuple[Any, ...]]:
    return [tuple(c.value for c in row) for row in ws.iter_rows()]


def row_of(ws: Worksheet, first: Any, second: Any = None, after: int = 0) -> int:
    """The row whose first cells are `first` (and `second`), after row `after`."""
    for row in ws.iter_rows(min_row=after + 1):
        if row[0].value == first and (second is None or row[1].value == second):
            return int(row[0].row)
    raise AssertionError(f"no row {first!r} {second!r}")


def amount(ws: Worksheet, row: int, column: int) -> Decimal:
    cell = ws.cell(row, column)
    assert isinstance(cell.value, int | float) and not isinstance(cell.value, bool), cell.value
    assert cell.number_format == "#,##0.00"
    return Decimal(str(cell.value))


def test_two_sheets_with_titles_and_headings(workbook_path: Path) -> None:
    assert load_workbook(workbook_path).sheetnames == [SUMMARY_SHEET, PAYOUT_SHEET]
    summary = sheet(workbook_path, SUMMARY_SHEET)
    assert summary["A1"].value == "华阳路街道（310105001） 2026年06月 结算汇总表"
    assert "A1:E1" in {str(r) for r in summary.merged_cells.ranges}
    assert summary["A2"].value == ("统计期间：2026年06月01日至2026年06月30日"
                                   "（按审批人签字日期，上海时间）")
    assert rows(summary)[2] == ("申请项目", "对象类别 / 分项", "件数", "人数", "金额（元）")
    payout = sheet(workbook_path, PAYOUT_SHEET)
    assert payout["A1"].value == "华阳路街道（310105001） 2026年06月 发放清单"
    assert "仅显示前6位和后4位" in str(payout["A2"].value)
    assert rows(payout)[2] == ("序号", "姓名", "身份证号", "居委", "银行卡号", "件数",
                               "医疗救助（元）", "互助帮困（元）", "金额（元）")
    for ws in (summary, payout):
        widths = [ws.column_dimensions[c].width for c in "ABCDE"]
        assert all(w and w >= 7 for w in widths)


def test_the_summary_holds_the_reports_figures(workbook_path: Path) -> None:
    ws = sheet(workbook_path, SUMMARY_SHEET)
    assistance = row_of(ws, "医疗救助（事后救助）")  # the programs come first
    assert (ws.cell(assistance, 3).value, ws.cell(assistance, 4).value) == (2, 2)
    assert amount(ws, assistance, 5) == D("1234.56")
    total = row_of(ws, "合计")
    assert (ws.cell(total, 3).value, ws.cell(total, 4).value) == (3, 3)
    assert amount(ws, total, 5) == SUMMARY.total
    assert ws.cell(total, 1).font.bold
    auto = row_of(ws, "其中免申即享")  # issue 15: the month's 免申即享 applications
    assert auto == total + 1 and ws.cell(auto, 3).value == 2

    low = row_of(ws, "医疗救助（事后救助）", "低收入困难家庭成员")
    assert amount(ws, low, 5) == D("234.56") and ws.cell(low, 3).value == 1
    categories_total = row_of(ws, "合计", after=low)
    assert amount(ws, categories_total, 5) == SUMMARY.total
    assert ws.cell(categories_total, 3).value is None  # counts overlap: no count total

    allowance = row_of(ws, "市民社区医疗互助帮困", "门急诊医疗互助帮困补贴（卡内余额）")
    assert amount(ws, allowance, 5) == D("100.00")
    assert amount(ws, row_of(ws, "合计", after=allowance), 5) == SUMMARY.total

    fees = row_of(ws, "市民社区医疗互助帮困登记缴费")
    assert ws.cell(fees, 3).value == 3 and amount(ws, fees, 5) == D("390.00")
    sections = [r[0] for r in rows(ws) if isinstance(r[0], str) and r[0][:2] in
                ("一、", "二、", "三、", "四、")]
    assert sections == ["一、按申请项目", "二、按对象类别", "三、按分项",
                        "四、互助帮困登记缴费（本月收取，不计入发放）"]
    assert rows(ws)[-1][0] == "制表人：王芳　　　　日期：2026年07月05日"


def test_the_payout_list_holds_each_line_and_the_totals(workbook_path: Path) -> None:
    ws = sheet(workbook_path, PAYOUT_SHEET)
    first = row_of(ws, 1)
    assert [ws.cell(first, c).value for c in range(1, 7)] == [
        1, "张三", "3101**********1234", "新华居委", "622202*********0123", 2]
    assert ws.cell(first, 5).data_type == "s" and ws.cell(first, 5).number_format == "@"
    assert ws.cell(first, 3).data_type == "s"
    assert [amount(ws, first, c) for c in (7, 8, 9)] == [D("1234.56"), D("0"), D("1234.56")]
    second = row_of(ws, 2)
    assert ws.cell(second, 5).value == "未登记银行卡"
    assert ws.cell(second, 4).value is None or ws.cell(second, 4).value == ""
    total = row_of(ws, "合计")
    assert ws.cell(total, 2).value == "2人" and ws.cell(total, 6).value == 3
    assert [amount(ws, total, c) for c in (7, 8, 9)] == [
        PAYOUT.assistance, PAYOUT.mutual_aid, PAYOUT.total]
    assert ws.cell(total + 1, 1).value == "合计金额（大写）：贰仟零柒拾肆元伍角陆分"
    assert ws.cell(total + 2, 1).value == "注：有 1 人未登记银行卡号，请补录后再报送。"
    assert ws.freeze_panes == "A4"
    assert rows(ws)[-1][0] == "制表人：王芳　　　　日期：2026年07月05日"


def test_the_districts_copy_says_so(tmp_path: Path) -> None:
    path = tmp_path / "district.xlsx"
    district = PayoutList(**{**PAYOUT.__dict__, "masked": False, "without_card": 0})
    write_monthly_xlsx(SUMMARY, district, path, prepared_on=MADE)
    ws = sheet(path, PAYOUT_SHEET)
    assert ws["A1"].value == "310105001 2026年06月 发放清单"  # no street name given
    assert "完整银行卡号" in str(ws["A2"].value)
    assert not any("未登记银行卡号" in str(r[0]) for r in rows(ws))
    assert rows(ws)[-1][0] == "制表人：__________　　　　日期：2026年07月05日"


def test_a_file_that_cannot_be_written_is_named(tmp_path: Path) -> None:
    missing = tmp_path / "没有这个文件夹" / "report.xlsx"
    with pytest.raises(XlsxWriteError, match=r"report\.xlsx") as refused:
        write_monthly_xlsx(SUMMARY, PAYOUT, missing)
    assert isinstance(refused.value, ValueError)
    assert "无法写入" in str(refused.value)


def test_a_file_held_open_elsewhere_is_reported(workbook_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    """Windows refuses to replace a workbook Excel has open: say so, keep the old file."""
    before = workbook_path.read_bytes()

    def held(*_args: Any) -> None:
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(os, "replace", held)
    with pytest.raises(XlsxWriteError, match="Excel") as refused:
        write_monthly_xlsx(SUMMARY, PAYOUT, workbook_path)
    assert workbook_path.name in str(refused.value)
    assert workbook_path.read_bytes() == before
    assert [p.name for p in workbook_path.parent.iterdir()] == [workbook_path.name]


def test_a_failed_write_leaves_the_earlier_file(workbook_path: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    before = workbook_path.read_bytes()

    def full_disk(*_args: Any) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(Workbook, "save", full_disk)
    with pytest.raises(XlsxWriteError, match="No space left"):
        write_monthly_xlsx(SUMMARY, PAYOUT, workbook_path)
    assert workbook_path.read_bytes() == before
    assert [p.name for p in workbook_path.parent.iterdir()] == [workbook_path.name]


def test_reports_of_different_months_are_refused(tmp_path: Path) -> None:
    july = PayoutList(**{**PAYOUT.__dict__, "month": 7})
    with pytest.raises(ValueError, match="同一月份"):
        write_monthly_xlsx(SUMMARY, july, tmp_path / "r.xlsx")
    assert not (tmp_path / "r.xlsx").exists()


def test_printing_stays_beside_services() -> None:
    """ARCHITECTURE.md: printing and services are siblings; neither is Qt."""
    folder = Path(xlsx.__file__).parent
    for name in ("xlsx.py", "numerals.py"):
        imported = imported_modules(folder / name)
        assert not [m for m in imported if m.startswith(
            ("desktop.services", "desktop.ui", "desktop.store", "PySide6"))], name


def test_an_empty_month_from_the_store(tmp_path: Path) -> None:
    """The services' own values, for a month with nothing in it: every fixed line, zeros."""
    with open_store(tmp_path / "counter.sqlite") as store:
        summary = monthly_summary(store, street_code="310105001", year=2026, month=2)
        payout = payout_list(store, street_code="310105001", year=2026, month=2)
    path = tmp_path / "empty.xlsx"
    write_monthly_xlsx(summary, payout, path, prepared_on=MADE)
    ws = sheet(path, SUMMARY_SHEET)
    assert amount(ws, row_of(ws, "合计"), 5) == 0
    assert row_of(ws, "医疗救助（事后救助）", "特困人员")
    assert str(ws["A2"].value).startswith("统计期间：2026年02月01日至2026年02月28日")
    payout_ws = sheet(path, PAYOUT_SHEET)
    assert payout_ws.cell(row_of(payout_ws, "合计"), 2).value == "0人"
    assert payout_ws.cell(row_of(payout_ws, "合计") + 1, 1).value == "合计金额（大写）：零元整"
