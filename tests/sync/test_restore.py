"""A district restored from a backup file (issue 10): the counters notice, pull everything again,
ask the district about every item they had delivered, push again what it lost, and flag for a
supervisor what now conflicts — never a receipt paid twice, never a silent loss. On SQLite (a
copy of the file) and on PostgreSQL (pg_dump / pg_restore), with two counters and a real server
process.
"""

from __future__ import annotations

import glob
import json
import shutil
import sqlite3
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import psycopg
import pytest
from sqlalchemy import func, select

from desktop.services.applications import record_push_result
from desktop.store import Store, get_cursor
from desktop.store.models import (
    AuditEventRecord,
    ClaimRecord,
    FeeRowRecord,
    OutboxRecord,
    PersonRecord,
)
from desktop.store.resync import district_generation
from desktop.sync.client import DistrictClient
from desktop.sync.credentials import MemoryKeyring, load_device_token
from desktop.sync.pull import DistrictRestored, MalformedChanges, pull
from desktop.sync.push import push
from desktop.sync.worker import SyncWorker
from tests.district.conftest import PgCluster, pg_cluster  # noqa: F401 - the fixture
from tests.sync.conftest import ROOT, DistrictServer, seed_and_serve
from tests.sync.test_sync_e2e import counter, save_first, status_of

PG_BIN = sorted(glob.glob("/usr/lib/postgresql/*/bin"))


class Backups:
    """Backup to a file and restore from it, for the server's database."""

    def __init__(self, database_url: str, folder: Path) -> None:
        self.url = database_url
        self.file = folder / "district.backup"

    def take(self) -> None:
        if self.url.startswith("sqlite"):
            source = sqlite3.connect(self.url.removeprefix("sqlite:///"))
            target = sqlite3.connect(self.file)
            source.backup(target)  # consistent while the server runs (WAL)
            target.close()
            source.close()
            return
        self._pg("pg_dump", "-Fc", "-f", str(self.file), self._pg_name())

    def restore(self) -> None:
        """With the server stopped: the database becomes the backup again."""
        if self.url.startswith("sqlite"):
            path = Path(self.url.removeprefix("sqlite:///"))
            for suffix in ("-wal", "-shm"):
                Path(f"{path}{suffix}").unlink(missing_ok=True)
            shutil.copyfile(self.file, path)
            return
        name = self._pg_name()
        with psycopg.connect(self._pg_admin(), autocommit=True) as conn:
            conn.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
            conn.execute(f'CREATE DATABASE "{name}"')
        self._pg("pg_restore", "-d", name, str(self.file))

    def _pg_name(self) -> str:
        return self.url.rsplit("/", 1)[1]

    def _pg_admin(self) -> str:
        port = self.url.split(":")[-1].split("/")[0]
        return f"host=127.0.0.1 port={port} user=postgres dbname=postgres"

    def _pg(self, tool: str, *args: str) -> None:
        port = self.url.split(":")[-1].split("/")[0]
        done = subprocess.run([f"{PG_BIN[-1]}/{tool}", "-h", "127.0.0.1", "-p", port,
                               "-U", "postgres", *args], capture_output=True, text=True,
                              timeout=120, check=False)
        assert done.returncode == 0, done.stderr


def _district_command(*args: str) -> None:
    subprocess.run([sys.executable, "-m", "district", *args], cwd=ROOT, check=True,
                   capture_output=True, text=True, timeout=300)


@pytest.fixture(params=["sqlite", "postgresql"])
def served(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[DistrictServer]:
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'district.sqlite'}"
    else:
        if not PG_BIN:
            pytest.skip("PostgreSQL is not installed")
        cluster: PgCluster = request.getfixturevalue("pg_cluster")
        url = cluster.create_database()
    server = seed_and_serve(tmp_path, database_url=url)
    yield server
    server.kill()


