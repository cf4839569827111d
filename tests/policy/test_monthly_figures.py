"""The month's report arithmetic, pure (desktop.policy.monthly_figures): plain inputs in, the
结算汇总表's tables and the 发放清单's lines out, every table adding up to the same total. The
counter's reports (tests/services/test_reports.py) and the district's console month
(tests/console/test_month.py) run it on their own records."""

from __future__ import annotations

import uuid
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from desktop.policy import monthly_figures as figures
from desktop.policy.contract import default_parameters, parse_case, result_to_json
from desktop.policy.engine import calculate
from desktop.policy.model import Program
from desktop.policy.monthly_figures import (
    MEMBER,
    UNKNOWN,
    ZERO,
    ApplicationFigures,
    ReportDataError,
    Settled,
)
from tests.layering import imported_modules
from tests.policy.builders import assistance, fee, mutual_aid
from tests.policy.test_layers import FORBIDDEN

FIRST, LAST = date(2026, 6, 1), date(2026, 6, 30)
D = Decimal


def _result(case: dict[str, Any]) -> dict[str, Any]:
    parameters = default_parameters()
    return result_to_json(calculate(parse_case(case, parameters), parameters), parameters)


def application(case: dict[str, Any], *, person: str = "P1", name: str = "张三",
                card: str | None = "6222 0200-1234 5678", committee: str | None = "一居",
                auto: bool = False) -> ApplicationFigures:
    result = _result(case)
    return ApplicationFigures(
        id=uuid.uuid4(), program=case["program"], district=case["district"], person_id=person,
        name=name, id_number="310105199001011234", committee=committee, bank_account=card,
        payable=D(result["payable"]), buckets=result["buckets"], case=case, result=result,
        auto_enrolled=auto)


SWITCH = assistance([fee("A", "2026-02-10", "1000.00"), fee("B", "2026-05-10", "600.00")],
                    [("low_income", "2024-01-01", "2026-03-31"), ("dibao", "2026-04-01", None)])


def _summary(settled: list[Settled], count: int = 0, fees: Decimal = ZERO
             ) -> figures.MonthlySummary:
    return figures.monthly_summary(settled, street_code="310105001", year=2026, month=6,
                                   period_start=FIRST, period_end=LAST, enrolment_count=count,
                                   enrolment_fees=fees)


def test_an_application_is_split_by_the_category_of_each_row() -> None:
    settled = figures.settle(application(SWITCH))
    # 1000 × 50% (低收入) and 600 × 60% (低保): no cap reached, so exactly what each was paid
    assert settled.shares == {("low_income", "outpatient"): D("500.00"),
                              ("dibao", "outpatient"): D("360.00")}
    assert settled.categories == {"low_income", "dibao"}
    assert settled.buckets == {"outpatient": D("860.00")} and settled.payable == D("860.00")
    assert settled.bank_account == "6222020012345678"


def test_the_summary_tables_add_up_to_the_total() -> None:
    settled = [figures.settle(application(SWITCH)),
               figures.settle(application(mutual_aid([fee("M", "2026-05-02", "300.00")]),
                                          person="P2", name="李四", auto=True))]
    summary = _summary(settled, 3, D("390.00"))
    assert summary.applications == 2 and summary.persons == 2 and summary.auto_enrolled == 1
    for table in (summary.programs, summary.categories, summary.buckets):
        assert sum((line.amount for line in table), ZERO) == summary.total
    amounts = {(c.program, c.category): c.amount for c in summary.categories}
    assert amounts[("assistance", "low_income")] == D("500.00")
    assert amounts[("assistance", "dibao")] == D("360.00")
    assert amounts[("mutual_aid", MEMBER)] == summary.total - D("860.00")
    assert (summary.enrolments.count, summary.enrolments.fees) == (3, D("390.00"))


def test_an_empty_month_lists_every_fixed_line_at_zero() -> None:
    summary = _summary([])
    assert [p.program for p in summary.programs] == ["assistance", "mutual_aid"]
    assert summary.categories and all(c.amount == ZERO for c in summary.categories)
    assert summary.buckets and summary.total == ZERO and summary.applications == 0


def test_buckets_that_do_not_add_up_are_refused() -> None:
    good = application(SWITCH)
    bad = ApplicationFigures(**{**good.__dict__, "payable": D("861.00")})
    with pytest.raises(ReportDataError, match="不符"):
        figures.settle(bad)


def test_without_a_result_the_bucket_totals_stand_alone() -> None:
    a = application(SWITCH)
    bare = ApplicationFigures(**{**a.__dict__, "result": {}, "case": {}})
    settled = figures.settle(bare)
    assert settled.shares == {(UNKNOWN, "outpatient"): D("860.00")}


def test_the_payout_list_groups_by_person_and_card_and_shows_them_as_told() -> None:
    settled = [figures.settle(a) for a in (
        application(SWITCH, person="P2", name="王五", committee="二居"),
        application(SWITCH, person="P1", name="张三"),
        application(SWITCH, person="P1", name="张三"),
        application(SWITCH, person="P3", name="赵六", card=None))]
    payout = figures.payout_list(settled, street_code="310105001", year=2026, month=6,
                                 period_start=FIRST, period_end=LAST, masked=True,
                                 show_id=lambda n: n[:3] + "***",
                                 show_card=lambda c: "****" + c[-4:])
    assert [(line.number, line.name, line.applications) for line in payout.lines] == [
        (1, "张三", 2), (2, "赵六", 1), (3, "王五", 1)]  # by committee, then name
    assert payout.lines[0].bank_account == "****5678" and payout.lines[0].id_number == "310***"
    assert payout.lines[1].bank_account is None and payout.without_card == 1
    assert payout.total == payout.assistance == D("3440.00") and payout.persons == 3


@given(st.lists(st.integers(min_value=0, max_value=10_000), min_size=1, max_size=6),
       st.integers(min_value=0, max_value=1_000_000))
def test_allocate_adds_up_to_the_fen(weights: list[int], fen: int) -> None:
    keyed = {f"c{i}": D(w) for i, w in enumerate(weights)}
    if not sum(keyed.values()):
        keyed["c0"] = D(1)
    shares = figures.allocate(D(fen) / 100, keyed)
    assert sum(shares.values(), ZERO) == D(fen) / 100
    assert all(v > 0 and v == v.quantize(D("0.01")) for v in shares.values())


def test_the_module_is_pure() -> None:
    names = imported_modules(Path(figures.__file__))
    assert not [n for n in names if n.startswith(FORBIDDEN)]
    assert Program.ASSISTANCE in figures.PROGRAMS
