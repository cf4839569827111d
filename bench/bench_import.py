"""Benchmark: `python -m district import` of 1,000,000 synthetic fee rows into a fresh district.

Figures, each against its target where it has one (issue: data imports):
1. persons: the persons file of the people those fee rows belong to, into an empty district;
2. fees: the 1,000,000-row fees CSV — target < 60 s on SQLite;
3. re-import of both files: idempotent, nothing written, no change recorded (checked);
4. baseline: raw sqlite3 — csv.reader over the same fees file and one executemany of its cells
   into a bare copy of the fee_rows table (no validation, no lookups, no changes), same process.
Each import runs as the command does (district.imports.command.run_import: one transaction,
progress on stderr, the summary printed), on a district with only streets and institutions.

The files are drawn by district.synthetic (persons with their category spans and fee rows,
outpatient visits scaled by --visit-scale for about 10 rows a person; synthetic ID numbers,
never real) and written with district.imports.files, cached under --work (--regenerate to draw
them again). Run: `.venv/bin/python bench/bench_import.py` (full size, a few minutes), or
`--fee-rows 100000` (quick). With --database-url (PostgreSQL), that database is emptied first.
"""

from __future__ import annotations

import argparse
import csv
import io
import os
import sqlite3
import sys
import time
from datetime import date
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import func, select

from district import models
from district.db import Database
from district.imports.command import run_import
from district.imports.files import write_fees, write_persons
from district.reference import INSTITUTIONS, STREETS
from district.synthetic import DistrictGenerator

DEFAULT_WORK = Path("/tmp/counter-bench/import")
FEE_ROWS = 1_000_000
SEED = 2026
VISIT_SCALE = 1.65
TODAY = date(2026, 12, 1)  # fixed, so the cached files stay valid (no fee date after it)
TARGET_FEES_S = 60.0


def say(text: str = "") -> None:
    print(text, flush=True)


def verdict(label: str, seconds: float, target: float | None) -> str:
    if target is None:
        return f"  {label:44s} {seconds:8.2f} s"
    met = "met" if seconds < target else "NOT met"
    return f"  {label:44s} {seconds:8.2f} s   target < {target:g} s: {met}"


# -- the files -----------------------------------------------------------------------------------

def make_files(folder: Path, fee_rows: int, seed: int, scale: float) -> tuple[Path, Path, int]:
    """Persons and fees files with exactly `fee_rows` fee rows; returns the persons' count."""
    persons_file, fees_file = folder / f"persons-{fee_rows}.csv", folder / f"fees-{fee_rows}.csv"
    count_file = folder / f"persons-{fee_rows}.count"
    if persons_file.exists() and fees_file.exists() and count_file.exists():
        return persons_file, fees_file, int(count_file.read_text())
    started = time.perf_counter()
    generator = DistrictGenerator(seed, list(STREETS), TODAY, scale)
    people: list[tuple[dict[str, Any], list[dict[str, Any]]]] = []
    names: dict[str, tuple[str, str]] = {}
    institutions = {i.code: (i.name, i.in_shanghai) for i in INSTITUTIONS}

    def rows() -> Any:
        left = fee_rows
        for person, spans, fees in generator.people(10 * fee_rows):
            if left <= 0:
                return
            people.append((person, spans))
            names[person["id"]] = (person["id_number"], person["name"])
            yield from fees[:left]
            left -= len(fees)

    written = write_fees(fees_file, rows(), names, institutions)
    assert written == fee_rows, written
    write_persons(persons_file, people)
    count_file.write_text(str(len(people)))
    say(f"  drew and wrote the files in {time.perf_counter() - started:.0f} s")
    return persons_file, fees_file, len(people)


# -- the district --------------------------------------------------------------------------------

def fresh_district(url: str) -> Database:
    db = Database(url)
    db.drop_everything()
    db.migrate()
    with db.write() as session:
        session.execute(models.table_of(models.Street).insert(), [
            {"code": s.code, "name": s.name, "district": s.district, "kind": s.kind,
             "slug": s.slug} for s in STREETS])
        session.execute(models.table_of(models.Institution).insert(), [
            {"code": i.code, "name": i.name, "level": i.level, "in_shanghai": i.in_shanghai}
            for i in INSTITUTIONS])
    return db


def timed_import(db: Database, kind: str, path: Path, work: Path) -> tuple[float, str]:
    out, err = io.StringIO(), io.StringIO()
    started = time.perf_counter()
    code = run_import(db, kind, path, work / f"{kind}.错误报告.csv", today=TODAY, out=out,
                      err=err)
    seconds = time.perf_counter() - started
    text = out.getvalue()
    if code != 0:
        raise SystemExit(f"import {kind} failed ({code}):\n{text}\n{err.getvalue()[-2000:]}")
    progress = err.getvalue().strip().splitlines()
    if progress:
        say(f"    (progress: {progress[-1]})")
    return seconds, text


