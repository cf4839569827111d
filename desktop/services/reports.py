"""The month's report of a street to the district (CN-2026 3.5, POLICY.md §6.6): the settlement
summary (结算汇总表) and the payout list (发放清单), read from the local store. No Qt.

Which applications a month holds. CN-2026 3.4 makes the approval form, signed by 经办人, 审核人
and 审批人, the confirmation of a settlement, and 3.5 has each street report "本月救助结算" to the
district by the 20th. So an application belongs to the month in which the district accepted its
审批人's signature, on the calendar of Shanghai (an approval accepted at 00:30 on 1 July
Shanghai time is July's, though it is still 30 June in UTC): one rule, in
desktop.domain.clock.settlement_month, that the district's monthly summary imports too, so the
two summaries of a street agree. An approval made offline waits for the month the district
accepts it in. And only while it is payable:
status "approved" or "paid". One the district refused after the approval (status "review")
is not paid, so it is not listed. The month is the calendar month: a street
that sends its report before month end prints it again once the month is closed (the sources do
not say where a report sent on the 20th cuts off).

Whose street. The street the person belonged to when the application was saved (the
applicant snapshot), or, for applications saved before snapshots were kept, the person's
street in the cache. An application whose person is gone from the cache and has no snapshot
cannot be placed in any street and is left out.

How an application's amount is split by category. The engine pays per invoice year and bucket
(POLICY.md §0.4); each such line of the saved result ("years") is shared among this
application's claimed rows that fed the bucket, in proportion to what each row alone would give
before caps and thresholds (the engine's rules, with the rate it applied and the parameters in
force on the row's date): rate × base for 门急诊 and 住院 (the base is the self-pay, less the
起付线 part where the 起付线 subsidy applies), the subsidised 起付线 part for 门急诊起付线补助,
the self-pay left after those for the 区级二次救助, the self-pay for the card allowance. Without
caps the shares are exactly what each category was paid; with a cap reached they share the cut
in the same proportion. The shares are rounded to the fen by largest remainder, so a line's
shares add up to the line, an application's to its payable, and every table of the summary to
the same grand total. Mutual aid has no recipient categories: its applications form one line,
互助帮困参加对象.

Counts. A program line counts each application once. A category line counts the applications
with a claimed row in that category, a bucket line those with an amount in that bucket: an
application spanning two categories (or buckets) is counted in both, so these counts need not
add up to the number of applications; the amounts always do. The summary also counts, among the
month's applications, those marked 免申即享 (claimed in the monthly run, CN-2026 3.3).

The payout list has one line per person and bank card (normally one per person: a person paid
to two cards in one month gets two lines), with the sum of their applications of the month; a
person whose applications pay nothing in total is not listed. Mutual-aid enrolments paid at
this counter in the month (statuses "saved" and "accepted": the fee was taken and not refused)
are a separate line of the summary, money received rather than paid out.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from desktop.domain.bank_card import mask_card
from desktop.domain.clock import SHANGHAI, month_range
from desktop.domain.id_number import mask_id_number
from desktop.policy.contract import default_parameters
from desktop.policy.labels import PROGRAM_LABELS, bucket_label
from desktop.policy.model import Bucket, Program
from desktop.store import Store, append_audit
from desktop.store.models import (
    ApplicationRecord,
    EnrolmentRecord,
    PersonRecord,
)

ZERO = Decimal("0.00")
FEN = Decimal("0.01")
# Applications a month pays: approved (审批人 signed), or already paid by the district.
SETTLED = ("approved", "paid")
# Enrolment fees taken at the counter and not refused by the district.
FEES_TAKEN = ("saved", "accepted")
MEMBER = "member"  # the one "category" of mutual aid: its members (GLOSSARY 参加对象)
MEMBER_LABEL = "互助帮困参加对象"
UNKNOWN = "unknown"
UNKNOWN_LABEL = "未注明类别"
NO_PERSON = "（本机缓存中已无此人）"
ENROLMENT_LABEL = "市民社区医疗互助帮困登记缴费"
PROGRAMS = (Program.ASSISTANCE, Program.MUTUAL_AID)
# The buckets each program pays, in the order the summary lists them.
PROGRAM_BUCKETS: dict[Program, tuple[Bucket, ...]] = {
    Program.ASSISTANCE: (Bucket.OUTPATIENT, Bucket.INPATIENT, Bucket.DEDUCTIBLE,
                         Bucket.DISTRICT),
    Program.MUTUAL_AID: (Bucket.ALLOWANCE, Bucket.OUTPATIENT, Bucket.INPATIENT),
}


class ReportDataError(ValueError):
    """An application's saved amounts do not add up; the message names it, in Chinese."""


