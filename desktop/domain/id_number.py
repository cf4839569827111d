"""Resident ID numbers (身份证号码) per GB 11643-1999: check, normalise, parse, mask, generate.

RECEIPTS.md "ID numbers": 6-digit address code, birth date yyyyMMdd, 3-digit sequence (odd for
men, even for women) and a check character over the first 17 digits (ISO 7064 MOD 11-2).
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass
from datetime import date
from operator import mul
from typing import Literal

from desktop.domain._text import first_non_digit, half_width, without_whitespace
from desktop.domain.errors import DomainError

FIELD = "id_number"

# GB 11643-1999 §8.2: weight i is 2^(17-i) mod 11; S mod 11 indexes the check characters.
_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_CHECK_CHARACTERS = "10X98765432"
_FIRST17 = re.compile(r"[0-9]{17}")
_REGION = re.compile(r"[0-9]{6}")

# No living applicant was born before this; an earlier year is a typing error, not a person.
EARLIEST_BIRTH_DATE = date(1900, 1, 1)

# Real district address codes of Shanghai, for synthetic test and seed data only.
SHANGHAI_REGION_CODES: dict[str, str] = {
    "310101": "黄浦区",
    "310104": "徐汇区",
    "310105": "长宁区",
    "310106": "静安区",
    "310107": "普陀区",
    "310109": "虹口区",
    "310110": "杨浦区",
    "310112": "闵行区",
    "310113": "宝山区",
    "310115": "浦东新区",
}


@dataclass(frozen=True)
class IdNumber:
    """A valid 18-character ID number and what it encodes."""

    value: str
    birth_date: date
    sex: Literal["M", "F"]
    region_code: str


def check_character(first17: str) -> str:
    """The check character ("0"–"9" or "X") for the first 17 digits of an ID number."""
    if not _FIRST17.fullmatch(first17):
        raise ValueError(f"check_character needs 17 ASCII digits, got {first17!r}")
    total = sum(map(mul, map(int, first17), _WEIGHTS))  # 17 digits, 17 weights
    return _CHECK_CHARACTERS[total % 11]


def normalize_id_number(text: str, today: date | None = None) -> str:
    """The 18-character form of `text`, or DomainError("id_number", ...) saying what is wrong.

    Spaces are dropped, a final lower-case x becomes X, full-width digits become ASCII, and a
    15-digit legacy number is upgraded ("19" inserted before the year, check character added).
    The birth date must be a real date, not after `today` (default: the system date).
    """
    value = without_whitespace(half_width(text))
    if not value:
        raise DomainError(FIELD, "is empty", "身份证号码为空。")
    if value[-1] == "x":
        value = value[:-1] + "X"
    if len(value) == 15:
        _require_digits(value, value)
        upgraded = value[:6] + "19" + value[6:]
        _require_birth_date(upgraded[6:14], today)
        return upgraded + check_character(upgraded)
    if len(value) != 18:
        raise DomainError(
            FIELD,
            f"must have 18 characters (or 15 for an old number), got {len(value)}",
            f"身份证号码应为18位（旧号码15位），实际为{len(value)}位。",
        )
    _require_digits(value[:17], value)
    last = value[17]
    if last not in "0123456789X":
        raise DomainError(
            FIELD,
            f"character 18 must be a digit or X, got {last!r}",
            f"第18位（校验码）应为数字或X，实际为“{last}”。",
        )
    _require_birth_date(value[6:14], today)
    expected = check_character(value[:17])
    if last != expected:
        raise DomainError(
            FIELD,
            f"check character should be {expected}, got {last}: a character is mistyped",
            f"校验码应为{expected}，实际为{last}：号码中有输错的位，请核对。",
        )
    return value


def parse_id_number(text: str, today: date | None = None) -> IdNumber:
    """The valid ID number in `text` with its birth date, sex and address code."""
    value = normalize_id_number(text, today)
    birth = value[6:14]
    return IdNumber(
        value=value,
        birth_date=date(int(birth[:4]), int(birth[4:6]), int(birth[6:])),
        sex="M" if int(value[16]) % 2 == 1 else "F",
        region_code=value[:6],
    )


def generate_id_number(
    rnd: random.Random, region_code: str, birth_date: date, sex: Literal["M", "F"]
) -> str:
    """A synthetic ID number with a valid check character: for test and seed data only.

    Never use it for a real person; it may coincide with a real number by chance, which is why
    test data must not be shown or exported as if it were real.
    """
    if not _REGION.fullmatch(region_code):
        raise ValueError(f"region_code must be 6 ASCII digits, got {region_code!r}")
    # Sequence 000 is not issued; odd sequences are men's, even ones women's.
    sequence = rnd.randrange(1, 1000, 2) if sex == "M" else rnd.randrange(2, 1000, 2)
    first17 = f"{region_code}{_yyyymmdd(birth_date)}{sequence:03d}"
    return first17 + check_character(first17)


def mask_id_number(value: str) -> str:
    """`value` for display: 18 characters keep the first and last 4; others only the last 4.

    A value of 4 characters or fewer is masked entirely (it would otherwise be shown whole).
    """
    if len(value) == 18:
        return value[:4] + "*" * 10 + value[-4:]
    if len(value) <= 4:
        return "*" * len(value)
    return "*" * (len(value) - 4) + value[-4:]


def _require_digits(part: str, value: str) -> None:
    bad = first_non_digit(part)
    if bad is not None:
        position, char = bad
        raise DomainError(
            FIELD,
            f"character {position} must be a digit, got {char!r}",
            f"身份证号码第{position}位应为数字，实际为“{char}”。",
        )


def _require_birth_date(yyyymmdd: str, today: date | None) -> None:
    shown = f"{yyyymmdd[:4]}-{yyyymmdd[4:6]}-{yyyymmdd[6:]}"
    try:
        birth = date(int(yyyymmdd[:4]), int(yyyymmdd[4:6]), int(yyyymmdd[6:]))
    except ValueError:
        raise DomainError(
            FIELD,
            f"birth date {shown} is not a real date",
            f"出生日期{shown}不是有效日期。",
        ) from None
    limit = date.today() if today is None else today
    if birth > limit:
        raise DomainError(
            FIELD,
            f"birth date {shown} is in the future",
            f"出生日期{shown}晚于今天。",
        )
    if birth < EARLIEST_BIRTH_DATE:
        raise DomainError(
            FIELD,
            f"birth date {shown} is before {EARLIEST_BIRTH_DATE.isoformat()}",
            f"出生日期{shown}早于{EARLIEST_BIRTH_DATE.year}年，请核对。",
        )


def _yyyymmdd(day: date) -> str:
    return f"{day.year:04d}{day.month:02d}{day.day:02d}"
