"""The policy documents by their official numbers, and the Chinese names of the parameters.

The parameter files and the engine cite a document by a short key and a clause ("MH-2026 §八.六",
"SA-2022 二(二)4", "POLICY D1" for a decision of POLICY.md §4). Clerks and official paper get
the document's own number and clause instead; this module is the one place that knows them
(shared/policy-sources/README.md).
"""

from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True)
class Document:
    key: str
    number: str | None  # the 文号, e.g. "沪医保规〔2021〕10号"; None for a document without one
    title: str

    @property
    def cited(self) -> str:
        """How the document is named in a citation: its number, else its title in 《》."""
        return self.number or f"《{self.title}》"


DOCUMENTS: dict[str, Document] = {d.key: d for d in (
    Document("MA-2021", "沪医保规〔2021〕10号", "上海市市民社区医疗互助帮困计划实施细则"),
    Document("SA-2022", "沪府办规〔2022〕19号",
             "关于本市健全重特大疾病医疗保险和救助制度的实施意见"),
    Document("CN-2026", None, "长宁区医疗救助（事后救助）操作细则（2026版）"),
    Document("MH-2026", None, "闵行区医疗保障局2026年部门预算"),
    Document("EMP-2021", "沪府办规〔2021〕18号",
             "健全上海市职工基本医疗保险门诊共济保障机制实施办法"),
)}

# A value the documents leave open, decided by POLICY.md §4 (D1, D2, ...).
ASSUMPTION = "政策未明确，按本区口径"

_DECISION = re.compile(r"\s*\(?POLICY D\d+\)?")
_KEYED = re.compile(r"(?P<key>" + "|".join(re.escape(k) for k in DOCUMENTS) + r")(?P<rest>[^;；]*)")


def _clause(text: str) -> str:
    """"§八.六" → "八(六)"; "§四 3" → "四 3"; other clauses as they are."""
    text = text.strip()
    if text.startswith("§"):
        text = text[1:]
        head, dot, tail = text.partition(".")
        if dot and tail:
            text = f"{head}({tail})"
    return text


def cite(source: str) -> str:
    """A source key as clerks read it: "MH-2026 §八.六" → "《闵行区…预算》 八(六)";
    "SA-2022 二(二)4 (POLICY D2)" → "沪府办规〔2022〕19号 二(二)4；政策未明确，按本区口径";
    "POLICY D1" → "政策未明确，按本区口径"."""
    decided = bool(_DECISION.search(source))
    plain = _DECISION.sub("", source).strip()
    parts: list[str] = []
    for match in _KEYED.finditer(plain):
        doc = DOCUMENTS[match.group("key")]
        rest = _clause(match.group("rest"))
        sep = "" if doc.cited.endswith("》") else " "
        parts.append(f"{doc.cited}{sep}{rest}".strip())
    if not parts and plain:
        parts.append(plain)
    if decided:
        parts.append(ASSUMPTION)
    return "；".join(parts)


def is_assumption_only(source: str) -> bool:
    """True when the source is only a decision of POLICY.md (no document clause at all)."""
    return bool(_DECISION.search(source)) and not _KEYED.search(source)


# -- parameter names ---------------------------------------------------------------------------

