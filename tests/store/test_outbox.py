"""The outbox: written in the change's transaction, pushed in order, outcomes recorded."""

from __future__ import annotations

import random
import uuid
from datetime import UTC, datetime
from typing import Any

import pytest
from pydantic import ValidationError
from sqlalchemy import func, select

from desktop.store import (
    Store,
    UnknownOutboxItem,
    apply_changes,
    enqueue,
    mark_all_delivered,
    mark_attempt_failed,
    mark_delivered,
    outbox_waiting_count,
    pending_outbox,
)
from desktop.store.models import ApplicationRecord, ApplicationRowRecord, OutboxRecord, PersonRecord
from tests.store.conftest import person_data, upsert


def signature(app_id: uuid.UUID, role: str = "handler", username: str = "li") -> dict[str, Any]:
    return {"application_id": app_id, "role": role, "username": username,
            "signed_at": datetime(2026, 3, 2, 9, 0, tzinfo=UTC)}


def test_enqueue_returns_the_key_and_stores_the_payload_as_json(store: Store) -> None:
    app_id = uuid.uuid4()
    with store.session() as session:
        key = enqueue(session, "signature", signature(app_id))
    with store.session() as session:
        [item] = pending_outbox(session, 10)
        assert item.idempotency_key == key and item.kind == "signature"
        assert item.payload == {"application_id": str(app_id), "role": "handler",
                                "username": "li", "signed_at": "2026-03-02T09:00:00Z",
                                "card_confirmed": False, "proof": None}
        assert (item.attempts, item.delivered_at) == (0, None)


def test_the_change_and_its_outbox_item_commit_together_or_not_at_all(
        store: Store, rnd: random.Random) -> None:
    app_id = uuid.uuid4()
    with pytest.raises(RuntimeError), store.session() as session:
        apply_changes(session, [upsert("person", "P1", person_data(rnd, "P1", "张三"))])
        session.add(ApplicationRecord(id=app_id, program="assistance", district="changning",
                                      person_id="P1", created_by="li",
                                      rows=[ApplicationRowRecord(fee_row_id="F1")]))
        enqueue(session, "signature", signature(app_id))
        assert outbox_waiting_count(session) == 1
        raise RuntimeError("the printer jammed before the commit")
    with store.session() as session:
        assert outbox_waiting_count(session) == 0
        assert session.get(ApplicationRecord, app_id) is None
        assert session.get(PersonRecord, "P1") is None
    with store.session() as session:
        session.add(ApplicationRecord(id=app_id, program="assistance", district="changning",
                                      person_id="P1", created_by="li"))
        enqueue(session, "signature", signature(app_id))
    with store.session() as session:
        assert outbox_waiting_count(session) == 1
        assert session.get(ApplicationRecord, app_id) is not None


def test_items_are_pushed_in_order_and_outcomes_recorded(store: Store) -> None:
    with store.session() as session:
        keys = [enqueue(session, "signature", signature(uuid.uuid4())) for _ in range(5)]
    with store.session() as session:
        assert [i.idempotency_key for i in pending_outbox(session, 3)] == keys[:3]
        mark_attempt_failed(session, keys[0], "connection refused")
        mark_attempt_failed(session, keys[0], "timeout")
        mark_delivered(session, keys[1], {"status": "refused", "reason": "already_claimed"})
    with store.session() as session:
        assert [i.idempotency_key for i in pending_outbox(session, 10)] == \
            [keys[0], *keys[2:]]
        assert outbox_waiting_count(session) == 4
        failed = session.scalar(select(OutboxRecord).where(
            OutboxRecord.idempotency_key == keys[0]))
        assert failed is not None
        assert (failed.attempts, failed.last_error) == (2, "timeout")
        assert failed.last_attempt_at is not None
        done = session.scalar(select(OutboxRecord).where(OutboxRecord.idempotency_key == keys[1]))
        assert done is not None and done.delivered_at is not None
        assert done.result == {"status": "refused", "reason": "already_claimed"}
        assert done.attempts == 1


def test_a_batch_of_answers_is_recorded_together(store: Store) -> None:
    with store.session() as session:
        keys = [enqueue(session, "signature", signature(uuid.uuid4())) for _ in range(1200)]
    answers = {k: {"status": "accepted", "n": n} for n, k in enumerate(keys[:1100])}
    with pytest.raises(UnknownOutboxItem), store.session() as session:
        mark_all_delivered(session, {**answers, uuid.uuid4(): {}})  # one not ours: none marked
    with store.session() as session:
        assert outbox_waiting_count(session) == 1200
        mark_all_delivered(session, answers)
    with store.session() as session:
        assert [i.idempotency_key for i in pending_outbox(session, 500)] == keys[1100:]
        last = session.scalar(select(OutboxRecord).where(
            OutboxRecord.idempotency_key == keys[1099]))
        assert last is not None and last.result == {"status": "accepted", "n": 1099}


def test_a_key_is_used_once(store: Store) -> None:
    key = uuid.uuid4()
    with pytest.raises(Exception, match="UNIQUE"), store.session() as session:
        enqueue(session, "signature", signature(uuid.uuid4()), key=key)
        enqueue(session, "signature", signature(uuid.uuid4()), key=key)


def test_a_malformed_item_is_refused_when_saved(store: Store) -> None:
    with store.session() as session:
        with pytest.raises(ValueError, match="unknown outbox kind"):
            enqueue(session, "telegram", {})
        with pytest.raises(ValidationError):
            enqueue(session, "signature", {"role": "handler"})
        with pytest.raises(UnknownOutboxItem):
            mark_delivered(session, uuid.uuid4(), {})
        assert session.scalar(select(func.count()).select_from(OutboxRecord)) == 0
