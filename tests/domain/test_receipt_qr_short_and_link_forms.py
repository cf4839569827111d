"""RECEIPTS.md formats 5–7: the shorter VAT forms, the provincial check page with the fields in
its path, and the tax bureau's 数电票 delivery link — each recognised exactly, its near-misses
unrecognised with the raw text kept, and properties over generated valid and mutated texts.

All receipts are synthetic: made-up codes and numbers, `.example` hosts (RFC 2606); the one
real-shaped host (dppt.shanghai.chinatax.gov.cn) carries a made-up number.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from desktop.domain.receipt_qr import ParsedReceipt, parse_receipt_text
from tests.domain.test_receipt_qr import parsed, unrecognised

# The synthetic examples of RECEIPTS.md, verbatim.
VAT_SEVEN = "01,10,031001600111,12345678,64.90,20260318,12345678901234567890"
VAT_SIX = "01,32,,26312000000012345678,199.00,20260320"
PAGE = "http://einvoice.example/page/31060126/0000012345/a1b2c3"
DPPT = "https://dppt.example:8443/v/2_26312000000012345678_20260309202905ABCDEF"
SHORT_LINK = "https://einvoice.example/d/473011a4b5c6d7e8"

DPPT_NO = "26312000000012345678"
MARCH_9, MARCH_18, MARCH_20 = date(2026, 3, 9), date(2026, 3, 18), date(2026, 3, 20)


# --- each form ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "fields"),
    [
        (VAT_SEVEN, ("vat_short", "031001600111", "12345678", "12345678901234567890",
                     Decimal("64.90"), MARCH_18)),
        (VAT_SIX, ("vat_short", None, DPPT_NO, None, Decimal("199.00"), MARCH_20)),
        # the 7-field form of a 数电票, a 10-digit code, whole yuan
        (f"01,31,,{DPPT_NO},5,20260320,12345678901234567890",
         ("vat_short", None, DPPT_NO, "12345678901234567890", Decimal("5"), MARCH_20)),
        ("01,04,3100194130,00012345,1000.00,20260318,00000000000000000000",
         ("vat_short", "3100194130", "00012345", "00000000000000000000", Decimal("1000.00"),
          MARCH_18)),
        (f"01,31,,{DPPT_NO},0.5,20260320",
         ("vat_short", None, DPPT_NO, None, Decimal("0.5"), MARCH_20)),
        # the check page, on any host, under any path, with other parameters and a fragment
        (PAGE, ("fiscal_page", "31060126", "0000012345", "a1b2c3", None, None)),
        ("https://pj.czj.example/fp/check/page/31060126/0000012345/A1B2C3?from=wx#r",
         ("fiscal_page", "31060126", "0000012345", "A1B2C3", None, None)),
        ("HTTP://10.0.0.1:8080/page/31060126/0000012345/a1b2c3",
         ("fiscal_page", "31060126", "0000012345", "a1b2c3", None, None)),
        ("http://einvoice.example/v/page/31060126/0000012345/a1b2c3",  # "v" alone is no link
         ("fiscal_page", "31060126", "0000012345", "a1b2c3", None, None)),
        # the delivery link: the number and the date of the issue time
        (DPPT, ("dppt_link", None, DPPT_NO, None, None, MARCH_9)),
        (f"https://dppt.shanghai.chinatax.gov.cn:8443/v/2_{DPPT_NO}_20260309202905E1B2C3D4",
         ("dppt_link", None, DPPT_NO, None, None, MARCH_9)),
        (f"https://DPPT.Shanghai.example:8443/v/2_{DPPT_NO}_20261231235959a", (
            "dppt_link", None, DPPT_NO, None, None, date(2026, 12, 31))),
        (f"https://dppt.example/v/2_{DPPT_NO}_2026030900000012AB?x=1",  # key may start with digits
         ("dppt_link", None, DPPT_NO, None, None, MARCH_9)),
    ],
)
def test_recognised(text: str, fields: tuple[object, ...]) -> None:
    result = parsed(text)
    assert (result.format, result.issuer_code, result.receipt_no, result.check_code,
            result.amount, result.issue_date) == fields


def test_what_each_form_does_not_carry() -> None:
    assert parsed(VAT_SEVEN).not_carried == ()
    assert parsed(VAT_SIX).not_carried == ("issuer_code", "check_code")
    assert parsed(PAGE).not_carried == ("amount", "issue_date")
    assert parsed(DPPT).not_carried == ("issuer_code", "check_code", "amount")
    assert parsed("0000012345").not_carried == ("issuer_code", "check_code", "amount",
                                                "issue_date")


def test_a_vat_forms_amount_is_before_tax_and_exact() -> None:
    for text in (VAT_SEVEN, VAT_SIX, "01,10,031001900211,12345678,87.38,20260315,,9F0C,"):
        receipt = parsed(text)
        assert receipt.amount_before_tax and isinstance(receipt.amount, Decimal)
    assert str(parsed(VAT_SIX).amount) == "199.00"
    assert not parsed(PAGE).amount_before_tax and not parsed(DPPT).amount_before_tax


@pytest.mark.parametrize("wrap", ["{}\r\n", "{}\t", "]Q1{}", "]Q2\\000026{}\r\n", " {} "])
@pytest.mark.parametrize("body", [VAT_SEVEN, VAT_SIX, PAGE, DPPT])
def test_scanner_wrappings_are_stripped_and_raw_kept(wrap: str, body: str) -> None:
    text = wrap.format(body)
    assert parsed(text) == ParsedReceipt(**{**parsed(body).__dict__, "raw": text})


# --- near-misses: never a guess ----------------------------------------------------------------


def page(code: str = "31060126", number: str = "0000012345", check: str = "a1b2c3") -> str:
    return f"http://einvoice.example/page/{code}/{number}/{check}"


def dppt(segment: str = f"2_{DPPT_NO}_20260309202905ABCDEF",
         host: str = "dppt.example:8443", path: str = "/v/") -> str:
    return f"https://{host}{path}{segment}"


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        # format 5, 7 fields: each field as in format 3, and the check code required
        ("01,10,03100160011,12345678,64.90,20260318,12345678901234567890", "发票代码"),
        ("01,10,031001600111,123456789,64.90,20260318,12345678901234567890", "8位"),
        (f"01,10,031001600111,{DPPT_NO},64.90,20260318,12345678901234567890", "8位"),
        ("01,99,031001600111,12345678,64.90,20260318,12345678901234567890", "种类"),
        ("01,10,031001600111,12345678,64.905,20260318,12345678901234567890", "金额"),
        ("01,10,031001600111,12345678,,20260318,12345678901234567890", "金额"),
        ("01,10,031001600111,12345678,64.90,20260230,12345678901234567890", "有效日期"),
        ("01,10,031001600111,12345678,64.90,2026031,12345678901234567890", "开票日期"),
        ("01,10,031001600111,12345678,64.90,20260318,1234567890123456789", "校验码"),
        ("01,10,031001600111,12345678,64.90,20260318,123456789012345678901", "校验码"),
        ("01,10,031001600111,12345678,64.90,20260318,1234567890123456789A", "校验码"),
        ("01,10,031001600111,12345678,64.90,20260318,9F0C", "校验码"),  # the tail, no check
        ("01,10,031001600111,12345678,64.90,20260318,", "校验码"),  # empty last field
        # format 5, 6 fields: only the 数电票 form
        ("01,32,,26312000000012345678,199.00,20260320,", "校验码"),  # a trailing comma
        ("01,32,031001600111,26312000000012345678,199.00,20260320", "只用于数电票"),
        ("01,32,,2631200000001234567,199.00,20260320", "20位"),
        ("01,32,,263120000000123456789,199.00,20260320", "20位"),
        ("01,32,,12345678,199.00,20260320", "20位"),
        ("01,33,,26312000000012345678,199.00,20260320", "种类"),
        ("01,32,,26312000000012345678,199.001,20260320", "金额"),
        ("01,32,,26312000000012345678,-199.00,20260320", "金额"),
        ("01,32,,26312000000012345678,199.00,20261320", "有效日期"),
        ("01,32,,26312000000012345678,199.00,2026-03-20", "开票日期"),
        ("01,32,,26312000000012345678,199.00", "实际为5项"),
        ("01,32,26312000000012345678,199.00,20260320", "实际为5项"),
        # format 6: exactly three fields after page/, each checked
        (page(code="3106012"), "票据代码"),
        (page(code="310601266"), "票据代码"),
        (page(code="3106012a"), "票据代码"),
        (page(number="000012345"), "票据号码"),
        (page(number="00000123456"), "票据号码"),
        (page(check="a1b2c"), "校验码"),
        (page(check="a1b2c3d"), "校验码"),
        (page(check="a1b2-3"), "校验码"),
        (page(code="%331060126"), "票据代码"),  # percent-encoded: not what a QR carries
        (page() + "/", "实际为4段"),
        (page() + "/x", "实际为4段"),
        ("http://einvoice.example/page/31060126/0000012345", "实际为2段"),
        ("http://einvoice.example/page/", "实际为1段"),
        ("http://einvoice.example/Page/31060126/0000012345/a1b2c3", "没有票据字段"),
        ("http://einvoice.example/pages/31060126/0000012345/a1b2c3", "没有票据字段"),
        ("http://einvoice.example/31060126/0000012345/a1b2c3", "没有票据字段"),
        (page() + "?d=31060126_0000012345_a1b2c3_20260315", "路径和参数中都有"),
        (page() + "?invoice_code=31060126&invoice_number=0000012345&check_code=a1b2c3",
         "路径和参数中都有"),
        ("http://einvoice.example/page/31060126/ 0000012345/a1b2c3", "空白"),
        ("einvoice.example/page/31060126/0000012345/a1b2c3", "不是已知的票据格式"),
        # the opaque short link of RECEIPTS.md 6
        (SHORT_LINK, "没有票据字段"),
        ("https://einvoice.example/d/473011a4b5c6d7e8?t=1", "没有票据字段"),
        # format 7: host, path, number, issue time, key
        (dppt(host="dppt.evil.com:8443"), "主机"),
        (dppt(host="evil.example:8443"), "主机"),
        (dppt(host="dppt.shanghai.chinatax.gov.cn.evil.com:8443"), "主机"),
        (dppt(host="chinatax.gov.cn:8443"), "主机"),
        (dppt(host="dppt.chinatax.gov.cn:8443"), "主机"),
        (dppt(host="dppt.a.b.chinatax.gov.cn:8443"), "主机"),
        (dppt(path="/w/"), "路径"),
        (dppt(path="/x/v/"), "路径"),
        (dppt(path="/v/v/"), "路径"),
        (dppt() + "/extra", "路径"),
        (dppt() + "/", "路径"),
        (dppt(host="dppt.example:8443", path="/", segment=""), "路径"),
        (dppt(f"1_{DPPT_NO}_20260309202905ABCDEF"), "2_发票号码"),
        (dppt(f"2_{DPPT_NO}20260309202905ABCDEF"), "2_发票号码"),
        (dppt(f"2_{DPPT_NO}_20260309202905"), "2_发票号码"),  # no key after the time
        (dppt(f"2_{DPPT_NO}_2026030920290"), "2_发票号码"),
        (dppt(f"2_{DPPT_NO}_20260309202905ABC-EF"), "2_发票号码"),
        (dppt(f"2_{DPPT_NO}_2026-03-09202905ABCDEF"), "2_发票号码"),
        (dppt(f"2_{DPPT_NO}_20260309202905ABCDEF_x"), "2_发票号码"),
        (dppt(f"2_{DPPT_NO[:-1]}_20260309202905ABCDEF"), "发票号码应为20位"),
        (dppt(f"2_{DPPT_NO}1_20260309202905ABCDEF"), "发票号码应为20位"),
        (dppt(f"2_{DPPT_NO[:-1]}A_20260309202905ABCDEF"), "发票号码应为20位"),
        (dppt(f"2_{DPPT_NO}_20260230202905ABCDEF"), "不是有效日期"),
        (dppt(f"2_{DPPT_NO}_20261309202905ABCDEF"), "不是有效日期"),
        (dppt(f"2_{DPPT_NO}_20260309242905ABCDEF"), "不是有效时间"),
        (dppt(f"2_{DPPT_NO}_20260309206005ABCDEF"), "不是有效时间"),
        (dppt(f"2_{DPPT_NO}_20260309202960ABCDEF"), "不是有效时间"),
        (dppt() + "?d=31060126_0000012345_a1b2c3_20260315", "路径和参数中都有"),
    ],
)
def test_unrecognised(text: str, reason: str) -> None:
    result = unrecognised(text)
    assert reason in result.reason, result.reason


@pytest.mark.parametrize("text", [
    # the earlier formats keep parsing as before when their path happens to hold "page" or "v"
    "https://ebill.example/page?d=31060126_0000012345_a1b2c3_20260315",
    "https://ebill.example/page/h5/index?d=31060126_0000012345_a1b2c3_20260315",
    "https://ebill.example/v/d?d=31060126_0000012345_a1b2c3_20260315",
    "https://ebill.example/page/x/y/z?invoice_code=31060126&invoice_number=0000012345"
    "&check_code=a1b2c3",
])
def test_query_forms_with_a_path_that_holds_no_fields_parse_as_before(text: str) -> None:
    assert parsed(text).format in ("fiscal_url", "fiscal_query")


# --- properties --------------------------------------------------------------------------------

ALNUM = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
VAT_KINDS = ["01", "04", "08", "10", "11", "14", "31", "32"]
wrappers = st.sampled_from(["{}", "{}\r\n", "{}\t", "]Q1{}", "\\000026{}\n", "]Q2\\000026{}"])
amounts = st.one_of(
    st.integers(0, 10**8).map(lambda fen: f"{Decimal(fen) / 100:.2f}"),
    st.integers(0, 10**6).map(str),
    st.integers(0, 10**6).map(lambda tenths: f"{tenths // 10}.{tenths % 10}"),
)
labels = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789-", min_size=1, max_size=12)


def numeric(size: int) -> st.SearchStrategy[str]:
    return st.text(alphabet="0123456789", min_size=size, max_size=size)


def yyyymmdd(day: date) -> str:
    return f"{day.year:04d}{day.month:02d}{day.day:02d}"


def is_date(text: str) -> bool:
    try:
        date(int(text[:4]), int(text[4:6]), int(text[6:]))
    except ValueError:
        return False
    return True


bad_dates = st.builds(lambda y, m, d: f"{y:04d}{m:02d}{d:02d}", st.integers(1, 9999),
                      st.integers(0, 99), st.integers(0, 99)).filter(lambda t: not is_date(t))


@st.composite
def vat_short_fields(draw: st.DrawFn) -> dict[str, str]:
    """A valid 7-field (with a check code) or 6-field (数电票) text's fields."""
    seven = draw(st.booleans())
    code = draw(st.sampled_from(["", "0310016001", "031001600111"]) if seven else st.just(""))
    if code:
        code = draw(numeric(len(code)))
    return {"kind": draw(st.sampled_from(VAT_KINDS)), "code": code,
            "number": draw(numeric(8 if code else 20)), "amount": draw(amounts),
            "day": yyyymmdd(draw(st.dates())),
            **({"check": draw(numeric(20))} if seven else {})}


