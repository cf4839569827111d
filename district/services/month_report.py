"""The month of every street on the district (issue 14 point 5): each street's 结算汇总表 and
发放清单 as the counters make them, the district's workbook and PDF of them, and who has not
sent theirs by the 20th (CN-2026 3.5).

Which applications. The district's one month rule (district.services.summary.monthly_summary,
desktop.domain.clock): the month in which the district accepted the 审批人's signature, on
Shanghai's calendar, and still payable; placed in the street whose PC pushed it. So the totals
here are those of GET /monthly-summary, to the fen.

The same forms as the counters. The amounts by category, bucket and program, and the payout
lines, are computed by the counter's own code (desktop.services.reports: its split of an
application by category, its program, category and bucket lines), fed with the district's rows
instead of a counter's store; the district recomputes each application's engine result from
the case it accepted (the same engine and parameters it checked the push with). The workbook
and the PDF are written by the counter's writers (desktop.printing.xlsx, reports_pdf), one
pair of forms per street, after a first sheet (or page) of the district's totals.

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
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from openpyxl import Workbook
from openpyxl.worksheet.worksheet import Worksheet
from sqlalchemy import func, select
from sqlalchemy.orm import Session

import desktop.services.reports as reports
from desktop.domain.id_number import mask_id_number
from desktop.policy.contract import default_parameters, parse_case, result_to_json
from desktop.policy.engine import calculate
from desktop.policy.errors import CalcInputError
from desktop.policy.model import Program
from desktop.printing import reports_pdf, xlsx
from desktop.printing.forms import load_form
from desktop.printing.render import _continue_table, _draw, _Overflow, _pages_needed, _Pdf
from desktop.services.reports import (
    ENROLMENT_LABEL,
    PROGRAMS,
    ZERO,
    EnrolmentLine,
    MonthlySummary,
    PayoutLine,
    PayoutList,
)
from desktop.store.models import ApplicationRecord
from district import models
from district.schemas import MONTH_PATTERN
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


def district_month(session: Session, year: int, month: int,
                   streets: Sequence[tuple[str, str]], today: date) -> DistrictMonth:
    """The month of `streets` ((code, name) pairs the caller may see), as of `today`."""
    codes = [code for code, _name in streets]
    settled = _settled(session, year, month, codes)
    enrolments = _enrolments(session, year, month, codes)
    sent = sent_times(session, year, month, codes)
    deadline = report_deadline(year, month)
    first, last, _start, _end = reports._period(year, month)
    out = []
    for code, name in streets:
        mine = settled.get(code, [])
        fees = enrolments.get(code, (0, ZERO))
        summary = MonthlySummary(
            street_code=code, year=year, month=month, period_start=first, period_end=last,
            programs=tuple(reports._program_line(p, mine) for p in PROGRAMS),
            categories=reports._category_lines(mine), buckets=reports._bucket_lines(mine),
            enrolments=EnrolmentLine(ENROLMENT_LABEL, fees[0], fees[1]),
            applications=len(mine), persons=len({s.person_id for s in mine}),
            total=sum((s.payable for s in mine), ZERO),
            auto_enrolled=sum(1 for s in mine if s.auto_enrolled))
        expected = bool(mine) or bool(fees[0])
        out.append(StreetMonth(code, name, summary, _payout(code, year, month, first, last, mine),
                               sending(expected, sent.get(code), deadline, today)))
    return DistrictMonth(year, month, tuple(out))


def mask_last4(account: str | None) -> str | None:
    """A card with its last 4 digits only: ****1234."""
    if not account:
        return None
    return "****" + account[-4:]


def _settled(session: Session, year: int, month: int, codes: Sequence[str]
             ) -> dict[str, list[reports._Settled]]:
    start, end = reports.month_bounds(year, month)
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
    parameters = default_parameters()
    out: dict[str, list[reports._Settled]] = defaultdict(list)
    for a in rows:
        try:
            result = result_to_json(calculate(parse_case(a.case_json, parameters), parameters),
                                    parameters)
        except CalcInputError:
            result = {}  # no split by category: the bucket totals alone (reports._shares)
        record = ApplicationRecord(
            id=uuid.UUID(a.id), program=a.program, district=a.district,
            person_id=a.person_id, payable=Decimal(from_fen(a.payable_fen)),
            buckets=buckets.get(a.id, {}), case=a.case_json, result=result,
            auto_enrolled=a.auto_enrolled)
        split = reports._bucket_amounts(record)
        person = persons.get(a.person_id)
        account = a.bank_account or (person.bank_account if person else None)
        out[a.street_code].append(reports._Settled(
            application_id=record.id, program=a.program, person_id=a.person_id,
            name=person.name if person else reports.NO_PERSON,
            id_number=person.id_number if person else "",
            committee=person.committee if person else None,
            bank_account=reports._digits(account) if account else None,
            payable=record.payable, buckets=split, shares=reports._shares(record, split),
            categories=frozenset(reports._claimed_categories(record)),
            auto_enrolled=a.auto_enrolled))
    return out


def _enrolments(session: Session, year: int, month: int, codes: Sequence[str]
                ) -> dict[str, tuple[int, Decimal]]:
    first, last, _start, _end = reports._period(year, month)
    e = models.Enrolment
    return {code: (count, Decimal(from_fen(int(fen or 0)))) for code, count, fen in
            session.execute(select(e.street_code, func.count(e.id), func.sum(e.fee_fen))
                            .where(e.paid_on >= first, e.paid_on <= last,
                                   e.street_code.in_(codes)).group_by(e.street_code))}


def _payout(code: str, year: int, month: int, first: date, last: date,
            settled: Sequence[reports._Settled]) -> PayoutList:
    """The counter's 发放清单 (desktop.services.reports.payout_list), cards to their last 4."""
    groups: dict[tuple[str, str | None], list[reports._Settled]] = defaultdict(list)
    for s in settled:
        groups[(s.person_id, s.bank_account)].append(s)
    entries = []
    for (person_id, account), mine in groups.items():
        amount = sum((s.payable for s in mine), ZERO)
        if not amount:
            continue
        head = mine[0]
        by_program = {p: sum((s.payable for s in mine if s.program == p), ZERO)
                      for p in PROGRAMS}
        entries.append(((head.committee or "", head.name, person_id, account or ""), PayoutLine(
            number=0, person_id=person_id, name=head.name,
            id_number=mask_id_number(head.id_number) if head.id_number else "",
            committee=head.committee, bank_account=mask_last4(account),
            applications=len(mine), assistance=by_program[Program.ASSISTANCE],
            mutual_aid=by_program[Program.MUTUAL_AID], amount=amount)))
    entries.sort(key=lambda e: e[0])
    lines = tuple(replace(line, number=n) for n, (_key, line) in enumerate(entries, start=1))
    return PayoutList(
        street_code=code, year=year, month=month, period_start=first, period_end=last,
        masked=True, lines=lines, persons=len({line.person_id for line in lines}),
        applications=sum(line.applications for line in lines),
        assistance=sum((line.assistance for line in lines), ZERO),
        mutual_aid=sum((line.mutual_aid for line in lines), ZERO),
        total=sum((line.amount for line in lines), ZERO),
        without_card=sum(1 for line in lines if line.bank_account is None))


