"""Faults, for real: a counter process killed with SIGKILL at random moments, and a district
server killed in the middle of a push and started again on the same database.

Whatever was confirmed saved is there once, locally and on the district; nothing is left
waiting after the next sync; no fee row is claimed twice (the issue's acceptance points).
"""

from __future__ import annotations

import os
import random
import signal
import sqlite3
import subprocess
import sys
import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import IO, Any

from sqlalchemy import Engine, create_engine, select, text

from desktop.services.accounts import sign_in
from desktop.services.applications import record_push_result
from desktop.store import Store, open_store, outbox_waiting_count
from desktop.store.models import ApplicationRecord, OutboxRecord
from desktop.sync.client import DistrictClient, Offline
from desktop.sync.pull import pull
from desktop.sync.push import push
from tests.sync import fault_counter
from tests.sync.conftest import PASSWORD, ROOT, DistrictServer, seed_and_serve

CYCLES = 100  # save-and-sync cycles attempted: SAVED lines plus kills
KILL_WINDOW = 0.300  # seconds after the counter is ready
EARLY_KILLS = 0.15  # share of runs killed while the counter starts (store opening, login)
CHILD_TIMEOUT = 60.0


@dataclass
class Device:
    server: DistrictServer
    store_path: Path
    device_id: str
    token: str
    clerk: str

    def client(self) -> DistrictClient:
        client = DistrictClient(self.server.url, lambda: self.token, timeout=10)
        client.login(self.clerk, PASSWORD)
        return client

    def env(self) -> dict[str, str]:
        return {**os.environ, "PYTHONUNBUFFERED": "1",
                fault_counter.ENV_STORE: str(self.store_path),
                fault_counter.ENV_URL: self.server.url,
                fault_counter.ENV_TOKEN: self.token,
                fault_counter.ENV_CLERK: self.clerk,
                fault_counter.ENV_PASSWORD: PASSWORD}


def enrol(server: DistrictServer, store_path: Path) -> Device:
    """Register a counter, log its clerk in and fill its cache with a first pull."""
    with DistrictClient(server.url) as client:
        registered = client.register(server.codes()[0], f"counter {store_path.stem}")
    device = Device(server, store_path, registered.device_id, registered.token,
                    server.user("clerk"))
    client = device.client()
    store = open_store(store_path)
    try:
        # the clerk signs in here once (the signing key registered), and the sign-in's own
        # audit events are delivered, so what the tests count is only what they save
        sign_in(store, client, device.clerk, PASSWORD)
        push(store, client)
        assert pull(store, client).complete
    finally:
        client.close()
        store.close()
    return device


# -- the counter process -----------------------------------------------------------------------

@dataclass
class Run:
    """One counter process and what it has said so far."""

    process: subprocess.Popen[str]
    lines: list[str] = field(default_factory=list)
    ready: threading.Event = field(default_factory=threading.Event)
    reader: threading.Thread | None = None

    def read(self) -> None:
        stdout = self.process.stdout
        assert stdout is not None
        for line in stdout:
            self.lines.append(line.rstrip("\n"))
            if line.startswith("READY"):
                self.ready.set()

    def finish(self) -> None:
        """Wait for the process (already dead or about to exit) and for its last lines."""
        self.process.wait(CHILD_TIMEOUT)
        if self.reader is not None:
            self.reader.join(CHILD_TIMEOUT)
            assert not self.reader.is_alive(), "the counter's output never ended"

    def saved(self) -> list[uuid.UUID]:
        return [uuid.UUID(line.split()[1]) for line in self.lines if line.startswith("SAVED ")]

    def duplicates(self) -> int:
        """Items the district answered 'duplicate': it had applied them before a kill."""
        pushed = [dict(w.split("=") for w in line.split()[1:]) for line in self.lines
                  if line.startswith("PUSHED ")]
        return sum(int(p["duplicates"]) for p in pushed)

    def phase(self) -> str:
        """Where the counter was when it stopped, from its last line."""
        last = self.lines[-1].split()[0] if self.lines else "START"
        return {"START": "starting", "READY": "saving", "SYNCED": "saving",
                "SAVED": "pushing", "PUSHED": "pulling"}.get(last, last)


def spawn(device: Device, mode: str, log: IO[bytes]) -> Run:
    process = subprocess.Popen(
        [sys.executable, "-m", "tests.sync.fault_counter", mode],
        cwd=ROOT, env=device.env(), stdout=subprocess.PIPE, stderr=log, text=True)
    run = Run(process)
    run.reader = threading.Thread(target=run.read, daemon=True)
    run.reader.start()
    return run


def stop(run: Run) -> None:
    if run.process.poll() is None:
        run.process.send_signal(signal.SIGKILL)
    run.finish()


def log_tail(path: Path) -> str:
    return path.read_text(errors="replace")[-3000:]


# -- what must hold after the faults -----------------------------------------------------------

def server_rows(server: DistrictServer, query: str, **params: Any) -> list[tuple[Any, ...]]:
    engine = create_engine(server.database_url)
    try:
        with engine.connect() as connection:
            return [tuple(row) for row in connection.execute(text(query), params)]
    finally:
        engine.dispose()


