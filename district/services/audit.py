"""Audit events from the counters: appended, never changed."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from desktop import wire
from district import models
from district.services.applications import parse_payload
from district.services.outcome import Caller, Outcome, Refusal
from district.values import as_aware


def apply_audit_event(session: Session, caller: Caller, item: wire.OutboxItem,
                      now: datetime) -> Outcome:
    payload = parse_payload(wire.AuditEventPayload, item.payload)
    event_id = str(payload.event_id)
    for name, limit in (("actor", 64), ("action", 64), ("subject", 128)):
        if len(getattr(payload, name)) > limit:
            raise Refusal("invalid_payload", f"审计事件的 {name} 超过 {limit} 个字符。",
                          {"field": name})
    if session.get(models.AuditEvent, event_id) is not None:
        raise Refusal("event_exists", "该审计事件已经记录过。", {"event_id": event_id})
    session.add(models.AuditEvent(
        event_id=event_id, at=as_aware(payload.at), actor=payload.actor, action=payload.action,
        subject=payload.subject, detail=payload.detail, device_id=caller.device_id,
        street_code=caller.street_code, received_at=now))
    return Outcome("accepted")
