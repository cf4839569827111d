"""Replay the counter's side of an initial pull in this process, timed (and profiled).

Reads `--pages` pages of the street's changes from a district database (by default the one
bench_sync.py seeded and cached), as JSON the way the server sends them, then applies them to a
fresh counter store page by page exactly as `desktop.sync.pull` does (parse the page, apply it
and its cursor in one transaction). No HTTP and no server process: the counter's share alone.

    python bench/replay_pull.py [--district PATH] [--pages 100] [--plain] [--profile]
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from desktop import wire  # noqa: E402
from desktop.store import open_store  # noqa: E402
from desktop.sync.pull import _apply_page  # noqa: E402
from district.db import Database  # noqa: E402
from district.services.changes import changes_page, page_json  # noqa: E402

DEFAULT = Path("/tmp/counter-bench/sync/run/district.sqlite")  # bench_sync.py's, migrated


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--district", type=Path, default=DEFAULT)
    parser.add_argument("--street", default="310105001")
    parser.add_argument("--pages", type=int, default=100)
    parser.add_argument("--page-size", type=int, default=1000)
    parser.add_argument("--plain", action="store_true", help="an unsealed counter store")
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--lines", type=int, default=40)
    args = parser.parse_args()
    db = Database(f"sqlite:///{args.district}")
    texts: list[str] = []
    cursor = 0
    with db.read() as session:
        for _ in range(args.pages):
            page = changes_page(session, args.street, cursor, args.page_size)
            texts.append(page_json(page, wire.PROTOCOL_VERSION))
            cursor = page.next_cursor
            if not page.more:
                break
    db.dispose()
    changes = sum(t.count('"seq"') for t in texts)
    with tempfile.TemporaryDirectory() as folder:
        key = None if args.plain else b"\x01" * 32
        store = open_store(Path(folder) / "counter.sqlite", key=key) if key else open_store(
            Path(folder) / "counter.sqlite")
        profile = cProfile.Profile() if args.profile else None
        started = time.perf_counter()
        if profile:
            profile.enable()
        parse = apply = 0.0
        cursor = 0
        for text in texts:
            t0 = time.perf_counter()
            page = wire.ChangesPage.model_validate_json(text)
            t1 = time.perf_counter()
            _apply_page(store, cursor, page)
            apply += time.perf_counter() - t1
            parse += t1 - t0
            cursor = page.next_cursor
        if profile:
            profile.disable()
        took = time.perf_counter() - started
        store.close()
    print(f"{changes:,} changes in {len(texts)} pages: {took:.2f} s = {changes / took:,.0f} "
          f"changes/s (parsing {parse:.2f} s, applying {apply:.2f} s); "
          f"{'plain' if args.plain else 'sealed'} store")
    if profile:
        stats = pstats.Stats(profile).strip_dirs()
        stats.sort_stats("cumulative").print_stats(args.lines)
        stats.sort_stats("tottime").print_stats(args.lines)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
