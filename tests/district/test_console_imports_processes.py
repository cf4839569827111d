"""The console's 数据导入 with several processes on one PostgreSQL (issue 14, README "several
processes on one PostgreSQL"): whether an upload is being worked on is a lease in its row, not
what one process has in memory.

Process A is this test process: it uploads and imports through district.services.
console_imports, its importer held at a gate so that the import stays running, its heartbeat
thread stamping the lease. Process B is a real `python -m district serve` on the same database,
driven through its console pages as a browser would. B must leave A's running import alone,
refuse a second import of its kind, and mark failed only an upload whose lease is stale, after
which A's import writes nothing.
"""

from __future__ import annotations

import re
import threading
import time
import uuid
from collections.abc import Callable, Collection, Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from district import models
from district.db import Database
from district.imports import ImportResult, Progress
from district.imports.files import PERSON_HEADER
from district.services import console_imports
from district.values import utcnow
from tests.console.test_data import csv_bytes, person_rows
from tests.district.harness import CHANGNING_STREET, PASSWORD, ServerProcess, seed

ADMIN = "changning.admin"
CSRF = re.compile(r'name="csrf_token" value="([0-9a-f]{64})"')
STATUS = re.compile(r'id="status" data-status="([a-z]+)"')
UPLOAD_ID = re.compile(r"/console/data/([0-9a-f-]{36})")


class ConsoleOf:
    """A browser signed in to one server's console over plain http (the session cookie is
    `Secure`, so it is sent by hand)."""

    def __init__(self, server: ServerProcess) -> None:
        self.root = f"http://127.0.0.1:{server.port}/console"
        self.client = httpx.Client(timeout=60, follow_redirects=False)
        response = self.client.post(f"{self.root}/login",
                                    data={"username": ADMIN, "password": PASSWORD})
        assert response.status_code == 303, response.text
        self.cookie = f"console_session={response.cookies['console_session']}"
        self.csrf = ""

    def get(self, path: str) -> httpx.Response:
        response = self.client.get(self.root + path, headers={"Cookie": self.cookie})
        found = CSRF.search(response.text)
        if found:
            self.csrf = found.group(1)
        return response

    def post(self, path: str, data: dict[str, str] | None = None,
             files: dict[str, Any] | None = None) -> httpx.Response:
        return self.client.post(self.root + path, headers={"Cookie": self.cookie},
                                data={**(data or {}), "csrf_token": self.csrf}, files=files)

    def status(self, import_id: str) -> str:
        page = self.get(f"/data/{import_id}")
        assert page.status_code == 200, page.text
        found = STATUS.search(page.text)
        assert found is not None
        return found.group(1)

    def upload(self, content: bytes, kind: str = "persons") -> str:
        self.get("/data")
        response = self.post("/data/upload", {"kind": kind},
                             files={"file": ("名单.csv", content, "text/csv")})
        assert response.status_code == 303, response.text
        found = UPLOAD_ID.search(response.headers["location"])
        assert found is not None
        return found.group(1)


@dataclass
class Two:
    db: Database  # process A's (this process)
    b: ServerProcess
    console: ConsoleOf  # a browser of process B


@pytest.fixture(scope="module")
def two(database_url: Callable[[str], str],
        tmp_path_factory: pytest.TempPathFactory) -> Iterator[Two]:
    url = database_url("postgresql")  # skips the module when PostgreSQL is not installed
    seed(url, persons=20, streets=[CHANGNING_STREET], codes=2)
    b = ServerProcess(url, tmp_path_factory.mktemp("console-two") / "b.log")
    b.start()
    db = Database(url)
    try:
        yield Two(db, b, ConsoleOf(b))
    finally:
        b.stop()
        db.dispose()


