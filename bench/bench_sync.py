"""Benchmark: a counter syncing with a real district server process on 127.0.0.1.

Three figures, each next to its target (issue 3) and, where one means something, a baseline:
1. initial pull of a whole street (100,000 persons and their fee rows) into an empty store —
   target < 30 s and ≥ 60,000 changes/s, the cache ≤ 200 MiB after it (issue 13; < 60 s
   before); baseline: raw sqlite3 executemany of the same
   rows into the same schema, one commit per page, synchronous=FULL as the store uses;
2. incremental pull of 1,000 changes made on the server after that (500 persons' phone
   numbers and 500 fee rows' clearing flag, written through the district's own
   `record_changes`, as its services do) — target < 1 s; baseline: raw sqlite3 upserts of the
   same 1,000 rows; repeated --rounds times (median and p95, which is the max for few rounds);
3. push of 1,000 applications saved offline (`save_application`, its time reported apart) —
   target < 5 s for `push()` until the outbox is empty; accepted / refused counts.
Each figure is split into time inside the HTTP calls (network, server, response parsing) and
time in the counter's own store.

The server's database is seeded once with `python -m district seed`, all persons in ONE street
(the counter sees only its street), and cached under --work; each run starts the server on a
fresh copy of it, so runs are alike and the one-time enrolment codes are unused. With
--database-url (PostgreSQL) the database is seeded once and reused in place: later runs also
pull what earlier runs pushed (their claims), and use the next unused enrolment code.

`--both` runs it on SQLite and then on PostgreSQL in one invocation and prints the figures side
by side: the PostgreSQL 15 cluster is the bench's own (initdb once under --work/pg, started for
the run and stopped after it, default settings), its seed made once into a template database
and copied fresh for each run (CREATE DATABASE … TEMPLATE), as a SQLite run gets a fresh copy.

Run: `.venv/bin/python bench/bench_sync.py` (full size; the first run seeds for a few minutes),
`.venv/bin/python bench/bench_sync.py --persons 2000 --changes 200 --applications 100` (quick),
`--profile` to cProfile each timed step of the counter (times are then inflated). The server's
side is read from its own request log (the milliseconds it logs per request): its route
handlers run in worker threads, where a cProfile of the server process sees nothing.
"""

from __future__ import annotations

import argparse
import cProfile
import hashlib
import io
import json
import os
import pstats
import shutil
import signal
import socket
import sqlite3
import statistics
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any, cast

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import httpx
import sqlcipher3.dbapi2 as sqlcipher
from bench_keyring import bench_key
from pull_baseline import PULLED, WRITER_PRAGMAS, pulled_tables
from sqlalchemy import func, select

import desktop.sync.pull as pull_module
from desktop import wire
from desktop.services.accounts import sign_in
from desktop.services.applications import NothingToClaim, record_push_result, save_application
from desktop.services.numbering import remember_registration
from desktop.store import Store, open_store, outbox_waiting_count
from desktop.store.models import (
    ApplicationRecord,
    ClaimRecord,
    FeeRowRecord,
    PersonRecord,
)
from desktop.sync.client import DistrictClient
from desktop.sync.pull import PAGE_SIZE, pull
from desktop.sync.push import push

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_WORK = Path("/tmp/counter-bench/sync")
STREET = "310105001"  # 长宁区华阳路街道
PASSWORD = "demo-pass-2026"
PERSONS = 100_000
SEED = 2026  # district seed's default random seed
VISIT_SCALE = 1.65  # seed --visit-scale: about 10 fee rows a person, 1,000,000 for 100,000
DEVICES = 20  # enrolment codes per street: a reused PostgreSQL database needs one per run
TARGET_INITIAL_S = 30.0  # issue 13 (issue 3 asked < 60 s); at 100,000 persons
TARGET_INITIAL_RATE = 60_000  # changes a second (issue 13)
TARGET_CACHE_MIB = 200  # the cache after that pull (issue 13)
TARGET_INCREMENTAL_S = 1.0
TARGET_PUSH_S = 5.0
RECENT_DAYS = 150  # rows a clerk would tick: the last five months


def say(text: str = "") -> None:
    print(text, flush=True)


def verdict(label: str, seconds: float, target: float) -> str:
    met = "met" if seconds < target else "NOT met"
    return f"  {label}: {seconds:.2f} s — target < {target:g} s: {met}"


def load_average() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def median_p95(values: list[float]) -> tuple[float, float]:
    ordered = sorted(values)
    return statistics.median(ordered), ordered[max(0, int(len(ordered) * 0.95 + 0.5) - 1)]


# -- the district server -------------------------------------------------------------------------

@dataclass
class Seeded:
    database_url: str
    report: dict[str, Any]  # what `seed --json` printed: counts, enrolment codes, users
    seconds: float  # wall time of the seed command
    when: str  # the day it was seeded (the synthetic district depends on it)
    cached: bool
    codes: list[str] = field(default_factory=list)  # unused enrolment codes of the street
    meta_path: Path | None = None
    meta: dict[str, Any] = field(default_factory=dict)

    def take_code(self) -> str:
        code = self.codes.pop(0)
        if self.meta_path is not None:  # reused in place: remember the code is spent
            self.meta.setdefault("used_codes", []).append(code)
            self.meta_path.write_text(json.dumps(self.meta, ensure_ascii=False, indent=1))
        return code

    def clerk(self, street: str) -> str:
        return str(next(u["username"] for u in self.report["users"]
                        if u["street_code"] == street and "clerk" in u["roles"]))

    def district_of(self, street: str) -> str:
        return str(next(s["district"] for s in self.report["streets"] if s["code"] == street))


