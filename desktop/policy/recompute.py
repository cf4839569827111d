"""Recomputing one person's application as the clerk ticks rows (issue 13: < 1 ms).

While a person is open at the counter nothing changes but the set of ticked rows: the settled
history (H) and the candidate rows stay the same. `Prepared` therefore classifies every row once
and sums the history of each invoice year once; a recompute classifies nothing and adds only the
ticked rows to the history's sums.

`Prepared(case, parameters).calculate(ticked)` is exactly `engine.calculate` of the case made of
the history and the ticked candidates in fill order (POLICY.md §1), the same `Result` down to the
parameters it cites and the order of its warnings; tests/policy/test_recompute.py checks that
over generated cases. Whatever the fast path does not cover (a year whose caps or district round
change within it, a row no parameter covers) is handed to `engine.calculate`, so errors read
the same too.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import date
from decimal import Decimal

from desktop.policy.caveats import parameter_warnings
from desktop.policy.eligibility import Classifier
from desktop.policy.engine import (
    _allocate_allowance,
    _assistance_year_by_row,
    _district_round,
    _lines,
    _mutual_aid_year,
    _Year,
    _YearSums,
    calculate,
)
from desktop.policy.model import (
    Bucket,
    BucketLine,
    Case,
    FeeRow,
    Program,
    Result,
    RowResult,
    Warning,
)
from desktop.policy.money import ZERO
from desktop.policy.parameters import ParameterGap, ParameterValue, PolicyParameters


@dataclass
class _HistoryYear:
    """The settled rows of one invoice year that count, in fill order, and their sums."""

    positions: list[int] = field(default_factory=list)
    sums: _YearSums = field(default_factory=_YearSums)
    caps: dict[Bucket, set[object]] = field(default_factory=dict)


class Prepared:
    """A person's history and candidate rows, classified once; see the module's text."""

    def __init__(self, case: Case, parameters: PolicyParameters) -> None:
        self.case = case
        self.parameters = parameters
        self._view = parameters.for_program(case.program.value, case.district.value)
        used: dict[int, ParameterValue] = {}
        classifier = Classifier(case, self._view, used)  # notes the claim window, if any
        self._history_used = dict(used)  # and what the history's rows read, below
        self._fees: list[FeeRow] = sorted(case.fees, key=lambda f: f.order_key)
        self._position = {f.id: i for i, f in enumerate(self._fees)}
        self._results: list[RowResult | None] = []  # None: no parameter covers the row
        self._notes: list[tuple[ParameterValue, ...]] = []
        for row in self._fees:
            classifier.capture = []
            try:
                self._results.append(classifier.classify(row))
            except ParameterGap:
                self._results.append(None)
            self._notes.append(tuple(classifier.capture))
        classifier.capture = None
        self._history = [i for i, f in enumerate(self._fees) if f.settled]
        self._history_covered = all(self._results[i] is not None for i in self._history)
        self._years: dict[int, _HistoryYear] = {}
        warnings = []
        for i in self._history:
            for entry in self._notes[i]:
                self._history_used[id(entry)] = entry
            r = self._results[i]
            if r is None:
                continue
            if r.reason is not None:
                warnings.append(Warning(
                    "settled_row_not_counting",
                    f"已结算的费用 {r.row.id} 按现行规则不计入年度累计，请核对。"))
                continue
            year = self._years.setdefault(r.row.date.year, _HistoryYear())
            year.positions.append(i)
            if r.resolution.cap is not None:
                assert r.resolution.bucket is not None
                year.caps.setdefault(r.resolution.bucket, set()).add(r.resolution.cap)
        self._settled_warnings = tuple(warnings)
        if case.program is Program.ASSISTANCE:
            for year in self._years.values():
                year.sums.add(self._counting(year.positions))

    def _counting(self, positions: Iterable[int]) -> list[RowResult]:
        out = []
        for i in positions:
            r = self._results[i]
            assert r is not None
            out.append(r)
        return out

    def case_with(self, ticked: Iterable[str]) -> Case:
        """The case `calculate(ticked)` computes: the history and the ticked candidates."""
        picked = sorted({*self._history, *(self._position[i] for i in ticked)})
        return replace(self.case, fees=tuple(self._fees[i] for i in picked))

    def calculate(self, ticked: Iterable[str]) -> Result:
        """engine.calculate(self.case_with(ticked)), without classifying or summing again.
        Raises KeyError for an id that is not one of the case's candidate rows and
        CalcInputError as engine.calculate does."""
        ticked = list(ticked)
        mine = sorted({self._position[i] for i in ticked})
        if any(self._fees[i].settled for i in mine):
            raise KeyError(next(self._fees[i].id for i in mine if self._fees[i].settled))
        results = self._results
        if not self._history_covered or any(results[i] is None for i in mine):
            return calculate(self.case_with(ticked), self.parameters)  # raises its error
        try:
            return self._calculate(mine)
        except ParameterGap:
            return calculate(self.case_with(ticked), self.parameters)  # raises its error

    def _calculate(self, mine: list[int]) -> Result:
        case = self.case
        view = self._view
        everything = sorted(self._history + mine)  # two sorted runs: merged in one pass
        fees = tuple(map(self._fees.__getitem__, everything))
        rows = tuple(map(self._results.__getitem__, everything))
        used = dict(self._history_used)
        for i in mine:
            for entry in self._notes[i]:
                used[id(entry)] = entry
        picked = self._counting(mine)
        years = sorted({r.row.date.year for r in picked})
        counting = [r for r in picked if r.reason is None]
        allowance = {}
        if case.program is Program.MUTUAL_AID:
            allowance = _allocate_allowance(case, counting)
        lines: list[BucketLine] = []
        warnings: list[Warning] = []
        for year in years:
            history = self._years.get(year, _HistoryYear())
            new = [r for r in counting if r.row.date.year == year]
            if not history.positions and not new:
                continue
            if case.program is Program.ASSISTANCE:
                figures = self._assistance_year(history, new, used)
            else:
                merged = self._merged(history, new)
                figures = _mutual_aid_year(case, merged, view, used, allowance)
            lines.extend(_lines(case.program, year, figures, warnings))
        buckets: dict[Bucket, Decimal] = {}
        for line in lines:
            if line.payable:
                buckets[line.bucket] = buckets.get(line.bucket, ZERO) + line.payable
        payable = sum(buckets.values(), ZERO)
        warnings.extend(self._settled_warnings)
        values = tuple(sorted(used.values(), key=lambda e: (e.file, e.key, e.effective_from)))
        warnings.extend(parameter_warnings(values, case.application_date))
        full = replace(case, fees=fees)
        return Result(full, payable, buckets, rows,  # type: ignore[arg-type]
                      tuple(lines), tuple(warnings), values)

    def _merged(self, history: _HistoryYear, new: list[RowResult]) -> list[RowResult]:
        """The year's counting rows, history and ticked, in fill order."""
        positions = sorted(history.positions + [self._position[r.row.id] for r in new])
        return self._counting(positions)

    def _assistance_year(self, history: _HistoryYear, new: list[RowResult],
                         used: dict[int, ParameterValue]) -> _Year:
        """engine._assistance_year of the history and the new rows of one year."""
        caps: dict[Bucket, set[object]] = {b: set(v) for b, v in history.caps.items()}
        for r in new:
            if r.resolution.cap is not None:
                assert r.resolution.bucket is not None
                caps.setdefault(r.resolution.bucket, set()).add(r.resolution.cap)
        first_day, last_day = self._span(history, new)
        first = _district_round(self._view, first_day, used)
        last = _district_round(self._view, last_day, used)
        if all(len(v) <= 1 for v in caps.values()) and first == last:
            sums = _YearSums()
            sums.add(new)
            return history.sums.merged(sums).year(first)
        return _assistance_year_by_row(self._merged(history, new), self._view, used)

    def _span(self, history: _HistoryYear, new: list[RowResult]) -> tuple[date, date]:
        """The dates of the year's first and last counting rows in fill order."""
        ends = []
        if history.positions:
            ends += [self._fees[history.positions[0]], self._fees[history.positions[-1]]]
        if new:
            ends += [new[0].row, new[-1].row]
        ordered = sorted(ends, key=lambda f: f.order_key)
        return ordered[0].date, ordered[-1].date
