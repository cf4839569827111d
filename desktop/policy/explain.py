"""The trace: lines a clerk can read, naming each rule and the source of each parameter used."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Mapping, Sequence
from decimal import Decimal

from desktop.policy.labels import KIND_LABELS, PROGRAM_LABELS, REASON_LABELS, REASON_SOURCES
from desktop.policy.labels import bucket_label as _bucket_label
from desktop.policy.model import Limit, Result
from desktop.policy.money import format_amount, percent, round_fen
from desktop.policy.parameters import ParameterValue, default_parameters
from desktop.policy.sources import ASSUMPTION, DOCUMENTS, cite, is_assumption_only, parameter_name

_DISTRICT_LABELS = {"shanghai": "上海市（市级规则）", "changning": "长宁区", "minhang": "闵行区"}


def trace_lines(result: Result, category_labels: Mapping[str, str]) -> list[str]:
    case = result.case
    program = case.program
    lines = [
        f"{PROGRAM_LABELS[program]} · {_DISTRICT_LABELS[case.district.value]} · "
        f"申请日期 {case.application_date.isoformat()}"
    ]
    settled_by_year: Counter[int] = Counter()
    for row, verdict in zip(case.fees, result.rows, strict=True):
        if row.settled and verdict.counts:
            settled_by_year[row.date.year] += 1
            continue
        head = (f"费用 {row.id}（{row.date.isoformat()}，{KIND_LABELS[row.kind]}，"
                f"票据号 {row.receipt_no}，自负 {format_amount(row.self_pay)} 元）")
        if row.settled:
            head = "已结算" + head
        if verdict.reason is not None:
            text = (f"{head}：不计入——{REASON_LABELS[verdict.reason]}"
                    f"〔{REASON_SOURCES[verdict.reason]}〕")
            if verdict.detail:
                text += f"；{verdict.detail}"
            lines.append(text)
            continue
        parts = [f"{head}：计入"]
        if verdict.category:
            parts.append(f"对象类别 {category_labels.get(verdict.category, verdict.category)}")
        elif program.value == "mutual_aid" and verdict.bucket is not None:
            parts.append(f"{row.hospital_level}级医疗机构")
        if verdict.rate is not None:
            parts.append(f"比例 {percent(verdict.rate)}")
        if verdict.bucket is not None:
            parts.append(f"归入{_bucket_label(program, verdict.bucket)}")
        if verdict.detail:
            parts.append(verdict.detail)
        if row.waived:
            waived = "、".join(REASON_LABELS[r] for r in sorted(row.waived))
            parts.append(f"经审批人同意豁免：{waived}")
        lines.append("，".join(parts[:1]) + "；" + "，".join(parts[1:]))
    for year, count in sorted(settled_by_year.items()):
        lines.append(f"{year} 年此前已结算的费用 {count} 条，计入年度累计"
                     "（先算已结算部分，再算含本次）")
    for line in result.lines:
        label = _bucket_label(program, line.bucket)
        limits = "；".join(_limit_text(lim) for lim in line.limits)
        text = (f"{line.year} 年{label}：计算基数 {format_amount(round_fen(line.base))} 元"
                + (f"；{limits}" if limits else "")
                + f"；本年应得 {format_amount(line.after)} 元，"
                f"此前已付 {format_amount(line.before)} 元，本次 {format_amount(line.payable)} 元")
        lines.append(text)
    lines.append(f"本次应付合计 {format_amount(result.payable)} 元（每项四舍五入到分，POLICY D6）")
    for warning in result.warnings:
        lines.append(f"注意：{warning.message}")
    for entry in result.parameters_used:
        lines.append(_parameter_line(entry))
    return lines


def _limit_text(lim: Limit) -> str:
    if lim.amount <= 1 and lim.name.endswith("比例"):
        mark = "（已按此扣减）" if lim.reached else ""
        return f"{lim.name} {percent(lim.amount)}〔{lim.source}〕{mark}"
    mark = "（已达到）" if lim.reached else ""
    return f"{lim.name} {format_amount(lim.amount)} 元〔{lim.source}〕{mark}"


def _parameter_line(entry: ParameterValue) -> str:
    value = entry.value
    if isinstance(value, Decimal) and entry.unit == "rate":
        shown = percent(value)
    elif value is None:
        shown = "不设限额"
    elif isinstance(value, tuple):
        shown = "、".join(value)
    else:
        shown = str(value)
    end = f" 至 {entry.effective_to.isoformat()}" if entry.effective_to else ""
    return (f"参数 {entry.file.removesuffix('.yaml')}:{entry.key} = {shown}"
            f"（{entry.effective_from.isoformat()} 起{end}）〔{entry.source}〕")


# -- the clerk's words -------------------------------------------------------------------------
# The contract's trace (CALC-CONTRACT.md) names every parameter by its key and source key; the
# counter, the approval screen and the printed forms show the same lines in the office's words.
# `human_lines` rewrites trace (and warning) lines, so results stored before this rendering
# existed read the same way.

_PARAMETER_LINE = re.compile(
    r"^参数 (?P<key>\S+) = (?P<value>.*?)（(?P<start>[\d-]+) 起(?: 至 (?P<end>[\d-]+))?）"
    r"〔(?P<source>[^〕]*)〕$")
_ROW_HEAD = re.compile(
    r"^(?P<prefix>注意：)?(?P<settled>已结算)?费用 (?P<id>.+?)（(?P<date>\d{4}-\d{2}-\d{2})，"
    r"(?P<kind>[^，]+)，票据号 (?P<no>[^，]*)，")
_BRACKETED = re.compile(r"〔(?P<source>[^〕]*)〕")
_ASSUMED = re.compile(r"参数 (?P<key>\S+) 是政策文件未明确时的假定值（(?P<source>[^）]*\)?)），")
_DECIDED = re.compile(r"按 POLICY D\d+ ?")
_DECISION_NOTE = re.compile(r"[，,；]\s*POLICY D\d+")
_BARE_KEY = re.compile(r"(?P<key>" + "|".join(re.escape(k) for k in DOCUMENTS) + r")")
_AMOUNT = re.compile(r"(?<![\d.,])(?P<int>\d{4,})(?P<frac>\.\d+)(?![\d])")


def group_amounts(text: str) -> str:
    """Thousands separators in every decimal amount: "130000.00" → "130,000.00"."""
    return _AMOUNT.sub(lambda m: f"{int(m.group('int')):,}{m.group('frac')}", text)


def human_lines(lines: Sequence[str], categories: Mapping[str, str] | None = None) -> list[str]:
    """The trace (or warnings) in the office's words: parameters by their Chinese name and the
    document's number and clause, decisions as "政策未明确，按本区口径", receipts instead of row
    ids, amounts with thousands separators."""
    labels = dict(categories) if categories is not None else _category_labels()
    return [human_line(line, labels) for line in lines]


def human_line(line: str, categories: Mapping[str, str]) -> str:
    labels = dict(categories)
    match = _PARAMETER_LINE.match(line)
    if match is not None:
        return group_amounts(_parameter_text(match, labels))
    line = _ROW_HEAD.sub(_row_head, line)
    line = _ASSUMED.sub(lambda m: f"{ASSUMPTION}：{_assumed(m, labels)}，", line)
    line = _BRACKETED.sub(lambda m: f"（{cite(m.group('source'))}）", line)
    line = _DECIDED.sub("按本区口径", line)
    line = _DECISION_NOTE.sub("", line)
    line = _BARE_KEY.sub(lambda m: DOCUMENTS[m.group("key")].cited, line)
    return group_amounts(line)


def _row_head(match: re.Match[str]) -> str:
    prefix = (match.group("prefix") or "") + (match.group("settled") or "")
    no = match.group("no").strip()
    head = f"票据 {no}" if no else "费用"
    return f"{prefix}{head}（{match.group('date')}，{match.group('kind')}，"


def _assumed(match: re.Match[str], categories: dict[str, str]) -> str:
    name, _unit = parameter_name(match.group("key"), categories)
    cited = cite(match.group("source")).replace(ASSUMPTION, "").strip("；")
    return f"{name}（{cited}）" if cited else name


def _parameter_text(match: re.Match[str], categories: dict[str, str]) -> str:
    name, unit = parameter_name(match.group("key"), categories)
    value = match.group("value")
    if re.fullmatch(r"\d+(\.\d+)?", value) and unit:
        value = f"{value} {unit}"
    elif "、" in value or value in categories:
        value = "、".join(categories.get(code, code) for code in value.split("、"))
    elif value == "inpatient":
        value = "按住院"
    source = match.group("source")
    if is_assumption_only(source):
        return f"{ASSUMPTION}：{name} {value}"
    return f"{name} {value}（{cite(source)}）"


def _category_labels() -> dict[str, str]:
    return {code: c.label for code, c in default_parameters().categories.items()}