def run_seed(database_url: str, persons: int, street: str, reset: bool) -> tuple[dict[str, Any],
                                                                                 float]:
    command = [sys.executable, "-m", "district", "seed", "--persons", str(persons),
               "--streets", street, "--password", PASSWORD, "--seed", str(SEED),
               "--visit-scale", str(VISIT_SCALE),
               "--devices-per-street", str(DEVICES), "--json", "--database-url", database_url]
    if reset:
        command.append("--reset")
    say(f"seeding {persons:,} persons in street {street} (a few minutes at full size) ...")
    started = time.perf_counter()
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, check=False)
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"seed failed ({done.returncode}):\n{done.stderr[-3000:]}")
    report = json.loads(done.stdout[done.stdout.index("{\n"):])
    return report, seconds


def sqlite_files(path: Path) -> list[Path]:
    return [Path(f"{path}{suffix}") for suffix in ("", "-wal", "-shm")]


def remove_sqlite(path: Path) -> None:
    for file in sqlite_files(path):
        file.unlink(missing_ok=True)


def seeded_sqlite(work: Path, persons: int, street: str, reseed: bool) -> Seeded:
    """The cached seed for these options, copied to a fresh file this run's server uses."""
    key = f"p{persons}-s{street}-seed{SEED}-v{VISIT_SCALE}"
    cache, meta_path = work / f"seed-{key}.sqlite", work / f"seed-{key}.json"
    cached = cache.exists() and meta_path.exists() and not reseed
    if not cached:
        building = work / f"seed-{key}.building.sqlite"
        remove_sqlite(building)
        report, seconds = run_seed(f"sqlite:///{building}", persons, street, reset=False)
        with sqlite3.connect(building) as raw:  # fold the WAL in: one file to copy
            raw.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        remove_sqlite(cache)
        building.rename(cache)
        remove_sqlite(building)
        meta = {"seconds": seconds, "when": time.strftime("%Y-%m-%d"), "report": report}
        meta_path.write_text(json.dumps(meta, ensure_ascii=False, indent=1))
    meta = json.loads(meta_path.read_text())
    run_db = work / "run" / "district.sqlite"
    run_db.parent.mkdir(parents=True, exist_ok=True)
    remove_sqlite(run_db)
    started = time.perf_counter()
    for source, target in zip(sqlite_files(cache), sqlite_files(run_db), strict=True):
        if source.exists():
            shutil.copyfile(source, target)
    copied = time.perf_counter() - started
    say(f"server database: fresh copy of {cache.name} "
        f"({cache.stat().st_size / 2**20:,.0f} MiB, copied in {copied:.1f} s)")
    (codes,) = [s["enrolment_codes"] for s in meta["report"]["streets"] if s["code"] == street]
    return Seeded(f"sqlite:///{run_db}", meta["report"], meta["seconds"], meta["when"], cached,
                  list(codes))


def seeded_in_place(work: Path, database_url: str, persons: int, street: str,
                    reseed: bool) -> Seeded:
    """A database the caller names (PostgreSQL): seeded once, then reused as it is."""
    digest = hashlib.sha256(database_url.encode()).hexdigest()[:10]
    meta_path = work / f"external-{digest}-p{persons}-s{street}-seed{SEED}-v{VISIT_SCALE}.json"
    cached = meta_path.exists() and not reseed
    if cached:
        from district import models
        from district.db import Database

        meta = json.loads(meta_path.read_text())
        db = Database(database_url)
        try:
            with db.read() as session:
                have = session.scalar(select(func.count()).select_from(models.Person)
                                      .where(models.Person.street_code == street))
        except Exception:  # no schema, unreachable: seed again
            have = None
        finally:
            db.dispose()
        cached = have == persons
    if not cached:
        report, seconds = run_seed(database_url, persons, street, reset=True)
        meta = {"seconds": seconds, "when": time.strftime("%Y-%m-%d"), "report": report,
                "used_codes": [], "runs": 0}
    meta["runs"] = meta.get("runs", 0) + 1
    meta_path.write_text(json.dumps(meta, ensure_ascii=False, indent=1))
    (codes,) = [s["enrolment_codes"] for s in meta["report"]["streets"] if s["code"] == street]
    unused = [c for c in codes if c not in set(meta.get("used_codes", []))]
    if not unused:
        raise SystemExit("every enrolment code of the seeded database is spent: use --reseed")
    if meta["runs"] > 1:
        say(f"server database: {database_url.split('@')[-1]} reused in place (run "
            f"{meta['runs']}: it also holds what the {meta['runs'] - 1} earlier run(s) pushed)")
    return Seeded(database_url, meta["report"], meta["seconds"], meta["when"], cached, unused,
                  meta_path, meta)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Server:
    """`python -m district serve` in its own process; it logs every request with its ms."""

    def __init__(self, database_url: str, log: Path) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = log
        command = [sys.executable, "-m", "district", "serve", "--port", str(self.port),
                   "--database-url", database_url]
        self._log = log.open("wb")
        self.process = subprocess.Popen(command, cwd=ROOT, stdout=self._log,
                                        stderr=subprocess.STDOUT,
                                        env={**os.environ, "PYTHONUNBUFFERED": "1"})
        started = time.perf_counter()
        while time.perf_counter() - started < 180:
            if self.process.poll() is not None:
                raise SystemExit(f"the district server exited ({self.process.returncode}); "
                                 f"see {log}")
            try:
                if httpx.get(f"{self.url}/api/v1/health", timeout=2).status_code == 200:
                    say(f"district server on {self.url} (pid {self.process.pid}), ready in "
                        f"{time.perf_counter() - started:.1f} s; log {log}")
                    return
            except httpx.HTTPError:
                time.sleep(0.2)
        self.stop()
        raise SystemExit(f"the district server did not start; see {log}")

    def request_ms(self, path: str) -> list[float]:
        """The server's own time for each request to `path` so far, in order (its log)."""
        self._log.flush()
        out = []
        for line in self.log.read_text(errors="replace").splitlines():
            if f'"{wire.API_PREFIX}{path}"' in line and '"msg": "request"' in line:
                try:
                    out.append(float(json.loads(line)["ms"]))
                except (ValueError, KeyError):
                    continue
        return out

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)  # uvicorn shuts down cleanly
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)
        self._log.close()