def counts(db: Database) -> tuple[int, int, int, int]:
    with db.read() as session:
        return (session.scalar(select(func.count()).select_from(models.Person)) or 0,
                session.scalar(select(func.count()).select_from(models.CategorySpan)) or 0,
                session.scalar(select(func.count()).select_from(models.FeeRow)) or 0,
                session.scalar(select(func.max(models.Change.seq))) or 0)


# -- the baseline --------------------------------------------------------------------------------

def baseline(fees_file: Path, work: Path) -> float:
    """csv.reader and one raw sqlite3 executemany of the cells, in a table of 25 text columns
    (the fee_rows row's width), synchronous=FULL as the district uses."""
    path = work / "baseline.sqlite"
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=FULL")
    columns = ", ".join(f"c{i}" for i in range(25))
    conn.execute(f"CREATE TABLE rows (id TEXT PRIMARY KEY, {columns})")
    started = time.perf_counter()
    with fees_file.open(encoding="utf-8", newline="") as stream:
        reader = csv.reader(stream)
        next(reader)
        conn.execute("BEGIN")
        conn.executemany(f"INSERT INTO rows VALUES (?, {', '.join('?' * 25)})",
                         ([f"F{n:09d}", *cells] for n, cells in enumerate(reader, 1)))
        conn.execute("COMMIT")
    seconds = time.perf_counter() - started
    conn.close()
    return seconds


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fee-rows", type=int, default=FEE_ROWS,
                        help=f"fee rows in the file (default {FEE_ROWS:,})")
    parser.add_argument("--work", type=Path, default=DEFAULT_WORK,
                        help=f"files and scratch databases (default {DEFAULT_WORK})")
    parser.add_argument("--database-url",
                        help="a database to import into, EMPTIED first (default: a fresh "
                             "SQLite file under --work)")
    parser.add_argument("--seed", type=int, default=SEED, help=f"random seed (default {SEED})")
    parser.add_argument("--visit-scale", type=float, default=VISIT_SCALE,
                        help=f"outpatient visits per person, scaled (default {VISIT_SCALE})")
    parser.add_argument("--regenerate", action="store_true", help="draw the files again")
    parser.add_argument("--no-baseline", action="store_true", help="skip the raw baseline")
    args = parser.parse_args()
    args.work.mkdir(parents=True, exist_ok=True)
    if args.regenerate:
        for old in args.work.glob(f"*-{args.fee_rows}.*"):
            old.unlink()

    say(f"import benchmark: {args.fee_rows:,} fee rows; {os.cpu_count()} CPUs, load average "
        f"{' '.join(f'{x:.2f}' for x in os.getloadavg())} (a shared machine: other work on it "
        "slows every figure)")
    persons_file, fees_file, persons = make_files(args.work, args.fee_rows, args.seed,
                                                  args.visit_scale)
    say(f"files: {persons_file} ({persons:,} persons, "
        f"{persons_file.stat().st_size / 1e6:.0f} MB), {fees_file} "
        f"({fees_file.stat().st_size / 1e6:.0f} MB)")
    url = args.database_url or f"sqlite:///{args.work / 'district.sqlite'}"
    db = fresh_district(url)
    say(f"district: {db.display_url} (streets and institutions only)")
    results: list[tuple[str, float, float | None]] = []
    try:
        seconds, text = timed_import(db, "persons", persons_file, args.work)
        say(verdict("persons import", seconds, None))
        say("    " + text.strip().splitlines()[-1])
        results.append(("persons import", seconds, None))
        seconds, text = timed_import(db, "fees", fees_file, args.work)
        say(verdict(f"fees import ({args.fee_rows:,} rows)", seconds, TARGET_FEES_S))
        say("    " + text.strip().splitlines()[-1])
        results.append((f"fees import ({args.fee_rows:,} rows)", seconds, TARGET_FEES_S))
        before = counts(db)
        say(f"  district now: {before[0]:,} persons, {before[1]:,} category spans, "
            f"{before[2]:,} fee rows, {before[3]:,} changes")
        for kind, path in (("persons", persons_file), ("fees", fees_file)):
            seconds, text = timed_import(db, kind, path, args.work)
            label = f"re-import of {kind} (nothing changes)"
            say(verdict(label, seconds, None))
            say("    " + text.strip().splitlines()[-1])
            results.append((label, seconds, None))
        after = counts(db)
        assert after == before, f"the re-import changed the district: {before} -> {after}"
        say("  re-import: no row written, no change recorded (checked)")
    finally:
        db.dispose()
    if not args.no_baseline and not args.database_url:
        seconds = baseline(fees_file, args.work)
        say(f"  baseline: csv.reader + raw sqlite3 executemany of the same {args.fee_rows:,} "
            f"rows: {seconds:.1f} s — the import takes x{results[1][1] / seconds:.1f}")
    say("\nsummary (a shared 2-core machine: figures vary with its load, now "
        f"{' '.join(f'{x:.2f}' for x in os.getloadavg())})")
    for label, seconds, target in results:
        say(verdict(label, seconds, target))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