def _restart_from_backup(served: DistrictServer, backups: Backups, *, mark: bool) -> None:
    served.kill()
    backups.restore()
    if mark:
        _district_command("restored", "--database-url", served.database_url)
    served.start()


def test_a_restored_district_gets_back_what_it_lost_and_flags_the_double_claim(
        served: DistrictServer, memory_keyring: MemoryKeyring, tmp_path: Path) -> None:
    a = counter(served, tmp_path / "a.sqlite", served.codes()[0])
    b = counter(served, tmp_path / "b.sqlite", served.codes()[1], clerk=1)
    pull(a.store, a.client)
    pull(b.store, b.client)
    with a.store.session() as session:
        before = district_generation(session)
    assert before is not None
    first, _, _ = save_first(a)
    assert push(a.store, a.client, on_result=record_push_result).refused == 0
    backups = Backups(served.database_url, tmp_path)
    backups.take()
    pull(a.store, a.client)  # A's first claims come back: its next application is another
    # after the backup: A's second application, whose receipts B does not know are claimed
    second, person, rows = save_first(a)
    assert push(a.store, a.client, on_result=record_push_result).refused == 0
    assert status_of(a.store, second.application_id).status == "accepted"

    _restart_from_backup(served, backups, mark=True)
    # B, which never heard of A's second application, claims the same receipts: the restored
    # district has no claim on them and accepts
    third, _, _ = save_first(b, [(person, rows)])
    assert push(b.store, b.client, on_result=record_push_result).refused == 0

    # A's next sync notices the new generation and recovers
    worker = SyncWorker(a.store, a.client, on_result=record_push_result)
    status = worker.sync_now()
    assert status.last_error is None, status.last_error
    assert status.notice is not None and "区服务器已从备份恢复" in status.notice
    assert "1 项未被接受" in status.notice
    with a.store.session() as session:
        assert district_generation(session) not in (None, before)
    # the application the backup held is still accepted; the lost one was pushed again and is
    # refused (B's claim came first), kept and flagged with who claimed the receipts
    assert status_of(a.store, first.application_id).status == "accepted"
    lost = status_of(a.store, second.application_id)
    assert (lost.status, lost.server_reason) == ("review", "already_claimed")
    with a.store.session() as session:
        outbox = session.scalars(select(OutboxRecord).where(
            OutboxRecord.kind == "application")).all()
        answered = {o.payload["application_id"]: o.result or {} for o in outbox}
        assert answered[str(second.application_id)]["detail"]["application_id"] == str(
            third.application_id)
        assert all(o.delivered_at is not None for o in outbox)
        recovered = session.scalars(select(AuditEventRecord).where(
            AuditEventRecord.action == "sync.recovered")).one()
        assert recovered.detail["reason"] == "generation"
        assert recovered.detail["lost"] >= 1 and recovered.detail["refused"] == 1
    # a second cycle has nothing more to do
    again = worker.sync_now()
    assert again.last_error is None and again.waiting == 0
    a.close()
    b.close()


def test_a_restore_nobody_marked_shows_as_a_cursor_ahead_of_the_district(
        served: DistrictServer, memory_keyring: MemoryKeyring, tmp_path: Path) -> None:
    a = counter(served, tmp_path / "a.sqlite", served.codes()[0])
    pull(a.store, a.client)
    backups = Backups(served.database_url, tmp_path)
    backups.take()
    saved, _, _ = save_first(a)
    assert push(a.store, a.client, on_result=record_push_result).refused == 0
    pull(a.store, a.client)  # its cursor moves past what the backup holds

    _restart_from_backup(served, backups, mark=False)
    with pytest.raises(DistrictRestored) as restored:
        pull(a.store, a.client)
    assert restored.value.reason == "cursor_ahead"
    status = SyncWorker(a.store, a.client, on_result=record_push_result).sync_now()
    assert status.notice is not None and "数据比本机同步过的旧" in status.notice
    # the application the restored district lost is there again, accepted
    assert status_of(a.store, saved.application_id).status == "accepted"
    with a.store.session() as session:  # only the recovery's own audit event waits
        waiting = session.scalars(select(OutboxRecord).where(
            OutboxRecord.delivered_at.is_(None))).all()
        assert [(o.kind, o.payload["action"]) for o in waiting] == [
            ("audit_event", "sync.recovered")]
    a.close()


