"""The `calc` contract (shared/CALC-CONTRACT.md): JSON case in, explained JSON result out.

Every field is checked before anything is computed; the first problem raises CalcInputError
naming its JSON path. A partly wrong case never yields a result.
"""

from __future__ import annotations

import json
import re
from datetime import date
from decimal import Decimal
from typing import Any, NoReturn

from desktop.policy.engine import calculate
from desktop.policy.errors import CalcInputError
from desktop.policy.explain import trace_lines
from desktop.policy.labels import REASON_LABELS, bucket_label
from desktop.policy.model import (
    WAIVABLE,
    Case,
    CategorySpan,
    District,
    FeeRow,
    Kind,
    MutualAidMembership,
    Person,
    Program,
    Reason,
    Result,
)
from desktop.policy.money import (
    MoneyFormatError,
    format_amount,
    format_rate,
    parse_amount,
    round_fen,
)
from desktop.policy.parameters import PolicyParameters
from desktop.policy.parameters import default_parameters as default_parameters

SCHEMA = "counter-calc/1"
_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
# Dates a case may hold: wide enough for any real receipt, narrow enough that date arithmetic
# (the claim window) never leaves the calendar.
_FIRST_DAY, _LAST_DAY = date(2000, 1, 1), date(2099, 12, 31)
_FEE_REQUIRED = {"id", "receipt_no", "date", "kind", "hospital_level", "total", "out_of_scope",
                 "self_pay"}
_FEE_FLAGS = ("in_shanghai", "out_of_province_filed", "one_stop_settled", "already_claimed",
              "clearing_pending", "major_illness", "major_illness_doc", "means_test_included",
              "settled")
_FEE_MONEY = ("deductible_part", "external_deductible", "external_reimbursed")
__all__ = ["SCHEMA", "CalcInputError", "calculate_text", "case_to_json", "default_parameters",
           "parse_case",
           "result_to_json"]


def calculate_text(text: str, parameters: PolicyParameters | None = None) -> dict[str, Any]:
    """Parse a case from JSON text, compute it, and return the contract's output object."""
    data = parse_json(text)
    params = parameters or default_parameters()
    case = parse_case(data, params)
    return result_to_json(calculate(case, params), params)


