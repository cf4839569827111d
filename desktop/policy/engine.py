"""The year's entitlement E and the marginal payment E(H ∪ C) − E(H) (POLICY.md §0.3, §0.4).

Rows of an invoice year are taken in (date, receipt_no, id) order; caps, thresholds and the
allowance are filled in that order with the values in force on each row's date. E(H) and
E(H ∪ C) are computed in one pass with two accumulators. Each bucket of each year is rounded
once (POLICY D6); the payment is the difference of the two rounded figures, so successive
applications add up to exactly the year's entitlement.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from desktop.policy.caveats import parameter_warnings
from desktop.policy.eligibility import Classifier
from desktop.policy.errors import CalcInputError
from desktop.policy.labels import bucket_label
from desktop.policy.model import (
    Bucket,
    BucketLine,
    Case,
    Limit,
    Program,
    Result,
    RowResult,
    Warning,
)
from desktop.policy.money import ZERO, format_amount, round_fen
from desktop.policy.parameters import (
    ParameterGap,
    ParameterValue,
    PolicyParameters,
    ProgramParameters,
)

_BUCKET_ORDER = (Bucket.ALLOWANCE, Bucket.OUTPATIENT, Bucket.INPATIENT, Bucket.DEDUCTIBLE,
                 Bucket.DISTRICT)


_LimitKey = tuple[Bucket, str, Decimal, str]  # bucket, name, amount, source


class _Acc:
    """Running figures of one entitlement computation (E(H) or E(H ∪ C)) for one year."""

    __slots__ = ("base", "capped", "district_used", "floor_room", "inpatient_deductible_used",
                 "reached", "sums", "threshold_used")

    def __init__(self) -> None:
        self.sums: dict[Bucket, Decimal] = dict.fromkeys(_BUCKET_ORDER, ZERO)
        self.base: dict[Bucket, Decimal] = dict.fromkeys(_BUCKET_ORDER, ZERO)
        self.capped: dict[Bucket, Decimal] = dict.fromkeys(_BUCKET_ORDER, ZERO)
        self.district_used = ZERO
        self.threshold_used = ZERO  # mutual aid outpatient: personal cash toward the threshold
        self.inpatient_deductible_used = ZERO
        self.floor_room = ZERO  # mutual aid inpatient: Σ((1 − floor) × in_scope − reimbursed)
        self.reached: set[_LimitKey] = set()  # limits that cut this computation


@dataclass
class _Year:
    """E(H) and E(H ∪ C) of one invoice year and the limits that took part."""

    before: _Acc = field(default_factory=_Acc)
    after: _Acc = field(default_factory=_Acc)
    limits: dict[_LimitKey, None] = field(default_factory=dict)  # in order of first use

    def limit(self, bucket: Bucket, name: str, entry: ParameterValue) -> _LimitKey:
        amount = entry.value
        assert isinstance(amount, Decimal)
        key = (bucket, name, amount, entry.source)
        self.limits[key] = None
        return key


def calculate(case: Case, parameters: PolicyParameters) -> Result:
    """The explained result of one application. Raises CalcInputError for a row no rule covers."""
    view = parameters.for_program(case.program.value, case.district.value)
    used: dict[int, ParameterValue] = {}
    classifier = Classifier(case, view, used)
    rows: list[RowResult] = []
    for index, row in enumerate(case.fees):
        try:
            rows.append(classifier.classify(row))
        except ParameterGap as gap:
            raise _gap_error(index, gap) from None
    years = sorted({r.row.date.year for r in rows if not r.row.settled})
    counting = [r for r in rows if r.reason is None and r.row.date.year in years]
    counting.sort(key=lambda r: r.row.order_key)
    allowance: dict[str, Decimal] = {}
    if case.program is Program.MUTUAL_AID:
        allowance = _allocate_allowance(case, counting)
    lines: list[BucketLine] = []
    warnings: list[Warning] = []
    for year in years:
        year_rows = [r for r in counting if r.row.date.year == year]
        if not year_rows:
            continue
        try:
            if case.program is Program.ASSISTANCE:
                figures = _assistance_year(year_rows, view, used)
            else:
                figures = _mutual_aid_year(case, year_rows, view, used, allowance)
        except ParameterGap as gap:
            index = next(i for i, r in enumerate(case.fees) if r.date == gap.day)
            raise _gap_error(index, gap) from None
        lines.extend(_lines(case.program, year, figures, warnings))
    settled = [settled_row_warning(r) for r in rows if r.row.settled and r.reason is not None]
    return result_of(case, tuple(rows), lines, [*warnings, *settled], used)


def settled_row_warning(r: RowResult) -> Warning:
    """A settled row that the rules now say does not count: the clerk checks it."""
    return Warning("settled_row_not_counting",
                   f"已结算的费用 {r.row.id} 按现行规则不计入年度累计，请核对。")


def result_of(case: Case, rows: tuple[RowResult, ...], lines: list[BucketLine],
              warnings: list[Warning], used: dict[int, ParameterValue]) -> Result:
    """The Result from the year lines: the buckets, the payable amount, the parameters cited
    (in file, key and date order) and their warnings after `warnings`."""
    buckets: dict[Bucket, Decimal] = {}
    for line in lines:
        if line.payable:
            buckets[line.bucket] = buckets.get(line.bucket, ZERO) + line.payable
    payable = sum(buckets.values(), ZERO)
    values = tuple(sorted(used.values(), key=lambda e: (e.file, e.key, e.effective_from)))
    return Result(case, payable, buckets, rows, tuple(lines),
                  (*warnings, *parameter_warnings(values, case.application_date)), values)


def standing(case: Case, parameters: PolicyParameters, year: int) -> tuple[BucketLine, ...]:
    """What the person's settled rows of `year` (H) already used of each bucket: E(H), with
    the caps and thresholds that apply, so a clerk sees e.g. 门急诊 2,130 / 2,800 before
    ticking anything. The case's unsettled rows are ignored; each line has before == after."""
    view = parameters.for_program(case.program.value, case.district.value)
    used: dict[int, ParameterValue] = {}
    classifier = Classifier(case, view, used)
    settled = [r for r in case.fees if r.settled and r.date.year == year]
    try:
        rows = [classifier.classify(r) for r in settled]
    except ParameterGap as gap:
        raise _gap_error(case.fees.index(next(r for r in settled if r.date == gap.day)),
                         gap) from None
    counting = sorted((r for r in rows if r.reason is None), key=lambda r: r.row.order_key)
    if not counting:
        return ()
    if case.program is Program.ASSISTANCE:
        figures = _assistance_year(counting, view, used)
    else:
        figures = _mutual_aid_year(case, counting, view, used, {})
    return tuple(_lines(case.program, year, figures, []))


