"""The audit trail: who did what to which subject, appended in the transaction of the action.

The table refuses UPDATE and DELETE (triggers, migration 0001), and each row carries a hash
chain (desktop.domain.audit_chain) so that rows changed, removed or slipped in behind the
triggers' back are found by `python -m desktop audit verify`. Each event is also queued for the
district unless the caller says it is local only; the sent events and the local ones form two
chains, so the district can check the link of every event it receives.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from desktop.domain.audit_chain import LOCAL, SENT, AuditContent, Chain, ChainRow, audit_row_hash
from desktop.store.models import AuditEventRecord, OutboxRecord
from desktop.store.outbox import enqueue
from desktop.store.types import utc_now
from desktop.wire import AuditEventPayload

OUTBOX_KIND = "audit_event"


def append_audit(session: Session, actor: str, action: str, subject: str,
                 detail: dict[str, Any], *, at: datetime | None = None,
                 push: bool = True) -> None:
    """Record an event; with `push`, also queue it for the district in the same transaction."""
    event = AuditEventPayload(event_id=uuid.uuid4(), at=at or utc_now(), actor=actor,
                              action=action, subject=subject, detail=detail)
    stored = event.model_dump(mode="json")
    chain = SENT if push else LOCAL
    prev_hash = chain_head(session, chain)
    row_hash = audit_row_hash(
        AuditContent(str(event.event_id), event.at, actor, action, subject, stored["detail"]),
        prev_hash, chain)
    session.add(AuditEventRecord(event_id=event.event_id, at=event.at, actor=actor,
                                 action=action, subject=subject, detail=stored["detail"],
                                 prev_hash=prev_hash, row_hash=row_hash))
    if push:
        enqueue(session, OUTBOX_KIND, {**stored, "prev_hash": prev_hash, "row_hash": row_hash},
                key=event.event_id)
    session.flush()


def chain_head(session: Session, chain: Chain) -> str | None:
    """The row_hash of the chain's latest row: a sent event is one queued for the district."""
    queued = (select(OutboxRecord.id)
              .where(OutboxRecord.idempotency_key == AuditEventRecord.event_id,
                     OutboxRecord.kind == OUTBOX_KIND)
              .exists())
    latest: str | None = session.scalars(
        select(AuditEventRecord.row_hash)
        .where(queued if chain == SENT else ~queued)
        .order_by(AuditEventRecord.id.desc())
        .limit(1)).first()
    return latest


def chain_rows(session: Session, batch: int = 2000) -> Iterator[ChainRow]:
    """Every audit row in id order, as the chain check reads it."""
    rows = session.execute(
        select(AuditEventRecord.id, AuditEventRecord.event_id, AuditEventRecord.at,
               AuditEventRecord.actor, AuditEventRecord.action, AuditEventRecord.subject,
               AuditEventRecord.detail, AuditEventRecord.prev_hash, AuditEventRecord.row_hash)
        .order_by(AuditEventRecord.id)
        .execution_options(yield_per=batch))
    for row_id, event_id, at, actor, action, subject, detail, prev_hash, row_hash in rows:
        yield ChainRow(row_id, AuditContent(str(event_id), at, actor, action, subject, detail),
                       prev_hash, row_hash)


def sent_copies(session: Session) -> Iterator[tuple[int, str, dict[str, Any]]]:
    """The events queued for the district, in the order they were queued: (outbox id, event id,
    payload).

    The outbox keeps what was sent, so it is a second copy of the sent chain on this PC."""
    rows = session.execute(
        select(OutboxRecord.id, OutboxRecord.idempotency_key, OutboxRecord.payload)
        .where(OutboxRecord.kind == OUTBOX_KIND)
        .order_by(OutboxRecord.id)
        .execution_options(yield_per=2000))
    for outbox_id, event_id, payload in rows:
        yield int(outbox_id), str(event_id), dict(payload)

