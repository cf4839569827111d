"""Column types the cache needs beyond SQLAlchemy's: exact money and UTC timestamps.

SQLite has no decimal type and no time zones. The counter's own work stores both as canonical
strings: money as the Decimal's plain digits ("1234.50", never a float), instants as ISO 8601
in UTC. The district's bulk tables (fee rows, claims) store compact integers instead (below).
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any, ClassVar, TypeVar, cast

from sqlalchemy import Integer, LargeBinary, String
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator

T = TypeVar("T")


def exact_amount(value: Decimal | str) -> Decimal:
    """An amount given as a Decimal or its text, finite; anything else refused."""
    if isinstance(value, bool) or not isinstance(value, Decimal | str):
        raise TypeError(f"money must be a Decimal or a string, not {type(value).__name__}")
    try:
        amount = Decimal(value) if isinstance(value, str) else value
    except InvalidOperation:
        raise ValueError(f"not an amount: {value!r}") from None
    if not amount.is_finite():
        raise ValueError(f"not an amount: {value!r}")
    return amount


def money_text(value: Decimal | str) -> str:
    """The stored form of an amount: the Decimal's digits as given, no exponent, no float."""
    return f"{exact_amount(value):f}"


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


# -- compact stored forms for the district's bulk tables (migration 0015) ----------------------
#
# A street's cache holds about a million fee rows: each byte a row stores is a MiB of cache. The
# fee rows and the claims keep their Python types (Decimal, date, datetime, UUID, str) but store
# them as integers and bytes, which SQLite packs into 0 to 8 bytes: an amount as whole fen, a
# date as its day number, an instant as microseconds, a closed set's value as its position.

FEN_LIMIT = 2**63  # SQLite's integers are signed 64-bit
# "268.25": ASCII digits (Decimal reads other scripts' too), two decimals, fits 64 bits
FEN_TEXT = re.compile(r"-?[0-9]{1,16}\.[0-9]{2}").fullmatch


def fen_of(value: Decimal | str) -> int:
    """An amount as whole fen: Decimal("268.25") or "268.25" -> 26825; refused (ValueError)
    when it is not a whole number of fen, or does not fit the column."""
    if isinstance(value, str) and FEN_TEXT(value):
        return int(value.replace(".", "", 1))
    # from the amount's digits, exactly: Decimal arithmetic would round to its context's 28
    # digits ("1.0000000000000000000000000001" would become 100 fen) or overflow
    sign, digits, exponent = exact_amount(value).as_tuple()
    assert isinstance(exponent, int)  # finite
    shift = exponent + 2  # fen = digits * 10**shift
    if shift >= 0:
        if len(digits) + shift > 19:
            raise ValueError(f"an amount too large to keep: {value!r}")
        fen = int("".join(map(str, digits)) + "0" * shift)
    else:
        whole, part = digits[:shift], digits[shift:]
        if any(part):
            raise ValueError(f"not a whole number of fen: {value!r}")
        if len(whole) > 19:
            raise ValueError(f"an amount too large to keep: {value!r}")
        fen = int("".join(map(str, whole)) or "0")
    if fen >= FEN_LIMIT:
        raise ValueError(f"an amount too large to keep: {value!r}")
    return -fen if sign else fen


def amount_of(fen: int) -> Decimal:
    """Whole fen as yuan with two decimals: 26825 -> Decimal("268.25")."""
    return Decimal(fen).scaleb(-2)


class _IntegerForm(TypeDecorator[T]):
    """A Python value stored as an INTEGER: `stored` makes the integer (refusing what has none),
    `read` the value; NULL is NULL. Read without SQLAlchemy's wrapper around the result
    processor: opening a person reads their 2,300 rows several times."""

    impl = Integer
    cache_ok = True
    value_type: ClassVar[type[Any]]

    @staticmethod
    def stored(value: Any, /) -> int:
        raise NotImplementedError

    @staticmethod
    def read(stored: int, /) -> Any:
        raise NotImplementedError

    def process_bind_param(self, value: Any, dialect: Dialect) -> int | None:
        return None if value is None else self.stored(value)

    def process_result_value(self, value: Any, dialect: Dialect) -> T | None:
        return None if value is None else cast(T, self.read(value))

    def result_processor(self, dialect: Dialect, coltype: object) -> Callable[[Any], Any]:
        read = self.read
        return lambda value: None if value is None else read(value)

    @property
    def python_type(self) -> type[Any]:
        return self.value_type


