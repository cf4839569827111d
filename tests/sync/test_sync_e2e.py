"""Counters and the district server, for real: a server process on loopback, stores on disk.

POLICY.md §6 / issue 3: pull by cursor, push the outbox exactly once, work offline, and a fee
row is paid once in the whole district — the second counter's claim is refused, never lost.
"""

from __future__ import annotations

import threading
import uuid
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from desktop import wire
from desktop.policy.engine import calculate
from desktop.services.accounts import sign_in
from desktop.services.applications import (
    NothingToClaim,
    SavedApplication,
    record_push_result,
    save_application,
    settled_rows,
)
from desktop.services.policy_values import current_parameters
from desktop.store import Store, case_for, open_store, outbox_waiting_count, search_persons
from desktop.store.models import (
    ApplicationRecord,
    ClaimRecord,
    FeeRowRecord,
    OutboxRecord,
    PersonRecord,
)
from desktop.sync.client import DistrictClient, Offline
from desktop.sync.credentials import MemoryKeyring, load_device_token, save_device_token
from desktop.sync.pull import pull
from desktop.sync.push import push
from desktop.sync.worker import SyncWorker
from tests.sync.conftest import PASSWORD, DistrictServer

TODAY = date.today()


@dataclass
class Counter:
    store: Store
    client: DistrictClient
    clerk: str

    def close(self) -> None:
        self.client.close()
        self.store.close()


def counter(district: DistrictServer, path: Path, code: str, clerk: int = 0) -> Counter:
    client = DistrictClient(district.url)
    registered = client.register(code, f"counter {path.stem}")
    save_device_token(district.url, registered.token, path.stem)
    client.close()
    client = DistrictClient(district.url, lambda: load_device_token(district.url, path.stem))
    username = district.user("clerk", clerk)
    store = open_store(path)
    sign_in(store, client, username, PASSWORD)  # registers the clerk's signing key here
    push(store, client)  # the sign-in's own audit events: the tests count what they save
    return Counter(store, client, username)


def claimable(store: Store, program: str | None = None) -> list[tuple[str, list[str]]]:
    """Persons with unclaimed recent rows: (person id, row ids), most rows first. With
    `program`, only the rows the engine pays something for under it, today, and only persons
    who have such rows: which rows those are depends on the seed, made relative to today."""
    with store.session() as session:
        held = select(ClaimRecord.fee_row_id)
        rows = session.scalars(select(FeeRowRecord).where(
            FeeRowRecord.id.not_in(held),
            FeeRowRecord.date >= date.today() - timedelta(days=150))).all()
        by_person: dict[str, list[str]] = {}
        for row in rows:
            by_person.setdefault(row.person_id, []).append(row.id)
        if program is not None:
            params = current_parameters(store)
            paid: dict[str, list[str]] = {}
            for person_id, ids in by_person.items():
                years = {date.today().year - 1, date.today().year}
                history = settled_rows(session, person_id, program, years)
                case = case_for(session, person_id, program, "changning", date.today(), ids,
                                history)
                counted = [r.id for r in calculate(case, params).rows
                           if r.counts and not r.settled]
                if counted:
                    paid[person_id] = counted
            by_person = paid
    return sorted(by_person.items(), key=lambda kv: -len(kv[1]))


def save_first(c: Counter, candidates: list[tuple[str, list[str]]] | None = None
               ) -> tuple[SavedApplication, str, list[str]]:
    for person_id, rows in candidates or claimable(c.store):
        with c.store.session() as session:
            person = session.get(PersonRecord, person_id)
            assert person is not None
            program = "mutual_aid" if person.mutual_aid_years else "assistance"
        try:
            saved = save_application(c.store, person_id=person_id, program=program,
                                     district="changning", application_date=TODAY,
                                     ticked=rows, handler=c.clerk)
        except NothingToClaim:
            continue
        return saved, person_id, rows
    pytest.fail("the seeded district has no claimable person")


def status_of(store: Store, application_id: uuid.UUID) -> ApplicationRecord:
    with store.session() as session:
        record = session.get(ApplicationRecord, application_id)
        assert record is not None
        session.expunge(record)
        return record