def _gap_error(index: int, gap: ParameterGap) -> CalcInputError:
    return CalcInputError(
        f"fees[{index}].date",
        f"{gap.day.isoformat()} is before any policy parameter in force ({gap.key})",
        f"{gap.day.isoformat()} 早于现行政策参数的生效日期（{gap.key}）",
    )


def _fill(limit: Decimal, used_so_far: Decimal, amount: Decimal) -> Decimal:
    """The part of `amount` that still fits under `limit` after `used_so_far`."""
    room = limit - used_so_far
    if amount <= room:
        return amount
    return room if room > 0 else ZERO


# -- 医疗救助 ------------------------------------------------------------------------------------


def _assistance_year(
    rows: list[RowResult],
    view: ProgramParameters,
    used: dict[int, ParameterValue],
    by_row: bool = False,
) -> _Year:
    """E(H) and E(H ∪ C) of one year's counting rows, sorted in fill order.

    When every capped row of a bucket has the same cap and the district round does not change
    during the year, row-by-row filling adds up to POLICY.md §1's formulas on the year's sums,
    which are computed directly; otherwise the rows fill the caps one by one.
    """
    caps: dict[Bucket, set[Decimal]] = {Bucket.OUTPATIENT: set(), Bucket.INPATIENT: set()}
    for res in {id(r.resolution): r.resolution for r in rows}.values():
        if res.cap is not None:
            assert res.bucket is not None
            caps[res.bucket].add(res.cap)
    first = _district_round(view, rows[0].row.date, used)
    last = _district_round(view, rows[-1].row.date, used)
    if not by_row and all(len(v) <= 1 for v in caps.values()) and first == last:
        return _assistance_year_totals(rows, first)
    return _assistance_year_by_row(rows, view, used)


