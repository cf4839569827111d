"""The rows a push request's applications and audit events add, written together.

An application adds its row, its buckets and its claims; an audit event adds its row. Added
one item at a time through the ORM, each is a flush of its own inside a savepoint of its own:
most of a push's time. In a request (district.services.push.apply_push) they are kept here
instead and written with one INSERT … VALUES statement per table when the request's items are
done, or sooner: before any other kind of item (a signature, a send-back, a withdrawal, an
enrolment) runs, so that it reads what the items before it added.

This is safe because the two handlers refuse only before they add anything (every check reads;
none writes), and what must be true across the request is kept true in memory meanwhile: the
applications and events already added (district.services.outcome.note_added), the claims and
settled rows (district.services.prefetch), the audit chain's end (district.services.audit). The
database still has the last word: a claim or key another transaction committed first fails the
write, and the request is applied again item by item (apply_push), each item in its own
savepoint and without this buffer.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import insert
from sqlalchemy.orm import Session

from district import models

DEFERRED = "push_deferred_rows"  # session.info key
# in the order the foreign keys need them
_ORDER: tuple[type[models.Base], ...] = (models.Application, models.ApplicationBucket,
                                         models.Claim, models.AuditEvent)


class Deferred:
    def __init__(self) -> None:
        self._rows: dict[type[models.Base], list[dict[str, Any]]] = {m: [] for m in _ORDER}

    def add(self, *objects: models.Base) -> None:
        """Keep these new rows (built, never added to the session) for the next write. Only
        the attributes set (and not None) are written: a column left out takes its default."""
        for obj in objects:
            state = obj.__dict__
            # None left out too, as the ORM's INSERT leaves it out: the column's default or
            # NULL (a JSON column given None would otherwise hold JSON 'null')
            self._rows[type(obj)].append({
                attr.key: state[attr.key] for attr in type(obj).__mapper__.column_attrs
                if state.get(attr.key) is not None})

    def write(self, session: Session) -> None:
        """Insert what is kept, table by table (rows with the same columns in one statement)."""
        for model in _ORDER:
            rows, self._rows[model] = self._rows[model], []
            groups: dict[tuple[str, ...], list[dict[str, Any]]] = {}
            for row in rows:
                groups.setdefault(tuple(row), []).append(row)
            for group in groups.values():
                # Core's INSERT on the table: one executemany (insertmanyvalues on PostgreSQL)
                # per group. The ORM's bulk INSERT split a group into runs of a few rows.
                session.execute(insert(models.Base.metadata.tables[model.__tablename__]), group)


def start(session: Session) -> Deferred:
    buffer = Deferred()
    session.info[DEFERRED] = buffer
    return buffer


def pending(session: Session) -> Deferred | None:
    """The request's buffer, or None when items are applied one by one (then they add their
    rows to the session as usual)."""
    value = session.info.get(DEFERRED)
    return value if isinstance(value, Deferred) else None
