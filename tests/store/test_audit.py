"""The audit trail is append-only, and each event goes to the district with its action."""

from __future__ import annotations

import pytest
from sqlalchemy import delete, select, text, update
from sqlalchemy.exc import IntegrityError

from desktop.store import Store, append_audit, outbox_waiting_count, pending_outbox
from desktop.store.models import AuditEventRecord


def test_an_event_is_recorded_and_queued_in_the_same_transaction(store: Store) -> None:
    with store.session() as session:
        append_audit(session, "li", "application.save", "application:A1",
                     {"payable": "120.50", "rows": ["F1", "F2"]})
    with store.session() as session:
        event = session.scalars(select(AuditEventRecord)).one()
        assert (event.actor, event.action, event.subject) == ("li", "application.save",
                                                              "application:A1")
        assert event.detail == {"payable": "120.50", "rows": ["F1", "F2"]}
        [item] = pending_outbox(session, 10)
        assert item.kind == "audit_event" and item.idempotency_key == event.event_id
        assert item.payload["detail"] == event.detail
    with pytest.raises(RuntimeError), store.session() as session:
        append_audit(session, "li", "application.save", "application:A2", {})
        raise RuntimeError("the action failed")
    with store.session() as session:
        assert len(session.scalars(select(AuditEventRecord)).all()) == 1
        assert outbox_waiting_count(session) == 1


def test_a_local_event_is_not_queued(store: Store) -> None:
    with store.session() as session:
        append_audit(session, "li", "search", "person", {"query": "张"}, push=False)
        assert outbox_waiting_count(session) == 0


@pytest.mark.parametrize("statement", [
    "UPDATE audit_event SET actor = 'someone else'",
    "DELETE FROM audit_event",
])
def test_the_database_refuses_to_rewrite_or_remove_an_event(store: Store, statement: str) -> None:
    with store.session() as session:
        append_audit(session, "li", "login", "user:li", {})
    with pytest.raises(IntegrityError, match="append-only"), store.session() as session:
        session.execute(text(statement))
    with pytest.raises(IntegrityError, match="append-only"), store.session() as session:
        session.execute(update(AuditEventRecord).values(action="nothing"))
    with pytest.raises(IntegrityError, match="append-only"), store.session() as session:
        session.execute(delete(AuditEventRecord))
    with pytest.raises(IntegrityError, match="append-only"), store.session() as session:
        session.delete(session.scalars(select(AuditEventRecord)).one())
    with store.session() as session:
        event = session.scalars(select(AuditEventRecord)).one()
        assert (event.actor, event.action) == ("li", "login")