def test_round_trip(district: DistrictServer, memory_keyring: MemoryKeyring,
                    tmp_path: Path) -> None:
    c = counter(district, tmp_path / "a.sqlite", district.codes()[0])
    stats = pull(c.store, c.client, page_size=50)
    assert stats.complete and stats.changes > 0
    with c.store.session() as session:
        persons = session.scalar(select(func.count()).select_from(PersonRecord))
        assert persons and persons > 0
        some = session.scalars(select(PersonRecord)).first()
        assert some is not None
        hits = search_persons(session, some.id_number)
        assert hits and hits[0].person_id == some.id
        assert "*" in hits[0].masked_id_number
    saved, _, _ = save_first(c)
    with c.store.session() as session:
        # the application and its audit event, written with it
        assert outbox_waiting_count(session) == 2
    result = push(c.store, c.client, on_result=record_push_result)
    assert result.accepted == 2 and result.refused == 0, result  # application + audit event
    assert status_of(c.store, saved.application_id).status == "accepted"
    # the claim comes back on the next pull: the rows are now held district-wide
    pull(c.store, c.client)
    with c.store.session() as session:
        held = session.scalars(select(ClaimRecord.status).where(
            ClaimRecord.application_id == saved.application_id)).all()
        assert held and set(held) <= {"claimed", "paid"}
    c.close()


def test_the_token_is_in_the_keyring_not_in_the_database(
    district: DistrictServer, memory_keyring: MemoryKeyring, tmp_path: Path
) -> None:
    c = counter(district, tmp_path / "a.sqlite", district.codes()[0])
    pull(c.store, c.client)
    token = load_device_token(district.url, "a")
    assert token and token in memory_keyring.secrets.values()
    c.close()
    for file in tmp_path.glob("a.sqlite*"):
        assert token.encode() not in file.read_bytes()


def test_re_push_is_applied_once(district: DistrictServer, memory_keyring: MemoryKeyring,
                                 tmp_path: Path) -> None:
    c = counter(district, tmp_path / "a.sqlite", district.codes()[0])
    pull(c.store, c.client)
    saved, _, _ = save_first(c)
    with c.store.session() as session:
        row = session.scalars(select(OutboxRecord).where(OutboxRecord.kind == "application")).one()
        item = wire.OutboxItem.model_validate({
            "idempotency_key": row.idempotency_key, "kind": row.kind, "payload": row.payload,
            "created_at": row.created_at})
    first = c.client.push([item]).results[0]
    again = c.client.push([item]).results[0]  # e.g. the answer was lost and the counter retries
    assert first.status == "accepted"
    assert again.status == "duplicate"
    push(c.store, c.client, on_result=record_push_result)  # the outbox still had it
    assert status_of(c.store, saved.application_id).status == "accepted"
    c.close()


def test_two_counters_claim_the_same_row_offline(
    district: DistrictServer, memory_keyring: MemoryKeyring, tmp_path: Path
) -> None:
    a = counter(district, tmp_path / "a.sqlite", district.codes()[0])
    b = counter(district, tmp_path / "b.sqlite", district.codes()[1], clerk=1)
    pull(a.store, a.client)
    pull(b.store, b.client)
    # both counters are offline and the same person comes to each with the same receipts
    saved_a, person, rows = save_first(a)
    saved_b, _, _ = save_first(b, [(person, rows)])
    push(a.store, a.client, on_result=record_push_result)
    stats = push(b.store, b.client, on_result=record_push_result)
    assert stats.refused == 1
    assert status_of(a.store, saved_a.application_id).status == "accepted"
    loser = status_of(b.store, saved_b.application_id)
    assert loser.status == "review"  # kept, flagged, with the server's reason
    assert loser.server_reason == "already_claimed"
    assert loser.server_message
    with b.store.session() as session:
        outbox = session.scalars(select(OutboxRecord).where(
            OutboxRecord.kind == "application")).one()
        assert outbox.result is not None and outbox.result["detail"]["application_id"] == \
            str(saved_a.application_id)
    a.close()
    b.close()