def _assistance_year_totals(rows: list[RowResult], second: _Second | None) -> _Year:
    """The uniform year: caps and the district round applied once to the year's sums."""
    sums = _YearSums()
    sums.add(rows)
    return sums.year(second)


class _YearSums:
    """The sums a uniform 医疗救助 year is computed from, by slot: bucket × (capped or not);
    index 0 of each pair is for E(H ∪ C), index 1 for E(H) (settled rows only).

    Sums of two sets of rows add up (`merged`), so a person's settled history can be summed
    once and each recompute adds only the ticked rows (`desktop.policy.recompute`).
    """

    __slots__ = ("base", "deductible", "deductible_base", "first_cap", "raw", "self_pay")

    def __init__(self) -> None:
        self.raw: dict[tuple[Bucket, bool], list[Decimal]] = {}
        self.base: dict[Bucket, Decimal] = {Bucket.OUTPATIENT: ZERO, Bucket.INPATIENT: ZERO}
        # Each capped bucket's first row in fill order: its order key, cap and cap entry.
        self.first_cap: dict[Bucket, tuple[tuple[date, str, str], Decimal, ParameterValue]] = {}
        self.deductible = [ZERO, ZERO]
        self.deductible_base = ZERO
        self.self_pay = [ZERO, ZERO]

    def add(self, rows: Iterable[RowResult]) -> None:
        """Add counting rows, taken in fill order."""
        raw = self.raw
        base = self.base
        deductible = self.deductible
        self_pay = self.self_pay
        for r in rows:
            row = r.row
            res = r.resolution
            bucket = res.bucket
            rate = res.rate
            assert bucket is not None and rate is not None
            settled = row.settled
            sp = row.self_pay
            part = row.deductible_part
            if res.deductible_rate is not None and part:
                # 沪医保待遇〔2023〕1号 (MH-2026 §八.六): the 起付线 part is paid in full, outside
                # the cap, and leaves the rate's base.
                paid = part * res.deductible_rate
                deductible[0] += paid
                self.deductible_base += part
                if settled:
                    deductible[1] += paid
                sp_base = sp - part
            else:
                sp_base = sp
            amount = sp_base * rate
            capped = res.cap is not None
            if capped and bucket not in self.first_cap:
                assert res.cap is not None and res.cap_entry is not None
                self.first_cap[bucket] = (row.order_key, res.cap, res.cap_entry)
            slot = raw.get((bucket, capped))
            if slot is None:
                slot = raw[(bucket, capped)] = [ZERO, ZERO]
            slot[0] += amount
            base[bucket] += sp_base
            self_pay[0] += sp
            if settled:
                slot[1] += amount
                self_pay[1] += sp

    def merged(self, other: _YearSums) -> _YearSums:
        """The sums of both sets of rows (Decimal addition is exact here: no rounding)."""
        out = _YearSums()
        for key in self.raw.keys() | other.raw.keys():
            a = self.raw.get(key, (ZERO, ZERO))
            b = other.raw.get(key, (ZERO, ZERO))
            out.raw[key] = [a[0] + b[0], a[1] + b[1]]
        for bucket in out.base:
            out.base[bucket] = self.base[bucket] + other.base[bucket]
        for bucket in self.first_cap.keys() | other.first_cap.keys():
            candidates = [s.first_cap[bucket] for s in (self, other) if bucket in s.first_cap]
            out.first_cap[bucket] = min(candidates, key=lambda c: c[0])
        out.deductible = [self.deductible[0] + other.deductible[0],
                          self.deductible[1] + other.deductible[1]]
        out.deductible_base = self.deductible_base + other.deductible_base
        out.self_pay = [self.self_pay[0] + other.self_pay[0], self.self_pay[1] + other.self_pay[1]]
        return out

    def year(self, second: _Second | None) -> _Year:
        """E(H) and E(H ∪ C) from the sums, with the caps and the district round applied."""
        year = _Year()
        raw = self.raw
        caps = {bucket: (cap, entry) for bucket, (_, cap, entry) in self.first_cap.items()}
        for bucket, (_, entry) in caps.items():
            year.limit(bucket, "年度救助限额", entry)
        if second is not None:
            year.limit(Bucket.DISTRICT, "区级年度救助限额", second.cap_entry)
        for i, acc in enumerate((year.after, year.before)):
            city_total = ZERO
            for bucket in (Bucket.OUTPATIENT, Bucket.INPATIENT):
                city = raw.get((bucket, False), [ZERO, ZERO])[i]
                capped_raw = raw.get((bucket, True), [ZERO, ZERO])[i]
                if bucket in caps:
                    # Caps per invoice year, shared by the bucket's rows across category
                    # changes.
                    cap, entry = caps[bucket]
                    if capped_raw > cap:
                        capped_raw = cap
                        acc.reached.add(year.limit(bucket, "年度救助限额", entry))
                city += capped_raw
                acc.sums[bucket] = city
                acc.base[bucket] = self.base[bucket]
                city_total += city
            acc.sums[Bucket.DEDUCTIBLE] = self.deductible[i]
            acc.base[Bucket.DEDUCTIBLE] = self.deductible_base
            if second is not None:
                # 闵行 second round: 50 % of what is left after city assistance, ≤ 30,000 a
                # year.
                remaining = self.self_pay[i] - city_total - self.deductible[i]
                district = remaining * second.rate
                if district > second.cap:
                    district = second.cap
                    acc.reached.add(year.limit(Bucket.DISTRICT, "区级年度救助限额",
                                               second.cap_entry))
                acc.sums[Bucket.DISTRICT] = district
                acc.base[Bucket.DISTRICT] = remaining
        return year