class Fen(_IntegerForm[Decimal]):
    """An exact amount of yuan with no part of a fen: Decimal in Python, whole fen as INTEGER."""

    cache_ok = True  # SQLAlchemy asks each class
    value_type = Decimal
    stored = staticmethod(fen_of)
    read = staticmethod(amount_of)


EPOCH_DAY = date(1970, 1, 1).toordinal()


def day_number(value: date) -> int:
    """A date as days since 1970-01-01 (negative before)."""
    if isinstance(value, datetime) or not isinstance(value, date):
        raise TypeError(f"a date is needed, not {type(value).__name__}")
    return value.toordinal() - EPOCH_DAY


def date_of(day: int) -> date:
    return date.fromordinal(day + EPOCH_DAY)


class DayNumber(_IntegerForm[date]):
    """A date stored as its day number (INTEGER): order and equality are the dates'."""

    cache_ok = True  # SQLAlchemy asks each class
    value_type = date
    stored = staticmethod(day_number)
    read = staticmethod(date_of)


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)
_FIRST_MICROS = (datetime.min.replace(tzinfo=UTC) - _EPOCH) // _MICROSECOND
_LAST_MICROS = (datetime.max.replace(tzinfo=UTC) - _EPOCH) // _MICROSECOND


def utc_micros(value: datetime) -> int:
    """An aware instant as microseconds since 1970-01-01 UTC; naive datetimes are refused."""
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"a naive datetime has no defined instant: {value!r}")
    micros = (value - _EPOCH) // _MICROSECOND
    if not _FIRST_MICROS <= micros <= _LAST_MICROS:  # 0001-01-01T00:30+01:00 is before UTC's
        raise ValueError(f"an instant outside the years 1 to 9999 in UTC: {value!r}")
    return micros


def instant_of(micros: int) -> datetime:
    """Microseconds since 1970-01-01 UTC as an aware datetime in UTC."""
    if not _FIRST_MICROS <= micros <= _LAST_MICROS:
        raise ValueError(f"an instant outside the years 1 to 9999: {micros} µs")
    return _EPOCH + micros * _MICROSECOND


class UtcMicros(_IntegerForm[datetime]):
    """An aware instant stored as microseconds since 1970-01-01 UTC (INTEGER), read in UTC."""

    cache_ok = True  # SQLAlchemy asks each class
    value_type = datetime
    stored = staticmethod(utc_micros)
    read = staticmethod(instant_of)


class UuidBytes(TypeDecorator[uuid.UUID]):
    """A UUID stored as its 16 bytes (BLOB), not as 32 hex characters."""

    impl = LargeBinary(16)
    cache_ok = True

    def process_bind_param(self, value: uuid.UUID | None, dialect: Dialect) -> bytes | None:
        if value is None:
            return None
        if not isinstance(value, uuid.UUID):
            raise TypeError(f"a UUID is needed, not {type(value).__name__}")
        return value.bytes

    def bind_processor(self, dialect: Dialect) -> Callable[[Any], bytes | None]:
        # the bytes as they are: LargeBinary's own processor would wrap them in a memoryview
        def process(value: Any) -> bytes | None:
            return self.process_bind_param(value, dialect)
        return process

    def process_result_value(self, value: Any, dialect: Dialect) -> uuid.UUID | None:
        return None if value is None else uuid.UUID(bytes=bytes(value))

    @property
    def python_type(self) -> type[uuid.UUID]:
        return uuid.UUID