class PgCluster:
    """A PostgreSQL cluster of the bench's own under --work (as tests/district/conftest.py
    starts one, but with the server's default settings, fsync included): started for the run,
    stopped after it. Its seed is made once into a template database, and each run gets a
    fresh copy of it (CREATE DATABASE … TEMPLATE), as a SQLite run gets a fresh file."""

    def __init__(self, root: Path) -> None:
        found = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"))
        if not found:
            raise SystemExit("--both needs the PostgreSQL server binaries "
                             "(/usr/lib/postgresql/*/bin/initdb)")
        self.bindir = found[-1].parent
        self.root = root
        self.data = root / "data"
        self.port = free_port()
        # initdb refuses to run as root: the cluster runs as postgres
        self.as_postgres = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []

    def _run(self, *command: str) -> None:
        done = subprocess.run([*self.as_postgres, *command], capture_output=True, text=True,
                              timeout=300, check=False)
        if done.returncode != 0:
            raise SystemExit(f"{' '.join(command)} failed:\n{done.stdout}\n{done.stderr}")

    def start(self) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        if os.geteuid() == 0:
            shutil.chown(self.root, "postgres", "postgres")
        if not (self.data / "PG_VERSION").exists():
            shutil.rmtree(self.data, ignore_errors=True)
            self._run(str(self.bindir / "initdb"), "-D", str(self.data), "-A", "trust",
                      "-U", "postgres", "-E", "UTF8")
        options = f"-c listen_addresses=127.0.0.1 -p {self.port} -k {self.root}"
        self._run(str(self.bindir / "pg_ctl"), "-D", str(self.data), "-o", options,
                  "-l", str(self.root / "server.log"), "-w", "start")
        say(f"PostgreSQL {self.bindir.parent.name} cluster in {self.data} on port {self.port}")

    def stop(self) -> None:
        self._run(str(self.bindir / "pg_ctl"), "-D", str(self.data), "-m", "fast", "-w", "stop")

    def url(self, database: str) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{database}"

    def _sql(self, *statements: str, database: str = "postgres") -> list[Any]:
        import psycopg

        rows: list[Any] = []
        with psycopg.connect(host="127.0.0.1", port=self.port, user="postgres",
                             dbname=database, autocommit=True) as conn:
            for statement in statements:
                cursor = conn.execute(statement)
                if cursor.description:
                    rows += cursor.fetchall()
        return rows

    def fresh_copy(self, persons: int, street: str, reseed: bool) -> Seeded:
        """A new database copied from the seed's template (seeded now if there is none)."""
        template = f"seed_p{persons}_s{street}_r{SEED}_v{str(VISIT_SCALE).replace('.', '_')}"
        meta_path = self.root.parent / f"pg-{template}.json"
        exists = bool(self._sql(f"SELECT 1 FROM pg_database WHERE datname = '{template}'"))
        if reseed or not exists or not meta_path.exists():
            self._sql(f'DROP DATABASE IF EXISTS "{template}"', f'CREATE DATABASE "{template}"')
            report, seconds = run_seed(self.url(template), persons, street, reset=False)
            # as autovacuum would have by the time a real district serves: planner statistics
            self._sql("VACUUM ANALYZE", database=template)
            meta_path.write_text(json.dumps({"seconds": seconds, "when": time.strftime(
                "%Y-%m-%d"), "report": report}, ensure_ascii=False, indent=1))
        started = time.perf_counter()
        self._sql('DROP DATABASE IF EXISTS "bench_run"',
                  f'CREATE DATABASE "bench_run" TEMPLATE "{template}"')
        say(f"server database: fresh copy of the template {template} "
            f"(copied in {time.perf_counter() - started:.1f} s)")
        meta = json.loads(meta_path.read_text())
        (codes,) = [s["enrolment_codes"] for s in meta["report"]["streets"]
                    if s["code"] == street]
        return Seeded(self.url("bench_run"), meta["report"], meta["seconds"], meta["when"],
                      cached=exists and not reseed, codes=list(codes))


@contextmanager
def pg_cluster(root: Path) -> Iterator[PgCluster]:
    cluster = PgCluster(root)
    cluster.start()
    try:
        yield cluster
    finally:
        cluster.stop()


# -- the counter ----------------------------------------------------------------------------------

