"""Money in yuan as exact Decimal: parsing the contract's strings and the one rounding (POLICY D6).

Amounts enter as strings with at most two decimals and leave as strings with exactly two.
"""

from __future__ import annotations

import re
from decimal import ROUND_HALF_UP, Decimal

ZERO = Decimal("0")
FEN = Decimal("0.01")
# At most 999,999,999,999.99 yuan: about 10^14 fen, so any amount, and the sum of many, fits
# the district's BigInteger fen columns (< 9.2 × 10^18) and Decimal's 28 digits with rates.
MAX_INTEGER_DIGITS = 12
_AMOUNT = re.compile(rf"(0|[1-9][0-9]{{0,{MAX_INTEGER_DIGITS - 1}}})(\.[0-9]{{1,2}})?")
# Well-formed but too long before the point: reported as "too large", not as a format error.
_TOO_LONG = re.compile(rf"[1-9][0-9]{{{MAX_INTEGER_DIGITS},}}(\.[0-9]+)?")


class MoneyFormatError(ValueError):
    """A string that is not an amount of yuan with at most two decimals.

    `message_zh` is the Chinese text for clerks (the English one is str(error)).
    """

    message_zh = "金额格式不正确（非负、最多两位小数，如 12.34）"


class AmountTooLargeError(MoneyFormatError):
    """A well-formed amount with more than MAX_INTEGER_DIGITS digits before the point."""

    def __init__(self, digits: int) -> None:
        super().__init__(
            f"is too large ({digits} digits before the decimal point, at most "
            f"{MAX_INTEGER_DIGITS})")
        self.digits = digits
        self.message_zh = f"金额过大（整数部分 {digits} 位，最多 {MAX_INTEGER_DIGITS} 位）"


def parse_amount(text: str) -> Decimal:
    """Parse a non-negative amount like "12.34"; reject signs, exponents, a third decimal and
    more than MAX_INTEGER_DIGITS digits before the point (reported as too large)."""
    if text.startswith("-"):
        raise MoneyFormatError(f"must not be negative ({text})")
    if not _AMOUNT.fullmatch(text):
        if _TOO_LONG.fullmatch(text):
            raise AmountTooLargeError(len(text.partition(".")[0]))
        if re.fullmatch(r"[0-9]+\.[0-9]{3,}", text):
            raise MoneyFormatError(f"has more than 2 decimals ({text})")
        raise MoneyFormatError(f'is not an amount of yuan like "12.34" ({text!r})')
    return Decimal(text)


def round_fen(amount: Decimal) -> Decimal:
    """The single rounding of a bucket total to fen, half up (POLICY D6)."""
    return amount.quantize(FEN, rounding=ROUND_HALF_UP)


def format_amount(amount: Decimal) -> str:
    """Two-decimal string; the amount must already be rounded to fen."""
    return str(amount.quantize(FEN))


def format_rate(rate: Decimal) -> str:
    """A rate as a decimal string with at least two decimals ("0.60", "0.925")."""
    if rate == rate.quantize(FEN):
        return str(rate.quantize(FEN))
    return str(rate.normalize())


def percent(rate: Decimal) -> str:
    """A rate as a percentage for clerks: 0.6 → "60%", 0.925 → "92.5%"."""
    value = (rate * 100).normalize()
    text = f"{value:f}"
    return f"{text}%"
