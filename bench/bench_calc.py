"""Benchmark: the recompute at the counter for one person, 300 ticked + 2,000 settled rows.

The counter recomputes on every tick (desktop.policy.recompute.Prepared: the rows classified
and the settled history summed once per opened person, the trace built only when shown). The
raw baseline, in the same run: the engine on the 300 ticked rows alone, with no history. Also
printed: the engine classifying every row (what each tick cost before), the opening, the trace.
Target (issue 13): median < 1 ms, both programs.
Run: `make bench` or `.venv/bin/python bench/bench_calc.py`.
"""

from __future__ import annotations

import os
import random
import statistics
import sys
import time
from dataclasses import replace
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from desktop.policy.contract import default_parameters, result_to_json
from desktop.policy.engine import calculate
from desktop.policy.model import (
    Case,
    CategorySpan,
    District,
    FeeRow,
    Kind,
    MutualAidMembership,
    Person,
    Program,
)
from desktop.policy.recompute import Prepared


def make_case(program: Program, district: District, ticked: int = 300, settled: int = 2000,
              seed: int = 7) -> Case:
    rnd = random.Random(seed)
    application = date(2026, 11, 20)
    rows = []
    kinds = [Kind.OUTPATIENT] * 8 + [Kind.INPATIENT, Kind.MAJOR_OUTPATIENT]
    for i in range(ticked + settled):
        is_settled = i >= ticked
        # ticked rows within the claim window, settled rows across the year
        start = date(2026, 6, 1) if not is_settled else date(2026, 1, 1)
        day = start + timedelta(days=rnd.randrange((application - start).days))
        total = Decimal(rnd.randrange(1000, 90000)) / 100
        oos = (total * Decimal(rnd.randrange(0, 20)) / 100).quantize(Decimal("0.01"))
        self_pay = ((total - oos) * Decimal(rnd.randrange(10, 60)) / 100).quantize(Decimal("0.01"))
        rows.append(FeeRow(
            id=f"F{i:05d}", receipt_no=f"{rnd.randrange(10**9):010d}", date=day,
            kind=rnd.choice(kinds), hospital_level=rnd.choice((1, 2, 3)), total=total,
            out_of_scope=oos, self_pay=self_pay,
            deductible_part=min(self_pay, Decimal("10.00")), settled=is_settled,
        ))
    person = Person(
        categories=(CategorySpan("low_income", date(2024, 1, 1), date(2026, 5, 31)),
                    CategorySpan("dibao", date(2026, 6, 1), None)),
        resident_insurance=True,
        mutual_aid=MutualAidMembership(frozenset({2026}), True, None, Decimal("80.00")),
    )
    return Case(program, district, application, person, tuple(rows))


def measure(label: str, fn, runs: int = 200) -> tuple[float, float]:  # type: ignore[no-untyped-def]
    for _ in range(10):
        fn()
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t0) * 1000)
    times.sort()
    median = statistics.median(times)
    p95 = times[int(len(times) * 0.95) - 1]
    print(f"{label:58s} median {median:7.3f} ms   p95 {p95:7.3f} ms")
    return median, p95


def main() -> int:
    params = default_parameters()
    load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    print(f"recompute benchmark; 2 CPUs, load average {load} (a shared machine)")
    worst = 0.0
    amounts = [Decimal("123.45")] * 2300
    measure("for the record: sum of 2,300 Decimals", lambda: sum(amounts, Decimal(0)))
    for program, district in ((Program.ASSISTANCE, District.MINHANG),
                              (Program.ASSISTANCE, District.CHANGNING),
                              (Program.MUTUAL_AID, District.CHANGNING)):
        case = make_case(program, district)
        name = f"{program.value}/{district.value}"
        measure(f"{name}: engine, every row classified (300 + 2,000)",
                lambda case=case: calculate(case, params), runs=50)
        began = time.perf_counter()
        prepared = Prepared(case, params)
        print(f"{name}: opening (classify and sum the history once): "
              f"{(time.perf_counter() - began) * 1000:.1f} ms")
        ticked = [f.id for f in case.fees if not f.settled]
        median, _ = measure(f"{name}: recompute at the counter (300 + 2,000)",
                            lambda p=prepared, t=ticked: p.calculate(t))
        alone = replace(case, fees=tuple(f for f in case.fees if not f.settled))
        base, _ = measure(f"{name}: baseline, the 300 ticked rows alone",
                          lambda alone=alone: calculate(alone, params))
        print(f"{name}: ratio {median / base:.1f}×")
        worst = max(worst, median)
    case = make_case(Program.ASSISTANCE, District.MINHANG)
    result = Prepared(case, params).calculate([f.id for f in case.fees if not f.settled])
    measure("the trace (calc command output), built only when shown",
            lambda: result_to_json(result, params), runs=50)
    target = 1.0
    print(f"target: median < {target} ms for the recompute at the counter, both programs — "
          f"{'met' if worst < target else 'NOT met'} (worst median {worst:.3f} ms)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