class TimedClient(DistrictClient):
    """The real client, timing its calls: what is spent in HTTP (network, server, parsing)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.calls: list[tuple[str, float]] = []
        self.keep_push: Path | None = None
        self.device_id = ""
        self.street_name = ""
        self.device_number: int | None = None

    def reset(self) -> None:
        self.calls = []

    def http_seconds(self) -> float:
        return sum(s for _, s in self.calls)

    def slowest(self) -> float:
        return max((s for _, s in self.calls), default=0.0)

    def changes(self, cursor: int, limit: int, *, count: bool = False,
                next_page: Callable[[int], None] | None = None) -> wire.ChangesPage:
        started = time.perf_counter()
        try:
            return super().changes(cursor, limit, count=count, next_page=next_page)
        finally:
            self.calls.append(("changes", time.perf_counter() - started))

    def push(self, items: list[wire.OutboxItem]) -> wire.PushResult:
        if self.keep_push is not None:  # --keep-push: the requests, for bench/replay_push.py
            body = wire.Push(items=items).model_dump_json()
            (self.keep_push / f"push-{len(self.calls):03d}.json").write_text(body, "utf-8")
        started = time.perf_counter()
        try:
            return super().push(items)
        finally:
            self.calls.append(("push", time.perf_counter() - started))


def counter(url: str, seeded: Seeded, street: str, name: str) -> TimedClient:
    with DistrictClient(url) as anonymous:
        registered = anonymous.register(seeded.take_code(), name)
    # The app's timeout is 15 s; a longer one here so that a slow request is measured, not
    # lost: the slowest request is printed next to each figure.
    client = TimedClient(url, lambda: registered.token, timeout=300)
    client.device_id = registered.device_id
    client.street_name, client.device_number = registered.street_name, registered.device_number
    client.login(seeded.clerk(street), PASSWORD)
    return client


@contextmanager
def profiled(enabled: bool, name: str, work: Path, lines: int = 25) -> Iterator[None]:
    if not enabled:
        yield
        return
    profile = cProfile.Profile()
    profile.enable()
    try:
        yield
    finally:
        profile.disable()
        path = work / f"profile-{name}.prof"
        profile.dump_stats(path)
        out = io.StringIO()
        stats = pstats.Stats(profile, stream=out).strip_dirs()
        stats.sort_stats("cumulative").print_stats(lines)
        stats.sort_stats("tottime").print_stats(lines)
        say(f"  --- cProfile of {name} (saved to {path}) ---")
        say(out.getvalue())


def table_counts(store: Store) -> dict[str, int]:
    with store.read_session() as session:
        return {model.__tablename__: int(session.scalar(
            select(func.count()).select_from(model)) or 0) for model in PULLED}


# -- 1. initial pull ------------------------------------------------------------------------------

def server_seconds(server: Server, path: str, before: int) -> float | None:
    """The server's own time for the requests to `path` made since `before` of them."""
    ms = server.request_ms(path)[before:]
    return sum(ms) / 1000 if ms else None


def server_split(server: Server, path: str, before: int, http: float) -> str:
    """What the server's log says of the requests to `path` made since `before` of them."""
    ms = server.request_ms(path)[before:]
    if not ms:
        return "server time unknown (nothing in its log)"
    text = (f"of which the server's own {sum(ms) / 1000:.1f} s ({len(ms)} request(s)"
            + (f", first {ms[0]:.0f} ms, last {ms[-1]:.0f} ms" if len(ms) > 2 else "")
            + f"), network and the client's parsing {http - sum(ms) / 1000:.1f} s")
    return text


def initial_pull(store: Store, client: TimedClient, server: Server,
                 args: argparse.Namespace) -> tuple[float, int]:
    """The seconds the initial pull took, and how many changes it applied."""
    say("\n1. initial pull into an empty counter store")
    client.reset()
    before = len(server.request_ms("/changes"))
    applying: list[float] = []
    patched = cast(Any, pull_module)  # the pull's own reference to apply_changes, timed
    real_apply = patched.apply_changes

    def timed_apply(session: Any, changes: list[wire.Change]) -> int:
        began = time.perf_counter()
        try:
            return int(real_apply(session, changes))
        finally:
            applying.append(time.perf_counter() - began)

    patched.apply_changes = timed_apply
    started = time.perf_counter()
    try:
        with profiled(args.profile, "initial-pull", args.work):
            stats = pull(store, client, page_size=args.page_size)
    finally:
        patched.apply_changes = real_apply
    seconds = time.perf_counter() - started
    applied = sum(applying)
    counts = table_counts(store)
    http = client.http_seconds()
    say(f"  {stats.changes:,} changes in {stats.pages:,} pages of {args.page_size:,}: "
        f"{counts['person']:,} persons, {counts['fee_row']:,} fee rows, "
        f"{counts['category_span']:,} category spans, {counts['claim']:,} claims, "
        f"{counts['institution']} institutions, {counts['parameter_version']} parameter versions")
    say(f"  {stats.changes / seconds:,.0f} changes/s; the next page is fetched while one is "
        f"applied, so the parts overlap: in HTTP (GET /changes: network, server, parsing; a "
        f"background thread) {http:.1f} s, in apply_changes {applied:.1f} s, the rest "
        f"(commits, waiting for a page) {seconds - applied:.1f} s; slowest page "
        f"{client.slowest():.2f} s (the app's client timeout: 15 s)")
    say(f"  HTTP: {server_split(server, '/changes', before, http)}")
    say(verdict("initial pull", seconds, TARGET_INITIAL_S))
    rate = stats.changes / seconds
    say(f"  initial pull: {rate:,.0f} changes/s — target ≥ {TARGET_INITIAL_RATE:,}: "
        f"{'met' if rate >= TARGET_INITIAL_RATE else 'NOT met'}")
    with store.engine.connect() as connection:  # the whole cache in its file
        connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    mib = store.path.stat().st_size / 2**20
    say(f"  the cache after the pull: {mib:,.0f} MiB — target ≤ {TARGET_CACHE_MIB} MiB: "
        f"{'met' if mib <= TARGET_CACHE_MIB else 'NOT met'}")
    args.figures["initial pull: server (/changes)"] = server_seconds(server, "/changes", before)
    return seconds, stats.changes


