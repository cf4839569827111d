"""A server killed with SIGKILL in the middle of a push, or just after answering, loses nothing
and doubles nothing: the counter pushes the same items again after the restart and each one is
applied exactly once."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
from sqlalchemy import create_engine, text

from desktop import wire
from tests.district.conftest import BACKENDS
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


def _count(url: str, table: str) -> int:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return int(conn.execute(text(f"SELECT count(*) FROM {table}")).scalar_one())
    finally:
        engine.dispose()


@pytest.mark.parametrize("backend", BACKENDS)
def test_kill_during_and_after_a_push(backend: str, database_url: Callable[[str], str],
                                      tmp_path: Path) -> None:
    url = database_url(backend)
    streets = by_street(seed(url, persons=60, streets=[CHANGNING_STREET], codes=2))
    server = ServerProcess(url, tmp_path / "server.log")
    server.start()
    try:
        counter = Counter.register(server.base_url, streets[CHANGNING_STREET]["enrolment_codes"][0])
        clerk = streets[CHANGNING_STREET]["users"]["clerk1"]
        counter.login(clerk, PASSWORD)
        counter.pull()
        person = fresh_recipients(counter)[0]
        rows = claimable_rows(counter, person)
        application = counter.application(person, rows)
        app_id = str(application.payload["application_id"])
        items = [application,
                 counter.signature(app_id, "reviewer",
                                   streets[CHANGNING_STREET]["users"]["reviewer"])]
        items += [audit_event(clerk, n) for n in range(498)]

        # 1. Killed in the middle: some requests are committed, the answer never comes. A
        #    request's items commit together, so the counter sends them 20 at a time.
        failure: list[BaseException] = []

        def push() -> None:
            try:
                for start in range(0, len(items), 20):
                    counter.push(items[start:start + 20])
            except (httpx.HTTPError, AssertionError) as exc:
                failure.append(exc)

        pushing = threading.Thread(target=push)
        pushing.start()
        deadline = time.monotonic() + 60
        while _count(url, "push_items") < 5:
            assert time.monotonic() < deadline, "the push never started"
            time.sleep(0.005)
        server.kill()
        pushing.join(30)
        assert failure, "the push answered although the server was killed during it"
        applied = _count(url, "push_items")
        assert 0 < applied < len(items), "the kill did not land in the middle of the push"
        assert applied % 20 == 0, "a request was half committed"

        server.start()  # same database, same port: the counter's session survives
        results = counter.push(items)
        statuses = [r.status for r in results]
        assert statuses.count("duplicate") == applied
        assert statuses.count("accepted") == len(items) - applied
        assert "refused" not in statuses
        assert statuses[:applied] == ["duplicate"] * applied  # items are applied in order
        for result in results[:applied]:
            assert result.detail is not None and result.detail["original_status"] == "accepted"

        signed = f"signatures WHERE application_id = '{app_id}'"
        counts = {t: _count(url, t) for t in ("push_items", "audit_events", signed)}
        assert counts == {"push_items": 500, "audit_events": 498, signed: 1}
        assert _count(url, f"claims WHERE application_id = '{app_id}'") == len(rows)
        assert _count(url, f"applications WHERE id = '{app_id}'") == 1

        # 2. Killed right after answering: the answer was lost with the counter's connection,
        #    so the counter pushes again — and nothing happens twice.
        approve = counter.signature(app_id, "approver",
                                    streets[CHANGNING_STREET]["users"]["approver"])
        more = [approve, *(audit_event(clerk, 1000 + n) for n in range(3))]
        first = counter.push(more)
        assert [r.status for r in first] == ["accepted"] * 4
        server.kill()
        server.start()
        second = counter.push(more)
        assert [r.status for r in second] == ["duplicate"] * 4
        assert second[0].detail == {**(first[0].detail or {}), "original_status": "accepted"}
        assert _count(url, signed) == 2
        assert _count(url, "audit_events") == 501
        changes = [c for c in counter.pull() if c.entity == "claim"]
        assert sorted(c.key for c in changes) == sorted(rows)
        assert wire.ClaimData.model_validate(changes[0].data).device_id == counter.device_id
        counter.close()
    finally:
        server.stop()