# -- what the report holds ---------------------------------------------------------------------

@dataclass(frozen=True)
class ProgramLine:
    program: str  # assistance | mutual_aid
    label: str
    applications: int
    persons: int
    amount: Decimal


@dataclass(frozen=True)
class CategoryLine:
    program: str
    category: str  # the engine's category code; "member" for mutual aid; "unknown"
    label: str
    applications: int  # with a claimed row in this category
    persons: int
    amount: Decimal


@dataclass(frozen=True)
class BucketLine:
    program: str
    bucket: str
    label: str
    applications: int  # with an amount in this bucket
    amount: Decimal


@dataclass(frozen=True)
class EnrolmentLine:
    """Mutual-aid enrolment fees taken at this counter in the month (money received)."""

    label: str
    count: int
    fees: Decimal


@dataclass(frozen=True)
class MonthlySummary:
    """结算汇总表: one street, one month. Every table's amounts add up to `total`."""

    street_code: str
    year: int
    month: int
    period_start: date  # first day of the month (Shanghai)
    period_end: date  # last day, inclusive
    programs: tuple[ProgramLine, ...]
    categories: tuple[CategoryLine, ...]
    buckets: tuple[BucketLine, ...]
    enrolments: EnrolmentLine
    applications: int
    persons: int
    total: Decimal
    # of `applications`, those marked 免申即享 (CN-2026 3.3: claimed by the clerk in the
    # month's run for a person who signed the commitment)
    auto_enrolled: int = 0


@dataclass(frozen=True)
class PayoutLine:
    number: int  # 序号, from 1
    person_id: str
    name: str
    id_number: str  # always masked (mask_id_number)
    committee: str | None
    bank_account: str | None  # masked to first 6 and last 4 unless the district's copy
    applications: int
    assistance: Decimal
    mutual_aid: Decimal
    amount: Decimal  # assistance + mutual_aid


@dataclass(frozen=True)
class PayoutList:
    """发放清单: who is paid what, to which card. `masked` False: the district's copy."""

    street_code: str
    year: int
    month: int
    period_start: date
    period_end: date
    masked: bool
    lines: tuple[PayoutLine, ...]
    persons: int
    applications: int
    assistance: Decimal
    mutual_aid: Decimal
    total: Decimal
    without_card: int  # lines with no bank card on record: the clerk must get one


# -- the month's applications -------------------------------------------------------------------

@dataclass(frozen=True)
class _Settled:
    """One application of the month, with what the report needs of it."""

    application_id: uuid.UUID
    program: str
    person_id: str
    name: str
    id_number: str
    committee: str | None
    bank_account: str | None
    payable: Decimal
    buckets: dict[str, Decimal]
    shares: dict[tuple[str, str], Decimal]  # (category, bucket) -> amount, adds up to payable
    categories: frozenset[str]  # of its claimed rows
    auto_enrolled: bool = False  # marked 免申即享


def month_bounds(year: int, month: int) -> tuple[datetime, datetime]:
    """The month as an instant range [start, end) on Shanghai's calendar (the one rule both
    sides import: desktop.domain.clock.month_range)."""
    return month_range(year, month)


