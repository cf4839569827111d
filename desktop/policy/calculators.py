"""The counter's other calculators (POLICY.md §5): pure functions over the dated parameters.

Each returns a frozen result with its amounts (rounded to fen once, at the end) and the sources
of every parameter it used, flagging a source whose validity has ended (POLICY D5).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import ROUND_CEILING, Decimal
from typing import Literal, TypedDict, get_args

from desktop.policy.caveats import parameter_warnings
from desktop.policy.dates import add_months
from desktop.policy.model import Warning
from desktop.policy.money import FEN, ZERO, round_fen
from desktop.policy.parameters import (
    ParameterGap,
    ParameterValue,
    PolicyParameters,
    ProgramParameters,
)

RetirementStatus = Literal["in_work", "retired_after_2001", "retired_before_2001"]
FundingKind = Literal["street", "town"]
Carer = Literal["nurse", "medical_carer", "carer"]
PremiumRule = Literal["full", "fixed", "none"]

RETIREMENT_STATUSES: tuple[str, ...] = get_args(RetirementStatus)
FUNDING_KINDS: tuple[str, ...] = get_args(FundingKind)
CARERS: tuple[str, ...] = get_args(Carer)

# EMP-2021 二(二)2 defines the two retired statuses by the retirement date: "2001年1月1日后退休人员"
# (300 yuan) and "2000年12月31日前退休人员" (200 yuan). The date is part of what the status *is*
# (its name says 2001), not a rate that changes; the amounts stay in employee_outpatient.yaml.
RETIRED_AFTER_2001_FROM = date(2001, 1, 1)

Params = PolicyParameters | ProgramParameters


# -- What every result carries ---------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class Explained:
    """The parameters a result used, their sources and the D5 expiry flag on the lookup date."""

    on: date  # the date the parameters were looked up on
    parameters_used: tuple[ParameterValue, ...]
    sources: tuple[str, ...]  # each source once, in the order of use
    expired: bool  # some value used is past its effective_to (POLICY D5): still applied
    warnings: tuple[Warning, ...]


class _ExplainedFields(TypedDict):
    on: date
    parameters_used: tuple[ParameterValue, ...]
    sources: tuple[str, ...]
    expired: bool
    warnings: tuple[Warning, ...]


class _Lookup:
    """Looks values up in one program's view on one date and remembers which were used."""

    def __init__(self, params: Params, program: str, district: str, on: date) -> None:
        if isinstance(params, ProgramParameters):
            if params.program != program:
                raise ValueError(f"params: parameters of {params.program!r} were given, "
                                 f"this calculator needs {program!r}")
            self.view = params
        else:
            self.view = params.for_program(program, district)
        self.on = on
        self.used: list[ParameterValue] = []

    def entry(self, key: str) -> ParameterValue:
        found = self.view.require(key, self.on)
        if found not in self.used:
            self.used.append(found)
        return found

    def decimal(self, key: str) -> Decimal:
        value = self.entry(key).value
        if not isinstance(value, Decimal):
            raise TypeError(f"policy parameter {key} is {value!r}, not an amount or a rate")
        return value

    def integer(self, key: str) -> int:
        value = self.entry(key).value
        if not isinstance(value, int):
            raise TypeError(f"policy parameter {key} is {value!r}, not a whole number")
        return value

    def codes(self, key: str) -> tuple[str, ...]:
        value = self.entry(key).value
        if not isinstance(value, tuple):
            raise TypeError(f"policy parameter {key} is {value!r}, not a list of codes")
        return value

    def keys_under(self, prefix: str) -> list[str]:
        """The parameter keys below `prefix.`, in the order of the file."""
        return [key for key in self.view.series if key.startswith(prefix + ".")]

    def explained(self) -> _ExplainedFields:
        """The fields of `Explained`, for a result's constructor."""
        used = tuple(self.used)
        sources = tuple(dict.fromkeys(e.source for e in used))
        expired = tuple(e for e in used if e.expired_on(self.on))
        return {
            "on": self.on,
            "parameters_used": used,
            "sources": sources,
            "expired": bool(expired),
            "warnings": tuple(parameter_warnings(used, self.on)),
        }


# -- Argument checks (bad arguments are caller bugs: ValueError naming the argument) -----------


def _amount(name: str, value: Decimal) -> Decimal:
    """A non-negative Decimal amount with at most 2 decimals (POLICY.md §0.2)."""
    if not isinstance(value, Decimal) or not value.is_finite():
        raise ValueError(f"{name} must be a finite Decimal amount, not {value!r}")
    if value < 0:
        raise ValueError(f"{name} must not be negative ({value})")
    if value != value.quantize(FEN):
        raise ValueError(f"{name} has more than 2 decimals ({value})")
    return value


