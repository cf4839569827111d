"""Scanned receipt text (RECEIPTS.md "Receipt QR formats") parsed into the fields matching needs.

Strict by design: no official specification exists, so anything not exactly one of the known
shapes is `Unrecognised` with a reason (in Chinese, for the clerk) rather than a guess.

The formats, by RECEIPTS.md's numbers: 1 `fiscal_url` (d= in the query), 2 `fiscal_query`
(invoice_code=…), 3 `vat` (8 comma-separated fields), 4 `bare_number`, 5 `vat_short` (the
7-field form without the check tail, the 6-field 数电票 form), 6 `fiscal_page`
(…/page/CODE/NUMBER/CHECK), 7 `dppt_link` (the tax bureau's 数电票 delivery link).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Literal
from urllib.parse import SplitResult, parse_qsl, urlsplit

ReceiptFormat = Literal[
    "fiscal_url", "fiscal_query", "vat", "bare_number", "vat_short", "fiscal_page", "dppt_link",
]
# The forms of a VAT invoice's QR: the amount in them is the one before tax.
VAT_FORMATS: frozenset[ReceiptFormat] = frozenset({"vat", "vat_short"})
# The fields matching compares, in the order a clerk reads them.
MATCHING_FIELDS = ("issuer_code", "check_code", "amount", "issue_date")


@dataclass(frozen=True)
class ParsedReceipt:
    """The fields of one recognised receipt; `raw` is the text exactly as scanned."""

    format: ReceiptFormat
    issuer_code: str | None
    receipt_no: str
    check_code: str | None
    amount: Decimal | None
    issue_date: date | None
    raw: str

    @property
    def amount_before_tax(self) -> bool:
        """Whether `amount` is a VAT invoice's amount before tax (not the sum paid)."""
        return self.format in VAT_FORMATS

    @property
    def not_carried(self) -> tuple[str, ...]:
        """The `MATCHING_FIELDS` this receipt's text does not carry (so nothing to compare)."""
        return tuple(name for name in MATCHING_FIELDS if getattr(self, name) is None)


@dataclass(frozen=True)
class Unrecognised:
    """Scanned text that is none of the known formats; `reason` says why, for the clerk."""

    raw: str
    reason: str


# Prefixes some scanners send before the data: an AIM symbology identifier ("]Q1" QR, "]C1"
# Code 128, "]E0" EAN, ...) and an ECI designator ("\000026" = UTF-8), in either order.
_AIM_IDENTIFIER = re.compile(r"\][A-Za-z][0-9A-Za-z]")
_ECI_DESIGNATOR = re.compile(r"\\[0-9]{6}")
# What keyboard-wedge scanners end with (Enter, Tab, LF) and stray spaces around a typed number.
_ENDS = " \t\r\n"

_ISSUER_CODE = re.compile(r"[0-9]{8}")
_FISCAL_NUMBER = re.compile(r"[0-9]{10}")
_FISCAL_CHECK = re.compile(r"[0-9A-Za-z]{6}")
_AMOUNT = re.compile(r"(?:0|[1-9][0-9]*)(?:\.[0-9]{1,2})?")
_DATE = re.compile(r"[0-9]{8}")
_URL_START = re.compile(r"https?://", re.IGNORECASE)
_ANY_WHITESPACE = re.compile(r"\s")
_BARE_NUMBER = re.compile(r"[0-9]+")
BARE_NUMBER_LENGTHS = range(6, 21)

_VAT_TYPES = frozenset({"01", "04", "08", "10", "11", "14", "31", "32"})
_VAT_CODE = re.compile(r"[0-9]{10}|[0-9]{12}")
_VAT_NUMBER = re.compile(r"[0-9]{8}")
_VAT_DIGITAL_NUMBER = re.compile(r"[0-9]{20}")  # 数电票: no code, a 20-digit number
_VAT_CHECK = re.compile(r"[0-9]{20}")
_VAT_TAIL = re.compile(r"[0-9A-Za-z]{4}")

