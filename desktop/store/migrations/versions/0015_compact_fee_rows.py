"""Fee rows and claims stored compactly: a street's cache of about a million fee rows shrinks by
about a fifth (issue 13: a cache of 100,000 persons and 1,030,333 fee rows within 200 MiB).

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-05

The models keep their Python types; only the stored forms change (desktop.store.types):
- fee_row: the six amounts as whole fen (INTEGER, "268.25" -> 26825), the date as days since
  1970-01-01, the kind as its position in (outpatient, inpatient, major_outpatient);
- fee_row's receipt index holds the number alone: the scanner looks rows up by number and
  compares the issuer on the few it finds;
- claim: a table without rowid (its key is the table: no second copy of every key), the
  application id as its 16 bytes, the instant as microseconds since 1970-01-01 UTC, status
  and program by position;
- codes and numbers (fee row ids, receipt numbers, issuer, institution, street and device
  codes) as integers or bytes where they are digits, a capital and digits, or a UUID (Code),
  in columns of BLOB affinity that keep any other text as it is; the institution table's
  code too, which fee rows join on;
- fee_row's eight yes/no columns as the bits of one integer, `flags` (in_shanghai bit 0 …
  means_test_included bit 7): one byte a row where eight columns took eight.

The tables are rebuilt with their rows converted in one statement each. An amount that is not a
whole number of fen (the district keeps whole fen; a cache cannot have one unless tampered
with) stops the upgrade with its row named, and the transaction leaves the cache as it was.
"""

from __future__ import annotations

import datetime as dt
import re
import uuid
from collections.abc import Callable, Sequence
from decimal import Decimal, InvalidOperation
from typing import Any

import sqlalchemy as sa
from alembic import op

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

KINDS = ("outpatient", "inpatient", "major_outpatient")
STATUSES = ("claimed", "paid", "released")
PROGRAMS = ("assistance", "mutual_aid")
EPOCH_DAY = dt.date(1970, 1, 1).toordinal()
EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
MICROSECOND = dt.timedelta(microseconds=1)
AMOUNTS = ("total", "out_of_scope", "self_pay", "deductible_part", "external_deductible",
           "external_reimbursed")
CODES = ("id", "institution_code", "issuer_code", "receipt_no")
FLAGS = ("in_shanghai", "out_of_province_filed", "one_stop_settled", "already_claimed",
         "clearing_pending", "major_illness", "major_illness_doc", "means_test_included")


class UpgradeRefused(RuntimeError):
    """A cached value has no compact form."""


_STORED_AMOUNT = re.compile(r"(-?)([0-9]+)(?:\.([0-9]+))?")


def _fen(text: str) -> int:
    try:
        amount = Decimal(text)
    except InvalidOperation:
        raise ValueError(f"not an amount: {text!r}") from None
    if not amount.is_finite():
        raise ValueError(f"not an amount: {text!r}")
    if amount.is_zero():
        return 0
    if amount.adjusted() > 18:
        raise ValueError(f"an amount too large to keep: {text!r}")
    if amount.adjusted() < -2:  # its first digit is below a fen
        raise ValueError(f"not a whole number of fen: {text!r}")
    found = _STORED_AMOUNT.fullmatch(f"{amount:f}")  # plain digits, exactly, short now
    if found is None:
        raise ValueError(f"not an amount: {text!r}")
    sign, whole, part = found.groups()
    part = part or ""
    if part[2:].strip("0"):
        raise ValueError(f"not a whole number of fen: {text!r}")
    fen = int(whole + (part + "00")[:2])
    if fen >= 2**63:
        raise ValueError(f"an amount too large to keep: {text!r}")
    return -fen if sign else fen


def _yuan(fen: int) -> str:
    return f"{Decimal(fen).scaleb(-2):f}"


def _day(text: str) -> int:
    return dt.date.fromisoformat(text).toordinal() - EPOCH_DAY


def _date(day: int) -> str:
    return dt.date.fromordinal(day + EPOCH_DAY).isoformat()


def _micros(text: str) -> int:
    return (dt.datetime.fromisoformat(text) - EPOCH) // MICROSECOND


def _instant(micros: int) -> str:
    return (EPOCH + micros * MICROSECOND).isoformat(timespec="microseconds")


_LETTER_BASE = 10**12
_LETTER_END = 27 * _LETTER_BASE


def _code(text: str) -> int | bytes | str:  # desktop.store.types.code_of as of 0015
    if text.isascii():
        if text.isdigit():
            if len(text) <= 18:
                return int("1" + text)
        elif len(text) <= 12 and "A" <= text[:1] <= "Z" and text[1:].isdigit():
            return (ord(text[0]) - 64) * _LETTER_BASE + int("1" + text[1:]) - _LETTER_END
        elif len(text) == 36 and text[8:9] == "-":
            try:
                value = uuid.UUID(text)
            except ValueError:
                return text
            if str(value) == text:
                return value.bytes
    return text