def raw_connect(path: Path, key: bytes | None, **options: Any) -> sqlite3.Connection:
    """A bare driver connection: sqlite3 on a plain store, SQLCipher (same API) on a sealed
    one, keyed as the store keys its own."""
    if key is None:
        return cast(sqlite3.Connection, sqlite3.connect(path, **options))
    connection = sqlcipher.connect(str(path), **options)
    connection.execute(f"PRAGMA key = \"x'{key.hex()}'\"")
    return cast(sqlite3.Connection, connection)


def raw_copy(source: Path, target: Path, page: int, sealed: bool
             ) -> tuple[float, int, dict[str, str], bytes | None]:
    """Baseline: the pulled rows written again with raw sqlite3 executemany into a fresh store
    with the same schema, indexes and pragmas (and encryption, and the page cache the pull
    writes with), one commit per `page` rows."""
    remove_sqlite(target)
    target_key = bench_key(target) if sealed else None
    open_store(target, key=target_key).close()  # the schema, by the store's own migrations
    reader = raw_connect(source, bench_key(source) if sealed else None)
    tables: list[tuple[str, str, list[tuple[Any, ...]]]] = []
    for name, sql, cursor in pulled_tables(reader):
        tables.append((name, sql, cursor.fetchall()))
    reader.close()
    writer = raw_connect(target, target_key, isolation_level=None)
    for pragma in WRITER_PRAGMAS:
        writer.execute(f"PRAGMA {pragma}")
    rows = 0
    started = time.perf_counter()
    for _name, sql, values in tables:
        for start in range(0, len(values), page):
            writer.execute("BEGIN IMMEDIATE")
            writer.executemany(sql, values[start:start + page])
            writer.execute("COMMIT")
        rows += len(values)
    seconds = time.perf_counter() - started
    writer.close()
    return seconds, rows, {name: sql for name, sql, _ in tables}, target_key


# -- 2. incremental pull --------------------------------------------------------------------------

def server_changes(database_url: str, street: str, count: int, round_no: int
                   ) -> tuple[list[str], list[str]]:
    """`count` changes on the server, as its services make them: rows updated and their
    changes recorded with `record_changes` in the same transaction. Half persons' phone
    numbers, half fee rows whose clearing finished (pending ones first)."""
    from district import models
    from district.changelog import fee_row_change, person_change, record_changes
    from district.db import Database

    persons, rows = count // 2, count - count // 2
    db = Database(database_url)
    try:
        with db.write() as session:
            people = session.scalars(
                select(models.Person).where(models.Person.street_code == street)
                .order_by(models.Person.id).offset(round_no * persons).limit(persons)).all()
            for n, person in enumerate(people):
                person.phone = f"139{round_no:02d}{n:06d}"
            fee_rows = session.scalars(
                select(models.FeeRow).where(models.FeeRow.street_code == street)
                .order_by(models.FeeRow.clearing_pending.desc(), models.FeeRow.id)
                .limit(rows)).all()
            for row in fee_rows:
                row.clearing_pending = False
                row.check_code = f"r{round_no:02d}{row.id[-4:]}"  # changed even if not pending
            session.flush()
            record_changes(session, [person_change(p) for p in people]
                           + [fee_row_change(r) for r in fee_rows])
    finally:
        db.dispose()
    return [p.id for p in people], [r.id for r in fee_rows]


def raw_upserts(target: Path, person_ids: list[str], row_ids: list[str], round_no: int,
                inserts: dict[str, str], key: bytes | None) -> float:
    """Baseline: the same rows written again with raw sqlite3, as upserts of every column,
    in one transaction (synchronous=FULL)."""
    writer = raw_connect(target, key, isolation_level=None)
    for pragma in WRITER_PRAGMAS:
        writer.execute(f"PRAGMA {pragma}")
    batches = []
    for table, ids in (("person", person_ids), ("fee_row", row_ids)):
        marks = ", ".join("?" * len(ids))
        cursor = writer.execute(f'SELECT * FROM "{table}" WHERE id IN ({marks})', ids)
        columns = [c[0] for c in cursor.description]
        values = [list(r) for r in cursor.fetchall()]
        change = columns.index("phone" if table == "person" else "check_code")
        for n, value in enumerate(values):
            value[change] = f"b{round_no:02d}{n:06d}"
        update = ", ".join(f"{c} = excluded.{c}" for c in columns if c != "id")
        batches.append((f"{inserts[table]} ON CONFLICT (id) DO UPDATE SET {update}", values))
    started = time.perf_counter()
    writer.execute("BEGIN IMMEDIATE")
    for sql, values in batches:
        writer.executemany(sql, values)
    writer.execute("COMMIT")
    seconds = time.perf_counter() - started
    writer.close()
    return seconds


