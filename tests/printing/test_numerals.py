"""Capital numerals and figures on the forms (desktop.printing.numerals).

The table holds the PBoC examples of 《正确填写票据和结算凭证的基本规定》 (marked PBoC) and every
placement of zeros: inside a section, at a section's end or start, whole sections skipped, 角
without 分, 分 without 角, and the 万 / 亿 boundaries. Two properties back it: the text equals an
independent digit-by-digit writing of the same rules for any amount the forms can hold, and a
parser of the text gives the amount back (cn2an's own cn2an() cannot read 分 or 元零X分, so the
parser is written here).
"""

from __future__ import annotations

import re
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from desktop.printing.numerals import LIMIT, format_amount, rmb_capital

CASES = [
    # under one yuan: no 元, no 零, no 整
    ("0", "零元整"),
    ("0.00", "零元整"),
    ("0.01", "壹分"),
    ("0.05", "伍分"),
    ("0.10", "壹角"),
    ("0.15", "壹角伍分"),
    ("0.50", "伍角"),
    ("0.99", "玖角玖分"),
    # whole yuan end with 整; 角 without 分 has no 整; 分 without 角 has 零 after 元
    ("1", "壹元整"),
    ("1.00", "壹元整"),
    ("1.01", "壹元零壹分"),
    ("1.10", "壹元壹角"),
    ("9.99", "玖元玖角玖分"),
    ("10.00", "壹拾元整"),  # 壹拾, never bare 拾
    ("10.01", "壹拾元零壹分"),
    ("10.50", "壹拾元伍角"),
    ("11", "壹拾壹元整"),
    ("19.90", "壹拾玖元玖角"),
    ("20", "贰拾元整"),
    ("100.10", "壹佰元壹角"),
    ("101", "壹佰零壹元整"),
    ("110", "壹佰壹拾元整"),
    ("325.04", "叁佰贰拾伍元零肆分"),  # PBoC 四.4
    # zeros inside the units section
    ("1001.01", "壹仟零壹元零壹分"),
    ("1010", "壹仟零壹拾元整"),
    ("1100", "壹仟壹佰元整"),
    ("1234.56", "壹仟贰佰叁拾肆元伍角陆分"),
    ("1409.50", "壹仟肆佰零玖元伍角"),  # PBoC 四.1
    ("1680.32", "壹仟陆佰捌拾元叁角贰分"),  # PBoC 四.3, the form without 零
    ("6007.14", "陆仟零柒元壹角肆分"),  # PBoC 四.2: one 零 for several zeros
    # the 万 boundary
    ("10000", "壹万元整"),
    ("10000.01", "壹万元零壹分"),
    ("10001", "壹万零壹元整"),
    ("10010.00", "壹万零壹拾元整"),
    ("10100", "壹万零壹佰元整"),
    ("11000", "壹万壹仟元整"),
    ("16409.02", "壹万陆仟肆佰零玖元零贰分"),  # PBoC 四.4
    ("100000", "壹拾万元整"),
    ("101000", "壹拾万零壹仟元整"),  # 万位 0, 千位 not: one 零 (cn2an leaves it out)
    ("107000.53", "壹拾万零柒仟元伍角叁分"),  # PBoC 四.3, the form with one 零
    ("110000", "壹拾壹万元整"),
    ("1000000.01", "壹佰万元零壹分"),
    ("1000010", "壹佰万零壹拾元整"),
    ("1001000", "壹佰万零壹仟元整"),
    ("1010000", "壹佰零壹万元整"),
    ("10000000", "壹仟万元整"),
    ("10000001", "壹仟万零壹元整"),
    ("10001000", "壹仟万零壹仟元整"),
    ("99999999.99", "玖仟玖佰玖拾玖万玖仟玖佰玖拾玖元玖角玖分"),
    # the 亿 boundary, whole sections skipped
    ("100000000", "壹亿元整"),
    ("100000000.01", "壹亿元零壹分"),
    ("100000001", "壹亿零壹元整"),
    ("100000100.00", "壹亿零壹佰元整"),
    ("100001000", "壹亿零壹仟元整"),  # not 壹亿壹仟 (一亿一千 reads as 110,000,000)
    ("100010000", "壹亿零壹万元整"),
    ("101000000", "壹亿零壹佰万元整"),
    ("110000000", "壹亿壹仟万元整"),
    ("200000000.10", "贰亿元壹角"),
    ("1000001000", "壹拾亿零壹仟元整"),
    ("1010000000", "壹拾亿零壹仟万元整"),
    ("100010001000", "壹仟亿零壹仟万零壹仟元整"),
    ("999999999999.99", "玖仟玖佰玖拾玖亿玖仟玖佰玖拾玖万玖仟玖佰玖拾玖元玖角玖分"),
    # representations of the same amount
    ("1.000", "壹元整"),
    ("-0", "零元整"),
    ("1E+3", "壹仟元整"),
]


@pytest.mark.parametrize(("amount", "capital"), CASES)
def test_capital_numerals(amount: str, capital: str) -> None:
    assert rmb_capital(Decimal(amount)) == capital


def test_the_table_is_exhaustive_enough() -> None:
    assert len(CASES) >= 40


def test_whole_yuan_as_int() -> None:
    assert rmb_capital(5) == "伍元整"
    assert rmb_capital(0) == "零元整"


