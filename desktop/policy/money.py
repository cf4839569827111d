"""Money in yuan as exact Decimal: parsing the contract's strings and the one rounding (POLICY D6).

Amounts enter as strings with at most two decimals and leave as strings with exactly two.
"""

from __future__ import annotations

import re
from decimal import ROUND_HALF_UP, Decimal

ZERO = Decimal("0")
FEN = Decimal("0.01")
_AMOUNT = re.compile(r"(0|[1-9][0-9]{0,11})(\.[0-9]{1,2})?")


class MoneyFormatError(ValueError):
    """A string that is not an amount of yuan with at most two decimals."""


def parse_amount(text: str) -> Decimal:
    """Parse a non-negative amount like "12.34"; reject signs, exponents and a third decimal."""
    if text.startswith("-"):
        raise MoneyFormatError(f"must not be negative ({text})")
    if not _AMOUNT.fullmatch(text):
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
