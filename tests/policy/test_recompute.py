"""The counter's recompute (desktop.policy.recompute) against the engine, over generated cases.

`Prepared` classifies a person's rows and sums the settled history once; each tick then adds
only the ticked rows. Its result must be the engine's own for the case of the history and the
ticked rows (POLICY.md §0.4: E(H ∪ C) − E(H)): the same Result, the same contract output, the
same error. The cases are test_properties' (both programs, three districts, category changes
within the year, 闵行's second round, caps reached), with some rows made settled history,
some of those moved to the year before, and a random subset of the others ticked, in random
order and several times over one Prepared, as a clerk ticks and unticks.
"""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from desktop.policy.contract import default_parameters, parse_case, result_to_json
from desktop.policy.engine import calculate
from desktop.policy.errors import CalcInputError
from desktop.policy.model import Case, Result
from desktop.policy.recompute import Prepared
from tests.policy.builders import assistance, fee, mutual_aid
from tests.policy.test_properties import cases

PARAMETERS = default_parameters()


@st.composite
def counter_cases(draw: st.DrawFn) -> tuple[dict[str, Any], list[list[str]]]:
    """A case with settled history, and the successive tick sets of one open person."""
    case = draw(cases())
    if case["program"] == "mutual_aid":  # the card balance pays outpatient rows first
        case["person"]["mutual_aid"]["allowance_balance"] = draw(st.sampled_from(
            ["0.00", "35.50", "800.00", "99999.00"]))
    candidates = []
    for f in case["fees"]:
        if draw(st.integers(0, 2)) == 0:
            f["settled"] = True
            for flag in ("already_claimed", "one_stop_settled", "clearing_pending"):
                f.pop(flag, None)  # a settled row carries no claim-procedure flags
            if draw(st.integers(0, 3)) == 0:
                f["date"] = "2025" + f["date"][4:]  # last year's history
        else:
            candidates.append(f["id"])
    ticks = draw(st.lists(st.lists(st.sampled_from(candidates), unique=True)
                          if candidates else st.just([]), min_size=1, max_size=4))
    return case, ticks


def expected(case: Case, ticked: list[str]) -> Result | CalcInputError:
    chosen = set(ticked)
    fees = sorted((f for f in case.fees if f.settled or f.id in chosen),
                  key=lambda f: f.order_key)
    try:
        return calculate(replace(case, fees=tuple(fees)), PARAMETERS)
    except CalcInputError as exc:
        return exc


def actual(prepared: Prepared, ticked: list[str]) -> Result | CalcInputError:
    try:
        return prepared.calculate(ticked)
    except CalcInputError as exc:
        return exc


def same(got: Result | CalcInputError, want: Result | CalcInputError) -> None:
    if isinstance(want, CalcInputError):
        assert isinstance(got, CalcInputError), got
        assert (got.path, got.message, got.message_zh) == (want.path, want.message,
                                                            want.message_zh)
        return
    assert isinstance(got, Result), got
    assert got == want
    assert (json.dumps(result_to_json(got, PARAMETERS), ensure_ascii=False)
            == json.dumps(result_to_json(want, PARAMETERS), ensure_ascii=False))


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(counter_cases())
def test_prepared_gives_the_engines_result(drawn: tuple[dict[str, Any], list[list[str]]]
                                          ) -> None:
    data, ticks = drawn
    case = parse_case(data, PARAMETERS)
    prepared = Prepared(case, PARAMETERS)
    for ticked in ticks:
        same(actual(prepared, ticked), expected(case, ticked))


def test_a_large_history_takes_the_fast_path_with_the_same_result() -> None:
    """300 candidates and 2,000 settled rows of the same year (the benchmark's shape, smaller
    amounts so the cap is reached part-way): identical to the engine's result."""
    fees = []
    for n in range(2_300):
        day = f"2026-{1 + n % 6 + 6:02d}-{1 + n % 28:02d}"
        row = fee(f"F{n:04d}", day, f"{10 + n % 400}.{n % 100:02d}",
                  "inpatient" if n % 17 == 0 else "outpatient", receipt_no=f"{n:010d}")
        if n >= 300:
            row["settled"] = True
        fees.append(row)
    case = parse_case(assistance(fees, application_date="2026-12-31"), PARAMETERS)
    prepared = Prepared(case, PARAMETERS)
    for ticked in ([], ["F0001"], [f"F{n:04d}" for n in range(0, 300, 3)],
                   [f"F{n:04d}" for n in range(299, -1, -1)]):
        same(actual(prepared, ticked), expected(case, ticked))


@pytest.mark.parametrize("external", [True, False])
def test_mutual_aid_history_with_the_floor_reached_and_the_card_balance(external: bool
                                                                       ) -> None:
    """互助帮困 (MA-2021 四(二), 四(三)): settled history before and after the ticked rows, the
    outpatient threshold filled across both, the 8 % floor reached by an inpatient row mostly
    reimbursed elsewhere, the card balance paying outpatient rows first."""
    rows = [
        fee("H1", "2026-07-02", "200.00", settled=True),
        fee("T1", "2026-07-05", "150.00"),
        fee("H2", "2026-07-09", "400.00", settled=True),
        fee("T2", "2026-08-01", "10000.00", "inpatient", external_reimbursed="9200.00"
            if external else "0.00", external_deductible="0.00"),
        fee("H3", "2026-08-03", "5000.00", "inpatient", settled=True,
            external_reimbursed="4600.00" if external else "0.00"),
        fee("T3", "2026-09-01", "60.00"),
        fee("H4", "2026-09-20", "90.00", settled=True),
    ]
    case = parse_case(mutual_aid(rows, application_date="2026-12-31", external=external,
                                 allowance_balance="100.00"), PARAMETERS)
    prepared = Prepared(case, PARAMETERS)
    for ticked in (["T1"], ["T2"], ["T3", "T1"], ["T1", "T2", "T3"], []):
        same(actual(prepared, ticked), expected(case, ticked))
    if external:
        result = prepared.calculate(["T2"])
        assert any(limit.reached and "比例" in limit.name
                   for line in result.lines for limit in line.limits)


def test_an_id_that_is_not_a_candidate_is_refused() -> None:
    case = parse_case(assistance([fee("A", "2026-05-01", "100.00"),
                                  fee("B", "2026-05-02", "100.00", settled=True)]), PARAMETERS)
    prepared = Prepared(case, PARAMETERS)
    with pytest.raises(KeyError):
        prepared.calculate(["B"])
    with pytest.raises(KeyError):
        prepared.calculate(["nope"])
