"""Small conversions shared by the server: money as integer fen, time as aware UTC."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

from desktop.policy.money import parse_amount

SHANGHAI = ZoneInfo("Asia/Shanghai")


def to_fen(text: str) -> int:
    """ "12.34" → 1234; raises MoneyFormatError for anything but an amount with ≤ 2 decimals."""
    return int(parse_amount(text) * 100)


def from_fen(fen: int) -> str:
    """1234 → "12.34" (the wire's money strings)."""
    sign = "-" if fen < 0 else ""
    whole, cents = divmod(abs(fen), 100)
    return f"{sign}{whole}.{cents:02d}"


def fen_of(amount: Decimal) -> int:
    return int(amount * 100)


def utcnow() -> datetime:
    return datetime.now(UTC)


def shanghai_today() -> date:
    return datetime.now(SHANGHAI).date()


def shanghai_date(moment: datetime) -> date:
    """The calendar day in Shanghai of `moment` (a naive moment is taken as Shanghai time)."""
    if moment.tzinfo is None:
        return moment.date()
    return moment.astimezone(SHANGHAI).date()


def as_aware(moment: datetime) -> datetime:
    """A moment from a counter; one without a time zone is Shanghai time."""
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=SHANGHAI)