def _period(year: int, month: int) -> tuple[date, date, datetime, datetime]:
    start, end = month_bounds(year, month)
    first, after = start.astimezone(SHANGHAI).date(), end.astimezone(SHANGHAI).date()
    return first, after - timedelta(days=1), start, end


def _settled_applications(session: Session, street_code: str, start: datetime, end: datetime
                          ) -> list[_Settled]:
    # the one month rule (desktop.domain.clock.settlement_month): the month in which the
    # district accepted the 审批人's signature; one approved offline and not yet accepted
    # waits for the month the district accepts it in
    applications = list(session.scalars(
        select(ApplicationRecord)
        .where(ApplicationRecord.approval_accepted_at >= start,
               ApplicationRecord.approval_accepted_at < end,
               ApplicationRecord.status.in_(SETTLED),
               ApplicationRecord.accepted_at.is_not(None))
        .order_by(ApplicationRecord.approval_accepted_at, ApplicationRecord.id)))
    persons = {p.id: p for p in session.scalars(select(PersonRecord).where(
        PersonRecord.id.in_({a.person_id for a in applications})))} if applications else {}
    out = []
    for a in applications:
        person = persons.get(a.person_id)
        snapshot: Mapping[str, Any] = a.applicant or {}
        street = snapshot.get("street_code") or (person.street_code if person else None)
        if street != street_code:
            continue
        name = snapshot.get("name") or (person.name if person else NO_PERSON)
        id_number = snapshot.get("id_number") or (person.id_number if person else "")
        committee = snapshot.get("committee") or (person.committee if person else None)
        account = (a.bank_account or snapshot.get("bank_account")
                   or (person.bank_account if person else None))
        buckets = _bucket_amounts(a)
        out.append(_Settled(
            application_id=a.id, program=a.program, person_id=a.person_id, name=name,
            id_number=id_number, committee=committee,
            bank_account=_digits(account) if account else None, payable=a.payable,
            buckets=buckets, shares=_shares(a, buckets),
            categories=frozenset(_claimed_categories(a)), auto_enrolled=a.auto_enrolled))
    return out


def _bucket_amounts(a: ApplicationRecord) -> dict[str, Decimal]:
    buckets = {code: Decimal(amount) for code, amount in (a.buckets or {}).items()
               if Decimal(amount)}
    if sum(buckets.values(), ZERO) != a.payable or any(
            v < 0 or v != v.quantize(FEN) for v in buckets.values()):
        raise ReportDataError(
            f"申请 {a.id} 的分项金额之和与应付金额 {a.payable} 不符，无法汇总，请联系区医保中心。")
    return buckets


# -- splitting an application by category ---------------------------------------------------------

@dataclass(frozen=True)
class _Row:
    """A claimed row and what it alone would give before caps and thresholds, per bucket."""

    category: str
    bucket: str | None
    year: int | None
    self_pay: Decimal
    own: Decimal  # rate × base: its 门急诊 or 住院 amount
    deductible: Decimal  # its 门急诊起付线补助 (0 unless the subsidy applies to it)

    @property
    def after_city(self) -> Decimal:
        """Its self-pay left after city assistance: what the district second round pays on."""
        return max(ZERO, self.self_pay - self.own - self.deductible)


def _claimed_rows(a: ApplicationRecord) -> list[_Row]:
    """The rows this application claimed (they count and were not settled before)."""
    result: Mapping[str, Any] = a.result or {}
    case: Mapping[str, Any] = a.case or {}
    fees = {f.get("id"): f for f in case.get("fees", [])}
    resident = bool(case.get("person", {}).get("resident_insurance"))
    mutual_aid = a.program == Program.MUTUAL_AID
    rows = []
    for r in result.get("rows", []):
        if not r.get("counts") or r.get("settled"):
            continue
        fee = fees.get(r.get("id"), {})
        category = MEMBER if mutual_aid else (r.get("category") or UNKNOWN)
        day = _day(fee.get("date"))
        self_pay = Decimal(str(fee.get("self_pay", "0")))
        deductible_part = Decimal(str(fee.get("deductible_part", "0")))
        rate = Decimal(str(r["rate"])) if r.get("rate") else Decimal(1)
        subsidy = ZERO
        if (not mutual_aid and resident and day is not None and deductible_part
                and r.get("bucket") == Bucket.OUTPATIENT):
            subsidy = _deductible_subsidy(a.program, a.district, category, day)
        base = self_pay - deductible_part if subsidy else self_pay
        rows.append(_Row(category=category, bucket=r.get("bucket"),
                         year=None if day is None else day.year, self_pay=self_pay,
                         own=rate * base, deductible=subsidy * deductible_part))
    return rows


