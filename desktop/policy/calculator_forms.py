"""The calculators of POLICY.md §5 as the counter's forms fill them: typed text in, a headline and
a trace in the office's words out (documents by number and clause, amounts with thousands
separators, rates as percentages, assumptions marked). No Qt here: the 计算器 tab only shows it.

A field a clerk typed wrong raises `FormError`, naming the field by its label on the form.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Literal

from desktop.policy.calculators import (
    EmployeeOutpatientEstimate,
    Expenditure2Check,
    Explained,
    FundingKind,
    HouseholdSpending,
    MutualAidFunding,
    PremiumSubsidy,
    employee_outpatient_estimate,
    expenditure_2_check,
    mutual_aid_funding,
    premium_subsidy,
    retirement_status,
)
from desktop.policy.money import MoneyFormatError, parse_amount, percent
from desktop.policy.parameters import ParameterGap, ParameterValue, PolicyParameters
from desktop.policy.sources import ASSUMPTION, DOCUMENTS, cite, parameter_name

Answer = Literal["yes", "no"] | None

# The form's labels (GLOSSARY.md words); FormError names a field by these.
LABELS = {
    "application_date": "申请日期",
    "income": "家庭年可支配收入（元）",
    "income_below_city_average": "家庭年人均可支配收入低于本市上年度全市居民人均可支配收入",
    "assets_within_standard": "家庭财产符合本市低收入困难家庭申请专项救助经济状况认定标准",
    "bills": "医疗费用",
    "retirement_date": "退休日期",
    "amount": "本次门急诊医保范围内费用（元）",
    "used": "本年度已累计自负段（元）",
    "age": "年龄（周岁）",
    "premium": "城乡居民医保个人缴费标准（元/年）",
    "members": "参加人数",
}
DISTRICT_WORDS = {"shanghai": "上海市（市级规则）", "changning": "长宁区", "minhang": "闵行区"}
KIND_WORDS = {"street": "街道", "town": "镇（工业区）"}
LEVEL_WORDS = {"city": "市级财政", "district": "区级财政", "town": "镇（工业区）财政"}
STATUS_WORDS = {"in_work": "在职职工", "retired_after_2001": "2001年1月1日后退休人员",
                "retired_before_2001": "2000年12月31日前退休人员"}
PRECONDITION_WORDS = {
    "income_below_city_average": "家庭年人均可支配收入不低于本市上年度全市居民人均可支配收入",
    "assets_within_standard": "家庭财产不符合本市低收入困难家庭申请专项救助经济状况认定标准",
}
LEVEL_NUMBER_WORDS = {1: "一级", 2: "二级", 3: "三级"}


class FormError(ValueError):
    """A field the clerk must correct; `message_zh` names it by its label."""

    def __init__(self, field: str, problem: str) -> None:
        self.field = field
        self.message_zh = f"{LABELS.get(field, field)}：{problem}"
        super().__init__(f"{field}: {problem}")


@dataclass(frozen=True)
class Outcome:
    """What a calculator form shows: the answer in one line, then how it was reached."""

    headline: str
    lines: tuple[str, ...]
    result: Explained


# -- reading the typed fields --------------------------------------------------------------


def _money(field: str, text: str, *, positive: bool = False) -> Decimal:
    text = text.strip().replace(",", "").replace("，", "")
    if not text:
        raise FormError(field, "请填写金额")
    try:
        value = parse_amount(text)
    except MoneyFormatError as exc:
        raise FormError(field, exc.message_zh) from None
    if positive and value <= 0:
        raise FormError(field, "须大于 0")
    return value


def _whole(field: str, text: str, *, most: int) -> int:
    text = text.strip().replace(",", "").replace("，", "")
    if not text:
        raise FormError(field, "请填写")
    if not text.isdigit() or not text.isascii():
        raise FormError(field, "须为不小于 0 的整数")
    value = int(text)
    if value > most:
        raise FormError(field, f"不能大于 {most:,}")
    return value


def _answer(field: str, answer: Answer) -> bool:
    if answer not in ("yes", "no"):
        raise FormError(field, "请选择“是”或“否”（以民政部门经济状况核对结果为准）")
    return answer == "yes"


# -- the office's words --------------------------------------------------------------------


def yuan(amount: Decimal) -> str:
    """1234.5 → "1,234.50 元"."""
    return f"{amount:,.2f} 元"


def _source(entry: ParameterValue) -> str:
    return cite(entry.source)


def _named(entry: ParameterValue, shown: str) -> str:
    """"<参数名> <值>（<文件 条款>）", with an assumed value marked."""
    name, _unit = parameter_name(entry.key)
    cited = _source(entry)
    if entry.assumption and ASSUMPTION not in cited:
        cited += f"；{ASSUMPTION}"
    return f"{name} {shown}（{cited}）"


def _document_only(entry: ParameterValue) -> str:
    """The document and clause of a decided value, without the decision's marker."""
    return cite(re.sub(r"\s*\(?POLICY D\d+\)?", "", entry.source))