def _code_text(stored: int | bytes | str) -> str:
    if isinstance(stored, str):
        return stored
    if isinstance(stored, int):
        if stored >= 0:
            return str(stored)[1:]
        letter, digits = divmod(stored + _LETTER_END, _LETTER_BASE)
        return chr(64 + letter) + str(digits)[1:]
    return str(uuid.UUID(bytes=bytes(stored)))


def _position(values: tuple[str, ...]) -> Callable[[str], int]:
    return lambda value: values.index(value)


FUNCTIONS: dict[str, Callable[[Any], Any]] = {
    "m15_fen": _fen, "m15_yuan": _yuan, "m15_day": _day, "m15_date": _date,
    "m15_micros": _micros, "m15_instant": _instant,
    "m15_uuid_bytes": lambda text: uuid.UUID(text).bytes,
    "m15_uuid_hex": lambda blob: uuid.UUID(bytes=bytes(blob)).hex,
    "m15_kind": _position(KINDS), "m15_kind_word": KINDS.__getitem__,
    "m15_status": _position(STATUSES), "m15_status_word": STATUSES.__getitem__,
    "m15_program": _position(PROGRAMS), "m15_program_word": PROGRAMS.__getitem__,
    "m15_code": _code, "m15_code_text": _code_text,
}


def _with_functions(sql: str, what: str) -> None:
    """Run one converting statement with the conversions as SQL functions (NULL stays NULL);
    a value a conversion refuses stops the migration with the value named."""
    bind = op.get_bind()
    raw = bind.connection.driver_connection
    assert raw is not None  # an open connection's
    refused: list[str] = []

    def guarded(name: str, convert: Callable[[Any], Any]) -> Callable[[Any], Any]:
        def call(value: Any) -> Any:
            if value is None:
                return None
            try:
                return convert(value)
            except (ValueError, TypeError, IndexError, OverflowError) as error:
                refused.append(f"{name.removeprefix('m15_')}({value!r}): {error}")
                raise
        return call

    for name, convert in FUNCTIONS.items():
        raw.create_function(name, 1, guarded(name, convert), deterministic=True)
    try:
        bind.exec_driver_sql(sql)
    except sa.exc.DBAPIError as error:
        if refused:
            # the counter shows it to the clerk as it is (desktop.ui.app._cannot_start)
            raise UpgradeRefused(f"本机缓存无法升级，缓存未作改动，请联系技术支持"
                                 f"（{what}: {refused[0]}）") from None
        raise error


def _code_type(compact: bool) -> Callable[[int], sa.types.TypeEngine[Any]]:
    """A code column's type: BLOB affinity (the Code form) in 0015, text of `length` before."""
    return lambda length: sa.LargeBinary() if compact else sa.String(length=length)


def _fee_row_table(name: str, amount: sa.types.TypeEngine[Any], day: sa.types.TypeEngine[Any],
                   kind: sa.types.TypeEngine[Any], compact: bool) -> None:
    code = _code_type(compact)
    op.create_table(
        name,
        sa.Column("id", code(64), nullable=False),
        sa.Column("person_id", sa.String(length=64), nullable=False),
        sa.Column("institution_code", code(64), nullable=True),
        sa.Column("issuer_code", code(32), nullable=True),
        sa.Column("receipt_no", code(64), nullable=False),
        sa.Column("check_code", sa.String(length=32), nullable=True),
        sa.Column("date", day, nullable=False),
        sa.Column("kind", kind, nullable=False),
        sa.Column("hospital_level", sa.Integer(), nullable=False),
        *((sa.Column("flags", sa.Integer(), nullable=False),) if compact else
          (sa.Column(flag, sa.Boolean(), nullable=False) for flag in FLAGS[:2])),
        *(sa.Column(column, amount, nullable=False) for column in AMOUNTS),
        *(() if compact else (sa.Column(flag, sa.Boolean(), nullable=False)
                              for flag in FLAGS[2:])),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["person_id"], ["person.id"], ondelete="CASCADE",
                                name="fk_fee_row_person_id_person"),
        sa.PrimaryKeyConstraint("id", name="pk_fee_row"),
    )


