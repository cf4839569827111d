"""The monthly 免申即享 run: who is due, with which rows and what it pays (POLICY.md §6), every new
row with its reason, nothing due recorded as done, late and missed, the districts where it applies,
and the month's summary counting 免申即享 applications (issue 15 point 3)."""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import select

from desktop.services.counter import CounterSession
from desktop.services.monthly import (
    DUE,
    MISSED,
    NOTHING_DUE,
    NOTHING_DUE_ACTION,
    PROCESSED,
    auto_enrolled_due,
    deadline,
    month_run,
)
from desktop.services.reports import monthly_summary
from desktop.store import Store, apply_changes, open_store
from desktop.store.models import ApplicationRecord, AuditEventRecord, SignatureRecord
from desktop.wire import Change
from tests.store.conftest import fee_row_data, person_data, upsert

FIRST = date(2026, 5, 10)
LATER = date(2026, 7, 3)
CHANGNING = "310105001"
MINHANG = "310112001"


def add_person(changes: list[Change], rnd: random.Random, pid: str, name: str,
            rows: list[tuple[str, str, str]], street: str = CHANGNING,
            **row_extra: dict[str, Any]) -> None:
    changes.append(upsert("person", pid, person_data(rnd, pid, name, street_code=street)))
    changes.append(upsert("category_span", f"S{pid}", {
        "id": f"S{pid}", "person_id": pid, "code": "dibao", "start": "2024-01-01", "end": None,
        "source": "民政"}))
    for row_id, day, amount in rows:
        changes.append(upsert("fee_row", row_id, fee_row_data(row_id, pid, day, amount,
                                                              **row_extra.get(row_id, {}))))


def fill_store(tmp_path: Path, changes: list[Change]) -> Store:
    store = open_store(tmp_path / "s.sqlite")
    with store.session() as session:
        apply_changes(session, changes)
    return store


def commit(store: Store, pid: str, auto: bool = True) -> None:
    """The first application, in May, with (or without) the 免申即享 flag."""
    counter = CounterSession(store, pid, program="assistance", clerk="clerk1",
                             application_date=FIRST)
    counter.tick(f"{pid}1")
    counter.submit(auto_enrolled=auto, now=datetime(2026, 5, 10, 2, 0, tzinfo=UTC))


def claim(store: Store, pid: str, rows: tuple[str, ...], day: date) -> ApplicationRecord:
    counter = CounterSession(store, pid, program="assistance", clerk="clerk1",
                             application_date=day)
    counter.tick_all(rows)
    saved = counter.submit(auto_enrolled=True,
                           now=datetime(day.year, day.month, day.day, 2, tzinfo=UTC))
    with store.read_session() as session:
        found = session.get(ApplicationRecord, saved.application_id)
        assert found is not None
        return found


def _nothing_due_events(store: Store) -> list[AuditEventRecord]:
    with store.read_session() as session:
        return list(session.scalars(select(AuditEventRecord).where(
            AuditEventRecord.action == NOTHING_DUE_ACTION)))


def test_who_is_due_this_month(tmp_path: Path) -> None:
    rnd = random.Random(15)
    changes: list[Change] = []
    add_person(changes, rnd, "A", "王芳", [("A1", "2026-04-01", "100.00"),
                                       ("A2", "2026-06-20", "1000.00")])
    add_person(changes, rnd, "B", "李娜", [("B1", "2026-04-01", "100.00"),
                                       ("B2", "2026-06-21", "500.00")])
    add_person(changes, rnd, "C", "张伟", [("C1", "2026-04-01", "100.00")])
    store = fill_store(tmp_path, changes)
    for pid, auto in (("A", True), ("B", False), ("C", True)):
        commit(store, pid, auto)
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


