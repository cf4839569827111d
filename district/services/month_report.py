"""The month of every street on the district (issue 14 point 5): each street's 结算汇总表 and
发放清单 as the counters make them, the district's workbook and PDF of them, and who has not
sent theirs by the 20th (CN-2026 3.5).

Which applications. The district's one month rule (district.services.summary.monthly_summary,
desktop.domain.clock): the month in which the district accepted the 审批人's signature, on
Shanghai's calendar, and still payable; placed in the street whose PC pushed it. So the totals
here are those of GET /monthly-summary, to the fen.

The same figures as the counters. The amounts by category, bucket and program, and the payout
lines, are computed by the arithmetic the counters use (desktop.policy.monthly_figures: the
split of an application by category, the program, category and bucket lines, the payout
lines), fed with the district's rows instead of a counter's store; the district recomputes each
application's engine result from the case it accepted (the same engine and parameters it
checked the push with).

The workbook and the PDF are written here, not by the counter's desktop.printing: ARCHITECTURE.md
lets district/ import the two pure packages (desktop.policy, desktop.domain) and the wire
schemas only, and printing is a layer of the counter application. They follow the counters'
结算汇总表 and 发放清单 (the same sheets, sections, columns and totals; forms/monthly_summary
and forms/payout_list for the PDF's titles and columns), one pair per street, after a first
sheet of the district's totals; the amounts are not written again in capital numerals (the
counter's cn2an writer is printing's).

Bank cards. The console shows and gives out a card's last 4 digits only ("****1234"): the
district pays from its own records, and a download is a copy that may travel.

"Sent" (CN-2026 3.5 各街镇每月20日前将本月救助结算汇总表及发放清单上报区医保局). Nothing on the
wire is a "report sent" message. What the district does hold is every counter's audit trail,
and a counter records each report it produces for the district: `report.exported` (the
workbook, written with whole card numbers for the district) and `report.printed` with detail
report "payout_district" (the 发放清单's 报区联), both with subject "report:<street>:<YYYY-MM>"
(desktop.services.reports.record_report). A street has sent its month when the district holds
such an event from one of that street's PCs; the first one's time is the sending time. This
records that the district's copy was produced, not that it arrived on paper: the honest proxy
the data allows.

Who must send: a street with something to report for the month (a payable application or an
enrolment fee taken). The deadline is the 20th of the month after, moved past a Saturday or
Sunday (the source's 双休日及法定节假日顺延; the project has no holiday calendar, so public
holidays are not moved past). After the deadline an unsent street is late by the days since.
"""

from __future__ import annotations

import io
import re
import uuid
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape as xml_escape

from openpyxl import Workbook
from openpyxl.styles import Alignment, Border, Font, Side
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import (
    Flowable,
    PageBreak,
    Paragraph,
    SimpleDocTemplate,
    Spacer,
    Table,
    TableStyle,
)
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from desktop.domain.clock import month_range
from desktop.domain.id_number import mask_id_number
from desktop.policy import monthly_figures as figures
from desktop.policy.contract import parse_case, result_to_json
from desktop.policy.engine import calculate
from desktop.policy.errors import CalcInputError
from desktop.policy.monthly_figures import (
    ZERO,
    ApplicationFigures,
    MonthlySummary,
    PayoutList,
    Settled,
)
from district import models
from district.schemas import MONTH_PATTERN
from district.services.parameters import current_parameters
from district.services.states import PAYABLE
from district.values import SHANGHAI, as_aware, from_fen

DEADLINE_DAY = 20  # CN-2026 3.5
SENT_ACTIONS = ("report.exported", "report.printed")
SENT_REPORTS = ("xlsx", "payout_district")  # the copies made for the district
SENT, LATE, WAITING, NOTHING = "sent", "late", "waiting", "nothing"
STATE_LABELS = {SENT: "已报送", LATE: "逾期未报送", WAITING: "未报送（未到期）",
                NOTHING: "本月无结算"}
DISTRICT_SHEET = "区汇总"
CONSOLE_COPY = "区管理台副本，银行卡号仅显示后4位"


class MonthError(ValueError):
    """Not a month the console can show; the message is Chinese."""