# The tax bureau's 数电票 delivery host, dppt.<province>.chinatax.gov.cn; RFC 2606's reserved
# `.example` names (never a real host) stand for it in synthetic data, as in RECEIPTS.md.
_DPPT_HOST = re.compile(r"dppt\.[a-z0-9-]+\.chinatax\.gov\.cn|dppt(?:\.[a-z0-9-]+)?\.example")
# 2_NUMBER(20)_yyyyMMddHHmmss then a key of letters and digits (its meaning is not known).
_DPPT_SEGMENT = re.compile(r"2_(?P<number>[^_]*)_(?P<time>[0-9]{14})(?P<key>[0-9A-Za-z]+)")
_DPPT_NUMBER = re.compile(r"[0-9]{20}")
_PAGE = "page"

_QUERY_NAMES = ("invoice_code", "invoice_number", "check_code")
_AMOUNT_NAMES = ("amount", "invoice_amount")
_DATE_NAMES = ("date", "invoice_date")


class _NotRecognised(Exception):
    """Internal: carries the reason up to `parse_receipt_text`, which turns it into a value."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def parse_receipt_text(text: str) -> ParsedReceipt | Unrecognised:
    """The receipt in scanned `text`, or `Unrecognised` with the reason. Never raises."""
    try:
        return _parse(text)
    except _NotRecognised as refusal:
        return Unrecognised(raw=text, reason=refusal.reason)


def strip_scanner_envelope(text: str) -> str:
    """`text` without the scanner's known prefixes and its trailing Enter/Tab/LF (and spaces)."""
    body = text.strip(_ENDS)
    for _ in range(2):
        match = _AIM_IDENTIFIER.match(body) or _ECI_DESIGNATOR.match(body)
        if match is None:
            break
        body = body[match.end():]
    return body


def _parse(raw: str) -> ParsedReceipt:
    body = strip_scanner_envelope(raw)
    if not body:
        raise _NotRecognised("扫描内容为空。")
    if _URL_START.match(body):
        return _parse_url(body, raw)
    if body.startswith("01,"):
        return _parse_vat(body, raw)
    if _BARE_NUMBER.fullmatch(body):
        if len(body) not in BARE_NUMBER_LENGTHS:
            raise _NotRecognised(f"纯数字票据号码应为6至20位，实际为{len(body)}位。")
        return ParsedReceipt("bare_number", None, body, None, None, None, raw)
    raise _NotRecognised("不是已知的票据格式（财政电子票据网址、增值税发票二维码或纯数字号码）。")


def _parse_url(body: str, raw: str) -> ParsedReceipt:
    if _ANY_WHITESPACE.search(body):
        raise _NotRecognised("网址中含有空白字符，可能扫描不完整。")
    try:
        parts = urlsplit(body)
    except ValueError:
        raise _NotRecognised("网址格式不正确。") from None
    if not parts.netloc:
        raise _NotRecognised("网址缺少主机名。")
    params: dict[str, list[str]] = {}
    for name, value in parse_qsl(parts.query, keep_blank_values=True):
        params.setdefault(name, []).append(value)
    has_d = "d" in params
    has_query = any(name in params for name in _QUERY_NAMES)
    if has_d and has_query:
        raise _NotRecognised("网址同时含有 d= 和 invoice_code 等参数，无法确定以哪个为准。")
    path_form = _path_form(parts.hostname or "", parts.path)
    if (has_d or has_query) and path_form is not None and _path_parses(path_form, parts, raw):
        raise _NotRecognised("网址的路径和参数中都有票据字段，无法确定以哪个为准。")
    if has_d:
        return _parse_fiscal_d(_single(params, "d"), raw)
    if has_query:
        return _parse_fiscal_query(params, raw)
    if path_form is not None:
        return path_form(parts.hostname or "", parts.path, raw)
    raise _NotRecognised("网址中没有票据字段（参数 d= 或 invoice_code 等，或路径"
                         " /page/票据代码/票据号码/校验码、/v/2_发票号码_开票时间），"
                         "可能是只含查询码的短链接。")


_PathForm = Callable[[str, str, str], ParsedReceipt]


def _path_form(host: str, path: str) -> _PathForm | None:
    """Which path form (RECEIPTS.md 6 or 7) the URL looks like, before its fields are checked."""
    segments = path.split("/")[1:]
    if _DPPT_HOST.fullmatch(host) or (len(segments) == 2 and segments[0] == "v"):
        return _parse_dppt_link
    if _PAGE in segments[:-1]:
        return _parse_fiscal_page
    return None