def incremental_pulls(store: Store, client: TimedClient, seeded: Seeded,
                      args: argparse.Namespace,
                      baseline: tuple[Path, dict[str, str], bytes | None] | None
                      ) -> float:
    say(f"\n2. incremental pull of {args.changes:,} changes made on the server "
        f"({args.rounds} round(s))")
    times, http, bases = [], [], []
    for round_no in range(args.rounds):
        made = time.perf_counter()
        person_ids, row_ids = server_changes(seeded.database_url, args.street, args.changes,
                                             round_no)
        made = time.perf_counter() - made
        client.reset()
        started = time.perf_counter()
        with profiled(args.profile and round_no == 0, "incremental-pull", args.work):
            stats = pull(store, client, page_size=args.page_size)
        seconds = time.perf_counter() - started
        times.append(seconds)
        http.append(client.http_seconds())
        line = (f"  round {round_no + 1}: {stats.changes:,} changes in {stats.pages} page(s): "
                f"{seconds:.3f} s (HTTP {client.http_seconds():.3f} s, counter "
                f"{seconds - client.http_seconds():.3f} s); made on the server in {made:.2f} s")
        if baseline is not None:
            bases.append(raw_upserts(baseline[0], person_ids, row_ids, round_no, baseline[1],
                                     baseline[2]))
            line += f"; baseline {bases[-1] * 1000:.1f} ms"
        say(line)
        if stats.changes != len(person_ids) + len(row_ids):
            say(f"  note: pulled {stats.changes} changes, {len(person_ids) + len(row_ids)} made")
    median, p95 = median_p95(times)
    say(f"  median {median:.3f} s, p95 {p95:.3f} s (p95 of {len(times)} = the slowest); "
        f"HTTP median {statistics.median(http):.3f} s")
    if bases:
        say(f"  baseline: raw sqlite3 upserts of the same {args.changes:,} rows (every column, "
            f"one transaction): median {statistics.median(bases) * 1000:.1f} ms")
    say(verdict(f"incremental pull of {args.changes:,} changes (median)", median,
                TARGET_INCREMENTAL_S))
    return median


# -- 3. saving offline, then push ------------------------------------------------------------------

def claimable(store: Store, today: Any) -> list[tuple[str, str, list[str]]]:
    """(person, program, their unclaimed rows of the last months), by person id."""
    with store.read_session() as session:
        found = session.execute(
            select(FeeRowRecord.person_id, FeeRowRecord.id)
            .outerjoin(ClaimRecord, ClaimRecord.fee_row_id == FeeRowRecord.id)
            .where(ClaimRecord.fee_row_id.is_(None),
                   FeeRowRecord.date >= today - timedelta(days=RECENT_DAYS))
            .order_by(FeeRowRecord.person_id, FeeRowRecord.id)).all()
        by_person: dict[str, list[str]] = {}
        for person_id, row_id in found:
            by_person.setdefault(person_id, []).append(row_id)
        members = {person_id for person_id, years in session.execute(
            select(PersonRecord.id, PersonRecord.mutual_aid_years)) if years}
    return [(p, "mutual_aid" if p in members else "assistance", rows)
            for p, rows in by_person.items()]


def save_offline(store: Store, seeded: Seeded, args: argparse.Namespace) -> int:
    from district.values import shanghai_today

    today = shanghai_today()
    district = seeded.district_of(args.street)
    handler = seeded.clerk(args.street)
    say(f"\n3. {args.applications:,} applications saved offline, then pushed")
    candidates = claimable(store, today)
    times: list[float] = []
    skipped, errors = 0, Counter[str]()
    started = time.perf_counter()
    with profiled(args.profile, "save-applications", args.work):
        for person_id, program, rows in candidates:
            if len(times) == args.applications:
                break
            began = time.perf_counter()
            try:
                save_application(store, person_id=person_id, program=program, district=district,
                                 application_date=today, ticked=rows, handler=handler)
            except NothingToClaim:
                skipped += 1
                continue
            except Exception as exc:  # counted and shown; the bench goes on
                errors[f"{type(exc).__name__}: {exc}"[:160]] += 1
                continue
            times.append(time.perf_counter() - began)
    total = time.perf_counter() - started
    if not times:
        raise SystemExit("no application could be saved")
    median, p95 = median_p95(times)
    say(f"  saved {len(times):,} applications in {total:.1f} s ({skipped:,} persons skipped: "
        f"nothing to claim); per save median {median * 1000:.1f} ms, p95 {p95 * 1000:.1f} ms")
    for message, n in errors.most_common(5):
        say(f"  save failed {n}x: {message}")
    if len(times) < args.applications:
        say(f"  note: only {len(times)} persons had something to claim "
            f"(of {len(candidates)} with unclaimed recent rows)")
    return len(times)


def keep_push(server: Server, client: TimedClient, seeded: Seeded,
              args: argparse.Namespace) -> None:
    """Copy the server's database as it is before the push (the server is idle: its WAL is
    copied with it) and have the client keep each push request, for bench/replay_push.py."""
    folder: Path = args.keep_push
    folder.mkdir(parents=True, exist_ok=True)
    for old in folder.glob("push-*.json"):
        old.unlink()
    source = Path(seeded.database_url.removeprefix("sqlite:///"))
    for path in sqlite_files(source):
        shutil.copyfile(path, folder / path.name.replace(source.name, "district.sqlite"))
    (folder / "caller.json").write_text(json.dumps({
        "device_id": client.device_id, "street_code": args.street,
        "district": seeded.district_of(args.street), "username": seeded.clerk(args.street),
    }), "utf-8")
    client.keep_push = folder
    say(f"  kept the server database before the push and the push requests in {folder}")