def _claim_table(name: str, blob: sa.types.TypeEngine[Any], instant: sa.types.TypeEngine[Any],
                 small: sa.types.TypeEngine[Any], compact: bool) -> None:
    code = _code_type(compact)
    op.create_table(
        name,
        sa.Column("fee_row_id", code(64), nullable=False),
        sa.Column("application_id", blob, nullable=False),
        sa.Column("street_code", code(32), nullable=False),
        sa.Column("device_id", code(64), nullable=False),
        sa.Column("claimed_at", instant, nullable=False),
        sa.Column("status", small, nullable=False),
        sa.Column("program", small, nullable=True),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("fee_row_id", name="pk_claim"),
        sqlite_with_rowid=not compact,
    )


def _fee_row_copy(to: str, amount: str, day: str, kind: str, code: str, compact: bool) -> str:
    columns: tuple[str, ...] = ("id", "person_id", "institution_code", "issuer_code",
                                "receipt_no", "check_code", "date", "kind", "hospital_level",
                                *AMOUNTS, "seq")
    converted = {"date": f"{day}(date)", "kind": f"{kind}(kind)",
                 **{column: f"{amount}({column})" for column in AMOUNTS},
                 **{column: f"{code}({column})" for column in CODES}}
    if compact:  # the yes/no columns as the bits of flags, in_shanghai bit 0
        columns += ("flags",)
        converted["flags"] = " | ".join(f'(("{flag}" != 0) << {n})'
                                        for n, flag in enumerate(FLAGS))
    else:
        columns += FLAGS
        converted.update({flag: f"((flags >> {n}) & 1)" for n, flag in enumerate(FLAGS)})
    quoted = ", ".join(f'"{c}"' for c in columns)
    values = ", ".join(converted.get(c, f'"{c}"') for c in columns)
    return f"INSERT INTO {to} ({quoted}) SELECT {values} FROM fee_row ORDER BY rowid"


def _claim_copy(to: str, uid: str, instant: str, status: str, program: str, code: str
                ) -> str:
    return (f"INSERT INTO {to} (fee_row_id, application_id, street_code, device_id, claimed_at,"
            f" status, program, seq) SELECT {code}(fee_row_id), {uid}(application_id),"
            f" {code}(street_code), {code}(device_id), {instant}(claimed_at), {status}(status),"
            f" {program}(program), seq FROM claim ORDER BY seq")


def _institution(compact: bool) -> None:
    op.create_table(
        "institution_0015",
        sa.Column("code", _code_type(compact)(64), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("level", sa.Integer(), nullable=False),
        sa.Column("in_shanghai", sa.Boolean(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("code", name="pk_institution"),
    )
    code = "m15_code" if compact else "m15_code_text"
    _with_functions(f"INSERT INTO institution_0015 (code, name, level, in_shanghai, seq)"
                    f" SELECT {code}(code), name, level, in_shanghai, seq FROM institution",
                    "institution")
    _swap("institution", "institution_0015")


def _swap(table: str, rebuilt: str) -> None:
    op.drop_table(table)
    op.rename_table(rebuilt, table)


def upgrade() -> None:
    _fee_row_table("fee_row_0015", sa.Integer(), sa.Integer(), sa.Integer(), True)
    _with_functions(_fee_row_copy("fee_row_0015", "m15_fen", "m15_day", "m15_kind", "m15_code",
                                  True), "fee_row")
    _swap("fee_row", "fee_row_0015")
    op.create_index("ix_fee_row_person_id_date", "fee_row", ["person_id", "date"])
    op.create_index("ix_fee_row_receipt_no", "fee_row", ["receipt_no"])

    _claim_table("claim_0015", sa.LargeBinary(length=16), sa.Integer(), sa.Integer(), True)
    _with_functions(_claim_copy("claim_0015", "m15_uuid_bytes", "m15_micros", "m15_status",
                                "m15_program", "m15_code"), "claim")
    _swap("claim", "claim_0015")
    _institution(compact=True)


def downgrade() -> None:
    money, instant = sa.String(length=32), sa.String(length=32)
    _fee_row_table("fee_row_0014", money, sa.Date(), sa.String(length=32), False)
    _with_functions(_fee_row_copy("fee_row_0014", "m15_yuan", "m15_date", "m15_kind_word",
                                  "m15_code_text", False), "fee_row")
    _swap("fee_row", "fee_row_0014")
    op.create_index("ix_fee_row_person_id_date", "fee_row", ["person_id", "date"])
    op.create_index("ix_fee_row_receipt_no_issuer_code", "fee_row",
                    ["receipt_no", "issuer_code"])

    _claim_table("claim_0014", sa.Uuid(), instant, sa.String(length=16), False)
    _with_functions(_claim_copy("claim_0014", "m15_uuid_hex", "m15_instant", "m15_status_word",
                                "m15_program_word", "m15_code_text"), "claim")
    _swap("claim", "claim_0014")
    _institution(compact=False)