# -- the workbook and the PDF -----------------------------------------------------------------

def _street_label(street: StreetMonth) -> str:
    return f"{street.name}（{street.code}）"


def workbook_bytes(report: DistrictMonth, *, prepared_by: str, prepared_on: date) -> bytes:
    """One workbook: 区汇总 (by street, by category), then each street's 结算汇总表 and 发放清单
    as the counter writes them (desktop.printing.xlsx)."""
    workbook = Workbook()
    first = workbook.active
    assert first is not None
    _district_sheet(first, report, prepared_by, prepared_on)
    for street in report.streets:
        summary = workbook.create_sheet()
        xlsx._summary_sheet(summary, street.summary, _street_label(street), prepared_by,
                            prepared_on)
        summary.title = _sheet_title(street.name, xlsx.SUMMARY_SHEET)
        payout = workbook.create_sheet(_sheet_title(street.name, xlsx.PAYOUT_SHEET))
        xlsx._payout_sheet(payout, street.payout, _street_label(street), prepared_by,
                           prepared_on)
        payout.cell(2, 1).value = f"{xlsx._period_text(street.payout)}；{CONSOLE_COPY}"
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def _sheet_title(name: str, form: str) -> str:
    return f"{name}{form}"[:31]  # Excel's limit


def _district_sheet(sheet: Worksheet, report: DistrictMonth, prepared_by: str,
                    day: date) -> None:
    sheet.title = DISTRICT_SHEET
    columns = ("街镇 / 对象类别", "代码 / 项目", "件数", "人数", "金额（元）", "报送情况")
    formats = (xlsx.TEXT, xlsx.TEXT, xlsx.COUNT, xlsx.COUNT, xlsx.AMOUNT, xlsx.TEXT)
    first, last, _s, _e = reports._period(report.year, report.month)
    xlsx._heading(sheet, f"{report.year}年{report.month:02d}月 各街镇结算汇总",
                  f"统计期间：{xlsx._date_cn(first)}至{xlsx._date_cn(last)}"
                  "（按审批人签字日期，上海时间）", columns, (26, 20, 10, 10, 18, 22))
    sheet.cell(sheet.max_row + 1, 1, "一、按街镇").font = xlsx._BOLD
    for s in report.streets:
        xlsx._table_row(sheet, (s.name, s.code, s.summary.applications, s.summary.persons,
                                s.summary.total, _sending_text(s.sending)), formats)
    xlsx._table_row(sheet, ("合计", "", report.applications, report.persons, report.total,
                            ""), formats, bold=True)
    sheet.cell(sheet.max_row + 1, 1, "二、按对象类别").font = xlsx._BOLD
    for c in report.categories:
        xlsx._table_row(sheet, (c.label, c.program_label, c.applications, c.persons,
                                c.amount, ""), formats)
    xlsx._table_row(sheet, ("合计", "", None, None, report.total, ""), formats, bold=True)
    xlsx._footer(sheet, prepared_by, day, len(columns))