def _path_parses(form: _PathForm, parts: SplitResult, raw: str) -> bool:
    try:
        form(parts.hostname or "", parts.path, raw)
    except _NotRecognised:
        return False
    return True


def _parse_fiscal_page(host: str, path: str, raw: str) -> ParsedReceipt:
    # …/page/票据代码/票据号码/校验码, on any province's host: nothing may follow the check code.
    segments = path.split("/")[1:]
    after = segments[len(segments) - segments[::-1].index(_PAGE):]
    if len(after) != 3:
        raise _NotRecognised(f"网址路径 page/ 之后应为3段（票据代码/票据号码/校验码），"
                             f"实际为{len(after)}段。")
    code, number, check = after
    _require(_ISSUER_CODE, code, "网址路径 page/ 后第1段（票据代码）应为8位数字")
    _require(_FISCAL_NUMBER, number, "网址路径 page/ 后第2段（票据号码）应为10位数字")
    _require(_FISCAL_CHECK, check, "网址路径 page/ 后第3段（校验码）应为6位字母或数字")
    return ParsedReceipt("fiscal_page", code, number, check, None, None, raw)


def _parse_dppt_link(host: str, path: str, raw: str) -> ParsedReceipt:
    # https://dppt.<省>.chinatax.gov.cn:8443/v/2_发票号码(20)_开票时间(yyyyMMddHHmmss)…
    if not _DPPT_HOST.fullmatch(host):
        raise _NotRecognised(f"数电票交付网址的主机应为 dppt.<省>.chinatax.gov.cn，"
                             f"实际为“{host}”。")
    segments = path.split("/")[1:]
    if len(segments) != 2 or segments[0] != "v":
        raise _NotRecognised(f"数电票交付网址的路径应为 /v/2_发票号码_开票时间…，实际为“{path}”。")
    match = _DPPT_SEGMENT.fullmatch(segments[1])
    if match is None:
        raise _NotRecognised("数电票交付网址 /v/ 之后应为“2_发票号码_开票时间”及字母数字，"
                             f"实际为“{segments[1]}”。")
    number = match["number"]
    _require(_DPPT_NUMBER, number, "数电票交付网址中的发票号码应为20位数字")
    stamp = match["time"]
    issued = _date(stamp[:8], "数电票交付网址中的开票时间")
    hour, minute, second = int(stamp[8:10]), int(stamp[10:12]), int(stamp[12:])
    if hour > 23 or minute > 59 or second > 59:
        raise _NotRecognised(f"数电票交付网址中的开票时间“{stamp}”不是有效时间。")
    return ParsedReceipt("dppt_link", None, number, None, None, issued, raw)


def _parse_fiscal_d(value: str, raw: str) -> ParsedReceipt:
    # 票据代码_票据号码_校验码_金额_开票日期; the short variant has no 金额.
    segments = value.split("_")
    if len(segments) == 5:
        code, number, check, amount_text, date_text = segments
        amount: Decimal | None = _amount(amount_text, "d= 第4段（金额）")
    elif len(segments) == 4:
        code, number, check, date_text = segments
        amount = None
    else:
        raise _NotRecognised(f"d= 应为4或5段（以“_”分隔），实际为{len(segments)}段。")
    _require(_ISSUER_CODE, code, "d= 第1段（票据代码）应为8位数字")
    _require(_FISCAL_NUMBER, number, "d= 第2段（票据号码）应为10位数字")
    _require(_FISCAL_CHECK, check, "d= 第3段（校验码）应为6位字母或数字")
    issued = _date(date_text, f"d= 第{len(segments)}段（开票日期）")
    return ParsedReceipt("fiscal_url", code, number, check, amount, issued, raw)


def _parse_fiscal_query(params: dict[str, list[str]], raw: str) -> ParsedReceipt:
    for name in _QUERY_NAMES:
        if name not in params:
            raise _NotRecognised(f"网址缺少参数 {name}。")
    code = _single(params, "invoice_code")
    number = _single(params, "invoice_number")
    check = _single(params, "check_code")
    _require(_ISSUER_CODE, code, "invoice_code（票据代码）应为8位数字")
    _require(_FISCAL_NUMBER, number, "invoice_number（票据号码）应为10位数字")
    _require(_FISCAL_CHECK, check, "check_code（校验码）应为6位字母或数字")
    amount_text = _optional(params, _AMOUNT_NAMES)
    date_text = _optional(params, _DATE_NAMES)
    amount = None if amount_text is None else _amount(amount_text, "金额参数")
    issued = None if date_text is None else _date(date_text, "日期参数")
    return ParsedReceipt("fiscal_query", code, number, check, amount, issued, raw)