def _notes(result: Explained) -> list[str]:
    """Expired sources (POLICY D5): the value is still applied, and the clerk is told."""
    out: list[str] = []
    seen: set[str] = set()
    for entry in result.parameters_used:
        if entry.expired_on(result.on) and entry.effective_to is not None:
            key = entry.source.split(" ")[0]
            if key in seen:
                continue
            seen.add(key)
            doc = DOCUMENTS.get(key)
            name = doc.cited if doc else key
            out.append(f"注意：{name} 有效期至 {entry.effective_to:%Y年%m月%d日}，在新文件的参数"
                       "载入前继续按其执行。")
    return out


def _entry(result: Explained, key: str) -> ParameterValue:
    for entry in result.parameters_used:
        if entry.key == key:
            return entry
    raise KeyError(key)  # a bug: the calculator did not use the key


def _gap(exc: ParameterGap) -> FormError:
    return FormError("application_date",
                     f"{exc.day:%Y年%m月%d日} 尚无适用的政策参数，请换一个日期")


# -- 支出型贫困（第II类）核对 (SA-2022 四) ------------------------------------------------------


def expenditure_2_form(
    params: PolicyParameters,
    *,
    district: str,
    application_date: date,
    income: str,
    income_below_city_average: Answer,
    assets_within_standard: Answer,
    bills: Sequence[tuple[date, str, bool]],
) -> Outcome:
    """The class II check from the form: the two recorded answers, the household's income and
    its bills (date, amount it bore itself, at a 本市医保定点 institution or not)."""
    below = _answer("income_below_city_average", income_below_city_average)
    assets = _answer("assets_within_standard", assets_within_standard)
    yearly = _money("income", income, positive=True)
    items = []
    for i, (day, amount, designated) in enumerate(bills):
        try:
            value = _money("bills", amount)
        except FormError as exc:
            raise FormError("bills", f"第 {i + 1} 行金额：{exc.message_zh.split('：', 1)[1]}") \
                from None
        items.append(HouseholdSpending(day, value, designated))
    try:
        r = expenditure_2_check(params, items, yearly, application_date, district=district,
                                income_below_city_average=below, assets_within_standard=assets)
    except ParameterGap as exc:
        raise _gap(exc) from None
    return Outcome(_expenditure_2_headline(r), tuple(expenditure_2_lines(r)), r)


def _expenditure_2_headline(r: Expenditure2Check) -> str:
    if r.unmet:
        return "不符合支出型贫困家庭条件：" + "；".join(PRECONDITION_WORDS[c] for c in r.unmet)
    if r.candidate:
        return "可按第二类支出型贫困家庭申请（家庭年医疗费用已达到家庭年可支配收入的 " \
               f"{percent(r.ratio)}）"
    return f"未达到第二类支出型贫困家庭标准（还差 {yuan(r.threshold - r.self_pay_sum)}）"


def expenditure_2_lines(r: Expenditure2Check) -> list[str]:
    ratio = _entry(r, "expenditure_2_check.ratio")
    months = _entry(r, "expenditure_2_check.months")
    basis = _entry(r, "expenditure_2_check.spending_basis")
    lines = [
        "一、前提条件（沪府办规〔2022〕19号 四；由经办人按民政部门经济状况核对结果记录）：",
        f"  家庭年人均可支配收入低于本市上年度全市居民人均可支配收入："
        f"{'是' if r.income_below_city_average else '否'}",
        f"  家庭财产符合本市低收入困难家庭申请专项救助经济状况认定标准："
        f"{'是' if r.assets_within_standard else '否'}",
    ]
    if r.unmet:
        lines.append("  前提条件未满足，不能认定为支出型贫困家庭；以下测算仅供参考。")
    lines += [
        "二、家庭年医疗费用（申请救助之月前 12 个月内，在本市医保定点医疗机构发生的由个人实际"
        "负担的医疗费用）：",
        f"  计算期：{r.window_start:%Y年%m月%d日} 至 {r.window_end:%Y年%m月%d日}"
        f"（{_named(months, f'{r.months} 个月')}）",
        f"  计入 {r.items_counted} 笔，合计 {yuan(r.self_pay_sum)}",
    ]
    if r.items_outside_window:
        lines.append(f"  不计入 {r.items_outside_window} 笔：不在计算期内")
    if r.items_not_designated:
        lines.append(f"  不计入 {r.items_not_designated} 笔：不是本市医保定点医疗机构发生的费用")
    lines += [
        "三、比较：",
        f"  家庭年可支配收入 {yuan(r.income)} × {_named(ratio, percent(r.ratio))}"
        f" = {yuan(r.threshold)}",
        f"  {yuan(r.self_pay_sum)} {'≥' if r.reaches_ratio else '<'} {yuan(r.threshold)}："
        f"{'达到' if r.reaches_ratio else '未达到'}",
        f"{ASSUMPTION}：“由个人实际负担的医疗费用”指{r.spending_basis}"
        f"（{_document_only(basis)}）",
        "说明：本核对只判断能否按第二类申请，认定以民政部门为准；第一类支出型贫困家庭由民政部门"
        "认定，本系统只记录结果。",
    ]
    return lines + _notes(r)


