"""Fixtures: a throwaway PostgreSQL cluster, a database per server, and seeded servers.

Every server test runs against SQLite, and against PostgreSQL when the server binaries are
installed (/usr/lib/postgresql/*/bin/initdb). The cluster lives in a temporary folder owned by
the `postgres` user (when the tests run as root) on a free port, and is stopped at the end.
"""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import tempfile
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg
import pytest

from desktop import wire
from tests.district.harness import (
    CHANGNING_STREET,
    MINHANG_STREET,
    Counter,
    ServerProcess,
    by_street,
    claimable_rows,
    free_port,
    seed,
)

PG_INITDB = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
BACKENDS = ["sqlite", "postgresql"]


@dataclass
class PgCluster:
    port: int

    def create_database(self) -> str:
        name = f"district_{uuid.uuid4().hex[:12]}"
        with psycopg.connect(host="127.0.0.1", port=self.port, user="postgres",
                             dbname="postgres", autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{name}"


@pytest.fixture(scope="session")
def pg_cluster() -> Iterator[PgCluster]:
    if not PG_INITDB:
        pytest.skip("PostgreSQL server binaries are not installed "
                    "(no /usr/lib/postgresql/*/bin/initdb)")
    bindir = Path(PG_INITDB[-1]).parent
    root = Path(tempfile.mkdtemp(prefix="district-pg-"))
    as_postgres: list[str] = []
    if os.geteuid() == 0:  # initdb refuses to run as root: run the cluster as postgres
        shutil.chown(root, "postgres", "postgres")
        as_postgres = ["runuser", "-u", "postgres", "--"]
    data = root / "data"
    port = free_port()

    def run(*cmd: str) -> None:
        done = subprocess.run([*as_postgres, *cmd], capture_output=True, text=True, timeout=120,
                              check=False)
        assert done.returncode == 0, f"{' '.join(cmd)} failed:\n{done.stdout}\n{done.stderr}"

    run(str(bindir / "initdb"), "-D", str(data), "-A", "trust", "-U", "postgres", "-E", "UTF8",
        "--no-sync")
    options = (f"-c listen_addresses=127.0.0.1 -p {port} -k {root} -c fsync=off "
               "-c synchronous_commit=off -c full_page_writes=off -c max_connections=200")
    run(str(bindir / "pg_ctl"), "-D", str(data), "-o", options, "-l", str(root / "server.log"),
        "-w", "start")
    try:
        yield PgCluster(port)
    finally:
        run(str(bindir / "pg_ctl"), "-D", str(data), "-m", "fast", "-w", "stop")
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="session")
def database_url(request: pytest.FixtureRequest,
                 tmp_path_factory: pytest.TempPathFactory) -> Callable[[str], str]:
    """A fresh, empty database of the given back end, for one server."""

    def make(backend: str) -> str:
        if backend == "sqlite":
            path = tmp_path_factory.mktemp("sqlite") / "district.sqlite3"
            return f"sqlite:///{path}"
        cluster: PgCluster = request.getfixturevalue("pg_cluster")
        return cluster.create_database()

    return make


@dataclass
class SeededDistrict:
    """A running server over a small seeded district, and the means to add counters to it."""

    backend: str
    server: ServerProcess
    report: dict[str, Any]
    streets: dict[str, dict[str, Any]]
    counters: list[Counter] = field(default_factory=list)
    used_persons: set[str] = field(default_factory=set)

    @property
    def base_url(self) -> str:
        return self.server.base_url

    def enrolment_code(self, street_code: str) -> str:
        codes: list[str] = self.streets[street_code]["enrolment_codes"]
        return codes.pop()

    def counter(self, street_code: str = CHANGNING_STREET, login: str | None = "clerk1",
                pull: bool = True) -> Counter:
        counter = Counter.register(self.base_url, self.enrolment_code(street_code),
                                   f"柜台{len(self.counters) + 1}")
        self.counters.append(counter)
        if login:
            counter.login(self.user(street_code, login))
            if pull:
                counter.pull()
        return counter

    def user(self, street_code: str, role: str) -> str:
        username: str = self.streets[street_code]["users"][role]
        return username

    def take_person(self, candidates: list[str]) -> str:
        for person_id in candidates:
            if person_id not in self.used_persons:
                self.used_persons.add(person_id)
                return person_id
        raise AssertionError("the seeded district has no unused person left for this test")

    def close(self) -> None:
        for counter in self.counters:
            counter.close()
        self.server.stop()


@pytest.fixture(scope="session", params=BACKENDS)
def district(request: pytest.FixtureRequest, database_url: Callable[[str], str],
             tmp_path_factory: pytest.TempPathFactory) -> Iterator[SeededDistrict]:
    backend: str = request.param
    url = database_url(backend)
    # enough fresh recipients (a category, no claim, rows paid) for every test that takes one,
    # on any day: how many there are depends on the seed, made relative to today
    report = seed(url, persons=650, streets=[CHANGNING_STREET, MINHANG_STREET], codes=100)
    server = ServerProcess(url, tmp_path_factory.mktemp(f"log-{backend}") / "server.log")
    server.start()
    seeded = SeededDistrict(backend, server, report, by_street(report))
    try:
        yield seeded
    finally:
        seeded.close()


def member_with_allowance(district: SeededDistrict, counter: Counter, rows_needed: int
                          ) -> tuple[str, list[str], wire.OutboxItem]:
    """A fresh mutual-aid member with a card balance and at least `rows_needed` claimable
    rows, and an application for the first row that pays part of it from the card."""
    snap = counter.snapshot
    claimed_persons = {snap.fee_rows[k]["person_id"] for k in snap.claims}
    for pid, data in sorted(snap.persons.items()):
        if (not data["mutual_aid_years"] or snap.spans_of(pid) or pid in claimed_persons
                or pid in district.used_persons or data["allowance_balance"] == "0.00"):
            continue
        rows = claimable_rows(counter, pid, program="mutual_aid")
        if len(rows) < rows_needed or snap.fee_rows[rows[0]]["kind"] != "outpatient":
            continue
        item = counter.application(pid, rows[:1], program="mutual_aid")
        if "allowance" in item.payload["buckets"]:
            district.used_persons.add(pid)
            return pid, rows, item
    raise AssertionError("the seeded district has no member with an allowance and "
                         f"{rows_needed} claimable rows")