def vat_short_text(fields: dict[str, str]) -> str:
    return ",".join(["01", fields["kind"], fields["code"], fields["number"], fields["amount"],
                     fields["day"], *([fields["check"]] if "check" in fields else [])])


@settings(max_examples=300)
@given(fields=vat_short_fields(), wrap=wrappers)
def test_short_vat_texts_from_valid_fields_parse_back(fields: dict[str, str], wrap: str) -> None:
    text = wrap.format(vat_short_text(fields))
    day = fields["day"]
    assert parsed(text) == ParsedReceipt(
        "vat_short", fields["code"] or None, fields["number"], fields.get("check"),
        Decimal(fields["amount"]), date(int(day[:4]), int(day[4:6]), int(day[6:])), text)


@settings(max_examples=300)
@given(fields=vat_short_fields(), data=st.data(),
       mutation=st.sampled_from(["longer", "shorter", "bad_date", "extra", "code_on_six",
                                 "bad_amount", "bad_kind"]))
def test_mutated_short_vat_texts_stay_unrecognised(fields: dict[str, str], data: st.DataObject,
                                                   mutation: str) -> None:
    if mutation in ("longer", "shorter"):
        name = data.draw(st.sampled_from(sorted({"number", "check", "code"} & {
            k for k, v in fields.items() if v})))
        fields[name] = fields[name] + "1" if mutation == "longer" else fields[name][:-1]
    elif mutation == "bad_date":
        fields["day"] = data.draw(bad_dates)
    elif mutation == "bad_amount":
        fields["amount"] = data.draw(st.sampled_from(["1.234", "-1", "01", "1e3", "", "1,0"]))
    elif mutation == "bad_kind":
        fields["kind"] = data.draw(st.sampled_from(["00", "02", "1", "99", "", "3a"]))
    elif mutation == "code_on_six":
        fields.pop("check", None)
        fields["code"] = data.draw(numeric(12))
    text = vat_short_text(fields) + (",X" if mutation == "extra" and "check" not in fields
                                     else "")
    if mutation == "extra" and "check" in fields:
        text += ",9F0C,X"  # one field past format 3's eight
    unrecognised(text)


