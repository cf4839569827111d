"""What the pull's raw baselines share (bench_sync.py and replay_pull.py): the tables a pull
writes, each read back in the order the pull wrote it with the INSERT that writes it again,
and the pragmas the pull writes with."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from desktop.store.models import (
    CategorySpanRecord,
    ClaimRecord,
    FeeRowRecord,
    InstitutionRecord,
    ParameterVersionRecord,
    PersonRecord,
)
from desktop.sync.pull import PULL_CACHE_KIB

PULLED = (InstitutionRecord, ParameterVersionRecord, PersonRecord, CategorySpanRecord,
          FeeRowRecord, ClaimRecord)
WRITER_PRAGMAS = ("journal_mode = WAL", "foreign_keys = ON", "synchronous = FULL",
                  f"cache_size = -{PULL_CACHE_KIB}")  # the pull's page cache


def pulled_tables(reader: Any) -> Iterator[tuple[str, str, Any]]:
    """(table, its INSERT, a cursor over its rows in seq order) for each pulled table."""
    for model in PULLED:
        name = model.__tablename__
        # in the order the pull wrote them (seq): an order by key fills the indexes in order
        cursor = reader.execute(f'SELECT * FROM "{name}" ORDER BY seq')  # our own names
        columns = [c[0] for c in cursor.description]
        sql = (f'INSERT INTO "{name}" ({", ".join(columns)}) '
               f'VALUES ({", ".join("?" * len(columns))})')
        yield name, sql, cursor