def _deductible_subsidy(program: str, district: str, category: str, day: date) -> Decimal:
    """The 起付线 subsidy rate for the category on the day (POLICY.md §1), 0 if none."""
    try:
        view = default_parameters().for_program(program, district)
    except KeyError:
        return ZERO
    categories = view.at("deductible_subsidy.categories", day)
    rate = view.at("deductible_subsidy.rate", day)
    if (categories is None or rate is None or not isinstance(categories.value, tuple)
            or category not in categories.value or not isinstance(rate.value, Decimal)):
        return ZERO
    return rate.value


def _day(value: Any) -> date | None:
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        return None


def _claimed_categories(a: ApplicationRecord) -> set[str]:
    categories = {r.category for r in _claimed_rows(a)}
    if not categories:
        categories = {MEMBER if a.program == Program.MUTUAL_AID else UNKNOWN}
    return categories


def _shares(a: ApplicationRecord, buckets: dict[str, Decimal]) -> dict[tuple[str, str], Decimal]:
    rows = _claimed_rows(a)
    lines = _payable_lines(a, buckets)
    out: dict[tuple[str, str], Decimal] = defaultdict(lambda: ZERO)
    for year, bucket, amount in lines:
        for category, share in _allocate(amount, _weights(rows, year, bucket, a)).items():
            out[(category, bucket)] += share
    return dict(out)


def _payable_lines(a: ApplicationRecord, buckets: dict[str, Decimal]
                   ) -> list[tuple[int | None, str, Decimal]]:
    """The (year, bucket, payable) lines of the saved result; the bucket totals alone (year
    None) when the result's lines do not add up to them."""
    lines: list[tuple[int | None, str, Decimal]] = []
    for line in (a.result or {}).get("years", []):
        amount = Decimal(str(line.get("payable", "0")))
        if amount:
            lines.append((int(line["year"]), str(line["bucket"]), amount))
    by_bucket: dict[str, Decimal] = defaultdict(lambda: ZERO)
    for _year, bucket, amount in lines:
        by_bucket[bucket] += amount
    if dict(by_bucket) != buckets:
        return [(None, bucket, amount) for bucket, amount in buckets.items()]
    return lines


def _weights(rows: Sequence[_Row], year: int | None, bucket: str, a: ApplicationRecord
             ) -> dict[str, Decimal]:
    """What each category's rows alone would give to this year's bucket, for sharing it."""
    in_year = [r for r in rows if year is None or r.year == year]
    fed: list[tuple[_Row, Decimal]]
    if bucket in (Bucket.OUTPATIENT, Bucket.INPATIENT):
        fed = [(r, r.own) for r in in_year if r.bucket == bucket]
    elif bucket == Bucket.DEDUCTIBLE:
        fed = [(r, r.deductible) for r in in_year]
    elif bucket == Bucket.ALLOWANCE:
        fed = [(r, r.self_pay) for r in in_year if r.bucket == Bucket.OUTPATIENT]
    elif bucket == Bucket.DISTRICT:
        fed = [(r, r.after_city) for r in in_year]
    else:
        fed = [(r, r.self_pay) for r in in_year if r.bucket == bucket]
    for candidates in (fed, [(r, r.self_pay) for r in in_year],
                       [(r, r.self_pay) for r in rows]):
        weights: dict[str, Decimal] = defaultdict(lambda: ZERO)
        for row, weight in candidates:
            weights[row.category] += weight
        if sum(weights.values(), ZERO) > 0:
            return dict(weights)
    if rows:  # rows without any self-pay: share equally
        return dict.fromkeys({r.category for r in rows}, Decimal(1))
    return {MEMBER if a.program == Program.MUTUAL_AID else UNKNOWN: Decimal(1)}