def _assistance_year_by_row(
    rows: list[RowResult], view: ProgramParameters, used: dict[int, ParameterValue]
) -> _Year:
    """Caps and the district round filled row by row, with the values in force on each date."""
    year = _Year()
    after, before = year.after, year.before
    both = (after, before)
    only = (after,)
    district: dict[date, _Second | None] = {}
    for r in rows:
        row = r.row
        res = r.resolution
        bucket, rate, cap = res.bucket, res.rate, res.cap
        assert rate is not None and bucket is not None
        day = row.date
        if day not in district:
            district[day] = _district_round(view, day, used)
        second = district[day]
        self_pay = row.self_pay
        base = self_pay
        deductible = ZERO
        if res.deductible_rate is not None and row.deductible_part:
            # 沪医保待遇〔2023〕1号 (MH-2026 §八.六): the 起付线 part is paid in full, outside
            # the cap, and leaves the rate's base.
            deductible = row.deductible_part * res.deductible_rate
            base = self_pay - row.deductible_part
        raw = base * rate
        cap_key = None
        if cap is not None:
            assert res.cap_entry is not None
            cap_key = year.limit(bucket, "年度救助限额", res.cap_entry)
        d_key = None
        if second is not None:
            d_key = year.limit(Bucket.DISTRICT, "区级年度救助限额", second.cap_entry)
        for acc in both if row.settled else only:
            if deductible:
                acc.sums[Bucket.DEDUCTIBLE] += deductible
                acc.base[Bucket.DEDUCTIBLE] += row.deductible_part
            acc.base[bucket] += base
            city = raw
            if cap is not None:
                # Caps per invoice year, shared by the bucket's rows across category changes.
                city = _fill(cap, acc.capped[bucket], raw)
                acc.capped[bucket] += city
                if city < raw:
                    assert cap_key is not None
                    acc.reached.add(cap_key)
            acc.sums[bucket] += city
            if second is not None:
                # 闵行 second round: 50 % of what is left after city assistance, ≤ 30,000.
                remaining = self_pay - city - deductible
                d_raw = remaining * second.rate
                d_paid = _fill(second.cap, acc.district_used, d_raw)
                acc.district_used += d_paid
                acc.sums[Bucket.DISTRICT] += d_paid
                acc.base[Bucket.DISTRICT] += remaining
                if d_paid < d_raw:
                    assert d_key is not None
                    acc.reached.add(d_key)
    return year


