"""The database side of an import: ids for new rows, lookups in chunks, bulk writes.

Rows go in with Core statements in chunks (`session.execute(table.insert(), rows)`), as the
seed and the changelog write theirs: an ORM object per row would cost more than the insert.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import datetime
from operator import itemgetter
from typing import Any, TypeVar

from sqlalchemy import Boolean, Column, Date, DateTime, Table, bindparam, func, select, update
from sqlalchemy.orm import Session

from district import models
from district.changelog import PendingChange, allocate_seqs
from district.values import utcnow

CHUNK = 5000
IN_CHUNK = 900  # keys per IN (...): under every SQLite's limit on bound variables
T = TypeVar("T")


def chunks(items: Sequence[T], size: int = IN_CHUNK) -> Iterator[Sequence[T]]:
    for start in range(0, len(items), size):
        yield items[start:start + size]


class Numbering:
    """Ids for new rows as the seed gives them: a prefix and a zero-padded number, continuing
    after the highest number already used ("P0000001", "C00000001", "F000000001")."""

    def __init__(self, session: Session, column: Column[str], prefix: str, width: int) -> None:
        self.prefix = prefix
        self.width = width
        self.next = _highest(session, column, prefix) + 1

    def take(self) -> str:
        number = self.next
        self.next += 1
        return f"{self.prefix}{number:0{self.width}d}"


def _highest(session: Session, column: Column[str], prefix: str) -> int:
    pattern = re.compile(re.escape(prefix) + r"([0-9]+)")
    like = column.like(prefix + "%")
    longest = session.scalar(select(func.max(func.length(column))).where(like))
    if longest is None:
        return 0
    top = session.scalar(select(func.max(column)).where(like, func.length(column) == longest))
    match = pattern.fullmatch(top or "")
    if match is not None:
        return int(match[1])
    # an id of another shape shares the prefix: look at them all (never the case for ours)
    numbers = (pattern.fullmatch(v) for v in session.scalars(select(column).where(like)))
    return max((int(m[1]) for m in numbers if m is not None), default=0)


def insert_rows(session: Session, table: Table, rows: list[dict[str, Any]]) -> None:
    for start in range(0, len(rows), CHUNK):
        session.execute(table.insert(), rows[start:start + CHUNK])


def update_rows(session: Session, table: Table, rows: Iterable[dict[str, Any]]) -> None:
    """UPDATE by id, each row setting only its own columns (other keys than "_id"): rows with
    the same set of columns go in one executemany."""
    groups: dict[tuple[str, ...], list[dict[str, Any]]] = {}
    for row in rows:
        groups.setdefault(tuple(sorted(k for k in row if k != "_id")), []).append(row)
    for names, batch in groups.items():
        statement = (update(table).where(table.c.id == bindparam("_id"))
                     .values({name: bindparam(name) for name in names}))
        for start in range(0, len(batch), CHUNK):
            session.execute(statement, batch[start:start + CHUNK])


def lock_rows(session: Session, table: Table, ids: Sequence[str]) -> None:
    """Row locks (FOR UPDATE) on PostgreSQL until the transaction ends; on SQLite the write
    transaction already holds the whole database."""
    if session.get_bind().dialect.name == "sqlite":
        return
    for part in chunks(sorted(ids)):  # in id order: two importers never wait in a cycle
        session.execute(select(table.c.id).where(table.c.id.in_(part)).with_for_update())


def insert_tuples(session: Session, table: Table, names: Sequence[str],
                  rows: Sequence[Sequence[Any]]) -> None:
    """One driver-level executemany per CHUNK rows (values in the order of `names`), each
    value converted by its column type's own bind processor: what `table.insert()` would
    store, without SQLAlchemy's per-row bookkeeping, which costs more than the insert itself
    at a million rows (desktop.store.changes does the same for a counter's initial pull)."""
    insert = _Insert(session, table, names)
    for start in range(0, len(rows), CHUNK):
        insert.execute([insert.convert(tuple(row)) for row in rows[start:start + CHUNK]])


def insert_dicts(session: Session, table: Table, names: Sequence[str],
                 rows: Sequence[Mapping[str, Any]]) -> None:
    """`insert_tuples` for rows as dicts (other keys than `names` are ignored)."""
    insert = _Insert(session, table, names)
    values_of = itemgetter(*names)
    for start in range(0, len(rows), CHUNK):
        insert.execute([insert.convert(values_of(r)) for r in rows[start:start + CHUNK]])


class _Insert:
    def __init__(self, session: Session, table: Table, names: Sequence[str]) -> None:
        self.connection = session.connection()
        dialect = self.connection.dialect
        quote = dialect.identifier_preparer.quote
        marker = "?" if dialect.paramstyle == "qmark" else "%s"
        self.sql = (f"INSERT INTO {quote(table.name)} ({', '.join(quote(n) for n in names)}) "
                    f"VALUES ({', '.join(marker for _ in names)})")
        processors = [_processor(table.c[name].type, dialect) for name in names]
        self.processors = [(i, p) for i, p in enumerate(processors) if p is not None]

    def convert(self, row: tuple[Any, ...]) -> tuple[Any, ...]:
        if not self.processors:
            return row
        values = list(row)
        for i, process in self.processors:
            values[i] = process(values[i])
        return tuple(values)

    def execute(self, rows: list[tuple[Any, ...]]) -> None:
        if rows:
            self.connection.exec_driver_sql(self.sql, rows)


def _processor(kind: Any, dialect: Any) -> Any:
    """The column type's bind processor, but none for a Boolean on SQLite, whose driver stores
    a bool as the integer the processor would give (bool is an int), and one that converts
    each distinct date or time once (a million fee rows have a few hundred dates; a chunk of
    changes has one moment)."""
    if dialect.name == "sqlite" and isinstance(kind, Boolean):
        return None
    process = kind.dialect_impl(dialect).bind_processor(dialect)
    timelike = isinstance(getattr(kind, "impl", kind), Date | DateTime)
    if process is None or not timelike:
        return process
    done: dict[Any, Any] = {}

    def once(value: Any) -> Any:
        converted = done.get(value, _NOTHING)
        if converted is _NOTHING:
            converted = done[value] = process(value)
        return converted

    return once


_NOTHING = object()
_CHANGE_COLUMNS = ("seq", "entity", "key", "op", "street_code", "data", "at")
# A change as record_change_rows takes it: entity, key, op, street code, data.
ChangeRow = tuple[str, str, str, str | None, dict[str, Any] | None]


def record_changes_bulk(session: Session, changes: Sequence[PendingChange],
                        at: datetime | None = None) -> None:
    """district.changelog.record_changes for many changes: the same sequence numbers and
    the same rows, written with `insert_tuples`."""
    record_change_rows(session, [(c.entity, c.key, c.op, c.street_code, c.data)
                                 for c in changes], at)


def record_change_rows(session: Session, changes: Sequence[ChangeRow],
                       at: datetime | None = None) -> None:
    """Give `changes` the next sequence numbers and write them, in this transaction, as
    district.changelog.record_changes does: the one-row counter is moved on by their number
    (its row lock serialises the writers of changes). tests/district/test_import.py checks
    that both write the same rows."""
    if not changes:
        return
    first = allocate_seqs(session, len(changes))
    moment = at or utcnow()
    insert_tuples(session, models.table_of(models.Change), _CHANGE_COLUMNS,
                  [(first + i, *c, moment) for i, c in enumerate(changes)])
