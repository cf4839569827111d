"""The district tables' search indexes, set aside while an initial pull fills the empty tables.

An initial pull inserts a million fee rows and 100,000 persons. Inserted one by one, in the
order the district sends them, the rows of an index (a person's name, a receipt number) land
all over it: each insert splits or rereads pages, and the finished index has pages partly
empty (6 MiB of bench_sync.py's 100,000-person cache). Built once at the end from the rows,
each index is written in order, its pages full, in about a second for all of them.

So a pull that starts on empty tables drops their indexes, remembering each one's own SQL as
the migrations made it (in local_state, in the same transaction), and builds them again when
it ends, however it ends: done, failed or cancelled (a commit that failed leaves them to the
next pull's writer). If the process dies in between, the next open_store builds them before
anything else (before a migration, which may expect them).

Only plain indexes are set aside: the ones behind a primary key or a UNIQUE constraint (a
person's id and ID number, a fee row's id) keep checking every insert. Deleting a person
finds their fee rows and spans (ON DELETE CASCADE) through the indexes on their person: the
pull builds the indexes again before a page that deletes one (needs_indexes).
"""

from __future__ import annotations

import json
from collections.abc import Iterable

from sqlalchemy import Connection

from desktop import wire

TABLES = ("person", "category_span", "fee_row")
STATE = "deferred_indexes"  # local_state: the indexes to build again, as JSON [[name, sql]]
_LOCAL_STATE = "local_state"


def defer_indexes(connection: Connection) -> list[str]:
    """In the connection's transaction: if the district tables are all empty, drop their
    plain indexes and remember them. Returns the names of the indexes set aside, by this call
    or by a writer before it that did not build them again ([]: none, the tables hold rows)."""
    remembered = _remembered(connection)
    if remembered is not None:  # a pull that could not build them: this one does
        return [str(name) for name, _sql in json.loads(remembered)]
    for table in TABLES:
        if connection.exec_driver_sql(f'SELECT 1 FROM "{table}" LIMIT 1').first() is not None:
            return []
    marks = ", ".join("?" for _ in TABLES)
    found = [(str(name), str(sql)) for name, sql in connection.exec_driver_sql(
        f"SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL "
        f"AND tbl_name IN ({marks}) ORDER BY name", TABLES)]
    if not found:
        return []
    connection.exec_driver_sql(
        f"INSERT INTO {_LOCAL_STATE} (name, value) VALUES (?, ?)",
        (STATE, json.dumps(found, ensure_ascii=False)))
    for name, _sql in found:
        connection.exec_driver_sql(f'DROP INDEX "{name}"')
    return [name for name, _sql in found]


def needs_indexes(changes: Iterable[wire.ReadChange]) -> bool:
    """Whether a page deletes a person: without their indexes, each delete would read every
    fee row to find the person's."""
    return any(change.op == "delete" and change.entity == "person" for change in changes)


def restore_indexes(connection: Connection) -> list[str]:
    """In the connection's transaction: build the indexes defer_indexes set aside (those not
    there already) and forget them; returns the names built."""
    remembered = _remembered(connection)
    if remembered is None:
        return []
    built = []
    for name, sql in json.loads(remembered):
        exists = connection.exec_driver_sql(
            "SELECT 1 FROM sqlite_master WHERE type = 'index' AND name = ?", (name,)).first()
        if exists is None:
            connection.exec_driver_sql(sql)
            built.append(name)
    connection.exec_driver_sql(f"DELETE FROM {_LOCAL_STATE} WHERE name = ?", (STATE,))
    return built


def _remembered(connection: Connection) -> str | None:
    row = connection.exec_driver_sql(
        f"SELECT value FROM {_LOCAL_STATE} WHERE name = ?", (STATE,)).first()
    return None if row is None else str(row[0])
