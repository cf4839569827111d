"""The month's report arithmetic (CN-2026 3.5, POLICY.md §6.6), pure: the settlement summary
(结算汇总表) by program, category and bucket, and the payout list (发放清单), computed from plain
values. No store, no Qt, no database: the counter (desktop.services.reports, from its cache) and
the district (district.services.month_report, from its own tables) each build the inputs, one
`ApplicationFigures` per payable application of the month, and get the same figures to the fen.

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
add up to the number of applications; the amounts always do.

The payout list has one line per person and bank card, with the sum of their applications of
the month; a person whose applications pay nothing in total is not listed. How an ID or a card
number is shown is the caller's (desktop.domain's masks): this module does not mask.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date
from decimal import Decimal
from typing import Any

from desktop.policy.contract import default_parameters
from desktop.policy.labels import PROGRAM_LABELS, bucket_label
from desktop.policy.model import Bucket, Program

ZERO = Decimal("0.00")
FEN = Decimal("0.01")
MEMBER = "member"  # the one "category" of mutual aid: its members (GLOSSARY 参加对象)
MEMBER_LABEL = "互助帮困参加对象"
UNKNOWN = "unknown"
UNKNOWN_LABEL = "未注明类别"
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
    """Mutual-aid enrolment fees taken in the month (money received)."""

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
    id_number: str  # as the caller shows it (always masked on the forms)
    committee: str | None
    bank_account: str | None  # as the caller shows it; None: no card on record
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


# -- the inputs ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class ApplicationFigures:
    """One payable application of the month, as plain values: what the arithmetic reads."""

    id: uuid.UUID
    program: str
    district: str
    person_id: str
    name: str
    id_number: str  # whole; the payout list shows it through the caller's mask
    committee: str | None
    bank_account: str | None  # whole, as recorded (spaces and dashes allowed)
    payable: Decimal
    buckets: Mapping[str, Any] = field(default_factory=dict)  # bucket -> amount, as saved
    case: Mapping[str, Any] = field(default_factory=dict)  # the engine's case (JSON)
    result: Mapping[str, Any] = field(default_factory=dict)  # its saved result (JSON)
    auto_enrolled: bool = False  # marked 免申即享


@dataclass(frozen=True)
class Settled:
    """One application of the month, with what the report needs of it."""

    application_id: uuid.UUID
    program: str
    person_id: str
    name: str
    id_number: str
    committee: str | None
    bank_account: str | None  # digits only
    payable: Decimal
    buckets: dict[str, Decimal]
    shares: dict[tuple[str, str], Decimal]  # (category, bucket) -> amount, adds up to payable
    categories: frozenset[str]  # of its claimed rows
    auto_enrolled: bool = False  # marked 免申即享


def settle(a: ApplicationFigures) -> Settled:
    """The application split by bucket and by (category, bucket). Raises ReportDataError when
    its bucket amounts do not add up to its payable."""
    buckets = bucket_amounts(a)
    return Settled(
        application_id=a.id, program=a.program, person_id=a.person_id, name=a.name,
        id_number=a.id_number, committee=a.committee,
        bank_account=card_digits(a.bank_account) if a.bank_account else None,
        payable=a.payable, buckets=buckets, shares=_shares(a, buckets),
        categories=frozenset(_claimed_categories(a)), auto_enrolled=a.auto_enrolled)


def bucket_amounts(a: ApplicationFigures) -> dict[str, Decimal]:
    buckets = {code: Decimal(amount) for code, amount in (a.buckets or {}).items()
               if Decimal(amount)}
    if sum(buckets.values(), ZERO) != a.payable or any(
            v < 0 or v != v.quantize(FEN) for v in buckets.values()):
        raise ReportDataError(
            f"申请 {a.id} 的分项金额之和与应付金额 {a.payable} 不符，无法汇总，请联系区医保中心。")
    return buckets


def card_digits(account: str) -> str:
    """A card number without its spaces and dashes."""
    return "".join(account.split()).replace("-", "")


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


def _claimed_rows(a: ApplicationFigures) -> list[_Row]:
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


def _claimed_categories(a: ApplicationFigures) -> set[str]:
    categories = {r.category for r in _claimed_rows(a)}
    if not categories:
        categories = {MEMBER if a.program == Program.MUTUAL_AID else UNKNOWN}
    return categories


def _shares(a: ApplicationFigures, buckets: dict[str, Decimal]
            ) -> dict[tuple[str, str], Decimal]:
    rows = _claimed_rows(a)
    lines = _payable_lines(a, buckets)
    out: dict[tuple[str, str], Decimal] = defaultdict(lambda: ZERO)
    for year, bucket, amount in lines:
        for category, share in allocate(amount, _weights(rows, year, bucket, a)).items():
            out[(category, bucket)] += share
    return dict(out)


def _payable_lines(a: ApplicationFigures, buckets: dict[str, Decimal]
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


def _weights(rows: Sequence[_Row], year: int | None, bucket: str, a: ApplicationFigures
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


def allocate(amount: Decimal, weights: Mapping[str, Decimal]) -> dict[str, Decimal]:
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

def monthly_summary(settled: Sequence[Settled], *, street_code: str, year: int, month: int,
                    period_start: date, period_end: date, enrolment_count: int,
                    enrolment_fees: Decimal) -> MonthlySummary:
    """结算汇总表 of a street for a month: counts and amounts by program, category and bucket,
    and the enrolment fees taken."""
    return MonthlySummary(
        street_code=street_code, year=year, month=month, period_start=period_start,
        period_end=period_end,
        programs=tuple(program_line(program, settled) for program in PROGRAMS),
        categories=category_lines(settled), buckets=bucket_lines(settled),
        enrolments=EnrolmentLine(ENROLMENT_LABEL, enrolment_count, enrolment_fees),
        applications=len(settled), persons=len({s.person_id for s in settled}),
        total=sum((s.payable for s in settled), ZERO),
        auto_enrolled=sum(1 for s in settled if s.auto_enrolled))


def program_line(program: Program, settled: Iterable[Settled]) -> ProgramLine:
    mine = [s for s in settled if s.program == program]
    return ProgramLine(program.value, PROGRAM_LABELS[program], len(mine),
                       len({s.person_id for s in mine}), sum((s.payable for s in mine), ZERO))


def category_lines(settled: Sequence[Settled]) -> tuple[CategoryLine, ...]:
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


def bucket_lines(settled: Sequence[Settled]) -> tuple[BucketLine, ...]:
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

def payout_list(settled: Sequence[Settled], *, street_code: str, year: int, month: int,
                period_start: date, period_end: date, masked: bool,
                show_id: Callable[[str], str], show_card: Callable[[str], str]) -> PayoutList:
    """发放清单 of a street for a month: one line per person (and bank card) with the sum of
    their applications of the month, sorted by committee, name, person and card. `show_id`
    and `show_card` give the ID and card numbers as the list prints them (an empty ID stays
    empty, a missing card stays None); `masked` only says which copy this is."""
    groups: dict[tuple[str, str | None], list[Settled]] = defaultdict(list)
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
            id_number=show_id(head.id_number) if head.id_number else "",
            committee=head.committee,
            bank_account=None if account is None else show_card(account),
            applications=len(mine), assistance=by_program[Program.ASSISTANCE],
            mutual_aid=by_program[Program.MUTUAL_AID], amount=amount)))
    entries.sort(key=lambda e: e[0])
    lines = tuple(replace(line, number=n) for n, (_key, line) in enumerate(entries, start=1))
    return PayoutList(
        street_code=street_code, year=year, month=month, period_start=period_start,
        period_end=period_end, masked=masked, lines=lines,
        persons=len({line.person_id for line in lines}),
        applications=sum(line.applications for line in lines),
        assistance=sum((line.assistance for line in lines), ZERO),
        mutual_aid=sum((line.mutual_aid for line in lines), ZERO),
        total=sum((line.amount for line in lines), ZERO),
        without_card=sum(1 for line in lines if line.bank_account is None))