# -- 职工医保门急诊自负估算 (EMP-2021 二(二)) ----------------------------------------------------


def employee_outpatient_form(
    params: PolicyParameters,
    *,
    district: str,
    on: date,
    retired: bool,
    retirement_date: date | None,
    hospital_level: int,
    amount: str,
    used: str,
) -> Outcome:
    in_scope = _money("amount", amount)
    used_before = _money("used", used)
    try:
        status = retirement_status(retired, retirement_date if retired else None)
    except ValueError:
        raise FormError("retirement_date", "退休人员请填写退休日期") from None
    if retirement_date is not None and retired and retirement_date > on:
        raise FormError("retirement_date", "不能晚于就诊日期")
    try:
        r = employee_outpatient_estimate(params, status, hospital_level, in_scope, used_before,
                                         on, district=district)
    except ParameterGap as exc:
        raise FormError("application_date",
                        f"{exc.day:%Y年%m月%d日} 不在职工医保门诊共济规定（2023年7月1日起）的"
                        "适用期内，无法估算") from None
    headline = f"估算个人自负 {yuan(r.self_pay)}，统筹基金支付 {yuan(r.fund)}（估算，非结算数）"
    return Outcome(headline, tuple(employee_outpatient_lines(r)), r)


def employee_outpatient_lines(r: EmployeeOutpatientEstimate) -> list[str]:
    deductible = _entry(r, f"deductible.{r.status}")
    share = _entry(r, f"fund_share.{r.status}.level_{r.hospital_level}")
    left = max(r.deductible - r.deductible_used_before, Decimal(0))
    rest = r.in_scope_amount - r.deductible_consumed
    return [
        f"人员类别：{STATUS_WORDS[r.status]}；{LEVEL_NUMBER_WORDS[r.hospital_level]}医疗机构",
        f"{_named(deductible, yuan(r.deductible))}",
        f"本年度已累计自负段 {yuan(r.deductible_used_before)}，尚余 {yuan(left)}",
        f"本次医保范围内费用 {yuan(r.in_scope_amount)}，其中落入自负段 "
        f"{yuan(r.deductible_consumed)}，由个人支付",
        f"超过自负段部分 {yuan(rest)} × {_named(share, percent(r.fund_share))}"
        f" = 统筹基金支付 {yuan(r.fund)}",
        f"个人自负 = {yuan(r.in_scope_amount)} − {yuan(r.fund)} = {yuan(r.self_pay)}",
        "说明：仅用于推送数据缺少“自负”金额时估算，标记为估算；以医保结算单为准。",
        *_notes(r),
    ]


# -- 资助参保 (MH-2026 §八.六, 沪医保规〔2023〕2号) --------------------------------------------


def premium_subsidy_form(
    params: PolicyParameters,
    *,
    district: str,
    on: date,
    category: str | None,
    age: str,
    premium: str,
) -> Outcome:
    years = _whole("age", age, most=150)
    yearly = _money("premium", premium)
    try:
        r = premium_subsidy(params, category, years, yearly, on, district=district)
    except ParameterGap as exc:
        raise _gap(exc) from None
    headline = f"资助 {yuan(r.subsidy)}，个人缴费 {yuan(r.personal)}"
    return Outcome(headline, tuple(premium_subsidy_lines(r, params)), r)