def _allocate(amount: Decimal, weights: Mapping[str, Decimal]) -> dict[str, Decimal]:
    """`amount` (whole fen) shared in proportion to `weights`, rounded to the fen by largest
    remainder (ties: category code order) so the shares add up exactly to `amount`."""
    fen = int(amount / FEN)
    total = sum(weights.values(), ZERO)
    exact = {k: Decimal(fen) * w / total for k, w in weights.items()}
    floors = {k: int(v) for k, v in exact.items()}
    for k in sorted(exact, key=lambda k: (floors[k] - exact[k], k))[:fen - sum(floors.values())]:
        floors[k] += 1
    return {k: (Decimal(n) * FEN) for k, n in floors.items() if n}


# -- the summary ------------------------------------------------------------------------------

def monthly_summary(store: Store, *, street_code: str, year: int, month: int) -> MonthlySummary:
    """结算汇总表 of a street for a month: counts and amounts by program, category and bucket,
    and the enrolment fees taken. Raises ValueError for a month out of range and
    ReportDataError for an application whose amounts do not add up."""
    first, last, start, end = _period(year, month)
    with store.read_session() as session:
        settled = _settled_applications(session, street_code, start, end)
        enrolments = _enrolments(session, street_code, first, last)
    programs = tuple(_program_line(program, settled) for program in PROGRAMS)
    categories = _category_lines(settled)
    buckets = _bucket_lines(settled)
    return MonthlySummary(
        street_code=street_code, year=year, month=month, period_start=first, period_end=last,
        programs=programs, categories=categories, buckets=buckets,
        enrolments=EnrolmentLine(ENROLMENT_LABEL, len(enrolments),
                                 sum((e.fee for e in enrolments), ZERO)),
        applications=len(settled), persons=len({s.person_id for s in settled}),
        total=sum((s.payable for s in settled), ZERO),
        auto_enrolled=sum(1 for s in settled if s.auto_enrolled))


def _enrolments(session: Session, street_code: str, first: date, last: date
                ) -> list[EnrolmentRecord]:
    records = list(session.scalars(select(EnrolmentRecord).where(
        EnrolmentRecord.paid_on >= first, EnrolmentRecord.paid_on <= last,
        EnrolmentRecord.status.in_(FEES_TAKEN))))
    streets = {person_id: street for person_id, street in session.execute(
        select(PersonRecord.id, PersonRecord.street_code).where(
            PersonRecord.id.in_({e.person_id for e in records})))} if records else {}
    def street_of(record: EnrolmentRecord) -> str | None:  # where it was taken, if recorded
        taken = (record.form or {}).get("applicant", {}).get("street_code")
        return str(taken) if taken else streets.get(record.person_id)

    return [e for e in records if street_of(e) == street_code]


def _program_line(program: Program, settled: Iterable[_Settled]) -> ProgramLine:
    mine = [s for s in settled if s.program == program]
    return ProgramLine(program.value, PROGRAM_LABELS[program], len(mine),
                       len({s.person_id for s in mine}), sum((s.payable for s in mine), ZERO))


