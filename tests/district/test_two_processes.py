"""Two `python -m district serve` processes on one PostgreSQL database, as behind a load
balancer, agree on everything: each request may reach either one, so sessions, login
failures, idempotency keys, signing keys, claims and the change sequence must all live in the
database (docs/deployment.md). One seeded database and two servers serve the whole module.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from sqlalchemy import func, or_, select

from desktop import wire
from district import models
from district.db import Database
from district.services import auth
from district.values import to_fen
from tests.district.harness import (
    CHANGNING_STREET,
    PASSWORD,
    Counter,
    ServerProcess,
    audit_event,
    by_street,
    claimable_rows,
    fresh_recipients,
    seed,
)

RACE_ROUNDS = 6  # persons raced for at once, each by two counters through the two processes


@dataclass
class TwoProcesses:
    """Two servers over one seeded PostgreSQL database, and the counters made against them."""

    a: ServerProcess
    b: ServerProcess
    db: Database
    street: dict[str, Any]
    counters: list[Counter] = field(default_factory=list)
    used_persons: set[str] = field(default_factory=set)

    def user(self, role: str) -> str:
        username: str = self.street["users"][role]
        return username

    def counter(self, via: ServerProcess, login: str | None = "clerk1") -> Counter:
        """A PC registered, signed in (its user's key registered) and pulled through `via`."""
        codes: list[str] = self.street["enrolment_codes"]
        counter = Counter.register(via.base_url, codes.pop(), f"柜台{len(self.counters) + 1}")
        self.counters.append(counter)
        if login:
            counter.login(self.user(login))
            counter.pull()
        return counter

    def through(self, counter: Counter, via: ServerProcess) -> Counter:
        """The same PC, with its token, session, keys and pulled data, talking to `via`."""
        other = Counter(via.base_url, counter.registered)
        other.session_token, other.user = counter.session_token, counter.user
        other.keys, other.saved = counter.keys, counter.saved
        other.snapshot, other.cursor = counter.snapshot, counter.cursor
        self.counters.append(other)
        return other

    def fresh_persons(self, counter: Counter, n: int) -> list[str]:
        found = [p for p in fresh_recipients(counter) if p not in self.used_persons][:n]
        assert len(found) == n, "the seeded district has too few unclaimed persons left"
        self.used_persons.update(found)
        return found

    def server_errors(self) -> list[str]:
        return [line for server in (self.a, self.b) for line in server.log().splitlines()
                if '"level": "ERROR"' in line or '"status": 500' in line]


@pytest.fixture(scope="module")
def two(database_url: Callable[[str], str],
        tmp_path_factory: pytest.TempPathFactory) -> Iterator[TwoProcesses]:
    url = database_url("postgresql")  # skips the module when PostgreSQL is not installed
    report = seed(url, persons=60, streets=[CHANGNING_STREET], codes=12)
    logs = tmp_path_factory.mktemp("two-processes")
    a, b = ServerProcess(url, logs / "a.log"), ServerProcess(url, logs / "b.log")
    _start_together(a, b)
    two = TwoProcesses(a, b, Database(url), by_street(report)[CHANGNING_STREET])
    try:
        yield two
    finally:
        for counter in two.counters:
            counter.close()
        a.stop()
        b.stop()
        two.db.dispose()


def _start_together(a: ServerProcess, b: ServerProcess) -> None:
    """Both at once, as after a reboot (the database is migrated already)."""
    failed: list[BaseException] = []

    def start(server: ServerProcess) -> None:
        try:
            server.start()
        except BaseException as exc:  # reported in the main thread
            failed.append(exc)

    threads = [threading.Thread(target=start, args=(s,)) for s in (a, b)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    if failed:
        a.stop()
        b.stop()
        raise failed[0]


def _in_parallel(jobs: list[Callable[[], httpx.Response]]) -> list[httpx.Response]:
    """Run every job in its own thread, all released at once; their answers in job order."""
    barrier = threading.Barrier(len(jobs))
    answers: list[httpx.Response | BaseException | None] = [None] * len(jobs)

    def run(index: int) -> None:
        try:
            barrier.wait(30)
            answers[index] = jobs[index]()
        except BaseException as exc:  # reported in the main thread
            answers[index] = exc

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(jobs))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    done: list[httpx.Response] = []
    for answer in answers:
        if not isinstance(answer, httpx.Response):
            raise AssertionError(f"a parallel request did not answer: {answer!r}")
        done.append(answer)
    return done


def _push_job(via: ServerProcess, counter: Counter,
              items: list[wire.OutboxItem]) -> Callable[[], httpx.Response]:
    body = wire.Push(items=items).model_dump_json()
    headers = {**counter.headers(), "Content-Type": "application/json"}
    return lambda: httpx.post(f"{via.base_url}/push", content=body, headers=headers, timeout=90)


def _login_job(via: ServerProcess, counter: Counter, username: str,
               password: str) -> Callable[[], httpx.Response]:
    return lambda: _login(via, counter, username, password)


def _login(via: ServerProcess, counter: Counter, username: str, password: str) -> httpx.Response:
    return httpx.post(f"{via.base_url}/login", headers=counter.headers(), timeout=30,
                      json={"username": username, "password": password})


def _results(response: httpx.Response) -> list[wire.ItemResult]:
    assert response.status_code == 200, response.text  # a refusal is a result, never a 500
    return wire.PushResult.model_validate_json(response.content).results


def _error(response: httpx.Response) -> wire.ErrorBody:
    return wire.ErrorBody.model_validate_json(response.content)


def test_a_fee_row_raced_through_both_processes_is_claimed_once(two: TwoProcesses) -> None:
    """Two PCs of the street apply for the same persons' rows at the same moment, one through
    each process, for several persons at once: per person exactly one application wins, the
    other is refused as already claimed with the winner named, and what the district owes is
    exactly what the winners claimed."""
    first, second = two.counter(two.a, "clerk1"), two.counter(two.b, "clerk2")
    jobs, rounds = [], []
    for n, person in enumerate(two.fresh_persons(first, RACE_ROUNDS)):
        rows = claimable_rows(first, person)
        # the second PC ticks the same rows, or (every other person) only the last of them
        theirs = rows if n % 2 == 0 else rows[-1:]
        items = (first.application(person, rows), second.application(person, theirs))
        vias = (two.a, two.b) if n % 2 == 0 else (two.b, two.a)  # each PC through both
        jobs += [_push_job(vias[0], first, [items[0]]), _push_job(vias[1], second, [items[1]])]
        rounds.append((person, rows, items))
    answers = _in_parallel(jobs)

    accepted_fen = 0
    for i, (person, rows, items) in enumerate(rounds):
        (mine,), (their,) = _results(answers[2 * i]), _results(answers[2 * i + 1])
        assert sorted([mine.status, their.status]) == ["accepted", "refused"], (mine, their)
        winner, loser = (mine, their) if mine.status == "accepted" else (their, mine)
        won = items[0] if winner is mine else items[1]
        assert winner.detail is not None and loser.detail is not None
        assert winner.detail["application_id"] == str(won.payload["application_id"])
        assert loser.reason == "already_claimed"
        assert loser.detail["application_id"] == winner.detail["application_id"]
        assert winner.detail["payable"] == won.payload["payable"]
        accepted_fen += to_fen(winner.detail["payable"])
        with two.db.read() as session:
            claims = session.execute(select(models.Claim.fee_row_id, models.Claim.application_id)
                                     .where(models.Claim.fee_row_id.in_(rows))).all()
            applications = session.execute(
                select(models.Application.id, models.Application.payable_fen)
                .where(models.Application.person_id == person)).all()
        assert sorted(claims) == sorted((r, winner.detail["application_id"])
                                        for r in won.payload["fee_row_ids"])
        assert applications == [(winner.detail["application_id"],
                                 to_fen(winner.detail["payable"]))]
    with two.db.read() as session:
        owed = session.scalar(select(func.sum(models.Application.payable_fen)).where(
            models.Application.person_id.in_([person for person, _, _ in rounds])))
    assert owed == accepted_fen
    assert two.server_errors() == []


def test_a_session_opened_through_one_process_works_and_ends_through_the_other(
        two: TwoProcesses) -> None:
    for opened, other in ((two.a, two.b), (two.b, two.a)):
        counter = two.counter(opened, login=None)
        counter.login(two.user("clerk1"))  # through `opened`
        there = two.through(counter, other)
        assert there.get("/changes", limit=1).status_code == 200
        assert there.http.post("/logout", headers=there.headers()).status_code == 204
        for server in (opened, other):
            r = httpx.get(f"{server.base_url}/changes", headers=counter.headers())
            assert r.status_code == 401 and _error(r).code == "session_invalid"
    assert two.server_errors() == []


def test_an_item_applied_through_one_process_is_a_duplicate_through_the_other(
        two: TwoProcesses) -> None:
    """The key is in push_items, not in a process: the same item again through B answers
    "duplicate" with A's result, and the key with another body is refused whole (409)."""
    counter = two.counter(two.b, "clerk1")  # the clerk's key registered through B
    via_a = two.through(counter, two.a)
    (person,) = two.fresh_persons(counter, 1)
    item = counter.application(person, claimable_rows(counter, person))
    applied = via_a.push_one(item)  # A verifies the signature with B's registration
    assert applied.status == "accepted", applied
    again = counter.push_one(item)  # through B
    assert again.status == "duplicate" and again.detail is not None
    assert again.detail["original_status"] == "accepted"
    assert again.detail["application_id"] == str(item.payload["application_id"])

    reused = wire.OutboxItem(idempotency_key=item.idempotency_key, kind=item.kind,
                             payload={**item.payload, "proxy_name": "张三"},
                             created_at=item.created_at)
    newcomer = audit_event(two.user("clerk1"), 1)
    for server in (two.b, two.a):
        r = _push_job(server, counter, [newcomer, reused])()
        assert r.status_code == 409 and _error(r).code == "idempotency_key_reused", r.text
        assert _error(r).field == "items.1.idempotency_key"
    with two.db.read() as session:
        kept = session.scalars(select(models.PushItem.idempotency_key).where(
            models.PushItem.idempotency_key.in_(
                [str(item.idempotency_key), str(newcomer.idempotency_key)]))).all()
        applications = session.scalar(select(func.count()).select_from(models.Application)
                                      .where(models.Application.person_id == person))
    assert kept == [str(item.idempotency_key)]  # nothing of the refused requests applied
    assert applications == 1
    assert two.server_errors() == []


def test_login_failures_through_both_processes_add_up_to_one_lockout(
        two: TwoProcesses) -> None:
    counter = two.counter(two.a, login=None)
    victim = two.user("approver")
    # FREE_FAILURES wrong passwords at once, spread over the two processes
    vias = [two.a if n % 2 == 0 else two.b for n in range(auth.FREE_FAILURES)]
    answers = _in_parallel([_login_job(via, counter, victim, f"guess-{n}")
                            for n, via in enumerate(vias)])
    for r in answers:
        assert r.status_code == 401 and _error(r).code == "invalid_credentials", r.text
    with two.db.read() as session:
        row = session.get(models.LoginFailures, (auth.name_key(victim), counter.device_id))
    assert row is not None and row.failures == auth.FREE_FAILURES
    assert row.locked_until is not None
    for server in (two.a, two.b):  # even the right password, through either process
        r = _login(server, counter, victim, PASSWORD)
        assert r.status_code == 401 and _error(r).code == "account_locked", r.text
    assert two.server_errors() == []


def test_the_change_feed_reads_the_same_through_both_processes(two: TwoProcesses) -> None:
    first, second = two.counter(two.a, "clerk1"), two.counter(two.b, "clerk2")
    mine, theirs = two.fresh_persons(first, 2)
    rows = {mine: claimable_rows(first, mine), theirs: claimable_rows(second, theirs)}
    pushes = [_push_job(two.a, first, [first.application(mine, rows[mine])]),
              _push_job(two.b, second, [second.application(theirs, rows[theirs])])]
    for r in _in_parallel(pushes):
        assert [x.status for x in _results(r)] == ["accepted"]

    via_b = two.through(first, two.b)
    whole = first.page(0, 5000, count=True)
    assert not whole.more and whole.total == len(whole.items)
    assert via_b.page(0, 5000, count=True).model_dump() == whole.model_dump()
    seqs = [c.seq for c in whole.items]
    with two.db.read() as session:
        visible = session.scalars(select(models.Change.seq).where(or_(
            models.Change.street_code == CHANGNING_STREET, models.Change.street_code.is_(None)))
            .order_by(models.Change.seq)).all()
    assert seqs == list(visible)  # in order, each once, nothing the database has left out
    claimed = {c.key for c in whole.items if c.entity == "claim"}
    assert set(rows[mine]) | set(rows[theirs]) <= claimed  # pushed through A and through B
    # A cursor from one process carries on through the other: pages alternate A, B, A, …
    cursor, items, n = 0, [], 0
    while True:
        page = (first if n % 2 == 0 else via_b).page(cursor, 97)
        items += page.items
        cursor, n = page.next_cursor, n + 1
        if not page.more:
            break
    assert [c.model_dump() for c in items] == [c.model_dump() for c in whole.items]
    assert two.server_errors() == []



@pytest.mark.parametrize("rounds", [3])
def test_processes_starting_together_on_an_empty_database_migrate_once(
        database_url: Callable[[str], str], tmp_path_factory: pytest.TempPathFactory,
        rounds: int) -> None:
    """Two `serve` started at the same moment on a database nothing migrated yet: one migrates
    and adds the policy's parameter versions, the other waits for it (an advisory lock, the
    change counter's row lock) and finds nothing left to do; neither exits."""
    for _ in range(rounds):
        url = database_url("postgresql")
        logs = tmp_path_factory.mktemp("start-together")
        a, b = ServerProcess(url, logs / "a.log"), ServerProcess(url, logs / "b.log")
        try:
            _start_together(a, b)
            db = Database(url)
            with db.read() as session:
                versions = session.scalar(select(func.count())
                                          .select_from(models.ParameterVersion))
                changes = session.scalar(select(func.count()).select_from(models.Change)
                                         .where(models.Change.entity == "parameter_version"))
            db.dispose()
            assert versions and versions == changes  # each added once, each with its change
        finally:
            a.stop()
            b.stop()