def _count(name: str, value: int) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise ValueError(f"{name} must be a whole number ≥ 0, not {value!r}")
    return value


def _choice(name: str, value: str, known: Sequence[str]) -> str:
    if value not in known:
        raise ValueError(f"{name} must be one of {', '.join(known)}, not {value!r}")
    return value


# -- 支出型贫困 II check (SA-2022 四) ----------------------------------------------------------

# The preconditions SA-2022 四 sets for every 支出型贫困家庭, recorded as the clerk's answers (the
# city's average income of last year and the 民政 asset standard are not in the sources: the
# answers come from the 民政 economic-status check). Codes of a precondition not met, in order.
PRECONDITIONS: tuple[str, ...] = ("income_below_city_average", "assets_within_standard")


@dataclass(frozen=True, slots=True)
class HouseholdSpending:
    """One medical bill of a household member: the money the household itself bore for it."""

    day: date
    amount: Decimal  # 由个人实际负担的医疗费用: after every reimbursement, 自费 included
    designated_in_shanghai: bool  # incurred at a 本市医保定点医疗机构


@dataclass(frozen=True, slots=True, kw_only=True)
class Expenditure2Check(Explained):
    application_date: date
    window_start: date  # first day of the month `months` months before the application month
    window_end: date  # last day of the month before the application month
    months: int
    income_below_city_average: bool  # recorded answer (SA-2022 四, first precondition)
    assets_within_standard: bool  # recorded answer (SA-2022 四, second precondition)
    unmet: tuple[str, ...]  # the PRECONDITIONS answered "no", in order
    spending_basis: str  # what "由个人实际负担的医疗费用" takes in (POLICY D12, an assumption)
    items_counted: int
    items_outside_window: int
    items_not_designated: int  # in the window but not at a 本市医保定点 institution
    self_pay_sum: Decimal
    income: Decimal
    ratio: Decimal
    threshold: Decimal  # the least fen amount reaching ratio × income (rounded up to the fen)
    reaches_ratio: bool  # the 40 % test alone
    candidate: bool  # every precondition met and the 40 % test reached


def expenditure_2_check(
    params: Params,
    household_medical_spending: Sequence[HouseholdSpending],
    household_annual_disposable_income: Decimal,
    application_date: date,
    *,
    income_below_city_average: bool,
    assets_within_standard: bool,
    district: str = "shanghai",
) -> Expenditure2Check:
    """Class II candidate (SA-2022 四): the household's per-person income is below last year's
    city average and its assets within the 低收入 standard (both recorded answers), and the money
    it bore itself at 本市医保定点 institutions in the `months` calendar months before the
    application month ("申请救助之月前12个月内，在本市医保定点医疗机构发生的由个人实际负担的医疗
    费用") reaches `ratio` of its annual disposable income.

    A precondition answered "no" refuses the case (`unmet`); the 40 % test is still computed and
    shown, so the clerk can tell the applicant both.
    """
    for name, answer in (("income_below_city_average", income_below_city_average),
                         ("assets_within_standard", assets_within_standard)):
        if not isinstance(answer, bool):
            raise ValueError(f"{name} must be a recorded answer True or False, not {answer!r}")
    income = household_annual_disposable_income
    if not isinstance(income, Decimal) or not income.is_finite():
        raise ValueError(f"household_annual_disposable_income must be a finite Decimal, "
                         f"not {income!r}")
    if income <= 0:
        raise ValueError(f"household_annual_disposable_income must be greater than 0 ({income}): "
                         "with no income the 40 % test has no meaning; refer the case to 民政")
    _amount("household_annual_disposable_income", income)
    look = _Lookup(params, "assistance", district, application_date)
    ratio = look.decimal("expenditure_2_check.ratio")
    months = look.integer("expenditure_2_check.months")
    basis = look.entry("expenditure_2_check.spending_basis").value
    month_start = application_date.replace(day=1)
    window_start = add_months(month_start, -months)
    window_end = month_start - timedelta(days=1)
    total = ZERO
    counted = outside = not_designated = 0
    for i, item in enumerate(household_medical_spending):
        if not isinstance(item, HouseholdSpending):
            raise ValueError(f"household_medical_spending[{i}] must be a HouseholdSpending, "
                             f"not {item!r}")
        if not isinstance(item.day, date):
            raise ValueError(f"household_medical_spending[{i}].day must be a date, "
                             f"not {item.day!r}")
        _amount(f"household_medical_spending[{i}].amount", item.amount)
        if not window_start <= item.day <= window_end:
            outside += 1
        elif not item.designated_in_shanghai:
            not_designated += 1
        else:
            total += item.amount
            counted += 1
    exact_threshold = ratio * income
    answers = {"income_below_city_average": income_below_city_average,
               "assets_within_standard": assets_within_standard}
    unmet = tuple(code for code in PRECONDITIONS if not answers[code])
    reaches = total >= exact_threshold
    return Expenditure2Check(
        application_date=application_date,
        window_start=window_start,
        window_end=window_end,
        months=months,
        income_below_city_average=income_below_city_average,
        assets_within_standard=assets_within_standard,
        unmet=unmet,
        spending_basis=str(basis),
        items_counted=counted,
        items_outside_window=outside,
        items_not_designated=not_designated,
        self_pay_sum=round_fen(total),
        income=income,
        ratio=ratio,
        # Rounded up, not half up: the sum is in fen, so `sum ≥ threshold` reads the same as the
        # exact test below; a half-up threshold could show 40.00 ≥ 40.00 beside "not candidate".
        threshold=exact_threshold.quantize(FEN, rounding=ROUND_CEILING),
        reaches_ratio=reaches,
        candidate=reaches and not unmet,
        **look.explained(),
    )


