"""The monthly 免申即享 run: who is due, with which rows and what it pays (POLICY.md §6)."""

from __future__ import annotations

import random
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

from desktop.services.counter import CounterSession
from desktop.services.monthly import auto_enrolled_due, deadline
from desktop.store import apply_changes, open_store
from desktop.wire import Change
from tests.store.conftest import fee_row_data, person_data, upsert

FIRST = date(2026, 5, 10)
LATER = date(2026, 7, 3)


def _person(changes: list[Change], rnd: random.Random, pid: str, name: str,
            rows: list[tuple[str, str, str]]) -> None:
    changes.append(upsert("person", pid, person_data(rnd, pid, name)))
    changes.append(upsert("category_span", f"S{pid}", {
        "id": f"S{pid}", "person_id": pid, "code": "dibao", "start": "2024-01-01", "end": None,
        "source": "民政"}))
    for row_id, day, amount in rows:
        changes.append(upsert("fee_row", row_id, fee_row_data(row_id, pid, day, amount)))


def test_who_is_due_this_month(tmp_path: Path) -> None:
    rnd = random.Random(15)
    changes: list[Change] = []
    _person(changes, rnd, "A", "王芳", [("A1", "2026-04-01", "100.00"),
                                       ("A2", "2026-06-20", "1000.00")])
    _person(changes, rnd, "B", "李娜", [("B1", "2026-04-01", "100.00"),
                                       ("B2", "2026-06-21", "500.00")])
    _person(changes, rnd, "C", "张伟", [("C1", "2026-04-01", "100.00")])
    store = open_store(tmp_path / "s.sqlite")
    with store.session() as session:
        apply_changes(session, changes)
    for pid, auto in (("A", True), ("B", False), ("C", True)):
        counter = CounterSession(store, pid, program="assistance", clerk="clerk1",
                                 application_date=FIRST)
        counter.tick(f"{pid}1")
        counter.submit(auto_enrolled=auto, now=datetime(2026, 5, 10, 2, 0, tzinfo=UTC))
    due = auto_enrolled_due(store, today=LATER, clerk="clerk1")
    # A signed the commitment and has a new row; B did not sign; C has nothing new
    assert [(e.person_id, e.rows) for e in due] == [("A", ("A2",))]
    (entry,) = due
    assert entry.payable == Decimal("600.00")  # dibao outpatient 60 % (POLICY.md §1)
    assert entry.self_pay == Decimal("1000.00") and entry.last_applied == FIRST
    assert entry.id_masked.count("*") == 10
    # claimed this month: A leaves the run
    counter = CounterSession(store, "A", program="assistance", clerk="clerk1",
                             application_date=LATER)
    counter.tick_all(entry.rows)
    counter.submit(auto_enrolled=True)
    assert auto_enrolled_due(store, today=LATER, clerk="clerk1") == []
    assert deadline(LATER) == date(2026, 7, 15)
    store.close()
