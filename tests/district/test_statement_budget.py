"""Budgets of SQL statements: per pushed item, and per `/changes` page (issue 16).

On PostgreSQL every statement is a round trip (100–180 µs through SQLAlchemy), so a push or a
page costs what it sends far more than what the database does. These tests count the
statements (SQLAlchemy `before_cursor_execute` on the engine; an executemany is one) that the
route's own functions send, applied in this process to a district a real server process
seeded and a real counter pulled from, signed for and built its applications against. Both
back ends.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy import event

from desktop import wire
from district.db import Database
from district.services.changes import changes_page_json
from district.services.outcome import Caller
from district.services.push import apply_push
from district.services.users import find_staff
from tests.district.conftest import BACKENDS
from tests.district.harness import (
    CHANGNING_STREET,
    Counter,
    ServerProcess,
    audit_event,
    claimable_rows,
    fresh_recipients,
    seed,
    street_district,
)

# A push request: a fixed number of statements for the request (its keys, the prefetch, the
# users and keys it checks against, the audit chain's ends, the batched writes, the change
# counter) and a fraction of one per item (measured in December 2026, issue 16: 22 on
# PostgreSQL and 23 on SQLite for 10 or 100 applications with their audit events, 15/16 for 2
# or 10 signatures; before, 56/57 for 100 applications, 10 more for each signature).
PUSH_FIXED = 30
PUSH_PER_ITEM = 0.2
# A page of changes: the same statements whatever its size (4 on PostgreSQL, 5 on SQLite,
# whose read transaction begins with a statement of its own).
PAGE_STATEMENTS = 5


@dataclass
class Budgeted:
    backend: str
    db: Database
    counter: Counter
    caller: Caller
    recipients: list[str]


@pytest.fixture(scope="module", params=BACKENDS)
def budgeted(request: pytest.FixtureRequest, database_url: Callable[[str], str],
             tmp_path_factory: pytest.TempPathFactory) -> Iterator[Budgeted]:
    """A district of its own (the applications below take many persons), a counter registered
    and signed in on it that has pulled its street, and the server's database in-process."""
    backend: str = request.param
    url = database_url(backend)
    report = seed(url, persons=700, streets=[CHANGNING_STREET], codes=3)
    (street,) = report["streets"]
    server = ServerProcess(url, tmp_path_factory.mktemp(f"budget-{backend}") / "server.log")
    server.start()
    db = Database(url)
    try:
        counter = Counter.register(server.base_url, street["enrolment_codes"][0])
        clerk = next(u["username"] for u in report["users"]
                     if u["username"].split(".")[1] == "clerk1")
        counter.login(clerk)
        counter.pull()
        with db.read() as session:
            staff = find_staff(session, clerk)
            assert staff is not None
            roles = frozenset(staff.roles)
        caller = Caller(device_id=counter.device_id, street_code=CHANGNING_STREET,
                        district=street_district(CHANGNING_STREET), username=clerk,
                        roles=roles)
        yield Budgeted(backend, db, counter, caller, fresh_recipients(counter))
        counter.close()
    finally:
        db.dispose()
        server.stop()


@contextmanager
def counted(db: Database) -> Iterator[list[str]]:
    statements: list[str] = []

    def note(conn: Any, cursor: Any, statement: str, parameters: Any, context: Any,
             executemany: bool) -> None:
        statements.append(statement)

    event.listen(db.engine, "before_cursor_execute", note)
    try:
        yield statements
    finally:
        event.remove(db.engine, "before_cursor_execute", note)


def signed_applications(district: Budgeted, count: int) -> list[wire.OutboxItem]:
    """`count` applications as the counter pushes them: each signed by its 经办人 and followed
    by the audit event its saving wrote."""
    items: list[wire.OutboxItem] = []
    counter = district.counter
    for n in range(count):
        person_id = district.recipients.pop()
        rows = claimable_rows(counter, person_id)
        items += [counter.application(person_id, rows[:3]),
                  audit_event(district.caller.username, n)]
    return items


def pushed(district: Budgeted, items: list[wire.OutboxItem]) -> int:
    with counted(district.db) as statements:
        result = apply_push(district.db, district.caller, wire.Push(items=items))
    refused = [r for r in result.results if r.status != "accepted"]
    assert not refused, refused[:3]
    return len(statements)


def test_a_push_stays_within_its_statement_budget(budgeted: Budgeted) -> None:
    assert len(budgeted.recipients) >= 110, "the seed has too few persons to apply for"
    small = pushed(budgeted, signed_applications(budgeted, 10))
    large = pushed(budgeted, signed_applications(budgeted, 100))
    print(f"{budgeted.backend}: push of 10 applications {small} statements, of 100 {large}")
    assert small <= PUSH_FIXED + PUSH_PER_ITEM * 20, small
    assert large <= PUSH_FIXED + PUSH_PER_ITEM * 200, large
    assert large - small <= PUSH_PER_ITEM * 180, (small, large)


def test_a_push_of_signatures_stays_within_its_statement_budget(budgeted: Budgeted) -> None:
    """The reviewer's signatures of the counter's applications: each one checked against its
    signer's key and the application's state, by statements shared across the request."""
    counter = budgeted.counter
    applications = [i for i in signed_applications(budgeted, 12) if i.kind == "application"]
    pushed(budgeted, applications)
    reviewer = budgeted.caller.username.replace("clerk1", "reviewer")
    counter.ensure_key(reviewer)
    signatures = [counter.signature(str(item.payload["application_id"]), "reviewer",
                                    reviewer) for item in applications]
    small = pushed(budgeted, signatures[:2])
    large = pushed(budgeted, signatures[2:])
    print(f"{budgeted.backend}: push of 2 signatures {small} statements, of 10 {large}")
    assert large <= PUSH_FIXED + PUSH_PER_ITEM * 10, large
    assert large - small <= PUSH_PER_ITEM * 8, (small, large)


def page_statements(district: Budgeted, cursor: int, limit: int) -> tuple[int, int]:
    with counted(district.db) as statements, district.db.read() as session:
        page = changes_page_json(session, district.caller.street_code, cursor, limit)
    return len(statements), len(json.loads(page)["items"])


def test_a_changes_page_costs_the_same_statements_whatever_its_size(
        budgeted: Budgeted) -> None:
    small, small_items = page_statements(budgeted, 0, 10)
    large, large_items = page_statements(budgeted, 0, 1000)
    assert (small_items, large_items) == (10, 1000)
    print(f"{budgeted.backend}: a page of 10 changes {small} statements, of 1,000 {large}")
    assert small == large
    assert large <= PAGE_STATEMENTS