# -- Employee outpatient estimate (EMP-2021 二(二)) --------------------------------------------


def retirement_status(retired: bool, retirement_date: date | None) -> RetirementStatus:
    """The EMP-2021 二(二) status of an employee-insured person."""
    if not retired:
        if retirement_date is not None:
            raise ValueError("retirement_date must be None when retired is False")
        return "in_work"
    if retirement_date is None:
        raise ValueError("retirement_date is required when retired is True")
    if retirement_date >= RETIRED_AFTER_2001_FROM:
        return "retired_after_2001"
    return "retired_before_2001"


@dataclass(frozen=True, slots=True, kw_only=True)
class EmployeeOutpatientEstimate(Explained):
    status: str
    hospital_level: int
    in_scope_amount: Decimal
    deductible: Decimal  # the year's 自负段
    deductible_used_before: Decimal
    deductible_consumed: Decimal  # part of this amount under the remaining deductible
    fund_share: Decimal
    fund: Decimal  # paid by the pooled fund (统筹基金)
    self_pay: Decimal  # the estimated in-scope personal payment
    estimate: bool = True  # never a settled figure: the UI marks it 估算


def employee_outpatient_estimate(
    params: Params,
    status: RetirementStatus,
    hospital_level: int,
    in_scope_amount: Decimal,
    deductible_used_so_far: Decimal,
    on: date,
    *,
    district: str = "shanghai",
) -> EmployeeOutpatientEstimate:
    """Estimate the self-pay of an employee-insured outpatient row that lacks it (POLICY.md §5).

    The part under what is left of the year's deductible is the person's; the fund pays its
    share of the rest. `self_pay` is rounded half up once; `fund` is the remainder, so the two
    add up to `in_scope_amount` exactly.
    """
    _choice("status", status, RETIREMENT_STATUSES)
    if (not isinstance(hospital_level, int) or isinstance(hospital_level, bool)
            or hospital_level not in (1, 2, 3)):
        raise ValueError(f"hospital_level must be 1, 2 or 3, not {hospital_level!r}")
    amount = _amount("in_scope_amount", in_scope_amount)
    used = _amount("deductible_used_so_far", deductible_used_so_far)
    look = _Lookup(params, "employee_outpatient", district, on)
    deductible = look.decimal(f"deductible.{status}")
    share = look.decimal(f"fund_share.{status}.level_{hospital_level}")
    consumed = min(amount, max(ZERO, deductible - used))
    rest = amount - consumed
    self_pay = round_fen(consumed + (1 - share) * rest)
    return EmployeeOutpatientEstimate(
        status=status,
        hospital_level=hospital_level,
        in_scope_amount=amount,
        deductible=deductible,
        deductible_used_before=used,
        deductible_consumed=consumed,
        fund_share=share,
        fund=amount - self_pay,
        self_pay=self_pay,
        **look.explained(),
    )


# -- 资助参保 (MH-2026 §八.六) ----------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class PremiumSubsidy(Explained):
    category: str | None
    age: int
    premium: Decimal
    rule: PremiumRule  # full: premium paid in full; fixed: the person pays a fixed part
    subsidy: Decimal
    personal: Decimal