def parse_json(text: str) -> Any:
    def no_constants(name: str) -> NoReturn:
        raise CalcInputError("$", f"{name} is not valid JSON", f"{name} 不是合法的 JSON 值")

    def pairs(items: list[tuple[str, Any]]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for key, value in items:
            if key in out:
                raise CalcInputError("$", f'duplicate key "{key}" in an object',
                                     f"对象中的键“{key}”重复")
            out[key] = value
        return out

    try:
        return json.loads(text, object_pairs_hook=pairs, parse_constant=no_constants)
    except json.JSONDecodeError as exc:
        raise CalcInputError(
            "$", f"not valid JSON (line {exc.lineno} column {exc.colno}: {exc.msg})",
            f"不是合法的 JSON（第 {exc.lineno} 行第 {exc.colno} 列）") from None
    except RecursionError:
        raise CalcInputError("$", "JSON nested too deeply", "JSON 嵌套过深") from None
    except ValueError as exc:  # e.g. an integer of thousands of digits
        raise CalcInputError("$", f"not usable JSON ({exc})", "JSON 内容无法读取") from None


def _fail(path: str, message: str, message_zh: str) -> NoReturn:
    raise CalcInputError(path, message, message_zh)


def _object(path: str, value: Any, required: set[str], optional: set[str]) -> dict[str, Any]:
    if not isinstance(value, dict):
        _fail(path, f"must be an object, not {_type(value)}", "必须是对象")
    for key in sorted(required - value.keys()):
        _fail(_join(path, key), "is required", "必填")
    for key in sorted(value.keys() - required - optional):
        _fail(_join(path, key), "unknown field", "未知字段")
    return value


def _join(path: str, key: str) -> str:
    if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", key):
        return f'{path}[{json.dumps(key)}]'
    return key if path == "$" else f"{path}.{key}"


def _type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    return "an object"


def _string(path: str, value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        _fail(path, f"must be a non-empty string, not {_type(value)}", "必须是非空字符串")
    if len(value) > 64:
        _fail(path, "is longer than 64 characters", "超过 64 个字符")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        _fail(path, "contains a character that is not valid text", "含有无效字符")
    return value


def _date(path: str, value: Any) -> date:
    if not isinstance(value, str) or not _DATE.fullmatch(value):
        _fail(path, f"must be a date like \"2026-05-20\", not {value!r}",
              "必须是形如 2026-05-20 的日期")
    try:
        day = date.fromisoformat(value)
    except ValueError:
        _fail(path, f"{value} is not a real date", f"{value} 不是真实存在的日期")
    if not _FIRST_DAY <= day <= _LAST_DAY:
        _fail(path, f"{value} is outside {_FIRST_DAY.year}–{_LAST_DAY.year}",
              f"{value} 超出 {_FIRST_DAY.year}–{_LAST_DAY.year} 年的范围")
    return day


def _money(path: str, value: Any) -> Decimal:
    if not isinstance(value, str):
        _fail(path, f'must be a string amount like "12.34", not {_type(value)} '
              "(JSON numbers are not accepted for money)",
              "金额必须写成带引号的字符串，如 \"12.34\"")
    try:
        return parse_amount(value)
    except MoneyFormatError as exc:
        _fail(path, str(exc), exc.message_zh)


def _bool(path: str, value: Any) -> bool:
    if not isinstance(value, bool):
        _fail(path, f"must be true or false, not {_type(value)}", "必须是 true 或 false")
    return value


def _enum(path: str, value: Any, enum: type[Program] | type[District] | type[Kind]) -> Any:
    known = [e.value for e in enum]
    if not isinstance(value, str) or value not in known:
        _fail(path, f"unknown code {value!r}; one of {', '.join(known)}",
              f"未知代码 {value!r}，应为 {'、'.join(known)} 之一")
    return enum(value)


def parse_case(data: Any, parameters: PolicyParameters) -> Case:
    """Validate a decoded JSON case completely and build the engine's Case."""
    top = _object("$", data, {"schema", "program", "district", "application_date", "person",
                              "fees"}, set())
    if top["schema"] != SCHEMA:
        _fail("schema", f"must be \"{SCHEMA}\", not {top['schema']!r}", f"必须是 {SCHEMA}")
    program = _enum("program", top["program"], Program)
    district = _enum("district", top["district"], District)
    application_date = _date("application_date", top["application_date"])
    person = _person(top["person"], program, parameters)
    fees = _fees(top["fees"], program, person, application_date)
    return Case(program, district, application_date, person, fees)


def _person(value: Any, program: Program, parameters: PolicyParameters) -> Person:
    raw = _object("person", value, {"categories", "resident_insurance"}, {"mutual_aid"})
    spans_raw = raw["categories"]
    if not isinstance(spans_raw, list):
        _fail("person.categories", f"must be an array, not {_type(spans_raw)}", "必须是数组")
    if program is Program.ASSISTANCE and not spans_raw:
        _fail("person.categories", "at least one category span is needed for assistance",
              "医疗救助至少需要一个对象类别")
    spans = []
    for i, item in enumerate(spans_raw):
        path = f"person.categories[{i}]"
        span = _object(path, item, {"code", "from"}, {"to"})
        code = span["code"]
        if not isinstance(code, str) or code not in parameters.categories:
            known = ", ".join(parameters.categories)
            _fail(f"{path}.code", f"unknown category {code!r}; one of {known}",
                  f"未知的对象类别 {code!r}")
        start = _date(f"{path}.from", span["from"])
        end_raw = span.get("to")
        end = None if end_raw is None else _date(f"{path}.to", end_raw)
        if end is not None and end < start:
            _fail(f"{path}.to", f"{end.isoformat()} is before from ({start.isoformat()})",
                  "结束日期早于开始日期")
        spans.append(CategorySpan(code, start, end))
    resident = _bool("person.resident_insurance", raw["resident_insurance"])
    membership = None
    if "mutual_aid" in raw and raw["mutual_aid"] is not None:
        membership = _membership(raw["mutual_aid"])
    if program is Program.MUTUAL_AID and membership is None:
        _fail("person.mutual_aid", "is required for program mutual_aid",
              "医疗互助帮困必须填写参加信息")
    return Person(tuple(spans), resident, membership)


def _membership(value: Any) -> MutualAidMembership:
    path = "person.mutual_aid"
    raw = _object(path, value, {"member_years", "external_inpatient_insurance"},
                  {"benefits_from", "allowance_balance"})
    years_raw = raw["member_years"]
    if not isinstance(years_raw, list):
        _fail(f"{path}.member_years", "must be an array of years", "必须是年份数组")
    years: set[int] = set()
    for i, year in enumerate(years_raw):
        where = f"{path}.member_years[{i}]"
        if not isinstance(year, int) or isinstance(year, bool) or not 2000 <= year <= 2100:
            _fail(where, f"must be a year like 2026, not {year!r}", "必须是年份，如 2026")
        if year in years:
            _fail(where, f"{year} is listed twice", f"{year} 重复")
        years.add(year)
    benefits = raw.get("benefits_from")
    benefits_from = None if benefits is None else _date(f"{path}.benefits_from", benefits)
    balance = _money(f"{path}.allowance_balance", raw.get("allowance_balance", "0.00"))
    external = _bool(f"{path}.external_inpatient_insurance", raw["external_inpatient_insurance"])
    return MutualAidMembership(frozenset(years), external, benefits_from, balance)


def _fees(
    value: Any, program: Program, person: Person, application_date: date
) -> tuple[FeeRow, ...]:
    if not isinstance(value, list):
        _fail("fees", f"must be an array, not {_type(value)}", "必须是数组")
    rows: list[FeeRow] = []
    seen: dict[str, int] = {}
    optional = set(_FEE_FLAGS) | set(_FEE_MONEY) | {"waived"}
    for i, item in enumerate(value):
        path = f"fees[{i}]"
        raw = _object(path, item, _FEE_REQUIRED, optional)
        row_id = _string(f"{path}.id", raw["id"])
        if row_id in seen:
            _fail(f"{path}.id", f'duplicate of fees[{seen[row_id]}].id ("{row_id}")',
                  f"与 fees[{seen[row_id]}] 的编号重复")
        seen[row_id] = i
        receipt_no = _string(f"{path}.receipt_no", raw["receipt_no"])
        day = _date(f"{path}.date", raw["date"])
        if day > application_date:
            _fail(f"{path}.date", f"{day.isoformat()} is after application_date "
                  f"({application_date.isoformat()})", "费用日期晚于申请日期")
        kind = _enum(f"{path}.kind", raw["kind"], Kind)
        level = raw["hospital_level"]
        if not isinstance(level, int) or isinstance(level, bool) or level not in (1, 2, 3):
            _fail(f"{path}.hospital_level", f"must be 1, 2 or 3, not {level!r}",
                  "医疗机构级别必须是 1、2 或 3")
        total = _money(f"{path}.total", raw["total"])
        oos = _money(f"{path}.out_of_scope", raw["out_of_scope"])
        self_pay = _money(f"{path}.self_pay", raw["self_pay"])
        flags: dict[str, Any] = {f: _bool(f"{path}.{f}", raw[f]) for f in _FEE_FLAGS if f in raw}
        amounts: dict[str, Any] = {f: _money(f"{path}.{f}", raw.get(f, "0.00")) for f in _FEE_MONEY}
        _check_amounts(path, total, oos, self_pay, amounts, program, person)
        waived = _waived(f"{path}.waived", raw.get("waived", []))
        if waived and flags.get("settled"):
            _fail(f"{path}.waived", "a settled row has no checks to waive",
                  "已结算的费用无需豁免")
        rows.append(FeeRow(row_id, receipt_no, day, kind, level, total, oos, self_pay,
                           **flags, **amounts, waived=waived))
    return tuple(rows)


def _waived(path: str, value: Any) -> frozenset[Reason]:
    """An extension of the contract: the checks an approver waived for the row (WAIVABLE)."""
    if not isinstance(value, list):
        _fail(path, f"must be a list of reason codes, not {_type(value)}", "必须是原因代码的列表")
    out = set()
    for j, code in enumerate(value):
        allowed = sorted(r.value for r in WAIVABLE)
        if not isinstance(code, str) or code not in allowed:
            _fail(f"{path}[{j}]", f"must be one of {', '.join(allowed)}, not {code!r}",
                  f"只能豁免：{'、'.join(allowed)}")
        out.add(Reason(code))
    return frozenset(out)


def _check_amounts(
    path: str,
    total: Decimal,
    oos: Decimal,
    self_pay: Decimal,
    amounts: dict[str, Any],
    program: Program,
    person: Person,
) -> None:
    """The invariants of POLICY.md §2."""
    if oos > total:
        _fail(f"{path}.out_of_scope", f"{oos} exceeds total ({total})", "自费部分超过总费用")
    in_scope = total - oos
    if self_pay > in_scope:
        _fail(f"{path}.self_pay", f"{self_pay} exceeds total - out_of_scope ({in_scope})",
              f"自负 {self_pay} 超过总费用减自费（{in_scope}）")
    deductible = amounts["deductible_part"]
    if deductible > self_pay:
        _fail(f"{path}.deductible_part", f"{deductible} exceeds self_pay ({self_pay})",
              "起付线部分超过自负金额")
    ext_ded, ext_reimb = amounts["external_deductible"], amounts["external_reimbursed"]
    if ext_ded + ext_reimb > in_scope:
        _fail(f"{path}.external_reimbursed",
              f"external_deductible + external_reimbursed ({ext_ded + ext_reimb}) exceeds "
              f"total - out_of_scope ({in_scope})", "外省市起付线与已报销之和超过医保范围内费用")
    membership = person.mutual_aid
    if (program is Program.MUTUAL_AID and membership is not None
            and not membership.external_inpatient_insurance and (ext_ded or ext_reimb)):
        field = "external_deductible" if ext_ded else "external_reimbursed"
        _fail(f"{path}.{field}", "must be 0.00 when person.mutual_aid."
              "external_inpatient_insurance is false", "无外省市医保时必须为 0.00")


def result_to_json(result: Result, parameters: PolicyParameters) -> dict[str, Any]:
    """The contract's output object, with Chinese labels and warnings for the screen."""
    program = result.case.program
    categories = {code: c.label for code, c in parameters.categories.items()}
    rows = []
    for r in result.rows:
        rows.append({
            "id": r.id,
            "counts": r.counts,
            "category": r.category,
            "rate": None if r.rate is None else format_rate(r.rate),
            "bucket": None if r.bucket is None else r.bucket.value,
            "reason": None if r.reason is None else r.reason.value,
            "settled": r.settled,
            "category_label": categories.get(r.category) if r.category else None,
            "reason_label": REASON_LABELS[r.reason] if r.reason else None,
            "bucket_label": bucket_label(program, r.bucket) if r.bucket else None,
        })
    return {
        "schema": SCHEMA,
        "payable": format_amount(result.payable),
        "buckets": {b.value: format_amount(v) for b, v in result.buckets.items()},
        "bucket_labels": {line.bucket.value: bucket_label(program, line.bucket)
                          for line in result.lines},
        "rows": rows,
        "years": [
            {
                "year": line.year,
                "bucket": line.bucket.value,
                "base": format_amount(round_fen(line.base)),
                "before": format_amount(line.before),
                "after": format_amount(line.after),
                "payable": format_amount(line.payable),
                "shortfall": format_amount(line.shortfall),
                "limits": [{"name": lim.name, "amount": format_amount(lim.amount),
                            "source": lim.source, "reached": lim.reached}
                           for lim in line.limits],
            }
            for line in result.lines
        ],
        "warnings": [w.message for w in result.warnings],
        "parameters": [
            {"key": f"{e.file.removesuffix('.yaml')}:{e.key}", "value": _value_text(e.value),
             "effective_from": e.effective_from.isoformat(), "source": e.source}
            for e in result.parameters_used
        ],
        "trace": trace_lines(result, categories),
    }


def _value_text(value: object) -> object:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, tuple):
        return list(value)
    return value


def case_to_json(case: Case) -> dict[str, Any]:
    """The contract's input object for a Case: what `parse_case` reads back to the same Case."""
    person = case.person
    out_person: dict[str, Any] = {
        "categories": [{"code": s.code, "from": s.start.isoformat(),
                        "to": None if s.end is None else s.end.isoformat()}
                       for s in person.categories],
        "resident_insurance": person.resident_insurance,
    }
    if person.mutual_aid is not None:
        m = person.mutual_aid
        out_person["mutual_aid"] = {
            "member_years": sorted(m.member_years),
            "benefits_from": None if m.benefits_from is None else m.benefits_from.isoformat(),
            "external_inpatient_insurance": m.external_inpatient_insurance,
            "allowance_balance": format_amount(m.allowance_balance),
        }
    fees = []
    for row in case.fees:
        fee: dict[str, Any] = {
            "id": row.id, "receipt_no": row.receipt_no, "date": row.date.isoformat(),
            "kind": row.kind.value, "hospital_level": row.hospital_level,
            "total": format_amount(row.total), "out_of_scope": format_amount(row.out_of_scope),
            "self_pay": format_amount(row.self_pay),
        }
        for flag in _FEE_FLAGS:
            fee[flag] = getattr(row, flag)
        for money in _FEE_MONEY:
            fee[money] = format_amount(getattr(row, money))
        if row.waived:
            fee["waived"] = sorted(r.value for r in row.waived)
        fees.append(fee)
    return {"schema": SCHEMA, "program": case.program.value, "district": case.district.value,
            "application_date": case.application_date.isoformat(), "person": out_person,
            "fees": fees}
