"""Replay the push requests `bench_sync.py --keep-push DIR` kept, in this process, timed.

The server's share of the push benchmark without HTTP, threads or a second process: each kept
request is applied with `district.services.push.apply_push` to a fresh copy of the server
database as it was before the push, exactly as the route does. `--profile` runs it under
cProfile (the server process's worker threads hide from a profiler attached to it).

    python bench/bench_sync.py --keep-push /tmp/counter-bench/push
    python bench/replay_push.py /tmp/counter-bench/push [--profile]

Each request's SQL statements are counted too (SQLAlchemy's before_cursor_execute; an
executemany is one), the figure tests/district/test_statement_budget.py keeps within budget.
"""

from __future__ import annotations

import argparse
import cProfile
import json
import pstats
import shutil
import sys
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import event  # noqa: E402

from desktop import wire  # noqa: E402
from district.db import Database  # noqa: E402
from district.services.outcome import Caller  # noqa: E402
from district.services.push import apply_push  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("kept", type=Path, help="the folder bench_sync.py --keep-push wrote")
    parser.add_argument("--profile", action="store_true", help="cProfile the replay")
    parser.add_argument("--lines", type=int, default=40, help="profile lines to print")
    args = parser.parse_args()
    kept: Path = args.kept
    requests = sorted(kept.glob("push-*.json"))
    if not requests:
        raise SystemExit(f"no push-*.json in {kept}: run bench_sync.py --keep-push {kept}")
    work = kept / "replay"
    work.mkdir(exist_ok=True)
    started = time.perf_counter()
    for suffix in ("", "-wal", "-shm"):
        source = kept / f"district.sqlite{suffix}"
        target = work / f"district.sqlite{suffix}"
        target.unlink(missing_ok=True)
        if source.exists():
            shutil.copyfile(source, target)
    print(f"fresh copy of the database in {time.perf_counter() - started:.1f} s")
    caller_data = json.loads((kept / "caller.json").read_text("utf-8"))
    db = Database(f"sqlite:///{work / 'district.sqlite'}")
    with db.read() as session:
        from district.services.users import find_staff

        staff = find_staff(session, caller_data["username"])
        roles = frozenset(staff.roles) if staff is not None else frozenset({"clerk"})
    caller = Caller(device_id=caller_data["device_id"], street_code=caller_data["street_code"],
                    district=caller_data["district"], username=caller_data["username"],
                    roles=roles)
    pushes = [wire.Push.model_validate_json(path.read_text("utf-8")) for path in requests]
    profile = cProfile.Profile() if args.profile else None
    statuses: Counter[str] = Counter()
    times: list[float] = []
    statements: list[int] = [0]

    def count(*_args: object) -> None:
        statements[-1] += 1

    event.listen(db.engine, "before_cursor_execute", count)
    for push in pushes:
        began = time.perf_counter()
        if profile is not None:
            profile.enable()
        result = apply_push(db, caller, push)
        if profile is not None:
            profile.disable()
        times.append(time.perf_counter() - began)
        statements.append(0)
        statuses.update(f"{r.status}:{r.reason}" if r.reason else r.status
                        for r in result.results)
    items = sum(len(p.items) for p in pushes)
    print(f"{items:,} items in {len(pushes)} request(s): {sum(times):.2f} s "
          f"({', '.join(f'{t * 1000:.0f}' for t in times)} ms); {dict(statuses)}")
    print(f"SQL statements per request: {', '.join(str(n) for n in statements[:-1])} "
          f"({sum(statements) / max(1, items):.2f} per item)")
    if profile is not None:
        stats = pstats.Stats(profile).strip_dirs().sort_stats("cumulative")
        stats.print_stats(args.lines)
        stats.sort_stats("tottime").print_stats(args.lines)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
