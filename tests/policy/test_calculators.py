"""The other calculators of POLICY.md §5: table cases with hand-worked figures, and properties.

Every figure is worked by hand from the shipped parameters in resources/policy/ and the clause
cited beside it.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from desktop.policy.calculators import (
    RETIREMENT_STATUSES,
    HouseholdSpending,
    care_assessment,
    employee_outpatient_estimate,
    expenditure_2_check,
    home_care,
    institution_care,
    mutual_aid_funding,
    premium_subsidy,
    retirement_status,
)
from desktop.policy.contract import default_parameters
from desktop.policy.parameters import ParameterGap, ProgramParameters

P = default_parameters()
D = Decimal
SETTINGS = settings(max_examples=200, deadline=None)
amounts = st.decimals(min_value=0, max_value=1_000_000, places=2, allow_nan=False,
                      allow_infinity=False)


# -- 支出型贫困 II check: POLICY.md §5, SA-2022 四 ----------------------------------------------


@dataclass
class Exp2:
    name: str
    items: list[tuple[str, str]]
    income: str
    applied: str
    window: tuple[str, str]
    total: str
    threshold: str
    candidate: bool


EXP2 = [
    # POLICY.md §5 支出型贫困 II: window = the 12 calendar months before the application month;
    # both edges count, the application month does not. 1000 + 3000 = 4000 ≥ 0.40 × 10000.
    Exp2("edges of the window; reaching 40 % exactly is enough",
         [("2025-05-31", "9999.00"), ("2025-06-01", "1000.00"), ("2026-05-31", "3000.00"),
          ("2026-06-01", "5000.00"), ("2026-06-09", "5000.00")],
         "10000.00", "2026-06-10", ("2025-06-01", "2026-05-31"), "4000.00", "4000.00", True),
    # POLICY.md §5: 0.40 × 10000.01 = 4000.004 > 4000.00 → not reached; the shown threshold is
    # the least fen amount that reaches it (4000.01).
    Exp2("one fen of income more: 4000.00 < 4000.004",
         [("2025-06-01", "1000.00"), ("2026-05-31", "3000.00")],
         "10000.01", "2026-06-10", ("2025-06-01", "2026-05-31"), "4000.00", "4000.01", False),
    # POLICY.md §5: a January application looks at the whole previous year. 2000 + 1000 = 3000
    # < 0.40 × 8000 = 3200.
    Exp2("January application: the previous calendar year",
         [("2024-12-31", "5000.00"), ("2025-01-01", "2000.00"), ("2025-12-31", "1000.00"),
          ("2026-01-05", "5000.00")],
         "8000.00", "2026-01-20", ("2025-01-01", "2025-12-31"), "3000.00", "3200.00", False),
    # POLICY.md §5: applied on the 31st of March; the window ends on the last day of February.
    # 2500.50 ≥ 0.40 × 6000 = 2400.
    Exp2("month-end application, February end in a common year",
         [("2025-02-28", "800.00"), ("2025-03-01", "500.50"), ("2026-02-28", "2000.00"),
          ("2026-03-01", "100.00")],
         "6000.00", "2026-03-31", ("2025-03-01", "2026-02-28"), "2500.50", "2400.00", True),
    # POLICY.md §5: the first day of the month; leap-year February 29 is the last counted day.
    # 1200.00 ≥ 0.40 × 3000 = 1200.
    Exp2("application on the 1st, leap year",
         [("2024-02-29", "1200.00"), ("2024-03-01", "1.00"), ("2023-02-28", "1.00")],
         "3000.00", "2024-03-01", ("2023-03-01", "2024-02-29"), "1200.00", "1200.00", True),
    # POLICY.md §5: no self-pay at all is never a candidate.
    Exp2("no items", [], "0.01", "2026-06-10", ("2025-06-01", "2026-05-31"), "0.00", "0.01",
         False),
]


def spending(items: list[tuple[str, str]], designated: bool = True) -> list[HouseholdSpending]:
    return [HouseholdSpending(date.fromisoformat(d), D(a), designated) for d, a in items]


def check(items: list[HouseholdSpending], income: str, applied: str, *, below: bool = True,
          assets: bool = True) -> Any:
    return expenditure_2_check(P, items, D(income), date.fromisoformat(applied),
                               income_below_city_average=below, assets_within_standard=assets)


@pytest.mark.parametrize("case", EXP2, ids=[c.name for c in EXP2])
def test_expenditure_2_check(case: Exp2) -> None:
    result = check(spending(case.items), case.income, case.applied)
    assert (result.window_start.isoformat(), result.window_end.isoformat()) == case.window
    assert result.self_pay_sum == D(case.total)
    assert str(result.threshold) == case.threshold
    assert result.ratio == D("0.40") and result.months == 12
    assert result.candidate is case.candidate
    assert result.reaches_ratio is case.candidate and result.unmet == ()
    assert result.sources == ("SA-2022 四", "SA-2022 四 (POLICY D12)")
    assert not result.expired


def test_expenditure_2_counts_only_designated_shanghai_institutions() -> None:
    # SA-2022 四: "在本市医保定点医疗机构发生的由个人实际负担的医疗费用". Income 60,000 → 40 % is
    # 24,000. In the window (2025-06-01..2026-05-31): 20,000 at a 本市定点 institution counts;
    # 5,000 elsewhere (外省市 / 非定点) does not; 5,000 of 2024 is outside the window.
    # 20,000 < 24,000: not reached.
    items = [HouseholdSpending(date(2026, 1, 5), D("20000.00"), True),
             HouseholdSpending(date(2026, 2, 5), D("5000.00"), False),
             HouseholdSpending(date(2024, 2, 5), D("5000.00"), True)]
    result = check(items, "60000.00", "2026-06-10")
    assert (result.items_counted, result.items_not_designated, result.items_outside_window) == (
        1, 1, 1)
    assert (result.self_pay_sum, result.threshold) == (D("20000.00"), D("24000.00"))
    assert not result.reaches_ratio and not result.candidate
    # Had the 5,000 been at a 本市定点 institution: 25,000 ≥ 24,000.
    items[1] = HouseholdSpending(date(2026, 2, 5), D("5000.00"), True)
    assert check(items, "60000.00", "2026-06-10").candidate


@pytest.mark.parametrize(("below", "assets", "unmet"), [
    (False, True, ("income_below_city_average",)),
    (True, False, ("assets_within_standard",)),
    (False, False, ("income_below_city_average", "assets_within_standard")),
])
def test_expenditure_2_refuses_when_a_precondition_is_not_met(
    below: bool, assets: bool, unmet: tuple[str, ...]
) -> None:
    # SA-2022 四: a 支出型贫困家庭 has per-person income below last year's city average AND assets
    # within the 低收入 standard. 30,000 ≥ 0.40 × 60,000 = 24,000 reaches the ratio, yet a "no"
    # answer refuses the case; the answers are recorded in the result.
    items = spending([("2026-01-05", "30000.00")])
    result = check(items, "60000.00", "2026-06-10", below=below, assets=assets)
    assert result.reaches_ratio and not result.candidate
    assert result.unmet == unmet
    assert (result.income_below_city_average, result.assets_within_standard) == (below, assets)
    assert check(items, "60000.00", "2026-06-10").candidate


@pytest.mark.parametrize(("items", "income", "match"), [
    ([], D("0.00"), "household_annual_disposable_income"),
    ([], D("-100.00"), "household_annual_disposable_income"),
    ([], 10000.0, "household_annual_disposable_income"),
    (spending([("2026-01-01", "-1.00")]), D("1000.00"), r"household_medical_spending\[0\]"),
    ([HouseholdSpending(date(2026, 1, 1), D("1.00"), True),
      HouseholdSpending(date(2026, 1, 1), D("1.005"), True)], D("1000.00"),
     r"household_medical_spending\[1\]"),
    ([HouseholdSpending("2026-01-01", D("1.00"), True)], D("1000.00"),  # type: ignore[arg-type]
     r"household_medical_spending\[0\]"),
    ([(date(2026, 1, 1), D("1.00"))], D("1000.00"), r"household_medical_spending\[0\]"),
])
def test_expenditure_2_check_refuses_bad_arguments(items: Any, income: Any, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        expenditure_2_check(P, items, income, date(2026, 6, 10), income_below_city_average=True,
                            assets_within_standard=True)


def test_expenditure_2_check_needs_recorded_answers() -> None:
    with pytest.raises(ValueError, match="income_below_city_average"):
        expenditure_2_check(P, [], D("1000.00"), date(2026, 6, 10),
                            income_below_city_average=None,  # type: ignore[arg-type]
                            assets_within_standard=True)


# -- Employee outpatient estimate: POLICY.md §5, EMP-2021 二(二) --------------------------------


@dataclass
class Emp:
    name: str
    status: str
    level: int
    amount: str
    used: str
    consumed: str
    fund: str
    self_pay: str


EMP = [
    # POLICY.md §5 employee estimate: in work, deductible 500, level 1 fund 80 %:
    # 500 + 0.20 × 500 = 600.
    Emp("in work, level 1", "in_work", 1, "1000.00", "0.00", "500.00", "400.00", "600.00"),
    # level 3 fund 70 %: 500 + 0.30 × 500 = 650.
    Emp("in work, level 3", "in_work", 3, "1000.00", "0.00", "500.00", "350.00", "650.00"),
    # 200 already used: 300 left; 300 + 0.25 × 700 = 475.
    Emp("in work, deductible partly used", "in_work", 2, "1000.00", "200.00", "300.00",
        "525.00", "475.00"),
    # The amount uses up exactly the 300 left: all self-paid, nothing from the fund.
    Emp("deductible exactly used up", "in_work", 2, "300.00", "200.00", "300.00", "0.00",
        "300.00"),
    # Deductible already used up: 0.25 × 100 = 25.
    Emp("deductible used up before", "in_work", 2, "100.00", "500.00", "0.00", "75.00", "25.00"),
    # More than the deductible recorded as used: still nothing left, never negative.
    Emp("used above the deductible", "in_work", 1, "100.00", "650.00", "0.00", "80.00", "20.00"),
    # Retired on/after 2001-01-01: deductible 300, level 1 fund 85 %: 300 + 0.15 × 1000 = 450.
    Emp("retired after 2001, level 1", "retired_after_2001", 1, "1300.00", "0.00", "300.00",
        "850.00", "450.00"),
    # level 3 fund 75 %: 300 + 0.25 × 1000 = 550.
    Emp("retired after 2001, level 3", "retired_after_2001", 3, "1300.00", "0.00", "300.00",
        "750.00", "550.00"),
    # Retired on/before 2000-12-31: deductible 200, level 1 fund 90 %: 200 + 0.10 × 1000 = 300.
    Emp("retired before 2001, level 1", "retired_before_2001", 1, "1200.00", "0.00", "200.00",
        "900.00", "300.00"),
    # level 2 fund 85 %: 200 + 0.15 × 1000 = 350.
    Emp("retired before 2001, level 2", "retired_before_2001", 2, "1200.00", "0.00", "200.00",
        "850.00", "350.00"),
    # POLICY D6 rounding: 500 + 0.30 × 0.05 = 500.015 → 500.02 (half up); the fund gets the
    # rest, 0.03, so the two add up to 500.05.
    Emp("half a fen rounds up", "in_work", 3, "500.05", "0.00", "500.00", "0.03", "500.02"),
    Emp("nothing in scope", "in_work", 3, "0.00", "0.00", "0.00", "0.00", "0.00"),
]


@pytest.mark.parametrize("case", EMP, ids=[c.name for c in EMP])
def test_employee_outpatient_estimate(case: Emp) -> None:
    result = employee_outpatient_estimate(P, case.status, case.level, D(case.amount),
                                          D(case.used), date(2026, 6, 10))
    assert (result.deductible_consumed, result.fund, result.self_pay) == (
        D(case.consumed), D(case.fund), D(case.self_pay))
    assert result.estimate is True
    assert not result.expired and result.warnings == ()
    assert set(result.sources) <= {"EMP-2021 二(二)1", "EMP-2021 二(二)2"}


def test_employee_estimate_after_emp_2021_ends_is_flagged_but_computed() -> None:
    # POLICY.md §4 D5: EMP-2021 ends 2026-12-31; its values stay in force with a warning.
    args = ("in_work", 1, D("1000.00"), D("0.00"))
    before = employee_outpatient_estimate(P, *args, date(2026, 12, 31))
    after = employee_outpatient_estimate(P, *args, date(2027, 1, 5))
    assert not before.expired and before.warnings == ()
    assert after.expired
    assert after.self_pay == before.self_pay == D("600.00")
    assert after.fund == D("400.00")
    assert [w.code for w in after.warnings] == ["expired_source"]
    assert "EMP-2021" in after.warnings[0].message and "2026-12-31" in after.warnings[0].message


def test_employee_estimate_before_the_2023_rules_is_a_gap() -> None:
    # POLICY.md §5: the estimate uses the rules from 2023-07-01 only.
    with pytest.raises(ParameterGap):
        employee_outpatient_estimate(P, "in_work", 1, D("10.00"), D("0.00"), date(2023, 6, 30))


@pytest.mark.parametrize(("kwargs", "match"), [
    ({"status": "retired"}, "status"),
    ({"hospital_level": 0}, "hospital_level"),
    ({"hospital_level": 4}, "hospital_level"),
    ({"hospital_level": True}, "hospital_level"),
    ({"in_scope_amount": D("-0.01")}, "in_scope_amount"),
    ({"in_scope_amount": D("1.001")}, "in_scope_amount"),
    ({"deductible_used_so_far": D("-1.00")}, "deductible_used_so_far"),
])
def test_employee_estimate_refuses_bad_arguments(kwargs: dict[str, Any], match: str) -> None:
    args: dict[str, Any] = {"status": "in_work", "hospital_level": 1,
                            "in_scope_amount": D("100.00"), "deductible_used_so_far": D("0.00"),
                            "on": date(2026, 6, 10)}
    with pytest.raises(ValueError, match=match):
        employee_outpatient_estimate(P, **{**args, **kwargs})


@pytest.mark.parametrize(("retired", "when", "status"), [
    # POLICY.md §5, EMP-2021 二(二)2: "2001年1月1日后" includes the day itself.
    (False, None, "in_work"),
    (True, date(2001, 1, 1), "retired_after_2001"),
    (True, date(2000, 12, 31), "retired_before_2001"),
    (True, date(2019, 8, 15), "retired_after_2001"),
    (True, date(1995, 3, 1), "retired_before_2001"),
])
def test_retirement_status(retired: bool, when: date | None, status: str) -> None:
    assert retirement_status(retired, when) == status


@pytest.mark.parametrize(("retired", "when"), [(True, None), (False, date(2010, 1, 1))])
def test_retirement_status_refuses_inconsistent_arguments(retired: bool, when: date | None) -> None:
    with pytest.raises(ValueError, match="retirement_date"):
        retirement_status(retired, when)


# -- 资助参保: POLICY.md §5, MH-2026 §八.六 -----------------------------------------------------


PREMIUM = [
    # POLICY.md §5 资助参保: fully paid for special_relief, dibao, orphan, distressed_child.
    ("special_relief", 45, "500.00", "full", "500.00", "0.00"),
    ("dibao", 30, "500.00", "full", "500.00", "0.00"),
    ("orphan", 10, "500.00", "full", "500.00", "0.00"),
    ("distressed_child", 8, "500.00", "full", "500.00", "0.00"),
    # low_income aged 60+ pay 120, the rest is paid: 500 − 120 = 380. "60周岁以上" includes 60.
    ("low_income", 60, "500.00", "fixed", "380.00", "120.00"),
    ("low_income", 81, "500.00", "fixed", "380.00", "120.00"),
    # low_income aged 59: no subsidy.
    ("low_income", 59, "500.00", "none", "0.00", "500.00"),
    # A premium below 120: the person pays the premium, nothing is subsidised.
    ("low_income", 70, "100.00", "fixed", "0.00", "100.00"),
    # Categories in neither list, or no category: no subsidy (see the report: 特困 is not listed).
    ("tekun", 70, "500.00", "none", "0.00", "500.00"),
    ("expenditure_1", 65, "500.00", "none", "0.00", "500.00"),
    (None, 65, "500.00", "none", "0.00", "500.00"),
]


@pytest.mark.parametrize(("category", "age", "premium", "rule", "subsidy", "personal"), PREMIUM)
def test_premium_subsidy(category: str | None, age: int, premium: str, rule: str, subsidy: str,
                         personal: str) -> None:
    result = premium_subsidy(P, category, age, D(premium), date(2026, 1, 1))
    assert (result.rule, result.subsidy, result.personal) == (rule, D(subsidy), D(personal))
    assert result.sources == ("MH-2026 §八.六",)


@pytest.mark.parametrize(("category", "age", "premium", "match"), [
    ("dibao2", 30, D("500.00"), "dibao2"),
    ("dibao", -1, D("500.00"), "age"),
    ("dibao", 30, D("-500.00"), "annual_personal_premium"),
])
def test_premium_subsidy_refuses_bad_arguments(category: str, age: int, premium: Decimal,
                                               match: str) -> None:
    with pytest.raises(ValueError, match=match):
        premium_subsidy(P, category, age, premium, date(2026, 1, 1))


# -- Mutual-aid funding split: POLICY.md §5, MH-2026 §七.二 -------------------------------------


FUNDING = [
    # POLICY.md §5 mutual-aid funding, MH-2026 §七.二: the rest after the member's 130 is raised by
    # the city and the district 1:1: (2740 − 130) × 50 % = 1305 each; care 500 × 50 % = 250 each
    # (MH-2026 gives 1305 / 1305 and 250 / 250 for streets).
    ("shanghai", "street", {"city": ("1305.00", "250.00"), "district": ("1305.00", "250.00")}),
    ("shanghai", "town", {"city": ("1305.00", "250.00"), "district": ("1305.00", "250.00")}),
    # 长宁 has no town split in the sources: its towns get the city rule, the district's half whole.
    ("changning", "town", {"city": ("1305.00", "250.00"), "district": ("1305.00", "250.00")}),
    ("changning", "street", {"city": ("1305.00", "250.00"), "district": ("1305.00", "250.00")}),
    # 闵行 overlay, 闵府抄〔2009〕68号 as MH-2026 §七.二 cites it: the district's half is split
    # district : town = 50 : 50 → 50 / 25 / 25 %: 1305 / 652.5 / 652.5 and 250 / 125 / 125.
    ("minhang", "town", {"city": ("1305.00", "250.00"), "district": ("652.50", "125.00"),
                         "town": ("652.50", "125.00")}),
    # 闵行 streets: "街道不负担资金（0元）": city 1305 / district 1305.
    ("minhang", "street", {"city": ("1305.00", "250.00"), "district": ("1305.00", "250.00")}),
]


@pytest.mark.parametrize(("district", "kind", "expected"), FUNDING)
@pytest.mark.parametrize("members", [1, 3, 100])
def test_mutual_aid_funding(district: str, kind: str, expected: dict[str, tuple[str, str]],
                            members: int) -> None:
    result = mutual_aid_funding(P, kind, members, date(2026, 3, 1), district=district)
    assert (result.medical, result.care, result.funding, result.member_fee) == (
        D("2740.00"), D("500.00"), D("3240.00"), D("130.00"))
    got = {s.level: (str(s.medical), str(s.care)) for s in result.shares}
    assert got == expected
    for share in result.shares:
        assert share.medical_total == share.medical * members
        assert share.care_total == share.care * members
    # The member's fee and the shares make up the whole: 130 + 2610 + 500 = 3240 per member.
    assert result.member_fee + sum(s.per_member for s in result.shares) == D("3240.00")
    assert result.total_funding == D("3240.00") * members
    assert result.total_member_fees + sum(s.total for s in result.shares) == result.total_funding
    assert result.sources == ("MH-2026 §七.二",)


def test_only_minhang_has_a_town_split() -> None:
    # The 50/25/25 split is 闵行's own rule (闵府抄〔2009〕68号), an overlay, not a city value.
    on = date(2026, 3, 1)
    assert mutual_aid_funding(P, "town", 1, on, district="minhang").town_split == D("0.5")
    for district in ("changning", "shanghai"):
        result = mutual_aid_funding(P, "town", 1, on, district=district)
        assert result.town_split is None
        assert [s.level for s in result.shares] == ["city", "district"]
    assert not P.for_program("mutual_aid", "shanghai").has("funding.town_split.town")
    assert not P.for_program("mutual_aid", "changning").has("funding.town_split.town")


def test_mutual_aid_funding_hand_worked_totals() -> None:
    # 闵行, 1,000 town members: per member city 1305 + 250 = 1555, district and town 652.5 +
    # 125 = 777.5 each; × 1,000 = 1,555,000 / 777,500 / 777,500; fees 130,000; whole 3,240,000.
    result = mutual_aid_funding(P, "town", 1000, date(2026, 3, 1), district="minhang")
    assert [(s.level, s.total) for s in result.shares] == [
        ("city", D("1555000.00")), ("district", D("777500.00")), ("town", D("777500.00"))]
    assert (result.total_member_fees, result.total_funding) == (D("130000.00"), D("3240000.00"))


def test_mutual_aid_funding_before_2025_is_a_gap() -> None:
    # POLICY.md §5: the 2,740 + 500 standard is the 2025 one; nothing earlier is loaded.
    with pytest.raises(ParameterGap):
        mutual_aid_funding(P, "street", 1, date(2024, 12, 31))


def _with(view: ProgramParameters, key: str, value: Decimal) -> ProgramParameters:
    series = dict(view.series)
    series[key] = tuple(dataclasses.replace(e, value=value) for e in series[key])
    return ProgramParameters(view.program, view.district, series, view.categories)


def test_funding_shares_must_sum_to_one() -> None:
    # POLICY.md §5: the shares split the whole rest; 0.50 + 0.40 is a file error.
    bad = _with(P.for_program("mutual_aid", "shanghai"), "funding.shares.district", D("0.40"))
    with pytest.raises(ValueError, match=r"funding\.shares must sum to 1"):
        mutual_aid_funding(bad, "town", 1, date(2026, 3, 1))


def test_a_town_split_above_one_is_refused() -> None:
    bad = _with(P.for_program("mutual_aid", "minhang"), "funding.town_split.town", D("1.5"))
    with pytest.raises(ValueError, match=r"funding\.town_split\.town"):
        mutual_aid_funding(bad, "town", 1, date(2026, 3, 1))


@pytest.mark.parametrize(("kind", "members", "match"), [
    ("village", 1, "kind"), ("town", -1, "members"), ("town", True, "members"),
])
def test_mutual_aid_funding_refuses_bad_arguments(kind: str, members: int, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        mutual_aid_funding(P, kind, members, date(2026, 3, 1))


def test_a_view_of_another_program_is_refused() -> None:
    with pytest.raises(ValueError, match="params"):
        mutual_aid_funding(P.for_program("care", "shanghai"), "town", 1, date(2026, 3, 1))


# -- 照护: POLICY.md §1 Care, MH-2026 §七.四 ---------------------------------------------------


ON_CARE = date(2026, 6, 10)


@pytest.mark.parametrize(("insured", "reassessment", "fund", "personal"), [
    # POLICY.md §1 Care: assessment 200, fund 80 % of an insured first assessment: 160 / 40.
    (True, False, "160.00", "40.00"),
    # Re-assessment and non-insured: the person pays the 200.
    (True, True, "0.00", "200.00"),
    (False, False, "0.00", "200.00"),
    (False, True, "0.00", "200.00"),
])
def test_care_assessment(insured: bool, reassessment: bool, fund: str, personal: str) -> None:
    result = care_assessment(P, insured, reassessment, ON_CARE)
    assert (result.fee, result.fund, result.personal) == (D("200.00"), D(fund), D(personal))
    assert result.sources == ("MH-2026 §七.四",)


HOME = [
    # POLICY.md §1 Care: grade 2–3: 3 one-hour visits a week; nurse 80/h: 3 × 80 = 240;
    # fund 90 % = 216, person 24.
    (2, "nurse", 1, 3, 3, "240.00", "216.00", "24.00"),
    # grade 3, carer 40/h, 4 weeks: 12 h × 40 = 480 → 432 / 48.
    (3, "carer", 4, 3, 12, "480.00", "432.00", "48.00"),
    # grade 4: 5 visits; medical carer 65/h: 325 → 292.50 / 32.50.
    (4, "medical_carer", 1, 5, 5, "325.00", "292.50", "32.50"),
    # grade 5: 7 visits, nurse, 2 weeks: 14 h × 80 = 1120 → 1008 / 112.
    (5, "nurse", 2, 7, 14, "1120.00", "1008.00", "112.00"),
    # grade 6: 7 visits, carer: 7 × 40 = 280 → 252 / 28.
    (6, "carer", 1, 7, 7, "280.00", "252.00", "28.00"),
    # no weeks, nothing to pay.
    (4, "nurse", 0, 5, 0, "0.00", "0.00", "0.00"),
]


@pytest.mark.parametrize(("grade", "carer", "weeks", "visits", "hours", "total", "fund",
                          "personal"), HOME)
def test_home_care(grade: int, carer: str, weeks: int, visits: int, hours: int, total: str,
                   fund: str, personal: str) -> None:
    result = home_care(P, grade, carer, weeks, ON_CARE)
    assert (result.visits_per_week, result.hours_per_visit, result.hours) == (visits, 1, hours)
    assert (result.total, result.fund, result.personal) == (D(total), D(fund), D(personal))
    assert result.sources == ("MH-2026 §七.四",)


INSTITUTION = [
    # POLICY.md §1 Care: institution 25 / 35 / 45 a day by grade 2–3 / 4 / 5–6, fund 85 %.
    (2, 30, "750.00", "637.50", "112.50"),  # 30 × 25 = 750; 0.85 × 750 = 637.50
    (3, 1, "25.00", "21.25", "3.75"),  # 0.85 × 25 = 21.25
    (4, 10, "350.00", "297.50", "52.50"),  # 10 × 35
    (5, 7, "315.00", "267.75", "47.25"),  # 7 × 45
    (6, 31, "1395.00", "1185.75", "209.25"),  # 31 × 45
]


@pytest.mark.parametrize(("grade", "days", "total", "fund", "personal"), INSTITUTION)
def test_institution_care(grade: int, days: int, total: str, fund: str, personal: str) -> None:
    result = institution_care(P, grade, days, ON_CARE)
    assert (result.total, result.fund, result.personal) == (D(total), D(fund), D(personal))
    assert result.sources == ("MH-2026 §七.四",)


@pytest.mark.parametrize("grade", [0, 1, 7, True])
def test_care_grade_outside_2_to_6_is_refused(grade: int) -> None:
    # POLICY.md §1 Care: benefits exist for 评估等级 2–6 only.
    with pytest.raises(ValueError, match="grade"):
        home_care(P, grade, "nurse", 1, ON_CARE)
    with pytest.raises(ValueError, match="grade"):
        institution_care(P, grade, 1, ON_CARE)


def test_care_grade_message_names_the_range() -> None:
    with pytest.raises(ValueError, match=r"评估等级.*must be 2–6, not 1"):
        home_care(P, 1, "nurse", 1, ON_CARE)


@pytest.mark.parametrize(("call", "match"), [
    (lambda: home_care(P, 3, "doctor", 1, ON_CARE), "carer"),
    (lambda: home_care(P, 3, "nurse", -1, ON_CARE), "weeks"),
    (lambda: institution_care(P, 3, -2, ON_CARE), "days"),
])
def test_care_refuses_bad_arguments(call: Any, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        call()


def test_care_before_2026_is_a_gap() -> None:
    # POLICY.md §1 Care: the care rates are loaded from 2026-01-01 (MH-2026).
    with pytest.raises(ParameterGap):
        care_assessment(P, True, False, date(2025, 12, 31))


# -- Properties ----------------------------------------------------------------------------------


@SETTINGS
@given(st.sampled_from(RETIREMENT_STATUSES), st.integers(1, 3), amounts, amounts, amounts,
       st.dates(date(2023, 7, 1), date(2030, 12, 31)))
def test_estimate_is_bounded_additive_and_monotone(
    status: str, level: int, a: Decimal, b: Decimal, used: Decimal, on: date
) -> None:
    low, high = sorted((a, b))
    small = employee_outpatient_estimate(P, status, level, low, used, on)
    large = employee_outpatient_estimate(P, status, level, high, used, on)
    for result, amount in ((small, low), (large, high)):
        assert D(0) <= result.self_pay <= amount
        assert result.self_pay + result.fund == amount
        assert result.fund >= 0
        assert result.expired is (on > date(2026, 12, 31))
    assert small.self_pay <= large.self_pay


@SETTINGS
@given(st.sampled_from([None, *P.categories]), st.integers(0, 120), amounts,
       st.dates(date(2023, 1, 1), date(2030, 12, 31)))
def test_premium_parts_add_up(category: str | None, age: int, premium: Decimal, on: date) -> None:
    result = premium_subsidy(P, category, age, premium, on)
    assert result.subsidy + result.personal == premium
    assert D(0) <= result.subsidy <= premium
    assert D(0) <= result.personal <= premium


@SETTINGS
@given(st.dates(date(2023, 1, 1), date(2030, 12, 31)),
       st.lists(st.tuples(st.dates(date(2021, 1, 1), date(2031, 12, 31)), amounts,
                          st.booleans()), max_size=8),
       amounts.filter(lambda x: x > 0))
def test_window_is_the_twelve_months_before_the_application_month(
    applied: date, items: list[tuple[date, Decimal, bool]], income: Decimal
) -> None:
    bills = [HouseholdSpending(d, a, designated) for d, a, designated in items]
    result = expenditure_2_check(P, bills, income, applied, income_below_city_average=True,
                                 assets_within_standard=True)
    assert result.window_start.day == 1
    assert result.window_end + timedelta(days=1) == applied.replace(day=1)
    assert (result.window_end.year * 12 + result.window_end.month) - (
        result.window_start.year * 12 + result.window_start.month) == 11
    inside = [a for d, a, designated in items
              if designated and result.window_start <= d <= result.window_end]
    assert result.self_pay_sum == sum(inside, D(0))
    assert result.candidate is (result.self_pay_sum >= D("0.40") * income)
    assert result.candidate is (result.self_pay_sum >= result.threshold)


@SETTINGS
@given(st.integers(2, 6), st.sampled_from(["nurse", "medical_carer", "carer"]),
       st.integers(0, 60), st.integers(0, 400))
def test_care_parts_add_up(grade: int, carer: str, weeks: int, days: int) -> None:
    home = home_care(P, grade, carer, weeks, ON_CARE)
    assert home.fund + home.personal == home.total
    institution = institution_care(P, grade, days, ON_CARE)
    assert institution.fund + institution.personal == institution.total