# (pattern of the key inside its file, Chinese name, unit shown after a number)
_PARAMETER_NAMES: tuple[tuple[str, str, str], ...] = (
    (r"category\.(?P<c>\w+)\.inpatient_rate", "{c}住院救助比例", ""),
    (r"category\.(?P<c>\w+)\.outpatient_rate", "{c}门急诊救助比例", ""),
    (r"category\.(?P<c>\w+)\.inpatient_cap", "{c}住院救助年度限额", "元"),
    (r"category\.(?P<c>\w+)\.outpatient_cap", "{c}门急诊救助年度限额", "元"),
    (r"major_outpatient_as", "门诊大病的救助口径", ""),
    (r"deductible_subsidy\.categories", "门急诊起付线补助对象", ""),
    (r"deductible_subsidy\.rate", "门急诊起付线补助比例", ""),
    (r"claim_window_months", "申请期限（自票据开具之日起）", "个月"),
    (r"major_illness_doc", "居保大病认定材料", ""),
    (r"expenditure_2_check\.ratio", "支出型贫困（第II类）家庭年医疗费用占家庭年可支配收入比例", ""),
    (r"expenditure_2_check\.months", "支出型贫困（第II类）计算期", "个月"),
    (r"expenditure_2_check\.spending_basis", "家庭年医疗费用的计算口径", ""),
    (r"district_round\.rate", "区级医疗救助（二次救助）比例", ""),
    (r"district_round\.cap", "区级医疗救助（二次救助）年度限额", "元"),
    (r"allowance\.yearly", "门急诊医疗互助帮困补贴（每人每年）", "元"),
    (r"outpatient\.threshold", "门急诊年累计个人现金自负起付标准", "元"),
    (r"outpatient\.rate\.level_(?P<l>\d)", "{l}级医疗机构门急诊补助比例", ""),
    (r"inpatient\.external\.rate", "住院补助比例（有外省市或原单位职工医保）", ""),
    (r"inpatient\.no_external\.rate", "住院补助比例（无外省市或原单位职工医保）", ""),
    (r"inpatient\.no_external\.deductible", "住院年累计起付标准（无职工医保）", "元"),
    (r"inpatient\.floor", "住院个人自负最低比例", ""),
    (r"enrolment\.from", "登记缴费开始日", ""),
    (r"enrolment\.to", "登记缴费截止日", ""),
    (r"enrolment\.fee", "个人缴费标准", "元"),
    (r"funding\.medical", "医疗互助帮困补助筹资标准", "元"),
    (r"funding\.care", "照护补助筹资标准", "元"),
    (r"funding\.shares\.(?P<p>city|district)", "{p}财政筹资比例（个人缴费以外部分）", ""),
    (r"funding\.town_split\.town", "区级筹资中镇（工业区）承担比例", ""),
    (r"assessment\.fee", "照护评估费", "元"),
    (r"assessment\.fund_share", "照护评估费基金支付比例", ""),
    (r"home\.visits_per_week\.grade_(?P<g>[\d_]+)", "社区居家照护每周上门次数（{g}级）", "次"),
    (r"home\.hours_per_visit", "社区居家照护每次服务时间", "小时"),
    (r"home\.hourly\.nurse", "社区居家照护护士每小时收费", "元"),
    (r"home\.hourly\.medical_carer", "社区居家照护养老护理员（医疗照护）每小时收费", "元"),
    (r"home\.hourly\.carer", "社区居家照护养老护理员每小时收费", "元"),
    (r"home\.fund_share", "社区居家照护基金支付比例", ""),
    (r"institution\.daily\.grade_(?P<g>[\d_]+)", "养老机构照护每日收费（{g}级）", "元"),
    (r"institution\.fund_share", "养老机构照护基金支付比例", ""),
    (r"deductible\.(?P<e>\w+)", "职工医保门急诊起付标准（{e}）", "元"),
    (r"fund_share\.(?P<e>\w+)\.level_(?P<l>\d)", "职工医保{l}级医疗机构门急诊统筹支付比例（{e}）",
     ""),
    (r"full\.categories", "全额资助参保对象", ""),
    (r"fixed\.categories", "定额资助参保对象", ""),
    (r"fixed\.min_age", "定额资助参保最低年龄", "周岁"),
    (r"fixed\.personal", "定额资助参保个人缴费", "元"),
    (r"procedure\.auto_claim_by_day", "免申即享每月办理截止日", "日"),
    (r"procedure\.report_by_day", "街镇每月报区截止日", "日"),
    (r"procedure\.payout_by_day", "每月发放截止日", "日"),
)

_WORDS = {
    "street": "街道", "town": "镇", "city": "市级", "district": "区级",
    "in_work": "在职", "retired_after_2001": "2001年后退休", "retired_before_2001": "2001年前退休",
}


def parameter_name(key: str, categories: dict[str, str] | None = None) -> tuple[str, str]:
    """The Chinese name of a parameter key ("category.dibao.outpatient_cap", with or without its
    "file:" prefix) and the unit its number is shown in ("元", "个月", "" for rates and text)."""
    key = key.split(":", 1)[-1]
    for pattern, name, unit in _PARAMETER_NAMES:
        match = re.fullmatch(pattern, key)
        if match is None:
            continue
        words: dict[str, str] = {}
        for group, value in match.groupdict().items():
            if group == "c":
                words[group] = (categories or {}).get(value, value)
            elif group == "g":
                words[group] = value.replace("_", "、")
            else:
                words[group] = _WORDS.get(value, value)
        return name.format(**words), unit
    return "政策参数", ""