def premium_subsidy(
    params: Params,
    category: str | None,
    age: int,
    annual_personal_premium: Decimal,
    on: date,
    *,
    district: str = "shanghai",
) -> PremiumSubsidy:
    """The resident-scheme premium paid for a recipient (MH-2026 §八.六, 沪医保规〔2023〕2号).

    Categories in neither list (and `None`) get no subsidy: the person pays the premium.
    """
    if category is not None and category not in params.categories:
        raise ValueError(f"category {category!r} is not a known category code; one of "
                         f"{', '.join(params.categories)}")
    _count("age", age)
    premium = _amount("annual_personal_premium", annual_personal_premium)
    look = _Lookup(params, "premium_subsidy", district, on)
    full = look.codes("full.categories")
    fixed = look.codes("fixed.categories")
    rule: PremiumRule = "none"
    personal = premium
    if category is not None and category in full:
        rule, personal = "full", ZERO
    # "60周岁以上" includes the 60th birthday: age ≥ min_age.
    elif category is not None and category in fixed and age >= look.integer("fixed.min_age"):
        rule, personal = "fixed", min(premium, look.decimal("fixed.personal"))
    personal = round_fen(personal)
    return PremiumSubsidy(
        category=category,
        age=age,
        premium=premium,
        rule=rule,
        subsidy=premium - personal,
        personal=personal,
        **look.explained(),
    )


# -- Mutual-aid funding split (MH-2026 §七.二) -------------------------------------------------


@dataclass(frozen=True, slots=True)
class FundingShare:
    """What one level of government funds: per member and for all members."""

    level: str  # city | district | town
    share: Decimal
    medical: Decimal
    care: Decimal
    medical_total: Decimal
    care_total: Decimal

    @property
    def per_member(self) -> Decimal:
        return self.medical + self.care

    @property
    def total(self) -> Decimal:
        return self.medical_total + self.care_total


@dataclass(frozen=True, slots=True, kw_only=True)
class MutualAidFunding(Explained):
    kind: str
    district: str
    members: int
    medical: Decimal  # per member
    care: Decimal  # per member
    funding: Decimal  # medical + care, per member
    member_fee: Decimal  # paid by the member, out of the medical part
    town_split: Decimal | None  # the town's part of the district's share; None: no such rule
    shares: tuple[FundingShare, ...]
    total_funding: Decimal
    total_member_fees: Decimal


def mutual_aid_funding(
    params: Params,
    kind: FundingKind,
    members: int,
    on: date,
    *,
    district: str = "shanghai",
) -> MutualAidFunding:
    """Split the year's mutual-aid funding between the member and the levels of government.

    MH-2026 §七.二: the member's fee comes out of the medical part; the rest is raised by the city
    and the district 1:1, for the medical rest and the care part separately: (2740 − 130) × 50 % =
    1305; 500 × 50 % = 250. A district overlay may split the district's share with the town
    (闵行, 闵府抄〔2009〕68号: 50 %:50 %, so 25 % / 25 % of the whole) for a town's members; a
    street never bears a share. A district without that rule keeps the district's share whole,
    and the result says so (`town_split` None).
    """
    _choice("kind", kind, FUNDING_KINDS)
    _count("members", members)
    look = _Lookup(params, "mutual_aid", district, on)
    medical = look.decimal("funding.medical")
    care = look.decimal("funding.care")
    fee = look.decimal("enrolment.fee")
    if fee > medical:
        raise ValueError(f"enrolment.fee ({fee}) exceeds funding.medical ({medical}) on "
                         f"{on.isoformat()}: check mutual_aid.yaml")
    levels = [key for key in look.keys_under("funding.shares")
              if look.view.at(key, on) is not None]
    if not levels:
        raise ParameterGap("mutual_aid.funding.shares.*", on)
    rates = {key.rsplit(".", 1)[1]: look.decimal(key) for key in levels}
    if sum(rates.values(), ZERO) != 1:
        shown = ", ".join(f"{level} {rate}" for level, rate in rates.items())
        raise ValueError(f"funding.shares must sum to 1 on {on.isoformat()} ({shown})")
    split: Decimal | None = None
    if look.view.at("funding.town_split.town", on) is not None:
        split = look.decimal("funding.town_split.town")
        if not ZERO <= split <= 1:
            raise ValueError(f"funding.town_split.town must be between 0 and 1 ({split})")
        if kind == "town" and "district" in rates:
            district_rate = rates.pop("district")
            rates["district"] = district_rate * (1 - split)
            rates["town"] = district_rate * split
    medical_rest = medical - fee
    shares = tuple(
        FundingShare(level, rate, round_fen(medical_rest * rate), round_fen(care * rate),
                     round_fen(medical_rest * rate * members), round_fen(care * rate * members))
        for level, rate in rates.items())
    return MutualAidFunding(
        kind=kind,
        district=district,
        members=members,
        medical=medical,
        care=care,
        funding=medical + care,
        member_fee=fee,
        town_split=split,
        shares=shares,
        total_funding=round_fen((medical + care) * members),
        total_member_fees=round_fen(fee * members),
        **look.explained(),
    )