def _category_lines(settled: Sequence[_Settled]) -> tuple[CategoryLine, ...]:
    labels = {code: c.label for code, c in default_parameters().categories.items()}
    keys: list[tuple[str, str]] = [(Program.ASSISTANCE.value, code) for code in labels]
    keys.append((Program.MUTUAL_AID.value, MEMBER))
    seen = {(s.program, c) for s in settled for c in s.categories}
    seen |= {(s.program, c) for s in settled for c, _b in s.shares}
    keys += sorted(seen - set(keys))
    lines = []
    for program, code in keys:
        holding = [s for s in settled if s.program == program and code in s.categories]
        amount = sum((v for s in settled if s.program == program
                      for (c, _b), v in s.shares.items() if c == code), ZERO)
        label = (MEMBER_LABEL if code == MEMBER else UNKNOWN_LABEL if code == UNKNOWN
                 else labels.get(code, code))
        lines.append(CategoryLine(program, code, label, len(holding),
                                  len({s.person_id for s in holding}), amount))
    return tuple(lines)


def _bucket_lines(settled: Sequence[_Settled]) -> tuple[BucketLine, ...]:
    keys = [(program.value, bucket.value) for program in PROGRAMS
            for bucket in PROGRAM_BUCKETS[program]]
    keys += sorted({(s.program, b) for s in settled for b in s.buckets} - set(keys))
    lines = []
    for program, bucket in keys:
        holding = [s for s in settled if s.program == program and bucket in s.buckets]
        lines.append(BucketLine(program, bucket, _bucket_label(program, bucket), len(holding),
                                sum((s.buckets[bucket] for s in holding), ZERO)))
    return tuple(lines)


def _bucket_label(program: str, bucket: str) -> str:
    try:
        return bucket_label(Program(program), Bucket(bucket))
    except ValueError:
        return bucket


# -- the payout list ------------------------------------------------------------------------------

def payout_list(store: Store, *, street_code: str, year: int, month: int,
                masked: bool = True) -> PayoutList:
    """发放清单 of a street for a month: one line per person (and bank card) with the sum of
    their applications of the month. ID numbers are always masked; bank cards keep their first
    6 and last 4 digits unless `masked` is False (the copy sent to the district, which pays)."""
    first, last, start, end = _period(year, month)
    with store.read_session() as session:
        settled = _settled_applications(session, street_code, start, end)
    groups: dict[tuple[str, str | None], list[_Settled]] = defaultdict(list)
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
            committee=head.committee,
            bank_account=None if account is None else
            (mask_bank_card(account) if masked else account),
            applications=len(mine), assistance=by_program[Program.ASSISTANCE],
            mutual_aid=by_program[Program.MUTUAL_AID], amount=amount)))
    entries.sort(key=lambda e: e[0])
    lines = tuple(replace(line, number=n) for n, (_key, line) in enumerate(entries, start=1))
    return PayoutList(
        street_code=street_code, year=year, month=month, period_start=first, period_end=last,
        masked=masked, lines=lines, persons=len({line.person_id for line in lines}),
        applications=sum(line.applications for line in lines),
        assistance=sum((line.assistance for line in lines), ZERO),
        mutual_aid=sum((line.mutual_aid for line in lines), ZERO),
        total=sum((line.amount for line in lines), ZERO),
        without_card=sum(1 for line in lines if line.bank_account is None))


def mask_bank_card(value: str) -> str:
    """A card number for lists that leave the counter (desktop.domain.bank_card.mask_card)."""
    return mask_card(value)


def _digits(account: str) -> str:
    return "".join(account.split()).replace("-", "")


__all__ = [
    "BucketLine",
    "CategoryLine",
    "EnrolmentLine",
    "MonthlySummary",
    "PayoutLine",
    "PayoutList",
    "ProgramLine",
    "ReportDataError",
    "mask_bank_card",
    "month_bounds",
    "monthly_summary",
    "payout_list",
]


def record_report(store: Store, username: str, report: str, street_code: str, year: int,
                  month: int, *, reason: str | None = None) -> None:
    """A month's report printed or exported: audited (the district's copy shows whole card
    numbers, so who took it out matters)."""
    with store.session() as session:
        append_audit(session, username, "report.printed" if report != "xlsx"
                     else "report.exported", f"report:{street_code}:{year}-{month:02d}",
                     {"report": report, "reason": reason})