def push_all(store: Store, client: TimedClient, server: Server, saved: int,
             args: argparse.Namespace) -> float:
    with store.read_session() as session:
        waiting = outbox_waiting_count(session)
    client.reset()
    before = len(server.request_ms("/push"))
    started = time.perf_counter()
    with profiled(args.profile, "push", args.work):
        stats = push(store, client, batch=args.push_batch, on_result=record_push_result)
    seconds = time.perf_counter() - started
    with store.read_session() as session:
        left = outbox_waiting_count(session)
        statuses = Counter(session.scalars(select(ApplicationRecord.status)))
        reasons = Counter(session.scalars(select(ApplicationRecord.server_reason).where(
            ApplicationRecord.status == "review")))
    http = client.http_seconds()
    say(f"  pushed {waiting:,} outbox items ({saved:,} applications + their audit events) "
        f"in {len(client.calls)} request(s) of up to {args.push_batch}: sent {stats.sent:,}, "
        f"accepted {stats.accepted:,}, refused {stats.refused:,}, duplicates "
        f"{stats.duplicates:,}; outbox left {left}")
    say(f"  applications: {dict(statuses)}" + (f"; refused for {dict(reasons)}" if reasons
                                                 else ""))
    say(f"  in HTTP (POST /push: network, server) {http:.2f} s, in the counter "
        f"{seconds - http:.2f} s; slowest request {client.slowest():.2f} s "
        f"(the app's client timeout: 15 s)")
    say(f"  HTTP: {server_split(server, '/push', before, http)}")
    args.figures["push: server (/push)"] = server_seconds(server, "/push", before)
    say(verdict(f"push of {saved:,} applications until the outbox is empty", seconds,
                TARGET_PUSH_S))
    return seconds


# -- main ------------------------------------------------------------------------------------------

def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--persons", type=int, default=PERSONS,
                        help=f"persons seeded in the one street (default {PERSONS:,})")
    parser.add_argument("--street", default=STREET, help=f"street code (default {STREET})")
    parser.add_argument("--work", type=Path, default=DEFAULT_WORK,
                        help=f"cache and scratch folder (default {DEFAULT_WORK})")
    parser.add_argument("--database-url", help="the server's database, e.g. "
                        "postgresql+psycopg://…; seeded once, reused in place (default: a "
                        "fresh copy of a cached SQLite seed under --work)")
    parser.add_argument("--reseed", action="store_true", help="seed again, ignoring the cache")
    parser.add_argument("--changes", type=int, default=1000,
                        help="server changes per incremental pull (default 1,000)")
    parser.add_argument("--rounds", type=int, default=3,
                        help="incremental pulls to time (default 3)")
    parser.add_argument("--applications", type=int, default=1000,
                        help="applications saved offline and pushed (default 1,000)")
    parser.add_argument("--page-size", type=int, default=PAGE_SIZE,
                        help="pull page size (default PAGE_SIZE, as the app pulls)")
    parser.add_argument("--push-batch", type=int, default=200,
                        help="push batch size (default 200, as the app pushes)")
    parser.add_argument("--keep-push", type=Path, metavar="DIR",
                        help="keep the server database before the push and the push requests "
                             "in DIR, for bench/replay_push.py (SQLite only)")
    parser.add_argument("--initial-only", action="store_true",
                        help="the initial pull (and its baselines) only: no incremental pulls, "
                             "no push")
    parser.add_argument("--no-baseline", action="store_true",
                        help="skip the raw sqlite3 baselines")
    parser.add_argument("--profile", action="store_true",
                        help="cProfile each timed step of the counter (inflates the times)")
    parser.add_argument("--plain", action="store_true",
                        help="unencrypted stores (the counter's is sealed with SQLCipher)")
    parser.add_argument("--both", action="store_true",
                        help="run on SQLite, then on PostgreSQL in a throwaway cluster of its "
                             "own (PostgreSQL 15 binaries, default settings; seeded once into "
                             "a template database under --work, copied fresh for each run), "
                             "and print the two side by side")
    args = parser.parse_args()
    args.work.mkdir(parents=True, exist_ok=True)
    if args.both and args.database_url:
        raise SystemExit("--both runs its own PostgreSQL: leave out --database-url")
    if args.both and args.keep_push:
        raise SystemExit("--keep-push keeps a SQLite database: leave out --both")
    say(f"sync benchmark: {args.persons:,} persons in street {args.street}; "
        f"{os.cpu_count()} CPUs, load average {load_average()} "
        "(a shared machine: other work on it slows every figure)")
    if not args.both:
        run(args, args.database_url)
        return 0
    columns: dict[str, dict[str, float | None]] = {}
    say("\n=== SQLite ===")
    columns["SQLite"] = run(args, None)
    with pg_cluster(args.work / "pg") as cluster:
        say("\n=== PostgreSQL ===")
        args.no_baseline = True  # the raw baselines are the counter's: measured once above
        seeded = cluster.fresh_copy(args.persons, args.street, args.reseed)
        columns["PostgreSQL"] = run(args, seeded.database_url, seeded)
    say("\nside by side (seconds; one invocation, one after the other; load average now "
        f"{load_average()})")
    labels = list(dict.fromkeys(label for column in columns.values() for label in column))
    say(f"  {'':44s} {'SQLite':>10s} {'PostgreSQL':>11s} {'PG/SQLite':>10s}")
    for label in labels:
        sqlite_s, pg_s = columns["SQLite"].get(label), columns["PostgreSQL"].get(label)
        ratio = f"{pg_s / sqlite_s:.2f}×" if sqlite_s and pg_s else ""
        say(f"  {label:44s} {_cell(sqlite_s):>10s} {_cell(pg_s):>11s} {ratio:>10s}")
    return 0


