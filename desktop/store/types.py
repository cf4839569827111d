"""Column types the cache needs beyond SQLAlchemy's: exact money and UTC timestamps as text.

SQLite has no decimal type and no time zones, so both are stored as canonical strings: money as
the Decimal's plain digits ("1234.50", never a float), instants as ISO 8601 in UTC.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import String
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator


def money_text(value: Decimal | str) -> str:
    """The stored form of an amount: the Decimal's digits as given, no exponent, no float."""
    if isinstance(value, bool) or not isinstance(value, Decimal | str):
        raise TypeError(f"money must be a Decimal or a string, not {type(value).__name__}")
    try:
        amount = Decimal(value) if isinstance(value, str) else value
    except InvalidOperation:
        raise ValueError(f"not an amount: {value!r}") from None
    if not amount.is_finite():
        raise ValueError(f"not an amount: {value!r}")
    return f"{amount:f}"


class Money(TypeDecorator[Decimal]):
    """An exact amount of yuan: Decimal in Python, its digits as TEXT in SQLite."""

    impl = String(32)
    cache_ok = True

    def process_bind_param(self, value: Decimal | str | None, dialect: Dialect) -> str | None:
        return None if value is None else money_text(value)

    def process_result_value(self, value: Any, dialect: Dialect) -> Decimal | None:
        return None if value is None else Decimal(value)

    @property
    def python_type(self) -> type[Decimal]:
        return Decimal


def utc_text(value: datetime) -> str:
    """The stored form of an instant: UTC, microseconds, so text order is time order."""
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"a naive datetime has no defined instant: {value!r}")
    try:
        return value.astimezone(UTC).isoformat(timespec="microseconds")
    except OverflowError:  # 0001-01-01T00:30+01:00 is before the first instant there is
        raise ValueError(f"an instant outside the years 1 to 9999 in UTC: {value!r}") from None


class UtcDateTime(TypeDecorator[datetime]):
    """An aware datetime stored as ISO 8601 UTC text; naive datetimes are refused."""

    impl = String(32)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> str | None:
        return None if value is None else utc_text(value)

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        return None if value is None else datetime.fromisoformat(value)

    @property
    def python_type(self) -> type[datetime]:
        return datetime


def utc_now() -> datetime:
    return datetime.now(UTC)
