"""Replay the counter's side of an initial pull in this process, beside its raw baseline.

Reads the street's changes from a district database (by default the one bench_sync.py seeded
and cached) page by page, as JSON the way the server sends them, and applies each to a fresh
counter store exactly as `desktop.sync.pull` does (parse the page, apply it and its cursor
through the pull's PageWriter, which commits several pages per transaction). No HTTP and no
server process: the counter's share alone, timed apart from the district's (reading and
serialising the pages, timed too). Then the baselines, in the same run: the rows the replay
wrote, inserted again with raw executemany into a fresh store of the same schema, pragmas,
encryption and page cache, one commit per page (the issue's baseline), then one commit per
COMMIT_CHANGES rows (as the pull commits).

    python bench/replay_pull.py [--district PATH] [--pages 100 | --pages 0 (all)] [--plain]
                                [--commit-changes N] [--no-baseline] [--profile]
"""

from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import sqlcipher3.dbapi2 as sqlcipher  # noqa: E402
from pull_baseline import WRITER_PRAGMAS, pulled_tables  # noqa: E402

from desktop.store import open_store  # noqa: E402
from desktop.sync.pull import (  # noqa: E402
    COMMIT_CHANGES,
    PAGE_SIZE,
    PageWriter,
    fewer_collections,
)
from desktop.sync.reader import parse_changes_page  # noqa: E402
from district.db import Database  # noqa: E402
from district.services.changes import changes_page_json  # noqa: E402

DEFAULT = Path("/tmp/counter-bench/sync/run/district.sqlite")  # bench_sync.py's, migrated
KEY = b"\x01" * 32


def load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def connect(path: Path, key: bytes | None) -> Any:
    connection = sqlcipher.connect(str(path), isolation_level=None)
    if key is not None:
        connection.execute(f"PRAGMA key = \"x'{key.hex()}'\"")
    return connection


def raw_baseline(source: Path, target: Path, key: bytes | None, page: int) -> tuple[float, int]:
    """The rows of `source` inserted into a fresh store with executemany, a commit per `page`
    rows; only the inserts and commits are timed."""
    open_store(target, key=key).close()  # the schema, by the store's own migrations
    reader, writer = connect(source, key), connect(target, key)
    for pragma in WRITER_PRAGMAS:
        writer.execute(f"PRAGMA {pragma}")
    seconds, rows = 0.0, 0
    for _name, sql, cursor in pulled_tables(reader):
        while batch := cursor.fetchmany(page):
            started = time.perf_counter()
            writer.execute("BEGIN IMMEDIATE")
            writer.executemany(sql, batch)
            writer.execute("COMMIT")
            seconds += time.perf_counter() - started
            rows += len(batch)
    reader.close()
    writer.close()
    return seconds, rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--district", type=Path, default=DEFAULT)
    parser.add_argument("--street", default="310105001")
    parser.add_argument("--pages", type=int, default=100, help="pages to replay (0: all)")
    parser.add_argument("--page-size", type=int, default=PAGE_SIZE)
    parser.add_argument("--plain", action="store_true", help="an unsealed counter store")
    parser.add_argument("--commit-changes", type=int, default=COMMIT_CHANGES,
                        help="changes a transaction holds at most (the pull's own: default)")
    parser.add_argument("--no-baseline", action="store_true")
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--lines", type=int, default=40)
    args = parser.parse_args()
    print(f"replay of an initial pull: {os.cpu_count()} CPUs, load average {load()}", flush=True)
    db = Database(f"sqlite:///{args.district}")
    key = None if args.plain else KEY
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "counter.sqlite"
        store = open_store(path, key=key)
        profile = cProfile.Profile() if args.profile else None
        served = parse = apply = 0.0
        cursor = pages = changes = 0
        # as pull() reads and writes pages: fewer garbage collections, PageWriter
        with (db.read() as session, fewer_collections(),
              PageWriter(store, max_changes=args.commit_changes) as writer):
            while not args.pages or pages < args.pages:
                t0 = time.perf_counter()
                text = changes_page_json(session, args.street, cursor, args.page_size)
                t1 = time.perf_counter()
                if profile:
                    profile.enable()
                page = parse_changes_page(text)  # as the client reads a page
                t2 = time.perf_counter()
                if page.items:
                    writer.apply(cursor, page)
                if not page.more:
                    writer.commit()
                if profile:
                    profile.disable()
                t3 = time.perf_counter()
                served, parse, apply = served + t1 - t0, parse + t2 - t1, apply + t3 - t2
                cursor, pages, changes = page.next_cursor, pages + 1, changes + len(page.items)
                if not page.more:
                    break
            t0 = time.perf_counter()
        apply += time.perf_counter() - t0  # the last commit
        store.close()
        took = parse + apply
        print(f"district: {pages:,} pages read and serialised in {served:.1f} s = "
              f"{changes / served:,.0f} changes/s (changes_page_json, in process)")
        print(f"counter: {changes:,} changes in {pages:,} pages: {took:.1f} s = "
              f"{changes / took:,.0f} changes/s (parsing {parse:.1f} s, applying {apply:.1f} s); "
              f"{'plain' if args.plain else 'sealed'} store; load average {load()}", flush=True)
        if not args.no_baseline:
            # a commit per page, as the baseline (and the pull before PageWriter); and
            # a commit per COMMIT_CHANGES rows, as the pull commits now
            for number, every in enumerate((args.page_size, args.commit_changes)):
                base_s, rows = raw_baseline(path, Path(folder) / f"baseline{number}.sqlite",
                                            key, every)
                print(f"baseline: executemany of the same {rows:,} rows into the same schema, "
                      f"a commit per {every:,}: {base_s:.1f} s = {rows / base_s:,.0f} rows/s; "
                      f"the pull takes {took / base_s:.1f}× as long; load average {load()}",
                      flush=True)
    db.dispose()
    if profile:
        stats = pstats.Stats(profile).strip_dirs()
        stats.sort_stats("cumulative").print_stats(args.lines)
        stats.sort_stats("tottime").print_stats(args.lines)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