def check_sqlite_file(path: Path) -> None:
    connection = sqlite3.connect(path)
    try:
        assert connection.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        assert connection.execute("PRAGMA foreign_key_check").fetchall() == []
    finally:
        connection.close()


def check_all_delivered_once(device: Device, confirmed: set[uuid.UUID]) -> int:
    """Every local application is accepted, once, on the district and here; the outbox is
    empty; every confirmed application is among them. Returns how many applications there are.
    """
    check_sqlite_file(device.store_path)
    check_sqlite_file(Path(device.server.database_url.removeprefix("sqlite:///")))
    store = open_store(device.store_path)
    try:
        with store.session() as session:
            local = {a.id: a for a in session.scalars(select(ApplicationRecord))}
            rows = {a.id: sorted(r.fee_row_id for r in a.rows) for a in local.values()}
            outbox = list(session.scalars(select(OutboxRecord).order_by(OutboxRecord.id)))
            waiting = outbox_waiting_count(session)
    finally:
        store.close()

    # locally: each confirmed application is there, with exactly one outbox item, accepted
    missing = confirmed - set(local)
    assert not missing, f"confirmed saved but gone: {sorted(map(str, missing))}"
    carried = [uuid.UUID(str(o.payload["application_id"])) for o in outbox
               if o.kind == "application"]
    assert sorted(carried) == sorted(local), "each application has exactly one outbox item"
    assert waiting == 0, f"{waiting} outbox items still waiting after the final sync"
    stuck = {str(a.id): (a.status, a.server_reason, a.server_message) for a in local.values()
             if a.status != "accepted"}
    assert not stuck, f"applications not accepted after the final sync: {stuck}"
    verdicts: dict[str, set[str]] = {}
    for o in outbox:
        assert o.result is not None and o.delivered_at is not None
        verdicts.setdefault(o.kind, set()).add(str(o.result["status"]))
    for kind, statuses in verdicts.items():
        assert statuses <= {"accepted", "duplicate"}, (kind, statuses)

    # on the district: the same applications, once each, with exactly their rows claimed
    d = {"d": device.device_id}
    on_server = [r[0] for r in server_rows(
        device.server, "SELECT id FROM applications WHERE device_id = :d", **d)]
    assert len(on_server) == len(set(on_server))
    assert sorted(on_server) == sorted(str(i) for i in local), \
        "the district's applications from this counter are not the counter's"
    doubled = server_rows(device.server, "SELECT fee_row_id, count(*) FROM claims "
                          "GROUP BY fee_row_id HAVING count(*) > 1")
    assert doubled == [], f"fee rows claimed twice: {doubled}"
    claimed: dict[str, list[str]] = {}
    for fee_row_id, application_id in server_rows(
            device.server, "SELECT fee_row_id, application_id FROM claims WHERE device_id = :d",
            **d):
        claimed.setdefault(application_id, []).append(fee_row_id)
    assert {a: sorted(r) for a, r in claimed.items()} == \
        {str(i): r for i, r in rows.items()}, "the claims are not the applications' rows"
    pushed = server_rows(device.server, "SELECT idempotency_key, kind, status FROM push_items "
                         "WHERE device_id = :d", **d)
    assert sorted((k, kind) for k, kind, _ in pushed) == \
        sorted((str(o.idempotency_key), o.kind) for o in outbox), \
        "the district applied other items than the outbox held"
    assert {s for _, _, s in pushed} == {"accepted"}
    events = [r[0] for r in server_rows(
        device.server, "SELECT event_id FROM audit_events WHERE device_id = :d", **d)]
    assert sorted(events) == sorted(str(o.idempotency_key) for o in outbox
                                    if o.kind == "audit_event")
    return len(local)


# -- 1. the counter killed at random moments ---------------------------------------------------

