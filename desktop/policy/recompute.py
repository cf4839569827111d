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

from desktop.policy.eligibility import Classifier
from desktop.policy.engine import (
    _Acc,
    _allocate_allowance,
    _assistance_year_by_row,
    _district_round,
    _fill,
    _lines,
    _mutual_aid_year,
    _Year,
    _YearSums,
    calculate,
    result_of,
    settled_row_warning,
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
class _MutualHistory:
    """互助帮困: what one year's settled rows contribute, computed once.

    E(H) is the engine's own (`before`). For E(H ∪ C), personal cash fills the outpatient
    threshold, and in-scope cost the inpatient 起付, in fill order (MA-2021 四(二), 四(三)); once
    they are full every later row adds a fixed amount, so only the rows until then are walked
    and the rest is a suffix sum of the history's rows plus the ticked rows' own.
    """

    before: _Acc
    outpatient: list[RowResult]
    out_positions: list[int]
    out_cash: Decimal  # Σ personal cash
    out_pay_rest: list[Decimal]  # [k]: Σ cash × rate of the outpatient rows from k on
    inpatient: list[RowResult]
    in_positions: list[int]
    in_base: Decimal  # Σ in-scope cost
    in_external: Decimal  # Σ (in-scope − 起付 and reimbursed elsewhere) × rate
    in_rest: list[Decimal]  # [k]: Σ (in-scope − 0) × rate of the inpatient rows from k on
    in_room: Decimal | None  # Σ((1 − floor) × in-scope − reimbursed), when one floor applies
    floors: dict[int, ParameterValue]  # the inpatient floor entries of the rows' dates
    deductibles: dict[int, ParameterValue]  # the 起付 entries (no insurance elsewhere)


@dataclass
class _HistoryYear:
    """The settled rows of one invoice year that count, in fill order, and their sums."""

    positions: list[int] = field(default_factory=list)
    sums: _YearSums = field(default_factory=_YearSums)
    caps: dict[Bucket, set[object]] = field(default_factory=dict)
    mutual: _MutualHistory | None = None  # 互助帮困 only; None: the engine's path each time


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
                warnings.append(settled_row_warning(r))
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
        else:
            for year in self._years.values():
                try:
                    year.mutual = self._mutual_history(year.positions)
                except ParameterGap:
                    year.mutual = None

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
                found = (self._mutual_year(history, new, allowance, used)
                         if history.mutual is not None or not history.positions else None)
                if found is None:
                    merged = self._merged(history, new)
                    found = _mutual_aid_year(case, merged, view, used, allowance)
                figures = found
            lines.extend(_lines(case.program, year, figures, warnings))
        return result_of(replace(case, fees=fees), rows,  # type: ignore[arg-type]
                         lines, [*warnings, *self._settled_warnings], used)

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

    # -- 市民社区医疗互助帮困 ----------------------------------------------------------------

    def _mutual_history(self, positions: list[int]) -> _MutualHistory:
        case, view = self.case, self._view
        rows = self._counting(positions)
        before = _mutual_aid_year(case, rows, view, {}, {}).before  # E(H): settled rows only
        outpatient = [r for r in rows if r.resolution.bucket is Bucket.OUTPATIENT]
        inpatient = [r for r in rows if r.resolution.bucket is Bucket.INPATIENT]
        pays = []
        for r in outpatient:
            assert r.resolution.rate is not None
            pays.append(r.row.self_pay * r.resolution.rate)
        external = _external(case)
        in_external = ZERO
        rest = []
        floors: dict[int, ParameterValue] = {}
        deductibles: dict[int, ParameterValue] = {}
        for r in inpatient:
            rate = r.resolution.rate
            assert rate is not None
            row = r.row
            floor = view.require("inpatient.floor", row.date)
            floors[id(floor)] = floor
            if external:
                in_external += (row.in_scope - row.external_deductible
                                - row.external_reimbursed) * rate
            else:
                entry = view.require("inpatient.no_external.deductible", row.date)
                deductibles[id(entry)] = entry
            rest.append((row.in_scope - ZERO) * rate)
        room = None
        if len(floors) == 1:
            share = next(iter(floors.values())).value
            assert isinstance(share, Decimal)
            room = ZERO
            for r in inpatient:
                room += (1 - share) * r.row.in_scope - r.row.external_reimbursed
        return _MutualHistory(
            before=before, outpatient=outpatient,
            out_positions=[self._position[r.row.id] for r in outpatient],
            out_cash=sum((r.row.self_pay for r in outpatient), ZERO),
            out_pay_rest=_suffix_sums(pays), inpatient=inpatient,
            in_positions=[self._position[r.row.id] for r in inpatient],
            in_base=sum((r.row.in_scope for r in inpatient), ZERO),
            in_external=in_external, in_rest=_suffix_sums(rest), in_room=room, floors=floors,
            deductibles=deductibles)

    def _mutual_year(self, history: _HistoryYear, new: list[RowResult],
                     allowance: dict[str, Decimal], used: dict[int, ParameterValue]
                     ) -> _Year | None:
        """engine._mutual_aid_year of the history and the new rows, when the year has one
        outpatient threshold, one inpatient floor and one 起付 (None: the engine's path)."""
        view = self._view
        hist = history.mutual
        if hist is None:  # no settled row counts this year
            hist = _MutualHistory(_Acc(), [], [], ZERO, [ZERO], [], [], ZERO, ZERO, [ZERO],
                                  ZERO, {}, {})
        year = _Year()
        year.before = hist.before
        after = year.after
        external = _external(self.case)
        position = self._position
        # outpatient: personal cash fills the threshold in fill order (MA-2021 四(二))
        new_out = [r for r in new if r.resolution.bucket is Bucket.OUTPATIENT]
        if hist.outpatient or new_out:
            ends = [*hist.outpatient[:1], *hist.outpatient[-1:], *new_out[:1], *new_out[-1:]]
            ends.sort(key=lambda r: position[r.row.id])
            threshold = view.require("outpatient.threshold", ends[0].row.date)
            if threshold is not view.require("outpatient.threshold", ends[-1].row.date):
                return None
            used[id(threshold)] = threshold
            limit = threshold.value
            assert isinstance(limit, Decimal)
            key = year.limit(Bucket.OUTPATIENT, "年累计个人现金自负起付标准", threshold)
            cash_new = []
            pay_new = []
            covered_total = ZERO
            for r in new_out:
                rate = r.resolution.rate
                assert rate is not None
                covered = allowance.get(r.row.id, ZERO)
                covered_total += covered
                cash = r.row.self_pay - covered
                cash_new.append(cash)
                pay_new.append(cash * rate)
            filled = ZERO
            paid = ZERO
            h = t = 0
            while filled < limit and (h < len(hist.outpatient) or t < len(new_out)):
                if t == len(new_out) or (h < len(hist.outpatient) and hist.out_positions[h]
                                         < position[new_out[t].row.id]):
                    r, cash = hist.outpatient[h], hist.outpatient[h].row.self_pay
                    h += 1
                else:
                    r, cash = new_out[t], cash_new[t]
                    t += 1
                assert r.resolution.rate is not None
                fill = _fill(limit, filled, cash)
                filled += fill
                paid += (cash - fill) * r.resolution.rate
            paid += hist.out_pay_rest[h] + sum(pay_new[t:], ZERO)
            after.sums[Bucket.OUTPATIENT] = paid
            after.base[Bucket.OUTPATIENT] = hist.out_cash + sum(cash_new, ZERO)
            after.threshold_used = filled
            if filled:
                after.reached.add(key)
            after.sums[Bucket.ALLOWANCE] = covered_total
            after.base[Bucket.ALLOWANCE] = covered_total
        # inpatient: 60 % / 50 % above the 起付, at least the floor paid by the member
        new_in = [r for r in new if r.resolution.bucket is Bucket.INPATIENT]
        if not (hist.inpatient or new_in):
            return year
        floors = dict(hist.floors)
        deductibles = dict(hist.deductibles)
        for r in new_in:
            floor_entry = view.require("inpatient.floor", r.row.date)
            floors[id(floor_entry)] = floor_entry
            if not external:
                entry = view.require("inpatient.no_external.deductible", r.row.date)
                deductibles[id(entry)] = entry
        if len(floors) != 1 or len(deductibles) > 1:
            return None
        floor = next(iter(floors.values()))
        used[id(floor)] = floor
        share = floor.value
        assert isinstance(share, Decimal)
        base = hist.in_base
        room = hist.in_room if hist.in_room is not None else ZERO  # one floor: this one
        sums = ZERO
        for r in new_in:
            row = r.row
            rate = r.resolution.rate
            assert rate is not None
            base += row.in_scope
            room += (1 - share) * row.in_scope - row.external_reimbursed
        if external:
            sums = hist.in_external
            for r in new_in:
                row = r.row
                assert r.resolution.rate is not None
                sums += (row.in_scope - row.external_deductible
                         - row.external_reimbursed) * r.resolution.rate
        else:
            deductible = next(iter(deductibles.values()))
            used[id(deductible)] = deductible
            d_key = year.limit(Bucket.INPATIENT, "年累计住院起付标准", deductible)
            d_limit = deductible.value
            assert isinstance(d_limit, Decimal)
            filled = ZERO
            h = t = 0
            while filled < d_limit and (h < len(hist.inpatient) or t < len(new_in)):
                if t == len(new_in) or (h < len(hist.inpatient) and hist.in_positions[h]
                                        < position[new_in[t].row.id]):
                    r = hist.inpatient[h]
                    h += 1
                else:
                    r = new_in[t]
                    t += 1
                assert r.resolution.rate is not None
                fill = _fill(d_limit, filled, r.row.in_scope)
                filled += fill
                sums += (r.row.in_scope - fill) * r.resolution.rate
                if fill:
                    after.reached.add(d_key)
            sums += hist.in_rest[h]
            for r in new_in[t:]:
                assert r.resolution.rate is not None
                sums += (r.row.in_scope - ZERO) * r.resolution.rate
            after.inpatient_deductible_used = filled
        after.base[Bucket.INPATIENT] = base
        after.floor_room = room
        f_key = year.limit(Bucket.INPATIENT, "个人自负不低于住院总费用的比例", floor)
        # MA-2021 四(三)3: the member keeps paying at least the floor of the in-scope total.
        cap = room if room > 0 else ZERO
        if sums > cap:
            sums = cap
            after.reached.add(f_key)
        after.sums[Bucket.INPATIENT] = sums
        return year


def _external(case: Case) -> bool:
    membership = case.person.mutual_aid
    return membership is not None and membership.external_inpatient_insurance


def _suffix_sums(values: list[Decimal]) -> list[Decimal]:
    """[k]: the sum of values[k:], for every k from 0 to len(values)."""
    out = [ZERO] * (len(values) + 1)
    for k in range(len(values) - 1, -1, -1):
        out[k] = out[k + 1] + values[k]
    return out
