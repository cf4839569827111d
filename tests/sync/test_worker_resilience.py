"""The sync worker never dies (issue 9 point 8): whatever a cycle meets, it shows the error in
Chinese with the count still waiting, backs off, and the next cycle after the fault succeeds.

The faults are real: a server on loopback that answers /changes with a page the counter cannot
apply, and a store whose database is full (SQLite's own SQLITE_FULL, through a page limit set on
its connections, as a full disk would give).
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

import pytest
from sqlalchemy import event, func, select

from desktop import wire
from desktop.store import Store, append_audit, get_cursor, open_store, outbox_waiting_count
from desktop.store.local_state import latest_seen_at
from desktop.store.models import InstitutionRecord, PersonRecord, TombstoneRecord
from desktop.sync.client import DistrictClient
from desktop.sync.pull import STREAM
from desktop.sync.worker import DISK_FULL, OFFLINE, SyncStatus, SyncWorker, backoff_delay
from tests.sync.conftest import PASSWORD, DistrictServer, free_port

SEEN = datetime(2026, 9, 1, 4, 0, tzinfo=UTC)  # the worker's clock in these tests


def wait_for(condition: Callable[[], bool], timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


def queue_audit_events(store: Store, count: int) -> None:
    """Outbox items waiting to be pushed, as any counter action leaves them."""
    with store.session() as session:
        for n in range(count):
            append_audit(session, "huayang.clerk1", "test.event", f"test:{n}", {"n": n})


def cursor_of(store: Store) -> int:
    with store.read_session() as session:
        return get_cursor(session, STREAM)


def count(store: Store, model: type[Any]) -> int:
    with store.read_session() as session:
        return int(session.scalar(select(func.count()).select_from(model)) or 0)


def waiting(store: Store) -> int:
    with store.read_session() as session:
        return outbox_waiting_count(session)


# -- a server that sends a malformed page ----------------------------------------------------------

INSTITUTION = {"code": "H-0001", "name": "长宁区中心医院", "level": 2, "in_shanghai": True}
BAD_PERSON = {"id": "P-1", "name": "张三"}  # an upsert of a person lacking most of its fields


class ChangesServer:
    """A loopback HTTP server speaking the district's /changes and /push, serving `changes`.

    The real district never sends a malformed change; this one sends what the test gives it.
    /push answers every item accepted, or (`fail_push`) answers for none of them.
    """

    def __init__(self) -> None:
        self.changes: list[dict[str, Any]] = []
        self.fail_push = False
        self.requests: list[str] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *_args: object) -> None:
                pass

            def _send(self, body: dict[str, Any]) -> None:
                raw = json.dumps(body, ensure_ascii=False).encode("utf-8")
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(raw)))
                self.end_headers()
                self.wfile.write(raw)

            def do_GET(self) -> None:
                url = urlparse(self.path)
                outer.requests.append(url.path)
                assert url.path == f"{wire.API_PREFIX}/changes", url.path
                cursor = int(parse_qs(url.query)["cursor"][0])
                items = [c for c in outer.changes if c["seq"] > cursor]
                last = max([cursor] + [c["seq"] for c in items])
                self._send({"items": items, "next_cursor": last, "more": False,
                            "total": len(items)})

            def do_POST(self) -> None:
                outer.requests.append(self.path)
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                items = [] if outer.fail_push else body["items"]
                self._send({"results": [{"idempotency_key": item["idempotency_key"],
                                         "status": "accepted"} for item in items]})

        self.http = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.http.server_address[1]}"
        self.thread = threading.Thread(target=self.http.serve_forever, daemon=True)

    def __enter__(self) -> ChangesServer:
        self.thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.http.shutdown()
        self.http.server_close()


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    with open_store(tmp_path / "counter.sqlite") as opened:
        yield opened


def test_a_malformed_page_is_not_half_applied_and_the_worker_lives_on(store: Store) -> None:
    queue_audit_events(store, 3)
    statuses: list[SyncStatus] = []
    with ChangesServer() as server, DistrictClient(server.url, timeout=5) as client:
        # a delete in the page takes the change-by-change path: the institution and the
        # tombstone are flushed before the bad person is met, and must be rolled back
        server.changes = [
            {"seq": 1, "entity": "institution", "key": "H-0001", "op": "upsert",
             "data": INSTITUTION},
            {"seq": 2, "entity": "claim", "key": "F-9", "op": "delete", "data": None},
            {"seq": 3, "entity": "person", "key": "P-1", "op": "upsert", "data": BAD_PERSON},
        ]
        worker = SyncWorker(store, client, interval=3600, on_status=statuses.append,
                            clock=lambda: SEEN)
        worker.start()
        try:
            wait_for(lambda: worker.status.last_error is not None)
            status = worker.status
            assert worker.is_alive()
            assert status.last_error == ("区服务器发来的变更有误（序号 1–3），"
                                         "这一页没有写入本机，稍后自动重试。")
            assert status.online  # the server answered; what it said was wrong
            assert status.failures == 1 and status.retry_at is not None
            # the push went first and was delivered; nothing of the page was written
            assert status.waiting == waiting(store) == 0
            assert count(store, InstitutionRecord) == 0  # the valid changes before the bad one
            assert count(store, TombstoneRecord) == 0
            assert cursor_of(store) == 0
            with store.read_session() as session:
                assert latest_seen_at(session) is None  # only a good cycle records the time

            # the district fixes its feed; a save wakes the worker before its back-off ends
            server.changes[2] = {"seq": 3, "entity": "person", "key": "P-1", "op": "delete",
                                 "data": None}
            queue_audit_events(store, 2)
            worker.wake()
            wait_for(lambda: worker.status.last_error is None)
            status = worker.status
            assert worker.is_alive()
            assert (status.online, status.waiting, status.failures, status.retry_at) == (
                True, 0, 0, None)
            assert status.last_sync is not None
            assert count(store, InstitutionRecord) == 1
            assert count(store, TombstoneRecord) == 2
            assert cursor_of(store) == 3
            with store.read_session() as session:
                assert latest_seen_at(session) == SEEN
        finally:
            worker.stop()
        assert not worker.is_alive()
    assert any(s.last_error for s in statuses) and statuses[-1].last_error is None


def test_a_page_that_is_not_a_changes_page_is_shown_and_survived(store: Store) -> None:
    """A body that is not a ChangesPage at all (a change without its seq)."""
    with ChangesServer() as server, DistrictClient(server.url, timeout=5) as client:
        server.changes = [{"seq": 1, "entity": "institution", "key": "H-0001", "op": "upsert",
                           "data": INSTITUTION}, {"entity": "institution", "seq": 2}]
        worker = SyncWorker(store, client)
        status = worker.sync_now()
        assert status.last_error is not None and "区服务器的应答无法识别" in status.last_error
        assert count(store, InstitutionRecord) == 0 and cursor_of(store) == 0


# -- a full disk --------------------------------------------------------------------------------

class FullDisk:
    """The store's database can grow no more: every connection's `max_page_count` is its size,
    so SQLite answers SQLITE_FULL ("database or disk is full") to a write that needs a page."""

    def __init__(self, store: Store) -> None:
        self.store = store

    @staticmethod
    def _limit(dbapi_connection: Any, _record: Any) -> None:
        (pages,) = dbapi_connection.execute("PRAGMA page_count").fetchone()
        dbapi_connection.execute(f"PRAGMA max_page_count = {pages}")

    def __enter__(self) -> FullDisk:
        event.listen(self.store.engine, "connect", self._limit)
        self.store.engine.dispose()  # the pooled connections go; new ones get the limit
        return self

    def remove(self) -> None:
        event.remove(self.store.engine, "connect", self._limit)
        self.store.engine.dispose()

    def __exit__(self, *_exc: object) -> None:
        if event.contains(self.store.engine, "connect", self._limit):
            self.remove()


@pytest.fixture
def online(district: DistrictServer) -> Iterator[DistrictClient]:
    with DistrictClient(district.url) as client:
        registered = client.register(district.codes()[0], "resilience tests")
    with DistrictClient(district.url, lambda: registered.token, timeout=10) as client:
        client.login(district.user("clerk"), PASSWORD)
        yield client


def test_a_full_disk_is_shown_with_the_waiting_count_and_the_next_cycle_succeeds(
        store: Store, online: DistrictClient) -> None:
    queue_audit_events(store, 120)
    statuses: list[SyncStatus] = []
    worker = SyncWorker(store, online, interval=3600, on_status=statuses.append,
                        clock=lambda: SEEN)
    with FullDisk(store) as full:
        with pytest.raises(Exception, match="database or disk is full"):
            queue_audit_events(store, 200)  # the fault is real: the counter cannot save either
        worker.start()
        try:
            wait_for(lambda: worker.status.last_error is not None, timeout=60)
            status = worker.status
            assert worker.is_alive()
            assert status.last_error == DISK_FULL
            # the district took the push, but its answers could not be recorded: still waiting
            assert status.waiting == waiting(store) == 120
            assert status.failures == 1 and status.retry_at is not None
            assert cursor_of(store) == 0 and count(store, PersonRecord) == 0  # nothing half-done

            full.remove()
            queue_audit_events(store, 1)
            worker.wake()
            wait_for(lambda: worker.status.last_error is None, timeout=60)
            status = worker.status
            assert worker.is_alive() and status.online and status.failures == 0
            assert status.waiting == waiting(store) == 0  # answered "duplicate" this time
            assert cursor_of(store) > 0 and count(store, PersonRecord) > 0
            with store.read_session() as session:
                assert latest_seen_at(session) == SEEN
        finally:
            worker.stop()
    assert not worker.is_alive()
    errors = [s.last_error for s in statuses if s.last_error]
    assert errors and set(errors) == {DISK_FULL}


# -- back-off ------------------------------------------------------------------------------

@pytest.mark.parametrize(("failures", "delay"), [
    (0, 0.0), (1, 1.0), (2, 2.0), (3, 4.0), (9, 256.0), (10, 300.0), (11, 300.0),
    (10_000, 300.0),
])
def test_back_off_doubles_from_one_second_up_to_five_minutes(failures: int, delay: float
                                                             ) -> None:
    assert backoff_delay(failures) == delay


def test_offline_cycles_back_off_and_a_wake_still_tries_at_once(store: Store) -> None:
    queue_audit_events(store, 4)
    statuses: list[SyncStatus] = []
    with DistrictClient(f"http://127.0.0.1:{free_port()}", timeout=2) as dead:
        worker = SyncWorker(store, dead, interval=3600, backoff_first=0.05, backoff_max=0.2,
                            on_status=statuses.append)
        worker.start()
        try:
            wait_for(lambda: worker.status.failures >= 5)
            status = worker.status
            assert worker.is_alive()
            assert (status.online, status.last_error, status.waiting) == (False, OFFLINE, 4)
            failures = [s.failures for s in statuses]
            assert failures[:5] == [1, 2, 3, 4, 5]  # one status per failed cycle, counted
        finally:
            worker.stop()
    # a long back-off: a wake (an application saved) tries at once all the same
    with DistrictClient(f"http://127.0.0.1:{free_port()}", timeout=2) as dead:
        worker = SyncWorker(store, dead, interval=3600, backoff_first=600, backoff_max=600)
        worker.start()
        try:
            wait_for(lambda: worker.status.failures == 1)
            retry_at = worker.status.retry_at
            assert retry_at is not None and retry_at - datetime.now(UTC) > timedelta(minutes=9)
            worker.wake()
            wait_for(lambda: worker.status.failures == 2, timeout=10)
        finally:
            worker.stop()


def test_a_failing_status_listener_does_not_stop_the_sync(store: Store) -> None:
    calls: list[SyncStatus] = []

    def broken(status: SyncStatus) -> None:
        calls.append(status)
        raise RuntimeError("a listener's bug")

    with DistrictClient(f"http://127.0.0.1:{free_port()}", timeout=2) as dead:
        worker = SyncWorker(store, dead, backoff_first=0.05, backoff_max=0.05, on_status=broken)
        worker.start()
        try:
            wait_for(lambda: len(calls) >= 3)
            assert worker.is_alive()
        finally:
            worker.stop()
