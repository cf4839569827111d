"""The outbox: what this counter must push, written in the transaction of the change itself.

A change and its outbox item commit together or not at all; the sync worker pushes waiting
items in order with their idempotency keys and records each outcome here.
"""

from __future__ import annotations

import uuid
from typing import Any

from pydantic import BaseModel
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from desktop.store.models import OutboxRecord
from desktop.store.types import utc_now
from desktop.wire import (
    ApplicationPayload,
    AuditEventPayload,
    CommitmentPayload,
    EnrolmentPayload,
    ReturnPayload,
    RevocationPayload,
    SignaturePayload,
    WithdrawalPayload,
)

# What each kind's payload must be: checked when the change is saved, not when it is pushed,
# so a malformed item fails the clerk's action instead of blocking the queue later.
PAYLOADS: dict[str, type[BaseModel]] = {
    "application": ApplicationPayload,
    "signature": SignaturePayload,
    "audit_event": AuditEventPayload,
    "enrolment": EnrolmentPayload,
    "withdrawal": WithdrawalPayload,
    "return": ReturnPayload,
    "commitment": CommitmentPayload,
    "revocation": RevocationPayload,
}


class UnknownOutboxItem(LookupError):
    pass


def enqueue(session: Session, kind: str, payload: dict[str, Any],
            key: uuid.UUID | None = None) -> uuid.UUID:
    """Add an item to push, in the session's current transaction; return its idempotency key."""
    schema = PAYLOADS.get(kind)
    if schema is None:
        raise ValueError(f"unknown outbox kind {kind!r}; one of {', '.join(PAYLOADS)}")
    checked = schema.model_validate(payload).model_dump(mode="json")
    row = OutboxRecord(idempotency_key=key or uuid.uuid4(), kind=kind, payload=checked,
                       created_at=utc_now())
    session.add(row)
    session.flush()
    return row.idempotency_key


def pending_outbox(session: Session, limit: int, after: int | None = None
                   ) -> list[OutboxRecord]:
    """The oldest items not yet delivered, in the order they were saved (those after the
    outbox row `after`, when given)."""
    query = select(OutboxRecord).where(OutboxRecord.delivered_at.is_(None))
    if after is not None:
        query = query.where(OutboxRecord.id > after)
    query = query.order_by(OutboxRecord.id).limit(limit)
    return list(session.scalars(query))


def mark_delivered(session: Session, key: uuid.UUID, result: dict[str, Any]) -> None:
    """The server answered for this item (accepted, refused or duplicate): it is done."""
    mark_all_delivered(session, {key: result})


def mark_all_delivered(session: Session, results: dict[uuid.UUID, dict[str, Any]]) -> None:
    """The server answered for these items: done, read in one query per few hundred."""
    now = utc_now()
    keys = list(results)
    found: dict[uuid.UUID, OutboxRecord] = {}
    for start in range(0, len(keys), 500):
        chunk = keys[start:start + 500]
        found.update((row.idempotency_key, row) for row in session.scalars(
            select(OutboxRecord).where(OutboxRecord.idempotency_key.in_(chunk))))
    missing = [k for k in keys if k not in found]
    if missing:
        raise UnknownOutboxItem(f"no outbox item {missing[0]}")
    for key, result in results.items():
        row = found[key]
        row.attempts += 1
        row.last_attempt_at = now
        row.delivered_at = now
        row.result = result


def mark_attempt_failed(session: Session, key: uuid.UUID, error: str) -> None:
    """The push did not get an answer for this item; it stays waiting."""
    row = _item(session, key)
    row.attempts += 1
    row.last_attempt_at = utc_now()
    row.last_error = error


def outbox_waiting_count(session: Session) -> int:
    query = select(func.count()).select_from(OutboxRecord).where(
        OutboxRecord.delivered_at.is_(None))
    return int(session.scalar(query) or 0)


def _item(session: Session, key: uuid.UUID) -> OutboxRecord:
    row = session.scalar(select(OutboxRecord).where(OutboxRecord.idempotency_key == key))
    if row is None:
        raise UnknownOutboxItem(f"no outbox item {key}")
    return row