def test_every_committed_person_is_listed_with_every_new_row_and_its_reason(
        tmp_path: Path) -> None:
    rnd = random.Random(3)
    changes: list[Change] = []
    # D: one row that counts, one overdue (more than 6 months before the run, CN-2026 4.3),
    # one waiting for clearing (CN-2026 4.4)
    add_person(changes, rnd, "D", "赵敏", [("D1", "2026-04-01", "100.00"),
                                       ("D2", "2026-06-02", "500.00"),
                                       ("D3", "2025-12-01", "300.00"),
                                       ("D4", "2026-06-05", "200.00")],
            D4={"clearing_pending": True})
    # E: its only new row cannot count: listed, nothing payable, done
    add_person(changes, rnd, "E", "钱进", [("E1", "2026-04-01", "100.00"),
                                       ("E2", "2026-06-09", "800.00")],
            E2={"clearing_pending": True})
    store = fill_store(tmp_path, changes)
    commit(store, "D")
    commit(store, "E")
    now = datetime(2026, 7, 3, 1, tzinfo=UTC)
    run = month_run(store, today=LATER, clerk="clerk1", now=now)
    assert run.applies and run.deadline == date(2026, 7, 15) and run.days_late == 0
    by_person = {e.person_id: e for e in run.entries}
    d = by_person["D"]
    assert d.state == DUE and d.rows == ("D2",) and d.payable == Decimal("300.00")
    reasons = {r.id: (r.countable, r.reason) for r in d.new_rows}
    assert set(reasons) == {"D2", "D3", "D4"}  # D1 was claimed in May: not new
    assert reasons["D2"] == (True, "可申请")
    assert reasons["D3"][0] is False and reasons["D3"][1]
    assert reasons["D4"][0] is False and reasons["D4"][1]
    assert reasons["D3"][1] != reasons["D4"][1]
    e = by_person["E"]
    assert e.state == NOTHING_DUE and e.state_label == "本月无可报销费用"
    assert e.payable == 0 and e.rows == ()
    assert [(r.id, r.countable) for r in e.new_rows] == [("E2", False)]
    assert e.done_on == LATER and e.done_by == "clerk1"
    # recorded as done once, with the day, the clerk and why the rows cannot count
    (event,) = _nothing_due_events(store)
    assert event.actor == "clerk1" and event.subject == "person:E"
    assert event.detail["month"] == "2026-07" and event.detail["day"] == "2026-07-03"
    assert event.detail["new_rows"] == 1
    assert event.detail["reasons"] == {"clearing_pending": 1}
    # the same month again, another day and clerk: still the first record
    again = month_run(store, today=LATER + timedelta(days=1), clerk="clerk2")
    assert {x.person_id: (x.done_on, x.done_by) for x in again.entries
            if x.state == NOTHING_DUE} == {"E": (LATER, "clerk1")}
    assert len(_nothing_due_events(store)) == 1
    store.close()


def test_after_the_15th_the_run_is_late_and_the_month_shows_who_was_missed(
        tmp_path: Path) -> None:
    rnd = random.Random(7)
    changes: list[Change] = []
    add_person(changes, rnd, "A", "王芳", [("A1", "2026-04-01", "100.00"),
                                       ("A2", "2026-06-20", "1000.00")])
    add_person(changes, rnd, "F", "孙丽", [("F1", "2026-04-01", "100.00"),
                                       ("F2", "2026-06-22", "400.00")])
    add_person(changes, rnd, "C", "张伟", [("C1", "2026-04-01", "100.00")])
    store = fill_store(tmp_path, changes)
    for pid in "AFC":
        commit(store, pid)
    claim(store, "A", ("A2",), date(2026, 7, 8))  # processed in time
    run = month_run(store, today=date(2026, 7, 18), clerk="clerk1")
    assert run.deadline == date(2026, 7, 15) and run.days_late == 3
    states = {e.person_id: e.state for e in run.entries}
    assert states == {"A": PROCESSED, "F": MISSED, "C": NOTHING_DUE}
    assert (run.count(PROCESSED), run.count(NOTHING_DUE), run.count(MISSED)) == (1, 1, 1)
    processed = next(e for e in run.entries if e.person_id == "A")
    assert processed.done_on == date(2026, 7, 8) and processed.done_by == "clerk1"
    assert run.entries[0].person_id == "F"  # the missed first
    # on the 15th itself the run is not late yet
    assert month_run(store, today=date(2026, 7, 15), clerk="clerk1").days_late == 0
    store.close()