@dataclass(frozen=True)
class _Second:
    """The 闵行 second round in force on a date (compared by its entries)."""

    rate_entry: ParameterValue
    cap_entry: ParameterValue

    @property
    def rate(self) -> Decimal:
        assert isinstance(self.rate_entry.value, Decimal)
        return self.rate_entry.value

    @property
    def cap(self) -> Decimal:
        assert isinstance(self.cap_entry.value, Decimal)
        return self.cap_entry.value


def _district_round(
    view: ProgramParameters, day: date, used: dict[int, ParameterValue]
) -> _Second | None:
    """The district's second round in force on `day` (闵行 only), or None."""
    rate_entry = view.at("district_round.rate", day)
    cap_entry = view.at("district_round.cap", day)
    if rate_entry is None or cap_entry is None:
        return None
    used[id(rate_entry)] = rate_entry
    used[id(cap_entry)] = cap_entry
    return _Second(rate_entry, cap_entry)


# -- 市民社区医疗互助帮困 ------------------------------------------------------------------------


def _allocate_allowance(case: Case, counting: list[RowResult]) -> dict[str, Decimal]:
    """The card balance pays this application's outpatient rows first (MA-2021 四(一))."""
    membership = case.person.mutual_aid
    balance = membership.allowance_balance if membership is not None else ZERO
    out: dict[str, Decimal] = {}
    for r in counting:
        if balance <= 0:
            break
        if r.row.settled or r.bucket is not Bucket.OUTPATIENT:
            continue
        share = min(balance, r.row.self_pay)
        if share:
            out[r.row.id] = share
            balance -= share
    return out


def _mutual_aid_year(
    case: Case,
    rows: list[RowResult],
    view: ProgramParameters,
    used: dict[int, ParameterValue],
    allowance: dict[str, Decimal],
    by_row: bool = False,
) -> _Year:
    membership = case.person.mutual_aid
    assert membership is not None
    external = membership.external_inpatient_insurance
    year = _Year()
    both = (year.after, year.before)
    only = (year.after,)
    floor: ParameterValue | None = None
    outpatient = [r for r in rows if r.resolution.bucket is Bucket.OUTPATIENT]
    uniform = False
    if outpatient:
        first = view.require("outpatient.threshold", outpatient[0].row.date)
        uniform = not by_row and first is view.require(
            "outpatient.threshold", outpatient[-1].row.date)
        if uniform:
            used[id(first)] = first
            _outpatient_totals(year, outpatient, first, allowance)
    for r in rows:
        row = r.row
        rate = r.resolution.rate
        assert rate is not None
        if r.resolution.bucket is Bucket.OUTPATIENT:
            if uniform:
                continue
            threshold = view.require("outpatient.threshold", row.date)
            used[id(threshold)] = threshold
            limit = threshold.value
            assert isinstance(limit, Decimal)
            t_key = year.limit(Bucket.OUTPATIENT, "年累计个人现金自负起付标准", threshold)
            covered = ZERO if row.settled else allowance.get(row.id, ZERO)
            cash = row.self_pay - covered
            for acc in both if row.settled else only:
                if covered:
                    acc.sums[Bucket.ALLOWANCE] += covered
                    acc.base[Bucket.ALLOWANCE] += covered
                # MA-2021 四(二): personal cash fills the threshold in force on the row's date
                # (500, or 300 from 2025-01-01: POLICY D3) first, in row order.
                fill = _fill(limit, acc.threshold_used, cash)
                acc.threshold_used += fill
                acc.sums[Bucket.OUTPATIENT] += (cash - fill) * rate
                acc.base[Bucket.OUTPATIENT] += cash
                if fill:
                    acc.reached.add(t_key)
            continue
        floor = view.require("inpatient.floor", row.date)
        used[id(floor)] = floor
        share = floor.value
        assert isinstance(share, Decimal)
        in_scope = row.in_scope
        deductible: ParameterValue | None = None
        if not external:
            deductible = view.require("inpatient.no_external.deductible", row.date)
            used[id(deductible)] = deductible
            i_key = year.limit(Bucket.INPATIENT, "年累计住院起付标准", deductible)
        for acc in both if row.settled else only:
            acc.base[Bucket.INPATIENT] += in_scope
            acc.floor_room += (1 - share) * in_scope - row.external_reimbursed
            if deductible is None:
                # MA-2021 四(三)1: 60 % after the other province's 起付 and reimbursement.
                acc.sums[Bucket.INPATIENT] += (
                    in_scope - row.external_deductible - row.external_reimbursed) * rate
            else:
                # MA-2021 四(三)2: 50 % of the year's in-scope cost above 1,000.
                limit = deductible.value
                assert isinstance(limit, Decimal)
                fill = _fill(limit, acc.inpatient_deductible_used, in_scope)
                acc.inpatient_deductible_used += fill
                acc.sums[Bucket.INPATIENT] += (in_scope - fill) * rate
                if fill:
                    acc.reached.add(i_key)
    if floor is not None:
        f_key = year.limit(Bucket.INPATIENT, "个人自负不低于住院总费用的比例", floor)
        for acc in both:
            # MA-2021 四(三)3: the member keeps paying at least 8 % of the in-scope total.
            room = acc.floor_room if acc.floor_room > 0 else ZERO
            if acc.sums[Bucket.INPATIENT] > room:
                acc.sums[Bucket.INPATIENT] = room
                acc.reached.add(f_key)
    return year


