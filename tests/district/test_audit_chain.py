"""The audit trail's hash chains end to end: a counter's events, hashed by the counter's own
code, reach a real district server, which checks each hash, keeps its own chain without gaps
under concurrent pushes, and names a counter whose trail was cut (`python -m district audit
verify`). The tests run in file order: the last one breaks a device's chain on purpose."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from desktop import wire
from desktop.services.audit_check import verify_audit_chain
from desktop.store import Store, append_audit, mark_all_delivered, open_store, pending_outbox
from district import models
from district.db import Database
from tests.district.conftest import SeededDistrict
from tests.district.harness import CHANGNING_STREET, Counter, outbox, run_district


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    with open_store(tmp_path / "counter.sqlite") as opened:
        yield opened


def _record(store: Store, actor: str, n: int, *, push: bool = True, **detail: Any) -> None:
    with store.session() as session:
        append_audit(session, actor, "application.saved", f"application:A{n}",
                     {"n": n, **detail}, push=push)


def _waiting(store: Store) -> list[wire.OutboxItem]:
    with store.session() as session:
        return [wire.OutboxItem.model_validate(
                    {"idempotency_key": r.idempotency_key, "kind": r.kind,
                     "payload": r.payload, "created_at": r.created_at})
                for r in pending_outbox(session, 500)]


def _push_all(counter: Counter, store: Store) -> list[wire.ItemResult]:
    items = _waiting(store)
    results = counter.push(items)
    with store.session() as session:
        mark_all_delivered(session, {r.idempotency_key: r.model_dump(mode="json")
                                     for r in results})
    return results


def _verify(district: SeededDistrict) -> tuple[int, str]:
    done = run_district("audit", "verify", "--database-url", district.server.database_url)
    assert done.returncode in (0, 1), done.stderr[-3000:]
    return done.returncode, done.stdout


def _rows(district: SeededDistrict, event_ids: list[str]) -> list[models.AuditEvent]:
    db = Database(district.server.database_url)
    try:
        with db.read() as session:
            return list(session.scalars(select(models.AuditEvent)
                                        .where(models.AuditEvent.event_id.in_(event_ids))
                                        .order_by(models.AuditEvent.chain_seq)))
    finally:
        db.dispose()


def test_counters_pushing_at_once_get_one_gapless_chain_and_verify_passes(
        district: SeededDistrict, tmp_path: Path) -> None:
    """Three counters push their hashed events at the same time, several requests each: every
    event is kept with the counter's hashes, numbered without gap or duplicate, and `audit
    verify` finds both chains intact (exit 0)."""
    counters = [district.counter(login=role, pull=False) for role in ("clerk1", "clerk2")]
    counters.append(district.counter(login="clerk1", pull=False))
    stores = [open_store(tmp_path / f"c{n}.sqlite") for n in range(3)]
    try:
        for n, (counter, store) in enumerate(zip(counters, stores, strict=True)):
            assert counter.user is not None
            for k in range(12):
                _record(store, counter.user.username, 100 * n + k, push=k % 4 != 3)
        batches = [[items[i:i + 3] for i in range(0, len(items), 3)]
                   for items in (_waiting(s) for s in stores)]
        answers: dict[int, list[wire.ItemResult]] = {}
        barrier = threading.Barrier(3)

        def push(n: int) -> None:
            barrier.wait()
            answers[n] = [r for batch in batches[n] for r in counters[n].push(batch)]

        threads = [threading.Thread(target=push, args=(n,)) for n in range(3)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(120)
        for n in range(3):
            assert [(r.status, r.detail) for r in answers[n]] == [("accepted", None)] * 9
        for counter, store in zip(counters, stores, strict=True):
            sent = [i.payload for i in _waiting(store)]
            rows = _rows(district, [p["event_id"] for p in sent])
            assert [(r.counter_prev_hash, r.counter_row_hash) for r in rows] == [
                (p["prev_hash"], p["row_hash"]) for p in sent]
            assert {(r.device_id, r.reported_by, r.actor_proven) for r in rows} == {
                (counter.device_id, counter.user.username if counter.user else "", True)}
        seqs = sorted(r.chain_seq for r in _rows(district, [
            i.payload["event_id"] for s in stores for i in _waiting(s)]))
        assert len(set(seqs)) == 27 and all(s is not None for s in seqs)
    finally:
        for store in stores:
            store.close()
    code, output = _verify(district)
    assert code == 0, output
    assert "status: intact" in output and "（审计链完整）" in output


def test_a_hash_that_does_not_match_or_a_huge_detail_is_refused(district: SeededDistrict,
                                                                store: Store) -> None:
    counter = district.counter(login="clerk1", pull=False)
    user = district.user(CHANGNING_STREET, "clerk1")
    _record(store, user, 1)
    (item,) = _waiting(store)
    forged = dict(item.payload, detail={"n": 2})  # the content changed, the hash kept
    result = counter.push_one(outbox("audit_event", wire.AuditEventPayload.model_validate(forged)))
    assert (result.status, result.reason) == ("refused", "audit_hash_mismatch")
    assert result.message and "哈希" in result.message
    huge = wire.AuditEventPayload.model_validate(
        dict(item.payload, detail={"blob": "x" * 8200}, prev_hash=None, row_hash=None))
    result = counter.push_one(outbox("audit_event", huge))
    assert (result.status, result.reason, result.detail) == ("refused", "invalid_payload",
                                                             {"field": "detail"})
    assert counter.push_one(item).status == "accepted"  # the true event still goes in


def test_a_counter_trail_cut_behind_the_triggers_is_kept_and_named(district: SeededDistrict,
                                                                   store: Store) -> None:
    """The attack the counter cannot see by itself: its last event deleted together with its
    outbox copy, the triggers put back. The counter's chains look whole, but the district knows
    the last hash the counter sent: the next event does not link to it. The event is kept
    (nothing is lost) and `audit verify` names it and the PC (exit 1)."""
    counter = district.counter(login="clerk1", pull=False)
    assert counter.user is not None
    for n in range(3):
        _record(store, counter.user.username, n)
    assert [r.status for r in _push_all(counter, store)] == ["accepted"] * 3
    connection = sqlite3.connect(store.path)
    with connection:
        triggers = [sql for (sql,) in connection.execute(
            "SELECT sql FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'audit_event'")]
        connection.execute("DROP TRIGGER audit_event_no_delete")
        last = connection.execute("SELECT max(id), event_id FROM audit_event").fetchone()
        connection.execute("DELETE FROM audit_event WHERE id = ?", (last[0],))
        connection.execute("DELETE FROM outbox WHERE idempotency_key = ?", (last[1],))
        connection.execute("DROP TRIGGER audit_event_no_update")
        for sql in triggers:
            connection.execute(sql)
    connection.close()
    assert verify_audit_chain(store).intact  # the counter alone cannot tell

    _record(store, counter.user.username, 3)
    (after,) = _waiting(store)
    (result,) = _push_all(counter, store)
    assert result.status == "accepted" and result.detail == {"audit_chain": "link_broken"}
    code, output = _verify(district)
    assert code == 1, output
    assert "status: broken" in output and "problem[1]: link_broken" in output
    assert f"event_id: {after.payload['event_id']}" in output
    assert f"device_id: {counter.device_id}" in output
    assert "柜台上的审计记录被删除、插入或改写过" in output