@st.composite
def page_urls(draw: st.DrawFn) -> tuple[str, tuple[str, str, str]]:
    fields = (draw(numeric(8)), draw(numeric(10)),
              draw(st.text(alphabet=ALNUM, min_size=6, max_size=6)))
    prefix = "".join(f"/{label}" for label in draw(st.lists(labels, max_size=3)))
    host = draw(st.sampled_from(["einvoice.example", "pj.czt.example:8443", "10.0.0.1"]))
    scheme = draw(st.sampled_from(["http", "https", "HTTPS"]))
    query = draw(st.sampled_from(["", "?from=wx", "?t=1&s=0", "#top"]))
    return f"{scheme}://{host}{prefix}/page/{'/'.join(fields)}{query}", fields


@settings(max_examples=300)
@given(url=page_urls(), wrap=wrappers)
def test_check_pages_from_valid_fields_parse_back(url: tuple[str, tuple[str, str, str]],
                                                  wrap: str) -> None:
    body, (code, number, check) = url
    text = wrap.format(body)
    assert parsed(text) == ParsedReceipt("fiscal_page", code, number, check, None, None, text)


@settings(max_examples=300)
@given(url=page_urls(), data=st.data(),
       mutation=st.sampled_from(["longer", "shorter", "extra", "missing", "bad_char", "query"]))