def premium_subsidy_lines(r: PremiumSubsidy, params: PolicyParameters) -> list[str]:
    label = params.categories[r.category].label if r.category else "非救助对象"
    full = _entry(r, "full.categories")
    fixed = _entry(r, "fixed.categories")
    lines = [f"对象类别：{label}；年龄 {r.age} 周岁；个人缴费标准 {yuan(r.premium)}"]
    if r.rule == "full":
        lines.append(f"属全额资助参保对象（{_source(full)}）：个人缴费部分全部由医疗救助资金资助")
    elif r.rule == "fixed":
        min_age = _entry(r, "fixed.min_age")
        personal = _entry(r, "fixed.personal")
        lines += [
            f"属定额资助参保对象（{_source(fixed)}），{_named(min_age, f'{min_age.value} 周岁')}，"
            "已达到",
            f"{_named(personal, yuan(Decimal(str(personal.value))))}；其余 {yuan(r.subsidy)} "
            "由医疗救助资金资助",
        ]
    else:
        why = "不属于资助参保对象"
        if (r.category is not None and isinstance(fixed.value, tuple)
                and r.category in fixed.value):
            min_age = _entry(r, "fixed.min_age")
            why = f"未满 {min_age.value} 周岁（{_source(min_age)}），不能定额资助"
        lines.append(f"{why}：按城乡居民医保规定自行缴费参保（{_source(full)}）")
    lines.append(f"资助 {yuan(r.subsidy)} + 个人缴费 {yuan(r.personal)} = {yuan(r.premium)}")
    return lines + _notes(r)


# -- 互助帮困资金分担 (MH-2026 §七.二) -----------------------------------------------------------


def funding_form(
    params: PolicyParameters,
    *,
    district: str,
    on: date,
    kind: FundingKind,
    members: str,
) -> Outcome:
    count = _whole("members", members, most=10_000_000)
    try:
        r = mutual_aid_funding(params, kind, count, on, district=district)
    except ParameterGap as exc:
        raise FormError("application_date", f"{exc.day:%Y年%m月%d日} 尚无互助帮困筹资标准"
                        "（自2025年起），请换一个日期") from None
    parts = "，".join(f"{LEVEL_WORDS[s.level]} {yuan(s.total)}" for s in r.shares)
    headline = f"{r.members:,} 人共筹资 {yuan(r.total_funding)}：个人缴费 " \
               f"{yuan(r.total_member_fees)}，{parts}"
    return Outcome(headline, tuple(funding_lines(r)), r)


def funding_lines(r: MutualAidFunding) -> list[str]:
    medical = _entry(r, "funding.medical")
    care = _entry(r, "funding.care")
    fee = _entry(r, "enrolment.fee")
    city = _entry(r, "funding.shares.city")
    lines = [
        f"{DISTRICT_WORDS.get(r.district, r.district)}，所属{KIND_WORDS[r.kind]}的帮困对象"
        f" {r.members:,} 人",
        f"每人筹资 {yuan(r.funding)}：{_named(medical, yuan(r.medical))}，"
        f"{_named(care, yuan(r.care))}",
        f"{_named(fee, yuan(r.member_fee))}，从医疗部分中扣除；其余 "
        f"{yuan(r.medical - r.member_fee)}（医疗）和 {yuan(r.care)}（照护）由财政按比例筹集"
        f"（市、区两级 1:1，{_source(city)}）",
    ]
    if r.town_split is not None:
        split = _entry(r, "funding.town_split.town")
        if r.kind == "town":
            lines.append(f"本区规定（闵府抄〔2009〕68号，见{_source(split)}）：区级筹资由区、镇"
                         f"（工业区）两级分担，{_named(split, percent(r.town_split))}")
        else:
            lines.append(f"所属街道的帮困对象：区级筹资全部由区承担，街道不负担资金"
                         f"（{_source(split)}）")
    elif r.kind == "town":
        where = "市级规则" if r.district == "shanghai" else DISTRICT_WORDS.get(r.district, "本区")
        lines.append(f"{ASSUMPTION}：{where}没有区、镇分担规定（闵行区的区、镇 50%:50% 分担出自"
                     "闵府抄〔2009〕68号，只适用于闵行区），区级筹资不再分到镇，全部列为区级")
    for s in r.shares:
        lines.append(f"{LEVEL_WORDS[s.level]} {percent(s.share)}：每人医疗 {yuan(s.medical)} + "
                     f"照护 {yuan(s.care)} = {yuan(s.per_member)}；{r.members:,} 人合计 "
                     f"{yuan(s.total)}")
    lines.append(f"个人缴费合计 {yuan(r.total_member_fees)}；筹资总额 {yuan(r.total_funding)}")
    return lines + _notes(r)
