"""ID numbers (RECEIPTS.md "ID numbers", GB 11643-1999): table tests and properties.

Every number here is the standard's own example or generated/hand-built synthetic data with a
valid check character, never a real person's.
"""

from __future__ import annotations

import random
from datetime import date
from typing import Literal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from desktop.domain.errors import DomainError
from desktop.domain.id_number import (
    SHANGHAI_REGION_CODES,
    IdNumber,
    check_character,
    generate_id_number,
    mask_id_number,
    normalize_id_number,
    parse_id_number,
)

TODAY = date(2026, 3, 15)
STANDARD_EXAMPLE = "11010519491231002X"


# --- check character -------------------------------------------------------------------------


def test_check_character_of_the_standards_example() -> None:
    # 1·7 + 1·9 + 0·10 + 1·5 + 0·8 + 5·4 + 1·2 + 9·1 + 4·6 + 9·3 + 1·7 + 2·9 + 3·10 + 1·5
    # + 0·8 + 0·4 + 2·2 = 167; 167 mod 11 = 2 → "X".
    assert check_character("11010519491231002") == "X"


@pytest.mark.parametrize("bad", ["", "1101051949123100", "110105194912310021", "1101051949123100a",
                                 "１１０１０５１９４９１２３１００２"])
def test_check_character_refuses_anything_but_17_ascii_digits(bad: str) -> None:
    with pytest.raises(ValueError, match="17 ASCII digits"):
        check_character(bad)


# --- normalize_id_number: accepted ------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (STANDARD_EXAMPLE, STANDARD_EXAMPLE),
        ("11010519491231002x", STANDARD_EXAMPLE),  # lower-case x stored upper-case
        (" 110105 19491231 002x\n", STANDARD_EXAMPLE),  # spaces anywhere, scanner Enter
        ("110105\u300019491231\t002X", STANDARD_EXAMPLE),  # ideographic space, tab
        ("１１０１０５１９４９１２３１００２ｘ", STANDARD_EXAMPLE),  # full-width input method
        # 15-digit legacy: "19" goes before the year, giving 11010519491231002, whose check
        # character is X (worked above).
        ("110105491231002", STANDARD_EXAMPLE),
        # 310104 800101 123 → 31010419800101123; S = 3·7 + 1·9 + 0·10 + 1·5 + 0·8 + 4·4 + 1·2
        # + 9·1 + 8·6 + 0·3 + 0·7 + 1·9 + 0·10 + 1·5 + 1·8 + 2·4 + 3·2 = 146; 146 mod 11 = 3
        # → "9".
        ("310104800101123", "310104198001011239"),
        ("310104 800101 123", "310104198001011239"),
        ("310104198001011239", "310104198001011239"),
        # Born today is not in the future (31010420260315124 has check character 6).
        ("310104202603151246", "310104202603151246"),
        ("310104190001011232", "310104190001011232"),  # the earliest accepted birth date
    ],
)
def test_normalize_accepts(text: str, expected: str) -> None:
    assert normalize_id_number(text, today=TODAY) == expected


def test_the_check_characters_used_above() -> None:
    assert check_character("31010420260315124") == "6"
    assert check_character("31010419000101123") == "2"


# --- normalize_id_number: refused, each with a precise message --------------------------------


def _with_check(first17: str) -> str:
    return first17 + check_character(first17)


@pytest.mark.parametrize(
    ("text", "message", "message_zh"),
    [
        ("", "is empty", "身份证号码为空"),
        ("   \n", "is empty", "身份证号码为空"),
        ("11010519491231002", "must have 18 characters (or 15 for an old number), got 17",
         "实际为17位"),
        ("11010519491231002X1", "got 19", "实际为19位"),
        ("1101054912310021", "got 16", "实际为16位"),
        ("110105194912310021", "check character should be X, got 1", "校验码应为X，实际为1"),
        ("110105194912310029", "check character should be X, got 9", "校验码应为X"),
        ("310104198001011238", "check character should be 9, got 8", "校验码应为9"),
        ("11010519491231002Y", "character 18 must be a digit or X, got 'Y'", "第18位"),
        ("1101051949123100X2", "character 17 must be a digit, got 'X'", "第17位应为数字"),
        ("11010a19491231002X", "character 6 must be a digit, got 'a'", "第6位应为数字"),
        ("11010519491231002Ｙ", "character 18 must be a digit or X", "第18位"),
        ("١١٠١٠٥١٩٤٩١٢٣١٠٠٢X", "character 1 must be a digit", "第1位应为数字"),
        ("11010549123100x", "character 15 must be a digit, got 'X'", "第15位应为数字"),
        # 1999-02-30 does not exist (the check character is right, so the date is the fault).
        (_with_check("31010419990230123"), "birth date 1999-02-30 is not a real date",
         "出生日期1999-02-30不是有效日期"),
        (_with_check("31010419991301123"), "birth date 1999-13-01 is not a real date",
         "不是有效日期"),
        (_with_check("31010419990000123"), "birth date 1999-00-00 is not a real date",
         "不是有效日期"),
        ("310104990230123", "birth date 1999-02-30 is not a real date", "不是有效日期"),
        (_with_check("31010420260316123"), "birth date 2026-03-16 is in the future",
         "晚于今天"),
        (_with_check("31010418991231123"), "birth date 1899-12-31 is before 1900-01-01",
         "早于1900年"),
    ],
)
def test_normalize_refuses(text: str, message: str, message_zh: str) -> None:
    with pytest.raises(DomainError) as caught:
        normalize_id_number(text, today=TODAY)
    assert caught.value.field == "id_number"
    assert message in caught.value.message
    assert message_zh in caught.value.message_zh
    assert str(caught.value) == f"id_number: {caught.value.message}"