def test_mutated_check_pages_stay_unrecognised(url: tuple[str, tuple[str, str, str]],
                                               data: st.DataObject, mutation: str) -> None:
    body, fields = url
    head = body[:body.index("/page/") + len("/page/")]
    parts = list(fields)
    index = data.draw(st.integers(0, 2))
    if mutation == "longer":
        parts[index] += data.draw(st.sampled_from(["0", "9", "a"])) if index == 2 else "0"
    elif mutation == "shorter":
        parts[index] = parts[index][:-1]
    elif mutation == "extra":
        parts.append(data.draw(st.sampled_from(["", "x", "0000012345"])))
    elif mutation == "missing":
        del parts[index]
    elif mutation == "bad_char":
        parts[index] = parts[index][:-1] + data.draw(st.sampled_from(["-", "_", "%", "é", "."]))
    text = head + "/".join(parts)
    if mutation == "query":
        text += "?d=" + "_".join([*fields[:3], "20260315"])
    unrecognised(text)


@st.composite
def dppt_links(draw: st.DrawFn) -> tuple[str, str, datetime]:
    number = draw(numeric(20))
    issued = draw(st.datetimes(min_value=datetime(1, 1, 1), max_value=datetime(9999, 12, 31)))
    key = draw(st.text(alphabet=ALNUM, min_size=1, max_size=40))
    host = draw(st.one_of(
        labels.map(lambda label: f"dppt.{label}.chinatax.gov.cn"),
        labels.map(lambda label: f"dppt.{label}.example"), st.just("dppt.example")))
    port = draw(st.sampled_from([":8443", ""]))
    stamp = (f"{issued.year:04d}{issued.month:02d}{issued.day:02d}"
             f"{issued.hour:02d}{issued.minute:02d}{issued.second:02d}")
    return f"https://{host}{port}/v/2_{number}_{stamp}{key}", number, issued


