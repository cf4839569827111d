"""The calculators as the counter's forms fill them (issue 15, point 4): hand-worked figures from
typed text, the trace in the office's words, and a field typed wrong named by its label.

Every figure is worked by hand from the shipped parameters and the clause cited beside it.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from desktop.policy.calculator_forms import (
    FormError,
    Outcome,
    employee_outpatient_form,
    expenditure_2_form,
    funding_form,
    premium_subsidy_form,
)
from desktop.policy.contract import default_parameters
from tests.test_words import engineering_words

P = default_parameters()
D = Decimal
ON = date(2026, 6, 10)


def words_ok(lines: tuple[str, ...], headline: str) -> None:
    text = "\n".join((headline, *lines))
    assert engineering_words(text) == []
    assert "POLICY" not in text and "§" not in text and "_" not in text


# -- 支出型贫困（第II类）: SA-2022 四 ------


def exp2(**kw: object) -> Outcome:
    fields: dict[str, object] = {
        "district": "changning", "application_date": ON, "income": "60,000.00",
        "income_below_city_average": "yes", "assets_within_standard": "yes",
        "bills": [(date(2026, 1, 5), "20,000.00", True), (date(2026, 2, 5), "5000", False),
                  (date(2024, 2, 5), "5000", True)],
    }
    fields.update(kw)
    return expenditure_2_form(P, **fields)  # type: ignore[arg-type]


def test_expenditure_2_form_hand_worked() -> None:
    # SA-2022 四: window 2025-06-01..2026-05-31; only the 20,000 at a 本市医保定点 institution in
    # the window counts; 40 % × 60,000 = 24,000; 20,000 < 24,000, short by 4,000.
    out = exp2()
    assert out.headline == "未达到第二类支出型贫困家庭标准（还差 4,000.00 元）"
    text = "\n".join(out.lines)
    assert "计入 1 笔，合计 20,000.00 元" in text
    assert "不计入 1 笔：不在计算期内" in text
    assert "不计入 1 笔：不是本市医保定点医疗机构发生的费用" in text
    assert "60,000.00 元 × " in text and "40%（沪府办规〔2022〕19号 四）" in text
    assert "= 24,000.00 元" in text
    assert "政策未明确，按本区口径：“由个人实际负担的医疗费用”指" in text
    words_ok(out.lines, out.headline)


def test_expenditure_2_form_candidate() -> None:
    # 25,000 ≥ 24,000 with both preconditions answered 是.
    out = exp2(bills=[(date(2026, 1, 5), "25000", True)])
    assert out.headline.startswith("可按第二类支出型贫困家庭申请")


def test_expenditure_2_form_refuses_a_precondition_answered_no() -> None:
    # SA-2022 四: per-person income not below last year's city average → not a 支出型贫困家庭,
    # however high the spending (30,000 ≥ 24,000).
    out = exp2(income_below_city_average="no", bills=[(date(2026, 1, 5), "30000", True)])
    assert out.headline == ("不符合支出型贫困家庭条件：家庭年人均可支配收入不低于本市上年度全市"
                            "居民人均可支配收入")
    text = "\n".join(out.lines)
    assert "家庭年人均可支配收入低于本市上年度全市居民人均可支配收入：否" in text
    assert "前提条件未满足" in text


@pytest.mark.parametrize(("kw", "message"), [
    ({"income_below_city_average": None},
     "家庭年人均可支配收入低于本市上年度全市居民人均可支配收入：请选择"),
    ({"assets_within_standard": None},
     "家庭财产符合本市低收入困难家庭申请专项救助经济状况认定标准："),
    ({"income": ""}, "家庭年可支配收入（元）：请填写金额"),
    ({"income": "0"}, "家庭年可支配收入（元）：须大于 0"),
    ({"income": "abc"}, "家庭年可支配收入（元）：金额格式不正确"),
    ({"bills": [(ON, "1.005", True)]}, "医疗费用：第 1 行金额：金额格式不正确"),
])
def test_expenditure_2_form_names_the_field(kw: dict[str, object], message: str) -> None:
    with pytest.raises(FormError) as caught:
        exp2(**kw)
    assert caught.value.message_zh.startswith(message)


# -- 职工医保门急诊: EMP-2021 二(二) ------


def test_employee_outpatient_form_hand_worked() -> None:
    # EMP-2021 二(二)2: retired 2005 (after 2001-01-01): deductible 300, 100 used, 200 left;
    # level 2 fund share 80 %: (1,000 − 200) × 80 % = 640 fund; self-pay 1,000 − 640 = 360.
    out = employee_outpatient_form(P, district="changning", on=ON, retired=True,
                                   retirement_date=date(2005, 3, 1), hospital_level=2,
                                   amount="1,000", used="100")
    assert out.headline == "估算个人自负 360.00 元，统筹基金支付 640.00 元（估算，非结算数）"
    text = "\n".join(out.lines)
    assert "300.00 元（沪府办规〔2021〕18号 二(二)2）" in text
    assert "800.00 元 × " in text and "80%" in text
    words_ok(out.lines, out.headline)


def test_employee_outpatient_form_names_the_field() -> None:
    with pytest.raises(FormError, match="amount"):
        employee_outpatient_form(P, district="changning", on=ON, retired=False,
                                 retirement_date=None, hospital_level=1, amount="-5", used="0")
    with pytest.raises(FormError) as caught:
        employee_outpatient_form(P, district="changning", on=date(2023, 6, 30), retired=False,
                                 retirement_date=None, hospital_level=1, amount="5", used="0")
    assert "2023年06月30日" in caught.value.message_zh


# -- 资助参保: MH-2026 §八.六 (沪医保规〔2023〕2号) ------


@pytest.mark.parametrize(("category", "age", "headline"), [
    # 一(二): 低收入 aged 60+ pay 120, the rest (800 − 120 = 680) is paid.
    ("low_income", "65", "资助 680.00 元，个人缴费 120.00 元"),
    # aged 59: no subsidy.
    ("low_income", "59", "资助 0.00 元，个人缴费 800.00 元"),
    # 一(一): 低保 in full.
    ("dibao", "30", "资助 800.00 元，个人缴费 0.00 元"),
    (None, "70", "资助 0.00 元，个人缴费 800.00 元"),
])
def test_premium_subsidy_form_hand_worked(category: str | None, age: str, headline: str) -> None:
    out = premium_subsidy_form(P, district="minhang", on=ON, category=category, age=age,
                               premium="800.00")
    assert out.headline == headline
    words_ok(out.lines, out.headline)


@pytest.mark.parametrize(("age", "premium", "message"), [
    ("", "800", "年龄（周岁）：请填写"), ("6x", "800", "年龄（周岁）：须为"),
    ("200", "800", "年龄（周岁）：不能大于"), ("60", "8.001", "城乡居民医保个人缴费标准"),
])
def test_premium_subsidy_form_names_the_field(age: str, premium: str, message: str) -> None:
    with pytest.raises(FormError) as caught:
        premium_subsidy_form(P, district="minhang", on=ON, category="dibao", age=age,
                             premium=premium)
    assert caught.value.message_zh.startswith(message)


# -- 互助帮困资金分担: MH-2026 §七.二 ------


def test_funding_form_minhang_town() -> None:
    # 闵府抄〔2009〕68号 (MH-2026 §七.二): 市 50 % / 区 25 % / 镇 25 % of 2,610 + 500 per member.
    out = funding_form(P, district="minhang", on=ON, kind="town", members="1,000")
    assert out.headline == ("1,000 人共筹资 3,240,000.00 元：个人缴费 130,000.00 元，"
                            "市级财政 1,555,000.00 元，区级财政 777,500.00 元，"
                            "镇（工业区）财政 777,500.00 元")
    text = "\n".join(out.lines)
    assert "闵府抄〔2009〕68号" in text and "50%" in text and "25%" in text
    words_ok(out.lines, out.headline)


def test_funding_form_changning_says_it_has_no_town_split() -> None:
    out = funding_form(P, district="changning", on=ON, kind="town", members="3")
    assert out.headline == ("3 人共筹资 9,720.00 元：个人缴费 390.00 元，市级财政 4,665.00 元，"
                            "区级财政 4,665.00 元")
    assert any(line.startswith("政策未明确，按本区口径：长宁区没有区、镇分担规定")
               for line in out.lines)
    words_ok(out.lines, out.headline)


def test_funding_form_names_the_field() -> None:
    with pytest.raises(FormError) as caught:
        funding_form(P, district="minhang", on=ON, kind="town", members="-1")
    assert caught.value.message_zh.startswith("参加人数：")
    with pytest.raises(FormError) as caught:
        funding_form(P, district="minhang", on=date(2024, 6, 1), kind="town", members="1")
    assert "尚无互助帮困筹资标准" in caught.value.message_zh