class Choice(TypeDecorator[str]):
    """One of a closed set of words, stored as its position in `values` (INTEGER).

    The order of `values` is the stored form: a word may be added at the end, never moved.
    """

    impl = Integer
    cache_ok = True

    def __init__(self, values: tuple[str, ...]) -> None:  # named: part of the cache key
        super().__init__()
        self.values = tuple(values)
        self.positions = {value: n for n, value in enumerate(values)}

    def process_bind_param(self, value: str | None, dialect: Dialect) -> int | None:
        if value is None:
            return None
        try:
            return self.positions[value]
        except (KeyError, TypeError):
            raise ValueError(f"{value!r} is not one of {', '.join(self.values)}") from None

    def process_result_value(self, value: Any, dialect: Dialect) -> str | None:
        if value is None:
            return None
        if not 0 <= value < len(self.values):
            raise ValueError(f"{value} stands for none of {', '.join(self.values)}")
        word: str = self.values[value]
        return word

    @property
    def python_type(self) -> type[str]:
        return str


# Codes and numbers the district writes as digits, one capital and digits, or UUIDs: a receipt
# number "0053622487", an issuer code "31062641", a fee row id "F000000001", an institution
# "H31010500041", a device "f38b2ffc-80a4-4f5a-91c9-bc701e7ea419". Stored as text they take a
# byte a character; as the integers or bytes below, 4 to 16. The column stores each value as it
# comes (BLOB affinity: text stays text), so any other text is kept as it is.
_LETTER_BASE = 10**12  # a capital's number (A=1 … Z=26) times this, plus "1" + its digits,
_LETTER_END = 27 * _LETTER_BASE  # less this: negative, apart from the digits' forms
_DIGITS = 18  # "1" + 18 digits < 2**63
_CAPITALS = " ABCDEFGHIJKLMNOPQRSTUVWXYZ"  # by number: A=1
_LETTER_DIGITS = 11  # 26 * 10**12 + "1" + 11 digits < 2**47: six bytes


def code_of(text: str) -> int | bytes | str:
    """The stored form of a code: digits -> int("1" + digits), a capital and digits -> its
    number * 10**12 + int("1" + digits) - 27 * 10**12 (negative), a UUID in its canonical form
    -> its 16 bytes, anything else -> the text itself. Distinct texts have distinct forms, and
    codes of one form and length keep their order ("F000000009" < "F000000010")."""
    if text.isascii():
        if text.isdigit():
            if len(text) <= _DIGITS:
                return int("1" + text)
        elif len(text) <= _LETTER_DIGITS + 1 and "A" <= text[:1] <= "Z" and text[1:].isdigit():
            return (ord(text[0]) - 64) * _LETTER_BASE + int("1" + text[1:]) - _LETTER_END
        elif len(text) == 36 and text[8:9] == "-":
            try:
                value = uuid.UUID(text)
            except ValueError:
                return text
            if str(value) == text:
                return value.bytes
    return text


def code_text(stored: int | bytes | str) -> str:
    """The text of a stored code (the inverse of code_of)."""
    if stored.__class__ is int:  # bool is no stored form
        number: int = stored
        if number >= 0:
            return str(number)[1:]
        letter, digits = divmod(number + _LETTER_END, _LETTER_BASE)
        return _CAPITALS[letter] + str(digits)[1:]
    if isinstance(stored, str):
        return stored
    if isinstance(stored, bytes):
        return str(uuid.UUID(bytes=stored))
    raise TypeError(f"not a stored code: {stored!r}")


class Code(TypeDecorator[str]):
    """A code or number (text in Python) stored compactly by code_of. Equality is the texts';
    order is the texts' only among codes of one form and length (a tie-break of the same kind
    of id), so no query ranges over one."""

    impl = LargeBinary  # declared BLOB: SQLite keeps each value in the form it is given
    cache_ok = True

    def process_bind_param(self, value: str | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        if not isinstance(value, str):
            raise TypeError(f"a code is text, not {type(value).__name__}")
        return code_of(value)

    def process_result_value(self, value: Any, dialect: Dialect) -> str | None:
        return None if value is None else code_text(value)

    # the forms as they are: LargeBinary's own processors would take every value for bytes
    def bind_processor(self, dialect: Dialect) -> Callable[[Any], Any]:
        return lambda value: self.process_bind_param(value, dialect)

    def result_processor(self, dialect: Dialect, coltype: object) -> Callable[[Any], Any]:
        return _code_text_or_none

    @property
    def python_type(self) -> type[str]:
        return str


def _code_text_or_none(stored: int | bytes | str | None) -> str | None:
    return None if stored is None else code_text(stored)