@settings(max_examples=300)
@given(link=dppt_links(), wrap=wrappers)
def test_delivery_links_from_valid_fields_parse_back(link: tuple[str, str, datetime],
                                                     wrap: str) -> None:
    body, number, issued = link
    text = wrap.format(body)
    assert parsed(text) == ParsedReceipt("dppt_link", None, number, None, None, issued.date(),
                                         text)


@settings(max_examples=300)
@given(link=dppt_links(), data=st.data(),
       mutation=st.sampled_from(["longer", "shorter", "bad_date", "bad_time", "extra", "host",
                                 "path", "version", "no_key"]))
def test_mutated_delivery_links_stay_unrecognised(link: tuple[str, str, datetime],
                                                  data: st.DataObject, mutation: str) -> None:
    body, number, _ = link
    head, segment = body.split("/v/")
    _, _, rest = segment.split("_")
    stamp, key = rest[:14], rest[14:]
    if mutation == "longer":
        number += data.draw(st.sampled_from("0123456789"))
    elif mutation == "shorter":
        number = number[:-1]
    elif mutation == "bad_date":
        stamp = data.draw(bad_dates) + stamp[8:]
    elif mutation == "bad_time":
        stamp = stamp[:8] + data.draw(st.sampled_from(["240000", "006000", "000060", "999999"]))
    elif mutation == "host":
        host = head.removeprefix("https://")
        head = "https://" + data.draw(st.sampled_from([
            host.replace("dppt.", "www.", 1), "x" + host, host.replace(".", "-", 1),
            host.split(":")[0] + ".evil.com", "chinatax.gov.cn"]))
    elif mutation == "version":
        segment = "3"
    elif mutation == "no_key":
        key = ""
    text = f"{head}/v/{'2' if mutation != 'version' else segment}_{number}_{stamp}{key}"
    if mutation == "extra":
        text += data.draw(st.sampled_from(["/", "/x", "_1", "-x", ".pdf"]))
    elif mutation == "path":
        text = text.replace("/v/", data.draw(st.sampled_from(["/w/", "/v/v/", "/V/", "/x/v/"])),
                            1)
    unrecognised(text)


@settings(max_examples=500)
@given(head=st.sampled_from(["http://einvoice.example/page/", "https://dppt.example:8443/v/",
                             "https://x.example/v/", "01,32,", "01,10,031001600111,"]),
       tail=st.text(max_size=60))
def test_never_raises_on_mangled_new_forms(head: str, tail: str) -> None:
    text = head + tail
    result = parse_receipt_text(text)
    assert result.raw == text
    if isinstance(result, ParsedReceipt):
        assert result.receipt_no.isascii() and result.receipt_no.isdigit()
        assert result.issuer_code is None or result.issuer_code.isdigit()
