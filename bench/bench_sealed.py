"""Benchmark: what sealing the cache (SQLCipher, issue 9) costs, plain and sealed side by side.

The same work on a plain SQLite store and on a sealed one, alternated round by round in one
process, so that the load of a shared machine falls on both alike:
1. a first pull's writes: pages of 1,000 new persons and fee rows through `apply_changes`
   (the bulk executemany path on the driver's connection), one transaction per page;
2. an incremental pull's writes: 1,000 upserts of rows already cached (the row-by-row path);
3. person search (`search_persons`: ID number, last 4, name prefix, pinyin initials);
4. opening the store (connection, key, pragmas, migration check) and closing it;
and, once, sealing the plain store in place (what the first start of this version does).

Run: `.venv/bin/python bench/bench_sealed.py [--persons N] [--rounds R]`.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from faker import Faker

from desktop.domain.id_number import generate_id_number
from desktop.store import Store, apply_changes, open_store, search_persons
from desktop.store.database import seal_plain_cache
from desktop.wire import Change

PAGE = 1000
ROWS_PER_PERSON = 10
KEY = os.urandom(32)  # a throwaway key: these stores live for one run


def say(text: str) -> None:
    print(text, flush=True)


def people(count: int) -> list[dict[str, Any]]:
    rnd = random.Random(20261205)
    faker = Faker("zh_CN")
    faker.seed_instance(20261205)
    out, seen = [], set()
    for n in range(count):
        birth = date(1940, 1, 1) + timedelta(days=rnd.randrange(25_000))
        sex = rnd.choice("MF")
        id_number = generate_id_number(rnd, "310105", birth, sex)
        while id_number in seen:
            id_number = generate_id_number(rnd, "310105", birth, sex)
        seen.add(id_number)
        out.append({"id": f"P{n:06d}", "id_number": id_number,
                    "name": faker.name(), "sex": sex, "birth_date": birth.isoformat(),
                    "phone": f"139{rnd.randrange(10**8):08d}", "street_code": "310105001",
                    "committee": "华阳居委"})
    return out


def first_pull_pages(persons: list[dict[str, Any]]) -> list[list[Change]]:
    seq = iter(range(1, 10**9))
    changes = []
    for person in persons:
        changes.append(Change(seq=next(seq), entity="person", key=person["id"], op="upsert",
                              data=person))
    for n, person in enumerate(persons):
        for r in range(ROWS_PER_PERSON):
            row = f"F{n:06d}{r:02d}"
            amount = f"{100 + (n * 7 + r) % 900}.{r:02d}"
            changes.append(Change(seq=next(seq), entity="fee_row", key=row, op="upsert", data={
                "id": row, "person_id": person["id"], "receipt_no": f"R{row}",
                "date": f"2026-{1 + r:02d}-{1 + n % 28:02d}", "kind": "outpatient",
                "hospital_level": 2, "total": amount, "out_of_scope": "0.00",
                "self_pay": amount}))
    return [changes[i:i + PAGE] for i in range(0, len(changes), PAGE)]


def upserts(persons: list[dict[str, Any]], round_no: int) -> list[Change]:
    rnd = random.Random(round_no)
    chosen = rnd.sample(persons, min(PAGE, len(persons)))
    return [Change(seq=10**8 * (round_no + 1) + n, entity="person", key=p["id"], op="upsert",
                   data={**p, "phone": f"138{rnd.randrange(10**8):08d}"})
            for n, p in enumerate(chosen)]


def timed(work: Callable[[], object]) -> float:
    started = time.perf_counter()
    work()
    return time.perf_counter() - started


def pull_into(store: Store, pages: list[list[Change]]) -> None:
    for page in pages:
        with store.session() as session:
            apply_changes(session, page)


def searches(store: Store, persons: list[dict[str, Any]]) -> Iterator[float]:
    rnd = random.Random(3)
    for person in rnd.sample(persons, 50):
        for query in (person["id_number"], person["id_number"][-4:], person["name"][:2]):
            with store.read_session() as session:
                started = time.perf_counter()
                search_persons(session, query, 20)
                yield (time.perf_counter() - started) * 1000


def p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[max(0, int(len(ordered) * 0.95 + 0.5) - 1)]


def line(label: str, plain: list[float], sealed: list[float], unit: str) -> None:
    a, b = statistics.median(plain), statistics.median(sealed)
    say(f"  {label:44s} plain median {a:8.2f} {unit} (p95 {p95(plain):8.2f})   "
        f"sealed median {b:8.2f} {unit} (p95 {p95(sealed):8.2f})   x{b / a:.2f}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--persons", type=int, default=5000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    say(f"sealed-cache benchmark: {args.persons:,} persons x {ROWS_PER_PERSON} fee rows, "
        f"{args.rounds} rounds alternated; {os.cpu_count()} CPUs, load average "
        f"{' '.join(f'{x:.2f}' for x in os.getloadavg())} (a shared machine)")
    persons = people(args.persons)
    pages = first_pull_pages(persons)
    changes = sum(len(p) for p in pages)
    results: dict[str, dict[str, list[float]]] = {}

    def record(what: str, kind: str, value: float | list[float]) -> None:
        bucket = results.setdefault(what, {"plain": [], "sealed": []})[kind]
        bucket.extend(value if isinstance(value, list) else [value])

    with tempfile.TemporaryDirectory() as folder:
        for round_no in range(args.rounds):
            order = ["plain", "sealed"] if round_no % 2 == 0 else ["sealed", "plain"]
            for kind in order:
                path = Path(folder) / f"{kind}-{round_no}.sqlite"
                key = KEY if kind == "sealed" else None
                with open_store(path, key=key) as store:
                    record("first pull writes", kind, timed(lambda s=store: pull_into(s, pages)))
                    again = [upserts(persons, round_no)]
                    record("incremental upserts", kind, timed(
                        lambda s=store, c=again: pull_into(s, c)))
                    record("search", kind, list(searches(store, persons)))
                record("open + close", kind, [timed(lambda p=path, k=key: open_store(
                    p, key=k).close()) for _ in range(10)])
            say(f"  round {round_no + 1} done")
        say(f"\n{changes:,} changes per first pull, pages of {PAGE:,}; "
            f"{PAGE:,} upserts per incremental pull")
        line("1. first pull writes (s)", results["first pull writes"]["plain"],
             results["first pull writes"]["sealed"], "s ")
        line("2. incremental pull writes (s)", results["incremental upserts"]["plain"],
             results["incremental upserts"]["sealed"], "s ")
        line("3. search_persons (ms)", results["search"]["plain"], results["search"]["sealed"],
             "ms")
        line("4. open_store + close (ms)", [1000 * x for x in results["open + close"]["plain"]],
             [1000 * x for x in results["open + close"]["sealed"]], "ms")
        plain = Path(folder) / "plain-0.sqlite"
        size = plain.stat().st_size / 2**20
        seconds = timed(lambda: seal_plain_cache(plain, KEY))
        say(f"  5. sealing the plain store in place: {seconds:.2f} s for {size:.1f} MiB "
            f"({size / seconds:.1f} MiB/s, copy + check + fsync + rename)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
