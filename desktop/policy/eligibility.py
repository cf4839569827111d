"""Whether a fee row counts, and under which category and rate (POLICY.md §1, §3).

Reasons are checked in the order of POLICY.md §3 and the first that applies is reported.
Settled history rows skip the claim-procedure checks (they were claimed already, by definition)
but not the substantive ones, so a history row that no longer qualifies stops feeding the totals.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Callable
from datetime import date, timedelta
from decimal import Decimal
from typing import TypeVar

from desktop.policy.dates import add_months, last_claim_day
from desktop.policy.model import (
    Bucket,
    Case,
    FeeRow,
    Kind,
    Program,
    Reason,
    Resolution,
    RowResult,
)
from desktop.policy.parameters import ParameterValue, ProgramParameters

_R = TypeVar("_R")


class Classifier:
    """Classifies the rows of one case.

    What applies to a row depends on its date only through the person's category spans and the
    parameters' dates, so the year is cut at those dates into periods and each (period, kind)
    is resolved once.
    """

    def __init__(self, case: Case, view: ProgramParameters, used: dict[int, ParameterValue]):
        self.case = case
        self.view = view
        self.used = used
        # Each resolution is kept with the parameter values it read, which are noted again
        # whenever a row takes it from here (see `capture`).
        self._categories: dict[tuple[int, Kind, bool],
                               tuple[Resolution | Reason, tuple[ParameterValue, ...]]] = {}
        self._mutual: dict[tuple[int, Kind, int],
                           tuple[Resolution, tuple[ParameterValue, ...]]] = {}
        # When set, every value noted is also appended here: the values one row read.
        self.capture: list[ParameterValue] | None = None
        self._overdue_detail: dict[date, str] = {}
        spans = case.person.categories
        first = min((s.start for s in spans), default=None)
        self._first_start = first
        cuts = set(view.change_dates())
        for span in spans:
            cuts.add(span.start)
            if span.end is not None:
                cuts.add(span.end + timedelta(days=1))
        if first is not None:
            cuts.add(date(first.year, 1, 1))
        self._cuts = sorted(cuts)
        self._window: ParameterValue | None = None
        self._earliest: date | None = None
        if case.program is Program.ASSISTANCE:
            self._window = view.at("claim_window_months", case.application_date)
        if self._window is not None:
            self._note(self._window)
            months = self._window.value
            assert isinstance(months, int)
            self._earliest = _earliest_claimable(case.application_date, months)

    def _note(self, entry: ParameterValue) -> ParameterValue:
        self.used[id(entry)] = entry
        if self.capture is not None:
            self.capture.append(entry)
        return entry

    def _noting(self, resolve: Callable[[], _R]) -> tuple[_R, tuple[ParameterValue, ...]]:
        """`resolve()` and the values it noted."""
        outer = self.capture
        self.capture = []
        try:
            found = resolve()
            notes = tuple(self.capture)
        finally:
            self.capture = outer
        if outer is not None:
            outer.extend(notes)
        return found, notes

    def _value(self, key: str, day: date) -> ParameterValue:
        return self._note(self.view.require(key, day))

    def classify(self, row: FeeRow) -> RowResult:
        if not row.settled:
            if row.already_claimed:
                return RowResult(row, Reason.ALREADY_CLAIMED)
            if row.one_stop_settled:
                return RowResult(row, Reason.ONE_STOP_SETTLED)
            if row.clearing_pending:
                return RowResult(row, Reason.CLEARING_PENDING)
            if (row.major_illness and not row.major_illness_doc
                    and Reason.MAJOR_ILLNESS_DOC_MISSING not in row.waived):
                return RowResult(row, Reason.MAJOR_ILLNESS_DOC_MISSING,
                                  detail=self._major_illness_doc(row.date))
        if self.case.program is Program.ASSISTANCE:
            return self._assistance(row)
        return self._mutual_aid(row)

    def _major_illness_doc(self, day: date) -> str | None:
        if self.case.program is not Program.ASSISTANCE:
            return None
        entry = self.view.at("major_illness_doc", day)
        if entry is None:
            return None
        self._note(entry)
        return f"需提供：{entry.value}"

    # -- 医疗救助 ---------------------------------------------------------------------------

    def _assistance(self, row: FeeRow) -> RowResult:
        # CN-2026 4.2: outside Shanghai only when filed and settled by basic insurance.
        if not row.in_shanghai and not row.out_of_province_filed:
            return RowResult(row, Reason.OUT_OF_SHANGHAI)
        if (not row.settled and self._earliest is not None and row.date < self._earliest
                and Reason.OVERDUE not in row.waived):
            return RowResult(row, Reason.OVERDUE, detail=self._last_day(row.date))
        key = (bisect_right(self._cuts, row.date), row.kind, row.means_test_included)
        cached = self._categories.get(key)
        if cached is None:
            cached = self._categories[key] = self._noting(
                lambda: self._resolve(row.date, row.kind, row.means_test_included))
        else:
            for entry in cached[1]:
                self._note(entry)
        found = cached[0]
        if isinstance(found, Reason):
            return RowResult(row, found)
        if found.rate is not None and found.rate == 0:
            return RowResult(row, Reason.KIND_NOT_COVERED, found)
        return RowResult(row, None, found, found.detail)

    def _last_day(self, receipt_date: date) -> str:
        """The last claim day of an overdue receipt, as text for the trace."""
        text = self._overdue_detail.get(receipt_date)
        if text is None:
            assert self._window is not None and isinstance(self._window.value, int)
            last = last_claim_day(receipt_date, self._window.value)
            text = self._overdue_detail[receipt_date] = f"最迟申请日 {last.isoformat()}"
        return text

    def _resolve(self, day: date, kind: Kind, means_test: bool) -> Resolution | Reason:
        spans = self.case.person.categories
        codes = {s.code for s in spans if s.covers(day)}
        detail = None
        if not codes:
            # CN-2026 4.3: a recipient new this year whose family check included this row gets
            # the first category, if it starts later in the same year.
            first = self._first_start
            if means_test and first is not None and first > day and first.year == day.year:
                codes = {s.code for s in spans if s.start == first}
                detail = f"纳入家庭经济状况核对，按首个身份（{first.isoformat()} 起）救助"
            else:
                return Reason.NO_CATEGORY
        as_kind = kind
        if kind is Kind.MAJOR_OUTPATIENT:
            as_kind = Kind(str(self._value("major_outpatient_as", day).value))
        side = "outpatient" if as_kind is Kind.OUTPATIENT else "inpatient"
        order = self.view.categories
        best: tuple[Decimal, int, str, ParameterValue] | None = None
        for code in codes:
            entry = self._value(f"category.{code}.{side}_rate", day)
            rate = entry.value
            assert isinstance(rate, Decimal)
            # 就高不重复 (SA-2022 二(一)): the single best rate; ties by the file's order.
            candidate = (rate, -order[code].order, code, entry)
            if best is None or candidate[:2] > best[:2]:
                best = candidate
        assert best is not None
        rate, _, code, _ = best
        cap_entry = self._value(f"category.{code}.{side}_cap", day)
        cap = cap_entry.value
        assert cap is None or isinstance(cap, Decimal)
        deductible_rate = None
        if kind is Kind.OUTPATIENT and self.case.person.resident_insurance:
            cats = self.view.at("deductible_subsidy.categories", day)
            if cats is not None and isinstance(cats.value, tuple) and code in cats.value:
                self._note(cats)
                ded = self._value("deductible_subsidy.rate", day).value
                assert isinstance(ded, Decimal)
                deductible_rate = ded
        bucket = Bucket.OUTPATIENT if as_kind is Kind.OUTPATIENT else Bucket.INPATIENT
        return Resolution(code, rate, bucket, cap, cap_entry, deductible_rate, detail)

    # -- 市民社区医疗互助帮困 ------------------------------------------------------------------

    def _mutual_aid(self, row: FeeRow) -> RowResult:
        # MA-2021 六(三): costs in other provinces are never covered.
        if not row.in_shanghai:
            return RowResult(row, Reason.OUT_OF_SHANGHAI)
        membership = self.case.person.mutual_aid
        if membership is None or not membership.enrolled_on(row.date):
            return RowResult(row, Reason.NOT_ENROLLED)
        key = (bisect_right(self._cuts, row.date), row.kind, row.hospital_level)
        cached = self._mutual.get(key)
        if cached is None:
            cached = self._mutual[key] = self._noting(
                lambda: self._mutual_rate(row, membership.external_inpatient_insurance))
        else:
            for entry in cached[1]:
                self._note(entry)
        found = cached[0]
        return RowResult(row, None, found)

    def _mutual_rate(self, row: FeeRow, external: bool) -> Resolution:
        if row.kind is Kind.INPATIENT:
            # MA-2021 四(三): 60 % with insurance elsewhere, 50 % above 1,000 without.
            which = "external" if external else "no_external"
            entry = self._value(f"inpatient.{which}.rate", row.date)
            bucket = Bucket.INPATIENT
        else:
            # MA-2021 四(二): 门诊大病 and 家庭病床 count as outpatient.
            entry = self._value(f"outpatient.rate.level_{row.hospital_level}", row.date)
            bucket = Bucket.OUTPATIENT
        assert isinstance(entry.value, Decimal)
        return Resolution(None, entry.value, bucket)


def _earliest_claimable(application_date: date, months: int) -> date:
    """The earliest receipt date still inside the claim window on `application_date`.

    The last claim day grows with the receipt date, so everything before this date is overdue
    (CN-2026 4.3, with the month-end rule).
    """
    day = add_months(application_date, -months) - timedelta(days=3)
    while last_claim_day(day, months) < application_date:
        day += timedelta(days=1)
    return day