def test_known_items_answers_only_for_this_pc(served: DistrictServer,
                                              memory_keyring: MemoryKeyring,
                                              tmp_path: Path) -> None:
    a = counter(served, tmp_path / "a.sqlite", served.codes()[0])
    b = counter(served, tmp_path / "b.sqlite", served.codes()[1], clerk=1)
    pull(a.store, a.client)
    save_first(a)
    push(a.store, a.client, on_result=record_push_result)
    with a.store.session() as session:
        keys = list(session.scalars(select(OutboxRecord.idempotency_key)))
    assert set(a.client.known(keys).known) == set(keys)
    assert b.client.known(keys).known == []  # another PC's keys are never confirmed
    assert a.client.known([uuid.uuid4()]).known == []
    a.close()
    b.close()


class LossyNetwork(httpx.HTTPTransport):
    """The real network to the real server, losing one change of the next page it carries
    (as a broken proxy might), and, with `recount`, mending the page's count to hide it."""

    def __init__(self, *, recount: bool) -> None:
        super().__init__()
        self.recount = recount
        self.armed = False

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = super().handle_request(request)
        if not (self.armed and request.url.path.endswith("/changes")):
            return response
        response.read()
        page = json.loads(response.content)
        if len(page["items"]) < 2:
            return response
        self.armed = False
        del page["items"][len(page["items"]) // 2]
        if self.recount:
            page["count"] = len(page["items"])
        return httpx.Response(response.status_code, headers={"Content-Type": "application/json"},
                              content=json.dumps(page).encode())


def _lossy_counter(served: DistrictServer, path: Path, code: str,
                   network: LossyNetwork) -> tuple[Store, DistrictClient]:
    first = counter(served, path, code)  # registered, signed in, its key registered
    first.client.close()
    client = DistrictClient(served.url, lambda: load_device_token(served.url, path.stem),
                            transport=network)
    client.session_token = first.client.session_token
    return first.store, client


def test_a_page_missing_a_change_of_its_count_is_not_applied(
        served: DistrictServer, memory_keyring: MemoryKeyring, tmp_path: Path) -> None:
    network = LossyNetwork(recount=False)
    store, client = _lossy_counter(served, tmp_path / "a.sqlite", served.codes()[0], network)
    network.armed = True
    with pytest.raises(MalformedChanges):
        pull(store, client, page_size=50)
    with store.session() as session:
        assert get_cursor(session, "district") == 0  # nothing of the page was written
    assert pull(store, client, page_size=50).complete  # the next pull gets it whole
    store.close()
    client.close()


def test_a_pull_that_received_fewer_changes_than_declared_pulls_again(
        served: DistrictServer, memory_keyring: MemoryKeyring, tmp_path: Path) -> None:
    network = LossyNetwork(recount=True)
    store, client = _lossy_counter(served, tmp_path / "a.sqlite", served.codes()[0], network)
    network.armed = True
    with pytest.raises(DistrictRestored) as missing:
        pull(store, client, page_size=50)
    assert missing.value.reason == "changes_missing"
    status = SyncWorker(store, client, on_result=record_push_result).sync_now()
    assert status.notice is not None and "少于区服务器声明的数量" in status.notice
    reference = counter(served, tmp_path / "b.sqlite", served.codes()[1], clerk=1)
    pull(reference.store, reference.client)
    with store.session() as mine, reference.store.session() as theirs:
        for model in (PersonRecord, FeeRowRecord, ClaimRecord):
            assert mine.scalar(select(func.count()).select_from(model)) == theirs.scalar(
                select(func.count()).select_from(model))
    reference.close()
    store.close()
    client.close()