def _cell(seconds: float | None) -> str:
    return "—" if seconds is None else f"{seconds:.2f}"


def run(args: argparse.Namespace, database_url: str | None, seeded: Seeded | None = None
        ) -> dict[str, float | None]:
    """One run against one server database; its figures by label (seconds)."""
    args.figures = {}
    if seeded is None and database_url:
        seeded = seeded_in_place(args.work, database_url, args.persons, args.street,
                                 args.reseed)
    elif seeded is None:
        seeded = seeded_sqlite(args.work, args.persons, args.street, args.reseed)
    counts = seeded.report["counts"]
    say(f"seed: {counts['persons']:,} persons, {counts['fee_rows']:,} fee rows "
        f"({counts['fee_rows'] / max(1, counts['persons']):.1f} per person), "
        f"{counts['category_spans']:,} category spans, {counts['claims']:,} claims, "
        f"{counts['changes']:,} changes; seeded in {seeded.seconds:.0f} s on {seeded.when}"
        + (" (cached)" if seeded.cached else ""))
    if args.persons >= PERSONS and counts["fee_rows"] < 900_000:
        say(f"  note: the seed draws {counts['fee_rows'] / counts['persons']:.1f} fee rows per "
            f"person, so {args.persons:,} persons give {counts['fee_rows']:,} fee rows, not "
            f"~1,000,000 (--persons {int(1_000_000 * counts['persons'] / counts['fee_rows']):,}"
            " would)")

    server = Server(seeded.database_url, args.work / "server.log")
    store_path = args.work / "counter.sqlite"
    remove_sqlite(store_path)
    store = open_store(store_path, key=None if args.plain else bench_key(store_path))
    say(f"counter store: {'plain SQLite' if args.plain else 'sealed (SQLCipher, raw key)'}")
    client: TimedClient | None = None
    results: list[tuple[str, float, float]] = []
    try:
        client = counter(server.url, seeded, args.street, "bench counter")
        # the clerk signs in at this counter: their signing key is made and registered, so
        # the applications saved below carry the 经办人's signature the district verifies
        sign_in(store, client, seeded.clerk(args.street), PASSWORD)
        # as the counter does after registering: its applications carry human numbers, which
        # the district checks (desktop.services.numbering)
        remember_registration(store, client.street_name, client.device_number)
        seconds, pulled_changes = initial_pull(store, client, server, args)
        results.append(("initial pull", seconds, TARGET_INITIAL_S))
        baseline: tuple[Path, dict[str, str], bytes | None] | None = None
        if not args.no_baseline:
            base_path = args.work / "baseline.sqlite"
            base_s, rows, inserts, base_key = raw_copy(store_path, base_path, args.page_size,
                                                       not args.plain)
            say(f"  baseline: raw sqlite3 executemany of the same {rows:,} rows into the same "
                f"schema (one commit per {args.page_size:,} rows, synchronous=FULL, the pull's "
                f"page cache): {base_s:.1f} s = {rows / base_s:,.0f} rows/s")
            grouped_path = args.work / "baseline-grouped.sqlite"
            grouped_s, _rows, _inserts, _key = raw_copy(
                store_path, grouped_path, pull_module.COMMIT_CHANGES, not args.plain)
            remove_sqlite(grouped_path)
            say(f"  initial pull {seconds:.1f} s = {pulled_changes / seconds:,.0f} changes/s "
                f"beside the raw baseline {base_s:.1f} s = {rows / base_s:,.0f} rows/s: "
                f"ratio {seconds / base_s:.1f}×; beside a commit per "
                f"{pull_module.COMMIT_CHANGES:,} rows (as the pull commits) {grouped_s:.1f} s "
                f"= {rows / grouped_s:,.0f} rows/s: ratio {seconds / grouped_s:.1f}×; "
                f"load average {load_average()}")
            baseline = (base_path, inserts, base_key)
        if args.initial_only:
            return {"initial pull": seconds}
        seconds = incremental_pulls(store, client, seeded, args, baseline)
        results.append((f"incremental pull of {args.changes:,}", seconds, TARGET_INCREMENTAL_S))
        saved = save_offline(store, seeded, args)
        if args.keep_push is not None:
            keep_push(server, client, seeded, args)
        seconds = push_all(store, client, server, saved, args)
        results.append((f"push of {saved:,} applications", seconds, TARGET_PUSH_S))
        client.reset()
        started = time.perf_counter()
        stats = pull(store, client, page_size=args.page_size)
        say(f"  (for the record: the next pull brings the pushed claims back: "
            f"{stats.changes:,} changes in {time.perf_counter() - started:.2f} s)")
    finally:
        if client is not None:
            client.close()
        store.close()
        server.stop()
    say("\nsummary (a shared 2-core machine: figures vary with its load, "
        f"now {' '.join(f'{x:.2f}' for x in os.getloadavg())})")
    for label, seconds, target in results:
        say(f"  {label:40s} {seconds:8.2f} s   target < {target:g} s   "
            f"{'met' if seconds < target else 'NOT met'}")
    figures: dict[str, float | None] = {}
    for label, seconds, _target in results:
        figures[label] = seconds
        for key, value in args.figures.items():
            if key.split(":")[0] in label:
                figures[f"  of which {key.split(': ')[1]}"] = value
    return figures


if __name__ == "__main__":
    raise SystemExit(main())