def _outpatient_totals(
    year: _Year, rows: list[RowResult], threshold: ParameterValue, allowance: dict[str, Decimal]
) -> None:
    """Mutual-aid outpatient rows under one threshold all year (MA-2021 四(二)).

    Personal cash fills the threshold in row order; past it, each row is paid at its rate.
    """
    limit = threshold.value
    assert isinstance(limit, Decimal)
    key = year.limit(Bucket.OUTPATIENT, "年累计个人现金自负起付标准", threshold)
    cash_all: list[Decimal] = []
    pay_all: list[Decimal] = []
    rate_all: list[Decimal] = []
    history: list[int] = []  # positions of the settled rows
    covered_total = ZERO
    for i, r in enumerate(rows):
        row = r.row
        rate = r.resolution.rate
        assert rate is not None
        if row.settled:
            cash = row.self_pay
            history.append(i)
        else:
            covered = allowance.get(row.id, ZERO)
            covered_total += covered
            cash = row.self_pay - covered
        cash_all.append(cash)
        rate_all.append(rate)
        pay_all.append(cash * rate)
    for acc, positions in ((year.after, None), (year.before, history)):
        cashes = cash_all if positions is None else [cash_all[i] for i in positions]
        pays = pay_all if positions is None else [pay_all[i] for i in positions]
        rates = rate_all if positions is None else [rate_all[i] for i in positions]
        filled = ZERO
        paid = ZERO
        i = 0
        while i < len(cashes) and filled < limit:
            fill = _fill(limit, filled, cashes[i])
            filled += fill
            paid += (cashes[i] - fill) * rates[i]
            i += 1
        paid += sum(pays[i:], ZERO)
        acc.sums[Bucket.OUTPATIENT] = paid
        acc.base[Bucket.OUTPATIENT] = sum(cashes, ZERO)
        acc.threshold_used = filled
        if filled:
            acc.reached.add(key)
    year.after.sums[Bucket.ALLOWANCE] = covered_total
    year.after.base[Bucket.ALLOWANCE] = covered_total


# -- lines -------------------------------------------------------------------------------------


def _lines(
    program: Program, year: int, figures: _Year, warnings: list[Warning]
) -> Iterable[BucketLine]:
    before, after = figures.before, figures.after
    for bucket in _BUCKET_ORDER:
        if not after.base[bucket] and not after.sums[bucket] and not before.sums[bucket]:
            continue
        e_before = round_fen(before.sums[bucket])
        e_after = round_fen(after.sums[bucket])
        payable = e_after - e_before
        shortfall = ZERO
        if payable < 0:
            shortfall, payable = -payable, ZERO
            warnings.append(Warning(
                "shortfall",
                f"{year} 年{bucket_label(program, bucket)}：加入本次费用后年度应得 "
                f"{format_amount(e_after)} 元低于此前已付 {format_amount(e_before)} 元，"
                "本次不付，差额不追回，请复核。"))
        limits = [Limit(name, amount, source, key in after.reached)
                  for key in figures.limits
                  for b, name, amount, source in (key,) if b is bucket]
        yield BucketLine(year, bucket, after.base[bucket], e_before, e_after, payable,
                         tuple(limits), shortfall)
