"""Scanned receipt text (RECEIPTS.md "Receipt QR formats"): each format, scanner wrappings, the
near-misses that must stay unrecognised, and properties over arbitrary and generated text.

All receipts are synthetic (ebill.example, made-up codes and numbers).
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from desktop.domain.receipt_qr import (
    ParsedReceipt,
    Unrecognised,
    parse_receipt_text,
    strip_scanner_envelope,
)

BASE = "https://ebill.example/eips-wxapp-service/d"
FISCAL = f"{BASE}?t=504&a=X&d=31060126_0000012345_a1b2c3_236.21_20260315&s=0"
FISCAL_SHORT = f"{BASE}?t=504&a=X&d=31060126_0000012345_a1b2c3_20260315&s=0"
QUERY = ("https://ebill.example/query?invoice_code=31060126&invoice_number=0000012345"
         "&check_code=a1b2c3")
VAT_CODED = "01,10,031001900211,12345678,87.38,20260315,12345678901234567890,9F0C,"
VAT_PAPER_SPECIAL = "01,01,3100194130,00012345,1000.00,20260301,,A1B2,"
VAT_DIGITAL = "01,32,,26312000000012345678,120.50,20260310,,1C2D,"

MARCH_15 = date(2026, 3, 15)


def parsed(text: str) -> ParsedReceipt:
    result = parse_receipt_text(text)
    assert isinstance(result, ParsedReceipt), result
    assert result.raw == text
    return result


def unrecognised(text: str) -> Unrecognised:
    result = parse_receipt_text(text)
    assert isinstance(result, Unrecognised), result
    assert result.raw == text
    assert result.reason
    return result


# --- each format ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "fields"),
    [
        (FISCAL, ("fiscal_url", "31060126", "0000012345", "a1b2c3", Decimal("236.21"), MARCH_15)),
        (FISCAL_SHORT, ("fiscal_url", "31060126", "0000012345", "a1b2c3", None, MARCH_15)),
        (f"{BASE}?d=31060126_0000012345_A1B2C3_236.2_20260315",
         ("fiscal_url", "31060126", "0000012345", "A1B2C3", Decimal("236.2"), MARCH_15)),
        (f"{BASE}?d=31060126_0000012345_a1b2c3_0_20260315",
         ("fiscal_url", "31060126", "0000012345", "a1b2c3", Decimal("0"), MARCH_15)),
        (f"{BASE}?d=31060126_0000012345_a1b2c3_1200_20260315",
         ("fiscal_url", "31060126", "0000012345", "a1b2c3", Decimal("1200"), MARCH_15)),
        # percent-encoded separators, upper-case scheme, a fragment, plain http
        (f"{BASE}?d=31060126%5F0000012345%5Fa1b2c3%5F236.21%5F20260315",
         ("fiscal_url", "31060126", "0000012345", "a1b2c3", Decimal("236.21"), MARCH_15)),
        ("HTTPS://ebill.example/d?d=31060126_0000012345_a1b2c3_20260315#top",
         ("fiscal_url", "31060126", "0000012345", "a1b2c3", None, MARCH_15)),
        ("http://10.0.0.1:8080/d?s=0&d=31060126_0000012345_a1b2c3_20260315",
         ("fiscal_url", "31060126", "0000012345", "a1b2c3", None, MARCH_15)),
        (QUERY, ("fiscal_query", "31060126", "0000012345", "a1b2c3", None, None)),
        (QUERY + "&amount=236.21&date=20260315",
         ("fiscal_query", "31060126", "0000012345", "a1b2c3", Decimal("236.21"), MARCH_15)),
        (QUERY + "&invoice_amount=236.21&invoice_date=20260315&x=1",
         ("fiscal_query", "31060126", "0000012345", "a1b2c3", Decimal("236.21"), MARCH_15)),
        (QUERY + "&amount=236.21&invoice_amount=236.21",  # aliases that agree
         ("fiscal_query", "31060126", "0000012345", "a1b2c3", Decimal("236.21"), None)),
        (QUERY + "&amount=&date=",  # empty optional parameters are simply not given
         ("fiscal_query", "31060126", "0000012345", "a1b2c3", None, None)),
        (VAT_CODED,
         ("vat", "031001900211", "12345678", "12345678901234567890", Decimal("87.38"), MARCH_15)),
        (VAT_CODED.rstrip(","),
         ("vat", "031001900211", "12345678", "12345678901234567890", Decimal("87.38"), MARCH_15)),
        (VAT_PAPER_SPECIAL,
         ("vat", "3100194130", "00012345", None, Decimal("1000.00"), date(2026, 3, 1))),
        (VAT_DIGITAL,
         ("vat", None, "26312000000012345678", None, Decimal("120.50"), date(2026, 3, 10))),
        ("01,31,,26312000000012345679,5,20260310,,,",
         ("vat", None, "26312000000012345679", None, Decimal("5"), date(2026, 3, 10))),
        ("0000012345", ("bare_number", None, "0000012345", None, None, None)),
        ("123456", ("bare_number", None, "123456", None, None, None)),
        ("12345678901234567890", ("bare_number", None, "12345678901234567890", None, None, None)),
    ],
)
def test_recognised(text: str, fields: tuple[object, ...]) -> None:
    result = parsed(text)
    assert (result.format, result.issuer_code, result.receipt_no, result.check_code,
            result.amount, result.issue_date) == fields


def test_amounts_are_decimal_and_exact() -> None:
    amount = parsed(FISCAL).amount
    assert isinstance(amount, Decimal)
    assert amount == Decimal("236.21")
    assert str(parsed(VAT_PAPER_SPECIAL).amount) == "1000.00"


# --- scanner wrappings --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "wrap",
    [
        "{}\r\n", "{}\r", "{}\n", "{}\t", "{}\r\n\r\n", "]Q1{}", "]Q2\\000026{}\r\n",
        "\\000026{}", "\\000026]Q1{}\t", "]C1{}", "]E0{}\n", "]d2{}", " {} ",
    ],
)
@pytest.mark.parametrize("body", [FISCAL, FISCAL_SHORT, QUERY, VAT_CODED, VAT_DIGITAL,
                                  "0000012345"])
def test_scanner_prefixes_and_endings_are_stripped_but_raw_is_kept(wrap: str, body: str) -> None:
    text = wrap.format(body)
    assert strip_scanner_envelope(text) == body
    result = parsed(text)
    assert result.raw == text
    assert result == ParsedReceipt(**{**parsed(body).__dict__, "raw": text})


# --- near-misses: never a guess ---------------------------------------------------------------


def fiscal_d(d: str) -> str:
    return f"{BASE}?t=504&a=X&d={d}&s=0"


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("", "为空"),
        ("\r\n", "为空"),
        ("]Q1", "为空"),
        ("\\000026\r\n", "为空"),
        # fiscal d=
        (fiscal_d("3106012_0000012345_a1b2c3_236.21_20260315"), "票据代码"),  # 7-digit code
        (fiscal_d("310601266_0000012345_a1b2c3_236.21_20260315"), "票据代码"),
        (fiscal_d("3106012a_0000012345_a1b2c3_236.21_20260315"), "票据代码"),
        (fiscal_d("31060126_00000A2345_a1b2c3_236.21_20260315"), "票据号码"),  # letter
        (fiscal_d("31060126_000012345_a1b2c3_236.21_20260315"), "票据号码"),  # 9 digits
        (fiscal_d("31060126_00000123456_a1b2c3_236.21_20260315"), "票据号码"),
        (fiscal_d("31060126_0000012345_a1b2c_236.21_20260315"), "校验码"),
        (fiscal_d("31060126_0000012345_a1b2c3d_236.21_20260315"), "校验码"),
        (fiscal_d("31060126_0000012345_a1b2-3_236.21_20260315"), "校验码"),
        (fiscal_d("31060126_0000012345_a1b2c3_236.215_20260315"), "金额"),  # 3 decimals
        (fiscal_d("31060126_0000012345_a1b2c3_-236.21_20260315"), "金额"),
        (fiscal_d("31060126_0000012345_a1b2c3_0236.21_20260315"), "金额"),
        (fiscal_d("31060126_0000012345_a1b2c3_236._20260315"), "金额"),
        (fiscal_d("31060126_0000012345_a1b2c3_.21_20260315"), "金额"),
        (fiscal_d("31060126_0000012345_a1b2c3_1e3_20260315"), "金额"),
        (fiscal_d("31060126_0000012345_a1b2c3_236,21_20260315"), "金额"),
        (fiscal_d("31060126_0000012345_a1b2c3_236.21_20260230"), "不是有效日期"),  # 30 Feb
        (fiscal_d("31060126_0000012345_a1b2c3_236.21_20261301"), "不是有效日期"),
        (fiscal_d("31060126_0000012345_a1b2c3_236.21_2026031"), "开票日期"),
        (fiscal_d("31060126_0000012345_a1b2c3_236.21_2026-03-15"), "开票日期"),
        (fiscal_d("31060126_0000012345_a1b2c3_20260230"), "不是有效日期"),
        (fiscal_d("31060126_0000012345_a1b2c3_236.21_20260315_x"), "实际为6段"),  # extra
        (fiscal_d("31060126_0000012345_a1b2c3_236.21_20260315_"), "实际为6段"),
        (fiscal_d("31060126_0000012345_20260315"), "实际为3段"),
        (fiscal_d(""), "实际为1段"),
        (fiscal_d("31060126_0000012345_a1b2c3_236.21"), "开票日期"),
        (fiscal_d("31060126 0000012345_a1b2c3_236.21_20260315"), "空白"),
        (f"{FISCAL}&d=31060126_0000012345_a1b2c3_236.21_20260315", "出现了2次"),
        (f"{FISCAL}&invoice_code=31060126", "无法确定"),
        # URLs that carry no receipt or are not URLs we know
        ("https://ebill.example/eips-wxapp-service/d?t=504&a=X&s=0", "没有票据字段"),
        ("https://ebill.example/", "没有票据字段"),
        ("https:///d?d=31060126_0000012345_a1b2c3_236.21_20260315", "主机名"),
        ("https://[ebill.example/d?d=31060126_0000012345_a1b2c3_20260315", "网址格式不正确"),
        ("ftp://ebill.example/d?d=31060126_0000012345_a1b2c3_20260315", "不是已知的票据格式"),
        ("ebill.example/d?d=31060126_0000012345_a1b2c3_20260315", "不是已知的票据格式"),
        ("see https://ebill.example/d?d=31060126_0000012345_a1b2c3_20260315", "不是已知"),
        # query form
        ("https://ebill.example/q?invoice_code=31060126&invoice_number=0000012345",
         "check_code"),
        ("https://ebill.example/q?invoice_number=0000012345&check_code=a1b2c3", "invoice_code"),
        (QUERY.replace("31060126", "3106012"), "invoice_code"),
        (QUERY.replace("0000012345", "000001234X"), "invoice_number"),
        (QUERY.replace("a1b2c3", "a1b2c3d4"), "check_code"),
        (QUERY.replace("check_code=a1b2c3", "check_code="), "check_code"),
        (QUERY + "&amount=12.345", "金额"),
        (QUERY + "&amount=abc", "金额"),
        (QUERY + "&date=20260230", "不是有效日期"),
        (QUERY + "&invoice_date=2026-03-15", "日期"),
        (QUERY + "&amount=1.00&invoice_amount=2.00", "矛盾"),
        (QUERY + "&invoice_number=0000012346", "出现了2次"),
        # VAT
        ("01,99,031001900211,12345678,87.38,20260315,12345678901234567890,9F0C,", "种类"),
        ("01,1,031001900211,12345678,87.38,20260315,12345678901234567890,9F0C,", "种类"),
        ("01,10,03100190021,12345678,87.38,20260315,12345678901234567890,9F0C,", "发票代码"),
        ("01,10,0310019002,1234567,87.38,20260315,12345678901234567890,9F0C,", "8位"),
        ("01,10,031001900211,26312000000012345678,87.38,20260315,,9F0C,", "8位"),
        ("01,32,,12345678,120.50,20260310,,1C2D,", "20位"),
        ("01,32,,2631200000001234567X,120.50,20260310,,1C2D,", "20位"),
        ("01,10,031001900211,12345678,87.385,20260315,12345678901234567890,9F0C,", "金额"),
        ("01,10,031001900211,12345678,,20260315,12345678901234567890,9F0C,", "金额"),
        ("01,10,031001900211,12345678,87.38,20260230,12345678901234567890,9F0C,", "有效日期"),
        ("01,10,031001900211,12345678,87.38,20260315,1234567890123456789,9F0C,", "校验码"),
        ("01,10,031001900211,12345678,87.38,20260315,12345678901234567890,9F0C1,", "第8项"),
        ("01,10,031001900211,12345678,87.38,20260315,12345678901234567890,9F0C,,", "9项"),
        ("01,10,031001900211,12345678,87.38,20260315,12345678901234567890,9F0C,X,", "9项"),
        ("01,10,031001900211,12345678,87.38,20260315", "只用于数电票"),  # 6 with a code
        ("01,10,031001900211,12345678,87.38", "实际为5项"),
        ("02,10,031001900211,12345678,87.38,20260315,12345678901234567890,9F0C,", "不是已知"),
        ("01，10，031001900211，12345678", "不是已知"),
        # bare numbers
        ("12345", "6至20位"),
        ("123456789012345678901", "6至20位"),
        ("12345a", "不是已知"),
        ("123 456", "不是已知"),
        ("１２３４５６", "不是已知"),  # full-width: a scanner never sends these
        ("١٢٣٤٥٦٧", "不是已知"),
        ("-123456", "不是已知"),
        ("123456.00", "不是已知"),
        ("hello", "不是已知"),
    ],
)
def test_unrecognised(text: str, reason: str) -> None:
    result = unrecognised(text)
    assert reason in result.reason, result.reason


# --- properties ------------------------------------------------------------------------------

SCAN_ALPHABET = "0123456789_.,:/?&=#%abcdhtpsxAQCE]\\\r\n\t -"


@settings(max_examples=500)
@given(text=st.one_of(st.text(), st.text(alphabet=SCAN_ALPHABET)))
def test_never_raises_and_always_keeps_raw(text: str) -> None:
    result = parse_receipt_text(text)
    assert isinstance(result, ParsedReceipt | Unrecognised)
    assert result.raw == text
    if isinstance(result, ParsedReceipt):
        assert result.receipt_no.isascii() and result.receipt_no.isdigit()


@settings(max_examples=300)
@given(prefix=st.text(max_size=40), d=st.text(max_size=60), suffix=st.text(max_size=20))
def test_never_raises_on_mangled_fiscal_urls(prefix: str, d: str, suffix: str) -> None:
    text = f"{prefix}{BASE}?d={d}{suffix}"
    assert parse_receipt_text(text).raw == text


digits = st.integers(min_value=0).map(str)
amounts = st.one_of(
    st.integers(0, 10**8).map(lambda fen: Decimal(fen) / 100).map(lambda y: f"{y:.2f}"),
    st.integers(0, 10**6).map(str),
    st.integers(0, 10**6).map(lambda tenths: f"{tenths // 10}.{tenths % 10}"),
)
check_codes = st.text(
    alphabet="0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ",
    min_size=6, max_size=6,
)
wrappers = st.sampled_from(["{}", "{}\r\n", "{}\t", "]Q1{}", "\\000026{}\n", "]Q2\\000026{}"])


def numeric(size: int) -> st.SearchStrategy[str]:
    return st.text(alphabet="0123456789", min_size=size, max_size=size)


@settings(max_examples=300)
@given(code=numeric(8), number=numeric(10), check=check_codes,
       amount=st.none() | amounts, issued=st.dates(), wrap=wrappers,
       before=st.sampled_from(["", "t=504&a=X&", "a=1&"]),
       after=st.sampled_from(["", "&s=0", "&s=0&z="]))
def test_fiscal_urls_from_valid_fields_parse_back(code: str, number: str, check: str,
                                                  amount: str | None, issued: date, wrap: str,
                                                  before: str, after: str) -> None:
    day = f"{issued.year:04d}{issued.month:02d}{issued.day:02d}"
    d = "_".join([code, number, check, *([] if amount is None else [amount]), day])
    text = wrap.format(f"{BASE}?{before}d={d}{after}")
    assert parsed(text) == ParsedReceipt(
        "fiscal_url", code, number, check, None if amount is None else Decimal(amount), issued,
        text,
    )


@settings(max_examples=200)
@given(code=st.sampled_from(["", "0310019002", "031001900211"]), data=st.data(),
       kind=st.sampled_from(["01", "04", "08", "10", "11", "14", "31", "32"]),
       amount=amounts, issued=st.dates(), check=st.sampled_from(["", "1" * 20]),
       tail=st.sampled_from(["", "9F0C"]), trailing=st.booleans())
def test_vat_strings_from_valid_fields_parse_back(code: str, data: st.DataObject, kind: str,
                                                 amount: str, issued: date, check: str,
                                                 tail: str, trailing: bool) -> None:
    number = data.draw(numeric(8 if code else 20))
    day = f"{issued.year:04d}{issued.month:02d}{issued.day:02d}"
    text = ",".join(["01", kind, code, number, amount, day, check, tail]) + ("," if trailing
                                                                               else "")
    assert parsed(text) == ParsedReceipt("vat", code or None, number, check or None,
                                         Decimal(amount), issued, text)


@given(number=st.text(alphabet="0123456789", min_size=1, max_size=30))
def test_bare_numbers_are_recognised_by_length_alone(number: str) -> None:
    result = parse_receipt_text(number)
    if 6 <= len(number) <= 20:
        assert result == ParsedReceipt("bare_number", None, number, None, None, None, number)
    else:
        assert isinstance(result, Unrecognised)
