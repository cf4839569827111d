"""The values the engine takes and gives: a case of fee rows and its explained result.

Frozen dataclasses with Decimal money and `datetime.date` dates; codes are the glossary's.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from enum import StrEnum

from desktop.policy.parameters import ParameterValue


class Program(StrEnum):
    ASSISTANCE = "assistance"
    MUTUAL_AID = "mutual_aid"


class District(StrEnum):
    SHANGHAI = "shanghai"
    CHANGNING = "changning"
    MINHANG = "minhang"


class Kind(StrEnum):
    OUTPATIENT = "outpatient"
    INPATIENT = "inpatient"
    MAJOR_OUTPATIENT = "major_outpatient"


class Reason(StrEnum):
    """Why a row does not count, in the order they are checked (POLICY.md §3)."""

    ALREADY_CLAIMED = "already_claimed"
    ONE_STOP_SETTLED = "one_stop_settled"
    CLEARING_PENDING = "clearing_pending"
    MAJOR_ILLNESS_DOC_MISSING = "major_illness_doc_missing"
    OUT_OF_SHANGHAI = "out_of_shanghai"
    OVERDUE = "overdue"
    NO_CATEGORY = "no_category"
    KIND_NOT_COVERED = "kind_not_covered"
    NOT_ENROLLED = "not_enrolled"


# The checks an 审批人 may waive for one row, with a recorded reason (issue 4, flow 3): procedural
# ones only, where the paper shown at the counter answers the check. A row already paid, settled
# one-stop, waiting for clearing, or outside the rules is never waived.
WAIVABLE = frozenset({Reason.OVERDUE, Reason.MAJOR_ILLNESS_DOC_MISSING})


class Bucket(StrEnum):
    ALLOWANCE = "allowance"
    OUTPATIENT = "outpatient"
    INPATIENT = "inpatient"
    DEDUCTIBLE = "deductible"
    DISTRICT = "district"


@dataclass(frozen=True, slots=True)
class FeeRow:
    """One fee row pushed by the district feed (POLICY.md §2)."""

    id: str
    receipt_no: str
    date: date
    kind: Kind
    hospital_level: int
    total: Decimal
    out_of_scope: Decimal
    self_pay: Decimal
    in_shanghai: bool = True
    out_of_province_filed: bool = False
    deductible_part: Decimal = Decimal("0.00")
    external_deductible: Decimal = Decimal("0.00")
    external_reimbursed: Decimal = Decimal("0.00")
    one_stop_settled: bool = False
    already_claimed: bool = False
    clearing_pending: bool = False
    major_illness: bool = False
    major_illness_doc: bool = False
    means_test_included: bool = False
    settled: bool = False
    waived: frozenset[Reason] = frozenset()  # checks an approver waived for this row (WAIVABLE)

    @property
    def in_scope(self) -> Decimal:
        """total − out_of_scope: the part inside the insurance scope."""
        return self.total - self.out_of_scope

    @property
    def order_key(self) -> tuple[datetime.date, str, str]:
        """The order in which rows fill thresholds, caps and the allowance (POLICY.md §1)."""
        return (self.date, self.receipt_no, self.id)


@dataclass(frozen=True, slots=True)
class CategorySpan:
    """A category held from `start` to `end` inclusive (`end` None: still held)."""

    code: str
    start: date
    end: date | None

    def covers(self, day: date) -> bool:
        return self.start <= day and (self.end is None or day <= self.end)


@dataclass(frozen=True, slots=True)
class MutualAidMembership:
    member_years: frozenset[int]
    external_inpatient_insurance: bool
    benefits_from: date | None = None
    allowance_balance: Decimal = Decimal("0.00")

    def enrolled_on(self, day: date) -> bool:
        """A member for the row's year, and benefits have started (MA-2021 二(三)).

        `benefits_from` is the start of a mid-year membership and limits its own year only:
        the years before it were whole years of membership (a member who renews late, after
        a gap, keeps the earlier years whole), and a later year starts on 1 January.
        """
        if day.year not in self.member_years:
            return False
        start = self.benefits_from
        return start is None or day.year != start.year or day >= start


@dataclass(frozen=True, slots=True)
class Person:
    categories: tuple[CategorySpan, ...]
    resident_insurance: bool
    mutual_aid: MutualAidMembership | None = None


@dataclass(frozen=True, slots=True)
class Case:
    program: Program
    district: District
    application_date: date
    person: Person
    fees: tuple[FeeRow, ...]


@dataclass(frozen=True, slots=True)
class Resolution:
    """What applies to rows of one date and kind: the category, rate, bucket and cap.

    Shared by every row with the same (date, kind), so a recompute builds few of them.
    """

    category: str | None
    rate: Decimal | None
    bucket: Bucket | None
    cap: Decimal | None = None  # assistance: the annual cap for the bucket (None: no cap)
    cap_entry: ParameterValue | None = None
    deductible_rate: Decimal | None = None  # assistance: 低保 outpatient 起付线 subsidy rate
    detail: str | None = None


NO_RESOLUTION = Resolution(None, None, None)


@dataclass(frozen=True, slots=True)
class RowResult:
    """Whether a row counts and why; the category, rate and bucket that applied."""

    row: FeeRow
    reason: Reason | None
    resolution: Resolution = NO_RESOLUTION
    detail: str | None = None  # words for the trace (e.g. the last claim day)

    @property
    def id(self) -> str:
        return self.row.id

    @property
    def counts(self) -> bool:
        return self.reason is None

    @property
    def settled(self) -> bool:
        return self.row.settled

    @property
    def category(self) -> str | None:
        return self.resolution.category

    @property
    def rate(self) -> Decimal | None:
        return self.resolution.rate

    @property
    def bucket(self) -> Bucket | None:
        return None if self.reason is not None else self.resolution.bucket


@dataclass(frozen=True, slots=True)
class Limit:
    """A cap or threshold that was applied to a bucket, with its citation."""

    name: str  # e.g. "年度救助限额"
    amount: Decimal
    source: str
    reached: bool


@dataclass(frozen=True, slots=True)
class BucketLine:
    """One bucket of one invoice year: entitlement before and after this application."""

    year: int
    bucket: Bucket
    base: Decimal  # the amounts the bucket was computed from (H ∪ C), unrounded
    before: Decimal  # E(H), rounded to fen
    after: Decimal  # E(H ∪ C), rounded to fen
    payable: Decimal  # after − before, never below zero
    limits: tuple[Limit, ...] = ()
    shortfall: Decimal = Decimal("0.00")  # E(H) exceeding E(H ∪ C): paid before, not clawed back


@dataclass(frozen=True, slots=True)
class Warning:
    """Something a clerk must see next to the amount: an assumption or an expired source."""

    code: str  # "assumption" | "expired_source" | "settled_row_not_counting" | "shortfall"
    message: str


@dataclass(frozen=True)
class Result:
    case: Case
    payable: Decimal
    buckets: dict[Bucket, Decimal]
    rows: tuple[RowResult, ...]
    lines: tuple[BucketLine, ...]
    warnings: tuple[Warning, ...]
    parameters_used: tuple[ParameterValue, ...] = field(default=())