def test_counter_killed_at_random_moments(tmp_path: Path) -> None:
    """kill -9 of the counter at random points during 100 save-and-sync cycles: the store is
    sound, every application confirmed saved is there once, none is doubled on the district."""
    rng = random.Random(20260501)
    server = seed_and_serve(tmp_path, persons=300)
    log_path = tmp_path / "counter.log"
    run: Run | None = None
    try:
        device = enrol(server, tmp_path / "counter.sqlite")
        confirmed: list[uuid.UUID] = []
        phases: dict[str, int] = {}
        kills = early = duplicates = 0
        started = time.monotonic()
        with log_path.open("ab") as log:
            while len(confirmed) + kills < CYCLES:
                assert time.monotonic() - started < 180, "the kill loop is far too slow"
                run = spawn(device, "cycle", log)
                if rng.random() < EARLY_KILLS:  # while importing, opening the store, logging in
                    time.sleep(rng.uniform(0.0, 0.8))
                else:
                    assert run.ready.wait(CHILD_TIMEOUT), log_tail(log_path)
                    time.sleep(rng.uniform(0.0, KILL_WINDOW))
                alive = run.process.poll() is None
                stop(run)
                assert alive, f"the counter stopped on its own (rc {run.process.returncode}, " \
                    f"last said {run.lines[-1:]}):\n{log_tail(log_path)}"
                if "READY" in run.lines:
                    kills += 1  # a save-and-sync cycle was under way
                else:
                    early += 1
                phase = run.phase()
                phases[phase] = phases.get(phase, 0) + 1
                confirmed += run.saved()
                duplicates += run.duplicates()
                run = None

            # back on its feet, the counter only syncs
            run = spawn(device, "sync", log)
            run.finish()
            assert run.process.returncode == 0, log_tail(log_path)
            assert run.lines[-1] == "SYNCED"
            run = None

        assert len(confirmed) == len(set(confirmed))
        total = check_all_delivered_once(device, set(confirmed))
        elapsed = time.monotonic() - started
        print(f"\n{len(confirmed)} confirmed saves, {kills} kills after start "
              f"(+{early} while starting), {total} applications on the district, "
              f"{duplicates} items answered 'duplicate' after a kill; "
              f"phases at the kill: {phases}; {elapsed:.1f} s")
        # the kills landed in the saving and in the syncing part of the cycle
        assert phases.get("saving") and phases.get("pushing", 0) + phases.get("pulling", 0), \
            phases
    finally:
        if run is not None:
            stop(run)
        server.kill()


# -- 2. the server killed in the middle of a push ----------------------------------------------

def pushed_count(engine: Engine, device: Device) -> int:
    """Items of this device the district applied, but for the sign-in's own (in enrol)."""
    with engine.connect() as connection:
        return int(connection.execute(
            text("SELECT count(*) FROM push_items WHERE device_id = :d AND idempotency_key"
                 " NOT IN (SELECT event_id FROM audit_events WHERE action LIKE 'user.%'"
                 " OR action LIKE 'signing_key.%')"),
            {"d": device.device_id}).scalar_one())


BATCH = 4  # items per push request: a request commits on the district as one transaction


def push_catching(store: Store, client: DistrictClient, errors: list[BaseException]) -> None:
    try:
        push(store, client, batch=BATCH, on_result=record_push_result)
    except BaseException as exc:  # the test looks at it
        errors.append(exc)


def test_server_killed_mid_push_and_restarted(tmp_path: Path) -> None:
    """The district stopped (SIGKILL) in the middle of a push, twice, and started again on the
    same database and port: nothing is lost or doubled."""
    rng = random.Random(8086)
    server = seed_and_serve(tmp_path, persons=80)
    engine = create_engine(server.database_url)  # to watch the push from outside
    kill_points: list[tuple[int, int]] = []
    try:
        device = enrol(server, tmp_path / "counter.sqlite")
        store = open_store(device.store_path)
        client = device.client()
        try:
            confirmed: set[uuid.UUID] = set()
            for _ in range(20):  # offline: nothing is pushed yet
                saved = fault_counter.save_next(store, device.clerk, date.today())
                assert saved is not None, "the district ran out of claimable rows"
                confirmed.add(saved.application_id)
            with store.session() as session:
                total = outbox_waiting_count(session)
            assert total == 40  # each application and its audit event

            for _round in range(2):
                applied_before = pushed_count(engine, device)
                # the kill comes when the district has applied a random number of items
                target = rng.randint(applied_before + 1, applied_before + 12)
                errors: list[BaseException] = []

                thread = threading.Thread(target=push_catching, args=(store, client, errors),
                                          daemon=True)
                thread.start()
                deadline = time.monotonic() + 30
                while pushed_count(engine, device) < target and thread.is_alive():
                    assert time.monotonic() < deadline, "the push never got going"
                    time.sleep(0.002)
                server.kill()
                thread.join(30)
                assert not thread.is_alive()
                applied = pushed_count(engine, device)
                kill_points.append((applied, total))
                assert applied_before < applied < total, \
                    f"the kill did not land in the middle of the push ({applied}/{total})"
                assert applied % BATCH == 0, "a request was half applied"
                assert len(errors) == 1 and isinstance(errors[0], Offline), errors
                with store.session() as session:
                    # what was answered is done; the rest, at most the request whose answer
                    # was lost more than the district applied, still waits
                    answered = total - outbox_waiting_count(session)
                    assert applied - BATCH <= answered <= applied
                    statuses = list(session.scalars(select(ApplicationRecord.status)))
                    assert sorted(set(statuses)) <= ["accepted", "saved"]
                    assert len(statuses) == 20
                server.start()  # same database, same port

            stats = push(store, client, on_result=record_push_result)
            assert (stats.sent, stats.refused) == (total - answered, 0), stats
            assert stats.duplicates == applied - answered, stats
            assert stats.accepted == total - applied, stats
            assert pull(store, client).complete
            with store.session() as session:
                assert set(session.scalars(select(ApplicationRecord.status))) == {"accepted"}
        finally:
            client.close()
            store.close()
        assert check_all_delivered_once(device, confirmed) == 20
        print(f"\nthe district was killed with these items of the push applied: {kill_points}")
    finally:
        engine.dispose()
        server.kill()
