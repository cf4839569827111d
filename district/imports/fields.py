"""Cell parsers: the text of one cell to the value a model column stores, or CellError.

The validators of `desktop.domain` (ID numbers, phones, bank cards) and `desktop.policy.money`
(amounts) decide what is valid; these only adapt them to cells. Money becomes integer fen by
integer arithmetic on the digits, never through a float.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from desktop.domain.bank_card import check_bank_card
from desktop.domain.errors import DomainError
from desktop.domain.id_number import IdNumber, parse_id_number
from desktop.domain.phone import normalize_phone
from desktop.policy.money import MAX_INTEGER_DIGITS, MoneyFormatError, parse_amount
from district.imports.errors import CellError

# The amount desktop.policy.money.parse_amount accepts, split into yuan and fen: a cell that
# matches is converted here without a Decimal (a million rows); any other goes to parse_amount,
# which says what is wrong with it. tests/district/test_import.py checks the two agree.
_AMOUNT = re.compile(rf"(0|[1-9][0-9]{{0,{MAX_INTEGER_DIGITS - 1}}})(?:\.([0-9]{{1,2}}))?")
_DATE_DASHED = re.compile(r"([0-9]{4})[-/.]([0-9]{1,2})[-/.]([0-9]{1,2})(?:[ T][0-9:.]+)?")
_DATE_COMPACT = re.compile(r"([0-9]{4})([0-9]{2})([0-9]{2})")
_DATE_CHINESE = re.compile(r"([0-9]{4})年([0-9]{1,2})月([0-9]{1,2})日")
_TOO_PRECISE = re.compile(r"[0-9]+\.[0-9]{3,}")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_YEARS_SPLIT = re.compile(r"[,，、;；\s]+")
_YEAR_RANGE = re.compile(r"([0-9]{4})[-–~至]([0-9]{4})")

TRUE_WORDS = ("是", "Y", "y", "1", "TRUE", "True", "true")
FALSE_WORDS = ("否", "N", "n", "0", "FALSE", "False", "false")
_BOOLEANS = {**dict.fromkeys(TRUE_WORDS, True), **dict.fromkeys(FALSE_WORDS, False)}
LEVELS = {"1": 1, "2": 2, "3": 3, "一级": 1, "二级": 2, "三级": 3}
# POLICY.md §2: 住院 includes 留院观察, 门诊大病 includes 家庭病床; the codes are accepted too.
KINDS = {"门急诊": "outpatient", "门诊": "outpatient", "急诊": "outpatient",
         "住院": "inpatient", "留院观察": "inpatient",
         "门诊大病": "major_outpatient", "家庭病床": "major_outpatient",
         "outpatient": "outpatient", "inpatient": "inpatient",
         "major_outpatient": "major_outpatient"}
# 清算 (CN-2026 4.4): only 待清算 makes a row wait; an empty cell means nothing is pending.
CLEARING_STATES = {"待清算": True, "已清算": False, "无需清算": False}
# The years a mutual-aid membership may name (the calc contract's bounds).
FIRST_YEAR, LAST_YEAR = 2000, 2100


def fen(text: str) -> int:
    """"12.34" → 1234; CellError for anything but an amount of yuan with at most 2 decimals."""
    if text == "0.00":  # most amounts of a fee row are zero
        return 0
    match = _AMOUNT.fullmatch(text)
    if match is not None:
        cents = match[2]
        return int(match[1]) * 100 + (0 if cents is None else int(cents.ljust(2, "0")))
    try:
        parse_amount(text)
    except MoneyFormatError as exc:
        raise CellError(_money_reason(exc, text)) from None
    raise AssertionError(f"parse_amount accepted {text!r}, which the import pattern refuses")


def _money_reason(exc: MoneyFormatError, text: str) -> str:
    if _TOO_PRECISE.fullmatch(text):
        return f"金额最多两位小数（精确到分），实际为 {len(text.partition('.')[2])} 位"
    return exc.message_zh


def day(text: str) -> date:
    """2026-03-15, 2026/3/15, 2026.3.15, 20260315 or 2026年3月15日 (a time after it is ignored)."""
    match = (_DATE_DASHED.fullmatch(text) or _DATE_COMPACT.fullmatch(text)
             or _DATE_CHINESE.fullmatch(text))
    if match is None:
        raise CellError("日期格式不正确，应为 年-月-日（如 2026-03-15）")
    try:
        return date(int(match[1]), int(match[2]), int(match[3]))
    except ValueError:
        raise CellError("不是有效日期") from None


@dataclass(frozen=True)
class Choice:
    """A cell that must be one of a few words: their values, and what to say otherwise. The
    import looks the words up itself (no call per cell); calling it parses one cell."""

    values: Mapping[str, Any]
    message: str

    def __call__(self, text: str) -> Any:
        if text not in self.values:
            raise CellError(self.message)
        return self.values[text]


boolean = Choice(_BOOLEANS, "应填“是”或“否”")
level = Choice(LEVELS, "医疗机构等级应为 1、2、3（或 一级、二级、三级）")
kind = Choice(KINDS, "费用类别应为 门急诊、住院 或 门诊大病")
clearing_pending = Choice(CLEARING_STATES, "清算状态应为 待清算、已清算 或 无需清算")


def id_number(text: str, today: date) -> IdNumber:
    try:
        return parse_id_number(text, today=today)
    except DomainError as exc:
        raise CellError(exc.message_zh.removesuffix("。")) from None


def phone(text: str) -> str:
    try:
        value = normalize_phone(text)
    except DomainError as exc:
        raise CellError(exc.message_zh.removesuffix("。")) from None
    if len(value) > 20:
        raise CellError("电话号码过长")
    return value


def bank_account(text: str) -> str:
    """16–19 digits. A Luhn failure is kept: some genuine Chinese debit cards fail it, and the
    counter warns the clerk about it (RECEIPTS.md)."""
    try:
        return check_bank_card(text).value
    except DomainError as exc:
        raise CellError(exc.message_zh.removesuffix("。")) from None


def text(limit: int) -> Callable[[str], str]:
    """Plain text of at most `limit` characters (the model column's length)."""

    def parse(value: str) -> str:
        if len(value) > limit:
            raise CellError(f"内容过长（{len(value)} 个字符，最多 {limit} 个）")
        if _CONTROL.search(value):
            raise CellError("含有控制字符（如换行、制表符）")
        return value

    return parse


def code(limit: int, pattern: str, what: str) -> Callable[[str], str]:
    """An identifier: `pattern` (a regular expression) and at most `limit` characters."""
    compiled = re.compile(pattern)

    def parse(value: str) -> str:
        if len(value) > limit or compiled.fullmatch(value) is None:
            raise CellError(what)
        return value

    return parse


def one_of(values: Mapping[str, str], what: str) -> Choice:
    """A cell that names one of `values` (its keys: codes and Chinese names) by its code."""
    return Choice(values, what)


def years(text: str) -> list[int]:
    """Membership years: "2024,2025,2026", "2024、2025" or a range "2016-2026"."""
    found: set[int] = set()
    for part in _YEARS_SPLIT.split(text):
        if not part:
            continue
        span = _YEAR_RANGE.fullmatch(part)
        if span is not None:
            first, last = int(span[1]), int(span[2])
            if first > last:
                raise CellError(f"年度范围 {part} 的起止颠倒")
        elif part.isascii() and part.isdigit() and len(part) == 4:
            first = last = int(part)
        else:
            raise CellError("参加年度应为四位年份，用逗号分隔或写成范围（如 2016-2026），"
                            f"“{part}”不是")
        if first < FIRST_YEAR or last > LAST_YEAR:
            raise CellError(f"参加年度应在 {FIRST_YEAR}–{LAST_YEAR} 之间")
        found.update(range(first, last + 1))
    if not found:
        raise CellError("参加年度为空")
    return sorted(found)


def years_text(values: list[int]) -> str:
    """The cell for membership years, as `years` reads it back: runs as ranges."""
    parts: list[str] = []
    ordered = sorted(set(values))
    start = 0
    for i in range(1, len(ordered) + 1):
        if i == len(ordered) or ordered[i] != ordered[i - 1] + 1:
            first, last = ordered[start], ordered[i - 1]
            parts.append(str(first) if first == last else f"{first}-{last}")
            start = i
    return ",".join(parts)