@pytest.mark.parametrize("amount", [
    "-0.01", "-1", "-1000000", "1.001", "0.005", "12.345", "NaN", "sNaN", "Infinity",
    "-Infinity", "1000000000000", "1000000000000.00", "1E+12", "1E+30", "123456789012345",
])
def test_refused_amounts_name_the_amount(amount: str) -> None:
    value = Decimal(amount)
    with pytest.raises(ValueError) as refused:
        rmb_capital(value)
    assert str(value) in str(refused.value)


def test_a_float_is_refused() -> None:
    with pytest.raises(TypeError):
        rmb_capital(1.5)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        format_amount(True)


@pytest.mark.parametrize(("amount", "text"), [
    ("0", "0.00"),
    ("0.5", "0.50"),
    ("12", "12.00"),
    ("1234.56", "1,234.56"),
    ("1000000.01", "1,000,000.01"),
    ("999999999999.99", "999,999,999,999.99"),
    ("-1234.5", "-1,234.50"),
    ("-0", "0.00"),
])
def test_amounts_in_figures(amount: str, text: str) -> None:
    assert format_amount(Decimal(amount)) == text


def test_amounts_in_figures_from_int() -> None:
    assert format_amount(1234) == "1,234.00"


@pytest.mark.parametrize("amount", ["1.001", "NaN", "Infinity", "1E+40"])
def test_figures_refuse_what_is_not_fen(amount: str) -> None:
    with pytest.raises(ValueError, match=re.escape(str(Decimal(amount)))):
        format_amount(Decimal(amount))


# -- the rules, written again digit by digit, and a parser -----------------------------------------

CAPITALS = "零壹贰叁肆伍陆柒捌玖"
PLACES = ("", "拾", "佰", "仟")


def reference(value: Decimal) -> str:
    """The module's rules, independently: one 零 for every run of zeros between two non-zero
    digits of the yuan; 万 / 亿 after a section that is not all zeros; 零 before 分 when 角 is 0."""
    fen_total = int(value * 100)
    yuan, jiao, fen = fen_total // 100, fen_total // 10 % 10, fen_total % 10
    out = ""
    if yuan:
        digits = str(yuan)
        zero_pending = False
        for i, char in enumerate(digits):
            place = len(digits) - 1 - i
            if char == "0":
                zero_pending = True
            else:
                if zero_pending:
                    out += "零"
                    zero_pending = False
                out += CAPITALS[int(char)] + PLACES[place % 4]
            if place in (4, 8) and int(digits[max(0, i - 3):i + 1]):
                out += "万" if place == 4 else "亿"
        out += "元"
    if jiao:
        out += CAPITALS[jiao] + "角"
    if fen:
        out += ("零" if yuan and not jiao else "") + CAPITALS[fen] + "分"
    if not jiao and not fen:
        out = (out or "零元") + "整"
    return out


_SHAPE = re.compile(
    r"(?:(?P<yuan>[零壹贰叁肆伍陆柒捌玖拾佰仟万亿]+)元)?"
    r"(?:(?P<whole>整)|零?(?:(?P<jiao>[壹贰叁肆伍陆柒捌玖])角)?(?:(?P<fen>[壹贰叁肆伍陆柒捌玖])分)?)")


def parse_capital(text: str) -> Decimal:
    """The amount a capital-numeral text stands for; AssertionError for a malformed text."""
    match = _SHAPE.fullmatch(text)
    assert match is not None and text, text
    total = section = digit = 0
    for char in match["yuan"] or "":
        if char in CAPITALS:
            digit = CAPITALS.index(char)
        elif char in "拾佰仟":
            assert digit, text  # 壹拾, never a bare 拾
            section += digit * 10 ** PLACES.index(char)
            digit = 0
        elif char == "万":
            total += (section + digit) * 10_000
            section = digit = 0
        else:  # 亿
            total = (total + section + digit) * 100_000_000
            section = digit = 0
    total += section + digit
    jiao = CAPITALS.index(match["jiao"]) if match["jiao"] else 0
    fen = CAPITALS.index(match["fen"]) if match["fen"] else 0
    assert match["whole"] or jiao or fen, text
    return Decimal(total) + Decimal(jiao) / 10 + Decimal(fen) / 100


@pytest.mark.parametrize(("amount", "capital"), CASES)
def test_the_table_agrees_with_the_reference_and_the_parser(amount: str, capital: str) -> None:
    value = Decimal(amount)
    assert reference(value) == capital
    assert parse_capital(capital) == value


def zero_heavy_fen(max_digits: int) -> st.SearchStrategy[int]:
    """Amounts in fen with many zeros, so that every zero placement comes up."""
    return st.lists(st.sampled_from("0000000123456789"), min_size=1,
                    max_size=max_digits).map(lambda ds: int("".join(ds)))


FEN_LIMIT = int(LIMIT * 100)


@given(st.one_of(st.integers(0, FEN_LIMIT - 1), zero_heavy_fen(14)))
def test_the_text_follows_the_rules_for_any_amount(fen: int) -> None:
    value = Decimal(fen) / 100
    assert rmb_capital(value) == reference(value)


@given(st.one_of(st.integers(0, 9_999_999_999), zero_heavy_fen(10)))
def test_the_text_reads_back_to_the_amount(fen: int) -> None:
    """0 .. 99,999,999.99: the parser gives back exactly the amount written."""
    value = Decimal(fen) / 100
    text = rmb_capital(value)
    assert parse_capital(text) == value
    assert "零零" not in text and not text.endswith("零")
    assert text.endswith("整") == (fen % 100 == 0)
