"""The audit trail is append-only, each event goes to the district with its action, and its
hash chains show a row changed, removed or slipped in behind the triggers' back."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import pytest
from sqlalchemy import delete, select, text, update
from sqlalchemy.exc import IntegrityError

from desktop.domain.audit_chain import LOCAL, SENT, AuditContent, audit_row_hash
from desktop.services.audit_check import verify_audit_chain
from desktop.store import Store, append_audit, open_store, outbox_waiting_count, pending_outbox
from desktop.store.database import create_store_engine, run_migrations
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


# -- the hash chains (issue 9) -------------------------------------------------------------------

def _rows(store: Store) -> list[AuditEventRecord]:
    with store.session() as session:
        return list(session.scalars(select(AuditEventRecord).order_by(AuditEventRecord.id)))


def _content(row: AuditEventRecord) -> AuditContent:
    return AuditContent(str(row.event_id), row.at, row.actor, row.action, row.subject, row.detail)


def _five_events(store: Store) -> list[AuditEventRecord]:
    with store.session() as session:
        append_audit(session, "li", "user.signed_in", "user:li", {})
        append_audit(session, "li", "receipt.scanned", "scan:1", {"text": "QR"}, push=False)
        append_audit(session, "li", "application.saved", "application:A1",
                     {"payable": "120.50", "rows": ["F1", "F2"], "ratio": 0.1, "n": 2**60})
        append_audit(session, "district", "application.reviewed", "application:A1",
                     {"detail": {}}, push=False)
        append_audit(session, "wang", "application.reviewed", "application:A1", {"名": "王"})
    return _rows(store)


def test_each_event_is_hashed_into_its_chain_and_sent_with_its_hashes(store: Store) -> None:
    """Sent events chain to the previous sent one (so the district can check every link it
    receives), local ones to the previous local one; the outbox carries the hashes."""
    rows = _five_events(store)
    sent, local = [rows[0], rows[2], rows[4]], [rows[1], rows[3]]
    for chain, members in ((SENT, sent), (LOCAL, local)):
        previous = None
        for row in members:
            assert row.prev_hash == previous
            assert row.row_hash == audit_row_hash(_content(row), previous, chain)
            previous = row.row_hash
    with store.session() as session:
        payloads = [item.payload for item in pending_outbox(session, 10)]
    assert [(p["event_id"], p["prev_hash"], p["row_hash"]) for p in payloads] == [
        (str(r.event_id), r.prev_hash, r.row_hash) for r in sent]
    check = verify_audit_chain(store)
    assert check.intact and check.rows == 5, check.problem
    assert (check.sent_head, check.local_head) == (rows[4].row_hash, rows[3].row_hash)


def test_the_chain_restarts_where_the_counter_left_it(store: Store) -> None:
    """Appending after a check reads the chains' heads again: the next row links to them."""
    rows = _five_events(store)
    with store.session() as session:
        append_audit(session, "li", "user.signed_in", "user:li", {})
    last = _rows(store)[-1]
    assert last.prev_hash == rows[4].row_hash
    assert verify_audit_chain(store).intact


def test_rows_from_before_the_chain_are_hashed_by_the_migration(tmp_path: Path) -> None:
    """Migration 0009 hashes the rows written before it, each into its chain, and puts the
    append-only trigger back."""
    path = tmp_path / "store.sqlite"
    engine = create_store_engine(path)
    run_migrations(engine, "0008")
    ids = [uuid.uuid4() for _ in range(3)]
    with engine.begin() as connection:
        for n, event_id in enumerate(ids):
            connection.execute(text(
                "INSERT INTO audit_event (event_id, at, actor, action, subject, detail) "
                "VALUES (:e, :at, 'li', 'old', 'user:li', :d)"),
                {"e": event_id.hex, "at": f"2026-11-0{n + 1}T02:00:00.000000+00:00",
                 "d": json.dumps({"n": n, "名": "李"}, ensure_ascii=False)})
        connection.execute(text(
            "INSERT INTO outbox (idempotency_key, kind, payload, created_at, attempts) "
            "VALUES (:k, 'audit_event', :p, '2026-11-02T02:00:00.000000+00:00', 0)"),
            {"k": ids[1].hex, "p": json.dumps({"event_id": str(ids[1])})})
    run_migrations(engine)
    engine.dispose()
    with open_store(path) as store:
        rows = _rows(store)
        assert all(r.row_hash for r in rows)
        assert (rows[0].prev_hash, rows[1].prev_hash, rows[2].prev_hash) == (
            None, None, rows[0].row_hash)  # 0 and 2 local, 1 sent
        assert verify_audit_chain(store).intact
        with pytest.raises(IntegrityError, match="append-only"), store.session() as session:
            session.execute(text("UPDATE audit_event SET actor = 'x'"))
        with store.session() as session:
            append_audit(session, "li", "user.signed_in", "user:li", {})
        assert _rows(store)[-1].prev_hash == rows[1].row_hash
        assert verify_audit_chain(store).intact

