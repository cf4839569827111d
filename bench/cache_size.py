"""Where the cache of bench_sync.py's district goes: every table's and index's size.

Issue 13's cache target is ≤ 200 MiB for 100,000 persons and 1,030,333 fee rows. This copies the
pulled cache (bench_sync.py's counter.sqlite, sealed, its key from the bench keyring beside it)
to a plain file, packed (sqlcipher_export writes every page full), and prints the sizes: as the
pull left it, sealed; packed and plain; packed and sealed again; then each table and index
(SQLite's dbstat), so a change of layout shows where it gained.

    python bench/cache_size.py [--cache PATH] [--work DIR]
"""

from __future__ import annotations

import argparse
import sqlite3
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import sqlcipher3.dbapi2 as sqlcipher  # noqa: E402
from bench_keyring import bench_key  # noqa: E402

DEFAULT = Path("/tmp/counter-bench/sync/counter.sqlite")  # bench_sync.py's, after its pull
MiB = 2**20


def export(source: Path, key: bytes | None, target: Path, target_key: bytes | None) -> None:
    """A packed copy of `source` at `target`, sealed under `target_key` or plain."""
    c = sqlcipher.connect(str(source))
    if key is not None:
        c.execute(f"PRAGMA key = \"x'{key.hex()}'\"")
    sealing = "''" if target_key is None else f"\"x'{target_key.hex()}'\""
    c.execute(f"ATTACH DATABASE '{target}' AS packed KEY {sealing}")
    c.execute("SELECT sqlcipher_export('packed')")
    c.execute("DETACH DATABASE packed")
    c.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cache", type=Path, default=DEFAULT)
    parser.add_argument("--work", type=Path, default=None)
    args = parser.parse_args()
    if not args.cache.exists():
        print(f"{args.cache} does not exist: run bench/bench_sync.py --initial-only first")
        return 2
    with tempfile.TemporaryDirectory(prefix="cache-size-", dir=args.work) as folder:
        plain, sealed = Path(folder) / "plain.sqlite", Path(folder) / "sealed.sqlite"
        export(args.cache, bench_key(args.cache), plain, None)
        export(plain, None, sealed, b"\x01" * 32)
        print(f"the cache: {args.cache}")
        print(f"  as the pull left it, sealed: {args.cache.stat().st_size / MiB:6.1f} MiB "
              "(target ≤ 200)")
        print(f"  packed, sealed:              {sealed.stat().st_size / MiB:6.1f} MiB")
        print(f"  packed, plain:               {plain.stat().st_size / MiB:6.1f} MiB, of which")
        with sqlite3.connect(plain) as c:
            rows = c.execute("SELECT name, count(*), sum(pgsize) FROM dbstat GROUP BY name "
                             "ORDER BY 3 DESC").fetchall()
            counts = {name: c.execute(f'SELECT count(*) FROM "{name}"').fetchone()[0]
                      for (name,) in c.execute("SELECT name FROM sqlite_master WHERE "
                                               "type = 'table'")}
        for name, _pages, size in rows:
            if size >= MiB:
                per_row = f"  {size / counts[name]:5.1f} bytes a row" if counts.get(name) else ""
                print(f"    {name:40s} {size / MiB:6.1f} MiB{per_row}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