def test_future_is_judged_against_the_system_date_by_default() -> None:
    next_year = date.today().year + 1
    with pytest.raises(DomainError, match="in the future"):
        normalize_id_number(_with_check(f"310104{next_year}0101123"))
    assert normalize_id_number(STANDARD_EXAMPLE) == STANDARD_EXAMPLE


# --- parse_id_number ----------------------------------------------------------------------------


def test_parse_the_standards_example() -> None:
    # Sequence 002 is even: a woman.
    assert parse_id_number("11010519491231002x", today=TODAY) == IdNumber(
        value=STANDARD_EXAMPLE, birth_date=date(1949, 12, 31), sex="F", region_code="110105"
    )


def test_parse_a_legacy_number() -> None:
    # Sequence 123 is odd: a man.
    assert parse_id_number("310104800101123", today=TODAY) == IdNumber(
        value="310104198001011239", birth_date=date(1980, 1, 1), sex="M", region_code="310104"
    )


def test_parse_passes_the_error_through() -> None:
    with pytest.raises(DomainError, match="check character should be X"):
        parse_id_number("110105194912310021", today=TODAY)


# --- mask_id_number -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "masked"),
    [
        ("310101199001011234", "3101**********1234"),
        (STANDARD_EXAMPLE, "1101**********002X"),
        ("310104800101123", "***********1123"),  # legacy 15: all but the last 4
        ("12345", "*2345"),
        ("1234", "****"),  # nothing would be hidden otherwise
        ("12", "**"),
        ("", ""),
    ],
)
def test_mask(value: str, masked: str) -> None:
    assert mask_id_number(value) == masked
    assert len(mask_id_number(value)) == len(value)


# --- generate_id_number ---------------------------------------------------------------------


def test_shanghai_region_codes_are_the_districts() -> None:
    assert SHANGHAI_REGION_CODES["310101"] == "黄浦区"
    assert SHANGHAI_REGION_CODES["310115"] == "浦东新区"
    assert len(SHANGHAI_REGION_CODES) == 10
    assert all(code.startswith("31") and len(code) == 6 for code in SHANGHAI_REGION_CODES)


def test_generate_is_reproducible_from_the_seed() -> None:
    first = generate_id_number(random.Random(7), "310104", date(1980, 1, 1), "F")
    again = generate_id_number(random.Random(7), "310104", date(1980, 1, 1), "F")
    assert first == again
    assert first.startswith("31010419800101")
    assert int(first[16]) % 2 == 0


@pytest.mark.parametrize("region", ["31010", "3101041", "31010a", "３１０１０４"])
def test_generate_refuses_a_bad_region_code(region: str) -> None:
    with pytest.raises(ValueError, match="6 ASCII digits"):
        generate_id_number(random.Random(1), region, date(1980, 1, 1), "M")


SEXES: tuple[Literal["M", "F"], ...] = ("M", "F")
birth_dates = st.dates(min_value=date(1900, 1, 1), max_value=TODAY)
regions = st.sampled_from(sorted(SHANGHAI_REGION_CODES))


@settings(max_examples=300)
@given(seed=st.integers(), region=regions, birth=birth_dates, sex=st.sampled_from(SEXES))
def test_generated_numbers_round_trip(seed: int, region: str, birth: date,
                                      sex: Literal["M", "F"]) -> None:
    value = generate_id_number(random.Random(seed), region, birth, sex)
    parsed = parse_id_number(value, today=TODAY)
    assert parsed == IdNumber(value=value, birth_date=birth, sex=sex, region_code=region)
    assert parse_id_number(value.lower(), today=TODAY) == parsed
    assert value[14:17] != "000"


@settings(max_examples=200)
@given(seed=st.integers(), region=regions, birth=birth_dates, sex=st.sampled_from(SEXES),
       position=st.integers(0, 17), data=st.data())
def test_any_single_character_change_is_caught(seed: int, region: str, birth: date,
                                                sex: Literal["M", "F"], position: int,
                                                data: st.DataObject) -> None:
    value = generate_id_number(random.Random(seed), region, birth, sex)
    alphabet = "0123456789X" if position == 17 else "0123456789"
    replacement = data.draw(st.sampled_from([c for c in alphabet if c != value[position]]))
    changed = value[:position] + replacement + value[position + 1:]
    if position < 17:
        # Every weight is non-zero mod 11, so the check character itself always disagrees,
        # whatever else (the birth date) the change also breaks.
        assert check_character(changed[:17]) != value[17]
    with pytest.raises(DomainError):
        normalize_id_number(changed, today=TODAY)


@given(text=st.text())
def test_normalize_only_ever_raises_domain_error(text: str) -> None:
    try:
        value = normalize_id_number(text, today=TODAY)
    except DomainError as err:
        assert err.field == "id_number"
    else:
        assert len(value) == 18
        assert check_character(value[:17]) == value[17]