def _parse_vat(body: str, raw: str) -> ParsedReceipt:
    # 01,发票种类,发票代码,发票号码,金额,开票日期,校验码,四位校验位[,]   (RECEIPTS.md 3)
    # 01,发票种类,发票代码,发票号码,金额,开票日期,校验码                  (5: no check tail)
    # 01,发票种类,,发票号码(20),金额,开票日期                              (5: 数电票)
    fields = body.split(",")
    if len(fields) == 9 and fields[8] == "":  # the trailing comma is optional
        fields = fields[:8]
    if len(fields) == 8:
        _, kind, code, number, amount_text, date_text, check, tail = fields
        form: ReceiptFormat = "vat"
    elif len(fields) == 7:
        _, kind, code, number, amount_text, date_text, check = fields
        tail, form = "", "vat_short"
        # Without the tail the check code is the last field: an empty one would be a 6-field
        # form with a trailing comma, which no receipt was seen to carry.
        _require(_VAT_CHECK, check, "7项增值税发票二维码的第7项（校验码）应为20位数字")
    elif len(fields) == 6:
        _, kind, code, number, amount_text, date_text = fields
        check, tail, form = "", "", "vat_short"
        if code:
            raise _NotRecognised(f"6项的增值税发票二维码只用于数电票（发票代码为空），"
                                 f"实际发票代码为“{code}”。")
    else:
        count = len(fields) - 1 if body.endswith(",") else len(fields)
        raise _NotRecognised(f"增值税发票二维码应为8项（或不带第8项的7项、数电票的6项，"
                             f"以逗号分隔），实际为{count}项。")
    if kind not in _VAT_TYPES:
        raise _NotRecognised(f"增值税发票种类代码“{kind}”不在已知范围内。")
    if code:
        _require(_VAT_CODE, code, "发票代码应为10位或12位数字")
        _require(_VAT_NUMBER, number, "发票号码应为8位数字")
    else:
        _require(_VAT_DIGITAL_NUMBER, number, "数电票（无发票代码）的发票号码应为20位数字")
    amount = _amount(amount_text, "金额")
    issued = _date(date_text, "开票日期")
    if check:
        _require(_VAT_CHECK, check, "校验码应为20位数字或为空")
    if tail:
        _require(_VAT_TAIL, tail, "第8项应为4位字母或数字或为空")
    return ParsedReceipt(form, code or None, number, check or None, amount, issued, raw)


def _single(params: dict[str, list[str]], name: str) -> str:
    values = params[name]
    if len(values) != 1:
        raise _NotRecognised(f"参数 {name} 出现了{len(values)}次，无法确定以哪个为准。")
    return values[0]


def _optional(params: dict[str, list[str]], names: tuple[str, ...]) -> str | None:
    """The one value given under any of `names` (aliases); empty means not given."""
    values = {value for name in names for value in params.get(name, []) if value != ""}
    if len(values) > 1:
        raise _NotRecognised(f"参数 {'/'.join(names)} 给出了互相矛盾的值。")
    return values.pop() if values else None


def _require(pattern: re.Pattern[str], value: str, what: str) -> None:
    if not pattern.fullmatch(value):
        raise _NotRecognised(f"{what}，实际为“{value}”。")


def _amount(text: str, what: str) -> Decimal:
    if not _AMOUNT.fullmatch(text):
        raise _NotRecognised(f"{what}应为金额（元，最多两位小数），实际为“{text}”。")
    return Decimal(text)


def _date(text: str, what: str) -> date:
    if not _DATE.fullmatch(text):
        raise _NotRecognised(f"{what}应为8位日期（yyyyMMdd），实际为“{text}”。")
    try:
        return date(int(text[:4]), int(text[4:6]), int(text[6:]))
    except ValueError:
        raise _NotRecognised(f"{what}“{text}”不是有效日期。") from None