class Gate:
    """Process A's persons importer, held before it reads a row until it is let go."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.entered = threading.Event()
        self.open = threading.Event()
        real = console_imports.IMPORTERS["persons"]

        def held(session: Session, path: Path, progress: Progress | None = None,
                 streets: Collection[str] | None = None) -> ImportResult:
            self.entered.set()
            assert self.open.wait(120)
            return real(session, path, progress=progress, streets=streets)

        monkeypatch.setitem(console_imports.IMPORTERS, "persons", held)


def row_of(db: Database, import_id: str) -> models.ConsoleImport:
    with db.read() as session:
        row = session.get(models.ConsoleImport, import_id)
        assert row is not None
        return row


def wait_for(db: Database, import_id: str, done: Callable[[models.ConsoleImport], bool],
             timeout: float = 60) -> models.ConsoleImport:
    deadline = time.monotonic() + timeout
    while True:
        row = row_of(db, import_id)
        if done(row):
            return row
        assert time.monotonic() < deadline, f"upload {import_id} still {row.status}"
        time.sleep(0.1)


def previewed(db: Database, import_id: str) -> models.ConsoleImport:
    row = wait_for(db, import_id, lambda r: not console_imports.preview_pending(r))
    assert row.status == "previewed" and row.rows_rejected == 0, row.summary
    return row


def persons(db: Database) -> int:
    with db.read() as session:
        return session.scalar(select(func.count()).select_from(models.Person)) or 0


def a_running_import(two: Two, monkeypatch: pytest.MonkeyPatch) -> tuple[str, Gate]:
    """An upload of persons, previewed and then importing in process A, held at the gate."""
    import_id = console_imports.upload(two.db, ADMIN, "persons", "甲.csv",
                                       csv_bytes(PERSON_HEADER, person_rows(3)))
    previewed(two.db, import_id)
    gate = Gate(monkeypatch)
    console_imports.run(two.db, ADMIN, import_id)
    assert gate.entered.wait(30)
    return import_id, gate


def let_go(two: Two, gate: Gate, import_id: str) -> models.ConsoleImport:
    gate.open.set()
    row = wait_for(two.db, import_id, lambda r: r.status != "running")
    deadline = time.monotonic() + 30  # and A's worker has ended
    while console_imports.live_rows(import_id) is not None:
        assert time.monotonic() < deadline
        time.sleep(0.05)
    return row


def test_an_import_running_in_one_process_is_left_alone_by_the_other(
        two: Two, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(console_imports, "HEARTBEAT_EVERY", 0.2)
    before = persons(two.db)
    import_id, gate = a_running_import(two, monkeypatch)
    try:
        first = row_of(two.db, import_id)
        assert first.status == "running" and first.heartbeat_at is not None
        assert first.worker == console_imports.worker_name()
        time.sleep(0.6)
        # B shows it (the upload's page and the list) as running, and marks nothing failed
        assert two.console.status(import_id) == "running"
        assert two.console.get("/data").status_code == 200
        row = row_of(two.db, import_id)
        assert row.status == "running" and row.worker == first.worker
        assert row.heartbeat_at is not None and row.heartbeat_at > first.heartbeat_at

        # another persons file, uploaded and previewed by B, may not be imported meanwhile
        second = two.console.upload(csv_bytes(PERSON_HEADER, person_rows(2)))
        assert row_of(two.db, second).worker != first.worker  # B's preview, B's lease
        previewed(two.db, second)
        two.console.get(f"/data/{second}")
        refused = two.console.post(f"/data/{second}/import")
        assert refused.status_code == 409, refused.text
        assert "另一份人员名单正在导入" in refused.text
        assert row_of(two.db, second).status == "previewed"
        assert two.console.status(import_id) == "running"
    finally:
        row = let_go(two, gate, import_id)
    assert row.status == "imported", row.summary
    assert persons(two.db) == before + 3

    # once A's import has ended, B imports the second file
    two.console.get(f"/data/{second}")
    started = two.console.post(f"/data/{second}/import")
    assert started.status_code == 303, started.text
    done = wait_for(two.db, second, lambda r: r.status != "running")
    assert done.status == "imported", done.summary
    assert persons(two.db) == before + 5


def insert(db: Database, status: str, heartbeat_ago: timedelta | None,
           worker: str | None = "gone-host:4242") -> str:
    import_id = str(uuid.uuid4())
    content = csv_bytes(PERSON_HEADER, person_rows(1))
    with db.write() as session:
        session.add(models.ConsoleImport(
            id=import_id, kind="persons", filename="某.csv", uploaded_by=ADMIN,
            uploaded_at=utcnow(), status=status, rows_total=1 if status == "running" else None,
            rows_done=0, rows_rejected=0 if status == "running" else None, content=content,
            worker=worker,
            heartbeat_at=None if heartbeat_ago is None else utcnow() - heartbeat_ago))
    return import_id


def test_a_running_import_whose_lease_is_stale_or_missing_is_marked_failed(two: Two) -> None:
    stale = insert(two.db, "running", timedelta(minutes=10))
    missing = insert(two.db, "running", None, worker=None)
    live = insert(two.db, "running", timedelta(seconds=5))
    try:
        assert two.console.status(stale) == "failed"
        assert two.console.status(missing) == "failed"
        assert "区服务器在导入过程中停止" in (row_of(two.db, stale).summary or "")
        # a fresh lease: another process's import, left alone, and its kind is busy
        assert two.console.status(live) == "running"
        assert row_of(two.db, live).status == "running"
        with pytest.raises(console_imports.UploadRefused, match="正在导入"):
            waiting = console_imports.upload(two.db, ADMIN, "persons", "乙.csv",
                                             csv_bytes(PERSON_HEADER, person_rows(1)))
            previewed(two.db, waiting)
            console_imports.run(two.db, ADMIN, waiting)
    finally:
        with two.db.write() as session:  # the fake import ends, for the tests after this one
            session.execute(update(models.ConsoleImport)
                            .where(models.ConsoleImport.id == live).values(status="failed"))


def test_a_preview_whose_lease_is_stale_is_previewed_again_by_one_process(two: Two) -> None:
    stale = insert(two.db, "previewed", timedelta(minutes=10))
    fresh = insert(two.db, "previewed", timedelta(seconds=5))
    two.console.status(stale)
    taken = previewed(two.db, stale)
    assert taken.worker not in (None, "gone-host:4242", console_imports.worker_name())
    assert two.console.status(fresh) == "previewing"  # another process's, left to it
    row = row_of(two.db, fresh)
    assert row.worker == "gone-host:4242" and row.rows_rejected is None
    with two.db.write() as session:
        session.execute(update(models.ConsoleImport)
                        .where(models.ConsoleImport.id == fresh).values(status="discarded"))


def test_an_import_marked_failed_by_the_other_process_writes_nothing(
        two: Two, monkeypatch: pytest.MonkeyPatch) -> None:
    """A's lease went stale (its heartbeat held back here), B marked the import failed: A's
    import, let go afterwards, is rolled back rather than kept under a "failed" upload."""
    monkeypatch.setattr(console_imports, "HEARTBEAT_EVERY", 3600.0)
    before = persons(two.db)
    import_id, gate = a_running_import(two, monkeypatch)
    try:
        with two.db.write() as session:
            session.execute(update(models.ConsoleImport)
                            .where(models.ConsoleImport.id == import_id)
                            .values(heartbeat_at=utcnow() - timedelta(minutes=10)))
        assert two.console.status(import_id) == "failed"
    finally:
        row = let_go(two, gate, import_id)
    assert row.status == "failed"
    assert persons(two.db) == before
    assert row_of(two.db, import_id).status == "failed"