def parse_month(text: str) -> tuple[int, int]:
    """"2026-05" → (2026, 5); MonthError for anything but YYYY-MM of 2000-2099."""
    if re.fullmatch(MONTH_PATTERN, text or "") is None:
        raise MonthError(f"月份格式应为 YYYY-MM（2000-01 至 2099-12），收到：{text!r}")
    year, month = text.split("-")
    return int(year), int(month)


def previous_month(today: date) -> str:
    first = today.replace(day=1) - timedelta(days=1)
    return f"{first.year}-{first.month:02d}"


def month_text(year: int, month: int) -> str:
    return f"{year}-{month:02d}"


# -- sent by the 20th ---------------------------------------------------------------------------

def report_deadline(year: int, month: int) -> date:
    """The last day to send the month's report: the 20th of the month after, moved past a
    weekend (CN-2026 3.5 双休日顺延; public holidays are not known here)."""
    day = date(year + month // 12, month % 12 + 1, DEADLINE_DAY)
    while day.weekday() >= 5:
        day += timedelta(days=1)
    return day


@dataclass(frozen=True)
class Sending:
    """Whether a street sent the month, and if not whether it is late (by days)."""

    state: str  # sent | late | waiting | nothing
    deadline: date
    sent_at: datetime | None = None
    days_late: int = 0  # late: days after the deadline; sent: days it came after it

    @property
    def label(self) -> str:
        return STATE_LABELS[self.state]

    @property
    def late(self) -> bool:
        return self.state == LATE


def sending(expected: bool, sent_at: datetime | None, deadline: date, today: date) -> Sending:
    """The rule, on Shanghai days: sent if the district holds the street's copy; otherwise
    nothing to send, not yet due (today on or before the deadline), or late by today − deadline
    days."""
    if sent_at is not None:
        sent_on = sent_at.astimezone(SHANGHAI).date()
        return Sending(SENT, deadline, sent_at, max(0, (sent_on - deadline).days))
    if not expected:
        return Sending(NOTHING, deadline)
    if today <= deadline:
        return Sending(WAITING, deadline)
    return Sending(LATE, deadline, None, (today - deadline).days)


def sent_times(session: Session, year: int, month: int, street_codes: Sequence[str]
               ) -> dict[str, datetime]:
    """Each street's first district copy of the month, from its PCs' audit events."""
    subjects = {f"report:{code}:{month_text(year, month)}": code for code in street_codes}
    event = models.AuditEvent
    found: dict[str, datetime] = {}
    for subject, street, detail, at in session.execute(
            select(event.subject, event.street_code, event.detail, event.at)
            .where(event.subject.in_(subjects), event.action.in_(SENT_ACTIONS),
                   event.device_id.is_not(None))
            .order_by(event.at)):
        code = subjects[subject]
        if street != code or (detail or {}).get("report") not in SENT_REPORTS:
            continue  # only the street's own PCs send its report
        found.setdefault(code, as_aware(at))
    return found


# -- the month of each street ---------------------------------------------------------------------

@dataclass(frozen=True)
class StreetMonth:
    code: str
    name: str
    summary: MonthlySummary
    payout: PayoutList
    sending: Sending


@dataclass(frozen=True)
class CategoryTotal:
    program_label: str
    label: str
    applications: int
    persons: int
    amount: Decimal


@dataclass(frozen=True)
class DistrictMonth:
    year: int
    month: int
    streets: tuple[StreetMonth, ...]

    @property
    def text(self) -> str:
        return month_text(self.year, self.month)

    @property
    def deadline(self) -> date:
        return report_deadline(self.year, self.month)

    @property
    def applications(self) -> int:
        return sum(s.summary.applications for s in self.streets)

    @property
    def persons(self) -> int:
        return sum(s.summary.persons for s in self.streets)

    @property
    def auto_enrolled(self) -> int:
        return sum(s.summary.auto_enrolled for s in self.streets)

    @property
    def total(self) -> Decimal:
        return sum((s.summary.total for s in self.streets), ZERO)

    @property
    def late(self) -> tuple[StreetMonth, ...]:
        return tuple(s for s in self.streets if s.sending.late)

    @property
    def categories(self) -> tuple[CategoryTotal, ...]:
        """The streets' category lines added up (persons are per street: a person is in one
        street)."""
        labels = {p.program: p.label for s in self.streets for p in s.summary.programs}
        keys: dict[tuple[str, str], str] = {}
        counts: dict[tuple[str, str], list[Any]] = defaultdict(lambda: [0, 0, ZERO])
        for s in self.streets:
            for c in s.summary.categories:
                key = (c.program, c.category)
                keys.setdefault(key, c.label)
                counts[key][0] += c.applications
                counts[key][1] += c.persons
                counts[key][2] += c.amount
        return tuple(CategoryTotal(labels.get(program, program), keys[(program, code)],
                                   *counts[(program, code)]) for program, code in keys)


def month_period(year: int, month: int) -> tuple[date, date]:
    """The month's first and last day on Shanghai's calendar (desktop.domain.clock)."""
    start, end = month_range(year, month)
    return (start.astimezone(SHANGHAI).date(),
            end.astimezone(SHANGHAI).date() - timedelta(days=1))


def district_month(session: Session, year: int, month: int,
                   streets: Sequence[tuple[str, str]], today: date) -> DistrictMonth:
    """The month of `streets` ((code, name) pairs the caller may see), as of `today`."""
    codes = [code for code, _name in streets]
    settled = _settled(session, year, month, codes)
    enrolments = _enrolments(session, year, month, codes)
    sent = sent_times(session, year, month, codes)
    deadline = report_deadline(year, month)
    first, last = month_period(year, month)
    out = []
    for code, name in streets:
        mine = settled.get(code, [])
        count, fees = enrolments.get(code, (0, ZERO))
        summary = figures.monthly_summary(
            mine, street_code=code, year=year, month=month, period_start=first,
            period_end=last, enrolment_count=count, enrolment_fees=fees)
        # the counter's 发放清单 (desktop.services.reports.payout_list), cards to their last 4
        payout = figures.payout_list(
            mine, street_code=code, year=year, month=month, period_start=first,
            period_end=last, masked=True, show_id=mask_id_number, show_card=_last4)
        expected = bool(mine) or bool(count)
        out.append(StreetMonth(code, name, summary, payout,
                               sending(expected, sent.get(code), deadline, today)))
    return DistrictMonth(year, month, tuple(out))


def mask_last4(account: str | None) -> str | None:
    """A card with its last 4 digits only: ****1234."""
    if not account:
        return None
    return _last4(account)


def _last4(account: str) -> str:
    return "****" + account[-4:]


NO_PERSON = "（本机缓存中已无此人）"  # the counters' words for a person they no longer hold


def _settled(session: Session, year: int, month: int, codes: Sequence[str]
             ) -> dict[str, list[Settled]]:
    start, end = month_range(year, month)
    app = models.Application
    approved_in_month = select(models.Signature.application_id).where(
        models.Signature.role == "approver", models.Signature.received_at >= start,
        models.Signature.received_at < end)
    rows = list(session.scalars(
        select(app).where(app.id.in_(approved_in_month), app.street_code.in_(codes),
                          app.status.in_(PAYABLE)).order_by(app.id)))
    if not rows:
        return {}
    ids = [a.id for a in rows]
    buckets: dict[str, dict[str, str]] = defaultdict(dict)
    for app_id, bucket, fen in session.execute(
            select(models.ApplicationBucket.application_id, models.ApplicationBucket.bucket,
                   models.ApplicationBucket.amount_fen)
            .where(models.ApplicationBucket.application_id.in_(ids))):
        buckets[app_id][bucket] = from_fen(fen)
    persons = {p.id: p for p in session.scalars(select(models.Person).where(
        models.Person.id.in_({a.person_id for a in rows})))}
    parameters = current_parameters(session)  # as the push computed it (M18)
    out: dict[str, list[Settled]] = defaultdict(list)
    for a in rows:
        try:
            result = result_to_json(calculate(parse_case(a.case_json, parameters), parameters),
                                    parameters)
        except CalcInputError:
            result = {}  # no split by category: the bucket totals alone
        person = persons.get(a.person_id)
        out[a.street_code].append(figures.settle(ApplicationFigures(
            id=uuid.UUID(a.id), program=a.program, district=a.district,
            person_id=a.person_id, name=person.name if person else NO_PERSON,
            id_number=person.id_number if person else "",
            committee=person.committee if person else None,
            bank_account=a.bank_account or (person.bank_account if person else None),
            payable=Decimal(from_fen(a.payable_fen)), buckets=buckets.get(a.id, {}),
            case=a.case_json, result=result, auto_enrolled=a.auto_enrolled)))
    return out


def _enrolments(session: Session, year: int, month: int, codes: Sequence[str]
                ) -> dict[str, tuple[int, Decimal]]:
    first, last = month_period(year, month)
    e = models.Enrolment
    return {code: (count, Decimal(from_fen(int(fen or 0)))) for code, count, fen in
            session.execute(select(e.street_code, func.count(e.id), func.sum(e.fee_fen))
                            .where(e.paid_on >= first, e.paid_on <= last,
                                   e.street_code.in_(codes)).group_by(e.street_code))}


# -- the workbook ----------------------------------------------------------------------------
# The counters' sheets (desktop.printing.xlsx, which district/ may not import): row 1 the title,
# row 2 the period, row 3 the column headings; amounts numeric "#,##0.00", IDs and cards text;
# totals written as values.

SUMMARY_SHEET = "结算汇总表"
PAYOUT_SHEET = "发放清单"
AMOUNT, COUNT, TEXT = "#,##0.00", "0", "@"
_THIN = Side(style="thin")
_BOX = Border(left=_THIN, right=_THIN, top=_THIN, bottom=_THIN)
_BOLD = Font(bold=True)
_TITLE = Font(bold=True, size=14)
_CENTER = Alignment(horizontal="center", vertical="center")


def _street_label(street: StreetMonth) -> str:
    return f"{street.name}（{street.code}）"


def _date_cn(day: date) -> str:
    return f"{day.year}年{day.month:02d}月{day.day:02d}日"


def _period_text(first: date, last: date) -> str:
    return f"统计期间：{_date_cn(first)}至{_date_cn(last)}（按审批人签字日期，上海时间）"


def workbook_bytes(report: DistrictMonth, *, prepared_by: str, prepared_on: date) -> bytes:
    """One workbook: 区汇总 (by street, by category), then each street's 结算汇总表 and 发放清单
    as the counters write them."""
    workbook = Workbook()
    first = workbook.active
    assert first is not None
    _district_sheet(first, report, prepared_by, prepared_on)
    for street in report.streets:
        summary = workbook.create_sheet(_sheet_title(street.name, SUMMARY_SHEET))
        _summary_sheet(summary, street.summary, _street_label(street), prepared_by, prepared_on)
        payout = workbook.create_sheet(_sheet_title(street.name, PAYOUT_SHEET))
        _payout_sheet(payout, street.payout, _street_label(street), prepared_by, prepared_on)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def _sheet_title(name: str, form: str) -> str:
    return f"{name}{form}"[:31]  # Excel's limit


def _district_sheet(sheet: Worksheet, report: DistrictMonth, prepared_by: str,
                    day: date) -> None:
    sheet.title = DISTRICT_SHEET
    columns = ("街镇 / 对象类别", "代码 / 项目", "件数", "人数", "金额（元）", "报送情况")
    formats = (TEXT, TEXT, COUNT, COUNT, AMOUNT, TEXT)
    first, last = month_period(report.year, report.month)
    _heading(sheet, f"{report.year}年{report.month:02d}月 各街镇结算汇总",
             _period_text(first, last), columns, (26, 20, 10, 10, 18, 22))
    sheet.cell(sheet.max_row + 1, 1, "一、按街镇").font = _BOLD
    for s in report.streets:
        _table_row(sheet, (s.name, s.code, s.summary.applications, s.summary.persons,
                           s.summary.total, _sending_text(s.sending)), formats)
    _table_row(sheet, ("合计", "", report.applications, report.persons, report.total, ""),
               formats, bold=True)
    sheet.cell(sheet.max_row + 1, 1, "二、按对象类别").font = _BOLD
    for c in report.categories:
        _table_row(sheet, (c.label, c.program_label, c.applications, c.persons, c.amount, ""),
                   formats)
    _table_row(sheet, ("合计", "", None, None, report.total, ""), formats, bold=True)
    _footer(sheet, prepared_by, day, len(columns))


def _summary_sheet(sheet: Worksheet, summary: MonthlySummary, street: str, prepared_by: str,
                   day: date) -> None:
    columns = ("申请项目", "对象类别 / 分项", "件数", "人数", "金额（元）")
    formats = (TEXT, TEXT, COUNT, COUNT, AMOUNT)
    _heading(sheet, f"{street} {summary.year}年{summary.month:02d}月 结算汇总表",
             _period_text(summary.period_start, summary.period_end), columns,
             (26, 34, 10, 10, 18))
    labels = {p.program: p.label for p in summary.programs}
    rows: list[tuple[str, Sequence[Any], bool]] = [("一、按申请项目", (), False)]
    rows += [("", (p.label, "", p.applications, p.persons, p.amount), False)
             for p in summary.programs]
    rows.append(("", ("合计", "", summary.applications, summary.persons, summary.total), True))
    rows.append(("", ("其中免申即享", "", summary.auto_enrolled, None, None), False))
    # category and bucket counts overlap: their total rows carry the amount only
    rows.append(("二、按对象类别", (), False))
    rows += [("", (labels.get(c.program, c.program), c.label, c.applications, c.persons,
                   c.amount), False) for c in summary.categories]
    rows.append(("", ("合计", "", None, None, summary.total), True))
    rows.append(("三、按分项", (), False))
    rows += [("", (labels.get(b.program, b.program), b.label, b.applications, None, b.amount),
              False) for b in summary.buckets]
    rows.append(("", ("合计", "", None, None, summary.total), True))
    rows.append(("四、互助帮困登记缴费（本月收取，不计入发放）", (), False))
    fees = summary.enrolments
    rows.append(("", (fees.label, "", fees.count, fees.count, fees.fees), False))
    for section, cells, total in rows:
        if section:
            row = sheet.max_row + 1
            sheet.cell(row, 1, section).font = _BOLD
            sheet.merge_cells(start_row=row, start_column=1, end_row=row,
                              end_column=len(columns))
        else:
            _table_row(sheet, cells, formats, bold=total)
    _footer(sheet, prepared_by, day, len(columns))


def _payout_sheet(sheet: Worksheet, payout: PayoutList, street: str, prepared_by: str,
                  day: date) -> None:
    columns = ("序号", "姓名", "身份证号", "居委", "银行卡号", "件数", "医疗救助（元）",
               "互助帮困（元）", "金额（元）")
    formats = (COUNT, TEXT, TEXT, TEXT, TEXT, COUNT, AMOUNT, AMOUNT, AMOUNT)
    _heading(sheet, f"{street} {payout.year}年{payout.month:02d}月 发放清单",
             f"{_period_text(payout.period_start, payout.period_end)}；{CONSOLE_COPY}",
             columns, (7, 12, 22, 16, 24, 7, 16, 16, 16))
    for line in payout.lines:
        _table_row(sheet, (line.number, line.name, line.id_number, line.committee or "",
                           line.bank_account or "未登记银行卡", line.applications,
                           line.assistance, line.mutual_aid, line.amount), formats)
    _table_row(sheet, ("合计", f"{payout.persons}人", "", "", "", payout.applications,
                       payout.assistance, payout.mutual_aid, payout.total),
               (TEXT, *formats[1:]), bold=True)
    if payout.without_card:
        row = sheet.max_row + 1
        sheet.cell(row, 1, f"注：有 {payout.without_card} 人未登记银行卡号，请补录后再报送。")
        sheet.merge_cells(start_row=row, start_column=1, end_row=row, end_column=len(columns))
    sheet.freeze_panes = "A4"
    sheet.page_setup.orientation = "landscape"
    _footer(sheet, prepared_by, day, len(columns))


def _heading(sheet: Worksheet, title: str, subtitle: str, columns: Sequence[str],
             widths: Sequence[int]) -> None:
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
        if isinstance(value, str):
            cell.data_type = "s"  # a name or a committee starting with "=" is text, no formula
        cell.number_format = number_format if value is not None else TEXT
        cell.border = _BOX
        if bold:
            cell.font = _BOLD


def _footer(sheet: Worksheet, prepared_by: str, day: date, width: int) -> None:
    row = sheet.max_row + 2
    sheet.cell(row, 1, f"制表人：{prepared_by or '__________'}　　　　日期：{_date_cn(day)}")
    sheet.merge_cells(start_row=row, start_column=1, end_row=row, end_column=width)


def _sending_text(s: Sending) -> str:
    if s.state == LATE:
        return f"{s.label}，逾期 {s.days_late} 天"
    if s.state == SENT and s.sent_at is not None:
        return f"{s.label}（{s.sent_at.astimezone(SHANGHAI):%Y-%m-%d}）"
    return s.label


# -- the PDF ---------------------------------------------------------------------------------
# The counters' two forms (forms/monthly_summary.yaml, forms/payout_list.yaml: their titles,
# heads and columns), laid out by reportlab's platypus here, with the counters' font
# (resources/fonts, WenQuanYi Micro Hei). Each form starts on a new page.

SUMMARY_TITLE = "医疗救助帮困月度结算汇总表"
PAYOUT_TITLE = "医疗救助帮困发放清单"
PDF_FONT = "DistrictMonthWQY"  # its own name: the counter's engine registers the file too
FONTS = Path(__file__).resolve().parents[2] / "resources" / "fonts"
_font_ready = False


def _font() -> str:
    global _font_ready
    if not _font_ready:
        pdfmetrics.registerFont(TTFont(PDF_FONT, str(FONTS / "wqy-microhei.ttc"),
                                       subfontIndex=0))
        _font_ready = True
    return PDF_FONT


def _amount(value: Decimal) -> str:
    return f"{value:,.2f}"


def pdf_bytes(report: DistrictMonth, *, prepared_by: str, prepared_on: date) -> bytes:
    """Each street's 结算汇总表 and 发放清单 in one A4 PDF, laid out as the counters' forms."""
    font = _font()
    styles = {
        "title": ParagraphStyle("title", fontName=font, fontSize=15, leading=20,
                                alignment=1, spaceAfter=4 * mm),
        "body": ParagraphStyle("body", fontName=font, fontSize=9, leading=13),
        "cell": ParagraphStyle("cell", fontName=font, fontSize=8, leading=10),
    }
    story: list[Flowable] = []
    for n, street in enumerate(report.streets):
        if n:
            story.append(PageBreak())
        story += _summary_story(street, styles, prepared_by, prepared_on)
        story.append(PageBreak())
        story += _payout_story(street, styles, prepared_by, prepared_on)
    if not story:
        story.append(Paragraph(f"{report.text} 无可显示的街镇", styles["body"]))
    buffer = io.BytesIO()
    title = f"{report.year}年{report.month:02d}月 各街镇结算汇总表及发放清单"

    def number(canvas: Canvas, doc: Any) -> None:
        canvas.setFont(font, 8)
        canvas.drawCentredString(A4[0] / 2, 10 * mm, f"第 {doc.page} 页")

    SimpleDocTemplate(buffer, pagesize=A4, title=title, leftMargin=15 * mm,
                      rightMargin=15 * mm, topMargin=15 * mm, bottomMargin=18 * mm
                      ).build(story, onFirstPage=number, onLaterPages=number)
    return buffer.getvalue()


def _table(rows: list[list[Any]], widths: Sequence[float], right_from: int, font: str,
           bold_last: bool = False) -> Table:
    table = Table(rows, colWidths=[w * mm for w in widths], repeatRows=1)
    style = [("FONT", (0, 0), (-1, -1), font, 8), ("GRID", (0, 0), (-1, -1), 0.5, colors.black),
             ("ALIGN", (right_from, 1), (-1, -1), "RIGHT"), ("ALIGN", (0, 0), (-1, 0), "CENTER"),
             ("VALIGN", (0, 0), (-1, -1), "MIDDLE")]
    if bold_last:
        style.append(("LINEABOVE", (0, -1), (-1, -1), 1.2, colors.black))
    table.setStyle(TableStyle(style))
    return table


def _summary_story(street: StreetMonth, styles: dict[str, ParagraphStyle], prepared_by: str,
                   day: date) -> list[Flowable]:
    summary, body = street.summary, styles["body"]
    rows: list[list[Any]] = [["分类", "名称", "件数", "人数", "金额（元）"]]
    rows += [["项目", p.label, str(p.applications), str(p.persons), _amount(p.amount)]
             for p in summary.programs]
    rows += [["对象类别", Paragraph(c.label, styles["cell"]), str(c.applications),
              str(c.persons), _amount(c.amount)] for c in summary.categories]
    rows += [["救助项目", Paragraph(b.label, styles["cell"]), str(b.applications), "",
              _amount(b.amount)] for b in summary.buckets]
    fees = summary.enrolments
    rows.append(["收取缴费", Paragraph(fees.label, styles["cell"]), str(fees.count), "",
                 _amount(fees.fees)])
    return [
        Paragraph(SUMMARY_TITLE, styles["title"]),
        Paragraph(f"街道（镇）：{xml_escape(_street_label(street))}　　结算月份：{summary.year}年"
                  f"{summary.month:02d}月", body),
        Paragraph(_period_text(summary.period_start, summary.period_end), body),
        Spacer(1, 3 * mm),
        _table(rows, (30, 70, 22, 22, 36), 2, styles["cell"].fontName),
        Spacer(1, 3 * mm),
        Paragraph(f"本月救助合计（元）：{_amount(summary.total)}", body),
        Paragraph(f"件数 / 人数：申请 {summary.applications} 件，{summary.persons} 人"
                  f"（其中免申即享 {summary.auto_enrolled} 件）", body),
        Spacer(1, 4 * mm),
        Paragraph(f"制表人：{xml_escape(prepared_by)}　　制表日期：{_date_cn(day)}"
                  "　　审核人：", body),
    ]


def _payout_story(street: StreetMonth, styles: dict[str, ParagraphStyle], prepared_by: str,
                  day: date) -> list[Flowable]:
    payout, body = street.payout, styles["body"]
    rows: list[list[Any]] = [["序号", "姓名", "身份证号码", "居委", "银行卡号", "医疗救助",
                              "互助帮困", "合计（元）", "签收"]]
    rows += [[str(line.number), Paragraph(xml_escape(line.name), styles["cell"]), line.id_number,
              Paragraph(xml_escape(line.committee or ""), styles["cell"]),
              line.bank_account or "（无卡号）", _amount(line.assistance),
              _amount(line.mutual_aid), _amount(line.amount), ""] for line in payout.lines]
    rows.append(["合计", f"{payout.persons}人", "", "", "", _amount(payout.assistance),
                 _amount(payout.mutual_aid), _amount(payout.total), ""])
    counts = (f"{payout.persons} 人，申请 {payout.applications} 件；其中医疗救助 "
              f"{_amount(payout.assistance)} 元，互助帮困 {_amount(payout.mutual_aid)} 元")
    if payout.without_card:
        counts += f"；{payout.without_card} 人无银行卡号，须补齐后发放"
    return [
        Paragraph(f"{PAYOUT_TITLE}（区管理台副本）", styles["title"]),
        Paragraph(f"街道（镇）：{xml_escape(_street_label(street))}　　结算月份：{payout.year}年"
                  f"{payout.month:02d}月", body),
        Paragraph(f"{_period_text(payout.period_start, payout.period_end)}；{CONSOLE_COPY}",
                  body),
        Spacer(1, 3 * mm),
        _table(rows, (8, 16, 34, 18, 36, 17, 17, 18, 16), 5, styles["cell"].fontName,
               bold_last=True),
        Spacer(1, 3 * mm),
        Paragraph(f"发放合计（元）：{_amount(payout.total)}", body),
        Paragraph(counts, body),
        Spacer(1, 4 * mm),
        Paragraph(f"制表人：{xml_escape(prepared_by)}　　制表日期：{_date_cn(day)}", body),
    ]