# -- 照护 (MH-2026 §七.四) ---------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class CareAssessment(Explained):
    insured: bool
    reassessment: bool
    fee: Decimal
    fund_share: Decimal  # 0 when the fund does not pay (re-assessment, not insured)
    fund: Decimal
    personal: Decimal


@dataclass(frozen=True, slots=True, kw_only=True)
class HomeCare(Explained):
    grade: int
    carer: str
    weeks: int
    visits_per_week: int
    hours_per_visit: int
    hours: int
    hourly: Decimal
    total: Decimal
    fund_share: Decimal
    fund: Decimal
    personal: Decimal


@dataclass(frozen=True, slots=True, kw_only=True)
class InstitutionCare(Explained):
    grade: int
    days: int
    daily: Decimal
    total: Decimal
    fund_share: Decimal
    fund: Decimal
    personal: Decimal


def care_assessment(
    params: Params, insured: bool, reassessment: bool, on: date, *, district: str = "shanghai"
) -> CareAssessment:
    """The 照护 assessment fee: the LTC fund pays its share of an insured person's first one."""
    look = _Lookup(params, "care", district, on)
    fee = look.decimal("assessment.fee")
    share = look.decimal("assessment.fund_share") if insured and not reassessment else ZERO
    fund = round_fen(fee * share)
    return CareAssessment(insured=insured, reassessment=reassessment, fee=fee, fund_share=share,
                          fund=fund, personal=fee - fund, **look.explained())


_GRADE_BAND = re.compile(r"^grade_(\d+)(?:_(\d+))?$")


def _grade_key(look: _Lookup, prefix: str, grade: int) -> str:
    """The key of the grade band holding `grade` (e.g. grade_2_3), read from the file's keys."""
    if not isinstance(grade, int) or isinstance(grade, bool):
        raise ValueError(f"grade (评估等级) must be a whole number, not {grade!r}")
    bands: list[tuple[int, int, str]] = []
    for key in look.keys_under(prefix):
        match = _GRADE_BAND.match(key.rsplit(".", 1)[1])
        if match:
            low = int(match.group(1))
            bands.append((low, int(match.group(2) or low), key))
    for low, high, key in bands:
        if low <= grade <= high:
            return key
    lowest = min((b[0] for b in bands), default=0)
    highest = max((b[1] for b in bands), default=0)
    raise ValueError(f"grade (评估等级) must be {lowest}–{highest}, not {grade}")


def _fund_and_personal(total: Decimal, share: Decimal) -> tuple[Decimal, Decimal]:
    """The fund's part rounded half up once; the person pays the rest, so both add up."""
    fund = round_fen(total * share)
    return fund, total - fund


def home_care(
    params: Params, grade: int, carer: Carer, weeks: int, on: date, *, district: str = "shanghai"
) -> HomeCare:
    """Community home care (社区居家照护): visits a week by grade, hourly rate by carer."""
    _choice("carer", carer, CARERS)
    _count("weeks", weeks)
    look = _Lookup(params, "care", district, on)
    visits = look.integer(_grade_key(look, "home.visits_per_week", grade))
    hours_per_visit = look.integer("home.hours_per_visit")
    hourly = look.decimal(f"home.hourly.{carer}")
    share = look.decimal("home.fund_share")
    hours = visits * hours_per_visit * weeks
    total = round_fen(hourly * hours)
    fund, personal = _fund_and_personal(total, share)
    return HomeCare(grade=grade, carer=carer, weeks=weeks, visits_per_week=visits,
                    hours_per_visit=hours_per_visit, hours=hours, hourly=hourly, total=total,
                    fund_share=share, fund=fund, personal=personal,
                    **look.explained())


def institution_care(
    params: Params, grade: int, days: int, on: date, *, district: str = "shanghai"
) -> InstitutionCare:
    """Care in an elderly-care institution (养老机构照护): a daily rate by grade."""
    _count("days", days)
    look = _Lookup(params, "care", district, on)
    daily = look.decimal(_grade_key(look, "institution.daily", grade))
    share = look.decimal("institution.fund_share")
    total = round_fen(daily * days)
    fund, personal = _fund_and_personal(total, share)
    return InstitutionCare(grade=grade, days=days, daily=daily, total=total, fund_share=share,
                           fund=fund, personal=personal,
                           **look.explained())
