"""The audit trail: who did what to which subject, appended in the transaction of the action.

The table refuses UPDATE and DELETE (triggers, migration 0001). Each event is also queued for the
district unless the caller says it is local only.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from desktop.store.models import AuditEventRecord
from desktop.store.outbox import enqueue
from desktop.store.types import utc_now
from desktop.wire import AuditEventPayload


def append_audit(session: Session, actor: str, action: str, subject: str,
                 detail: dict[str, Any], *, at: datetime | None = None,
                 push: bool = True) -> None:
    """Record an event; with `push`, also queue it for the district in the same transaction."""
    event = AuditEventPayload(event_id=uuid.uuid4(), at=at or utc_now(), actor=actor,
                              action=action, subject=subject, detail=detail)
    stored = event.model_dump(mode="json")
    session.add(AuditEventRecord(event_id=event.event_id, at=event.at, actor=actor,
                                 action=action, subject=subject, detail=stored["detail"]))
    if push:
        enqueue(session, "audit_event", stored, key=event.event_id)
    session.flush()