def _sending_text(s: Sending) -> str:
    if s.state == LATE:
        return f"{s.label}，逾期 {s.days_late} 天"
    if s.state == SENT and s.sent_at is not None:
        return f"{s.label}（{s.sent_at.astimezone(SHANGHAI):%Y-%m-%d}）"
    return s.label


def pdf_bytes(report: DistrictMonth, *, prepared_by: str, prepared_on: date) -> bytes:
    """Each street's 结算汇总表 and 发放清单 in one PDF, drawn by the counter's form engine
    with the counter's forms and data (desktop.printing.reports_pdf), each form numbered on
    its own."""
    parts: list[tuple[str, dict[str, Any]]] = []
    for street in report.streets:
        context: dict[str, Any] = {"street_name": _street_label(street),
                                   "prepared_by": prepared_by, "prepared_on": prepared_on}
        parts.append(("monthly_summary", reports_pdf.summary_data(street.summary, **context)))
        payout = reports_pdf.payout_data(street.payout, **context)
        payout["copy"] = "（区管理台副本）"  # cards to their last 4 digits
        parts.append(("payout_list", payout))
    forms = {name: load_form(name) for name in ("monthly_summary", "payout_list")}
    pdf = _Pdf(forms["monthly_summary"], None, None)
    pdf.canvas.setTitle(f"{report.year}年{report.month:02d}月 各街镇结算汇总表及发放清单")
    for name, data in parts:
        form = forms[name]
        pdf.form = form
        overflows: list[_Overflow] = []
        for element in form.elements:
            rest = _draw(pdf, element, data, form.font_size)
            if rest is not None:
                overflows.append(rest)
        pages = 1 + sum(_pages_needed(pdf, o) for o in overflows)
        pdf.decorate(1, pages)
        page = 1
        for overflow in overflows:
            page = _continue_table(pdf, overflow, page, pages, form)
        pdf.canvas.showPage()
    pdf.canvas.save()
    return pdf.buffer.getvalue()