def test_offline_then_online(district: DistrictServer, memory_keyring: MemoryKeyring,
                             tmp_path: Path) -> None:
    a = counter(district, tmp_path / "a.sqlite", district.codes()[0])
    pull(a.store, a.client)
    a.client.close()
    dead = DistrictClient(f"http://127.0.0.1:{district.port + 1}" if district.port < 65000
                          else "http://127.0.0.1:9",
                          lambda: load_device_token(district.url, "a"), timeout=2)
    worker = SyncWorker(a.store, dead, on_result=record_push_result)
    saved, _, _ = save_first(a)  # the counter keeps working
    status = worker.sync_now()
    assert not status.online and status.waiting == 2 and status.last_error
    with pytest.raises(Offline):
        push(a.store, dead)
    # the network is back
    live = DistrictClient(district.url, lambda: load_device_token(district.url, "a"))
    live.login(a.clerk, PASSWORD)
    worker = SyncWorker(a.store, live, on_result=record_push_result)
    status = worker.sync_now()
    assert status.online and status.waiting == 0 and status.last_error is None
    assert status_of(a.store, saved.application_id).status == "accepted"
    dead.close()
    live.close()
    a.store.close()


def test_interrupted_pull_resumes_without_gaps_or_duplicates(
    district: DistrictServer, memory_keyring: MemoryKeyring, tmp_path: Path
) -> None:
    a = counter(district, tmp_path / "a.sqlite", district.codes()[0])
    whole = pull(a.store, a.client, page_size=5000)
    b = counter(district, tmp_path / "b.sqlite", district.codes()[1], clerk=1)
    cancel = threading.Event()
    seen: list[tuple[int, int]] = []

    def stop_after_two_pages(done: int, total: int) -> None:
        seen.append((done, total))
        if len(seen) == 2:
            cancel.set()

    first = pull(b.store, b.client, page_size=7, progress=stop_after_two_pages, cancel=cancel)
    assert not first.complete and first.changes == 14
    assert seen[0] == (7, whole.changes)  # progress: rows done / total
    rest = pull(b.store, b.client, page_size=7)
    assert rest.complete and first.changes + rest.changes == whole.changes
    assert _snapshot(a.store) == _snapshot(b.store)
    a.close()
    b.close()


def _snapshot(store: Store) -> dict[str, list[str]]:
    with store.session() as session:
        return {
            "persons": sorted(session.scalars(select(PersonRecord.id))),
            "fee_rows": sorted(f"{r.id}:{r.self_pay}:{r.claim_status}" for r in
                               session.scalars(select(FeeRowRecord))),
        }


def test_an_answer_is_recorded_when_the_next_request_fails(
    district: DistrictServer, memory_keyring: MemoryKeyring, tmp_path: Path
) -> None:
    """Push records one request's answer while the district works on the next (desktop.sync.
    push): when the next one fails, the answer before it is still recorded, the rest waits with
    the failure noted, and pushing again later sends only what was not answered."""
    c = counter(district, tmp_path / "a.sqlite", district.codes()[0])
    pull(c.store, c.client)
    saved: list[SavedApplication] = []
    candidates = claimable(c.store)
    for _ in range(3):  # three persons
        application, person, _ = save_first(c, candidates)
        candidates = [(p, rows) for p, rows in candidates if p != person]
        saved.append(application)
    with c.store.session() as session:
        order = [(r.kind, r.payload.get("application_id")) for r in session.scalars(
            select(OutboxRecord).where(OutboxRecord.delivered_at.is_(None))
            .order_by(OutboxRecord.id))]
    assert order[0] == ("application", str(saved[0].application_id))
    answered: list[int] = []

    def server_dies_after_the_first_answer(sent: int, total: int) -> None:
        answered.append(sent)
        district.kill()

    with pytest.raises(Offline):
        push(c.store, c.client, batch=1, progress=server_dies_after_the_first_answer,
             on_result=record_push_result)
    assert answered == [1]
    assert status_of(c.store, saved[0].application_id).status == "accepted"
    assert status_of(c.store, saved[1].application_id).status == "saved"
    with c.store.session() as session:
        rows = list(session.scalars(select(OutboxRecord).order_by(OutboxRecord.id)))
        waiting = [r for r in rows if r.delivered_at is None]
        assert len(waiting) == len(order) - 1
        assert waiting[0].attempts == 1 and waiting[0].last_error  # the failed request's item
        assert all(r.attempts == 0 for r in waiting[1:])  # never sent
    district.start()
    stats = push(c.store, c.client, batch=2, on_result=record_push_result)
    assert (stats.sent, stats.duplicates) == (len(order) - 1, 0)
    records = [status_of(c.store, s.application_id) for s in saved]
    assert [r.status for r in records] == ["accepted"] * 3, [r.server_message for r in records]
    c.close()