def test_running_a_month_twice_pays_nothing_twice(tmp_path: Path) -> None:
    rnd = random.Random(9)
    changes: list[Change] = []
    add_person(changes, rnd, "A", "王芳", [("A1", "2026-04-01", "100.00"),
                                       ("A2", "2026-06-20", "1000.00")])
    store = fill_store(tmp_path, changes)
    commit(store, "A")
    first = month_run(store, today=LATER, clerk="clerk1")
    (entry,) = first.entries
    claim(store, "A", entry.rows, LATER)
    second = month_run(store, today=LATER, clerk="clerk1")
    (again,) = second.entries
    assert again.state == PROCESSED and again.rows == () and again.payable == 0
    assert again.new_rows == ()  # A2 is in the live application: not new any more
    counter = CounterSession(store, "A", program="assistance", clerk="clerk1",
                             application_date=LATER)
    assert not counter.row("A2").tickable
    store.close()


def test_the_run_applies_only_where_the_district_has_the_procedure(tmp_path: Path) -> None:
    rnd = random.Random(11)
    changes: list[Change] = []
    add_person(changes, rnd, "A", "王芳", [("A1", "2026-04-01", "100.00"),
                                       ("A2", "2026-06-20", "1000.00")])
    add_person(changes, rnd, "M", "周强", [("M1", "2026-04-01", "100.00"),
                                       ("M2", "2026-06-20", "1000.00")], street=MINHANG)
    store = fill_store(tmp_path, changes)
    commit(store, "A")
    commit(store, "M")
    run = month_run(store, today=LATER, clerk="clerk1")
    assert [e.person_id for e in run.entries] == ["A"]  # 闵行: not in the sources' procedure
    (line,) = run.not_applicable
    assert "闵行区" in line and "不适用" in line and "1 人" in line
    # a 闵行 counter: the run says so and lists nobody
    minhang = month_run(store, today=LATER, clerk="clerk1", street_code=MINHANG)
    assert not minhang.applies and minhang.entries == () and minhang.deadline is None
    assert any("闵行区" in text for text in minhang.not_applicable)
    assert deadline(LATER, district="minhang") is None
    assert deadline(LATER, program="mutual_aid") is None
    changning = month_run(store, today=LATER, clerk="clerk1", street_code=CHANGNING)
    assert changning.applies and changning.deadline == date(2026, 7, 15)
    assert {e.person_id for e in changning.entries} == {"A", "M"}  # the counter's district
    store.close()


def test_the_monthly_summary_counts_the_auto_enrolled_applications(tmp_path: Path) -> None:
    rnd = random.Random(5)
    changes: list[Change] = []
    add_person(changes, rnd, "A", "王芳", [("A1", "2026-04-01", "100.00"),
                                       ("A2", "2026-06-20", "1000.00")])
    add_person(changes, rnd, "B", "李娜", [("B1", "2026-04-01", "100.00"),
                                       ("B2", "2026-06-21", "500.00")])
    store = fill_store(tmp_path, changes)
    commit(store, "A")
    commit(store, "B", auto=False)
    auto = claim(store, "A", ("A2",), LATER)
    counter = CounterSession(store, "B", program="assistance", clerk="clerk1",
                             application_date=LATER)
    counter.tick("B2")
    plain = counter.submit(now=datetime(2026, 7, 3, 3, tzinfo=UTC)).application_id
    at = datetime(2026, 7, 10, 2, tzinfo=UTC)
    with store.session() as session:  # both approved, accepted by the district in July
        for application_id in (auto.id, plain):
            application = session.get(ApplicationRecord, application_id)
            assert application is not None
            application.signatures.append(SignatureRecord(
                role="reviewer", username="wang", signed_at=at - timedelta(minutes=5)))
            application.signatures.append(SignatureRecord(role="approver", username="zhao",
                                                          signed_at=at))
            application.status = "approved"
            application.accepted_at = at - timedelta(days=1)
            application.approval_accepted_at = at
    summary = monthly_summary(store, street_code=CHANGNING, year=2026, month=7)
    assert summary.applications == 2 and summary.auto_enrolled == 1
    assert monthly_summary(store, street_code=CHANGNING, year=2026, month=6).auto_enrolled == 0
    store.close()
