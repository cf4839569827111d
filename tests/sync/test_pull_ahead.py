"""The pull asks for the next page while it reads one: as soon as a page's headers name the
next cursor (wire.NEXT_CURSOR_HEADER), never more than a few pages ahead, in order whatever
the district's headers say, and without hanging when it stops.

The district here is an httpx transport serving pages of synthetic changes: these tests make
it misbehave (headers that disagree with the page, a failure mid-pull) in ways a real server
does not. tests/sync/test_sync_e2e.py pulls from a real one."""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from desktop import wire
from desktop.store import Store, get_cursor, open_store
from desktop.store.models import FeeRowRecord, PersonRecord
from desktop.sync.client import DistrictClient, Offline
from desktop.sync.pull import STREAM, _Pages, pull
from tests.store.conftest import fee_row_data, person_data, upsert

PAGES = 8  # pages of 2 changes: a person and a fee row of theirs


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    with open_store(tmp_path / "store.sqlite") as opened:
        yield opened


def _changes() -> list[wire.Change]:
    rnd = random.Random(11)
    items = []
    for n in range(PAGES):
        items += [upsert("person", f"P{n}", person_data(rnd, f"P{n}", "张三"), seq=2 * n + 1),
                  upsert("fee_row", f"F{n}", fee_row_data(f"F{n}", f"P{n}", "2026-03-01",
                                                          "10.00"), seq=2 * n + 2)]
    return items


class _Body(httpx.SyncByteStream):
    """A page's body that, before it is read, waits (up to `wait`) for the next page to be
    asked for, and notes whether it was."""

    def __init__(self, district: District, content: bytes, cursor: int, following: int | None,
                 wait: float) -> None:
        self.district, self.content, self.cursor = district, content, cursor
        self.following, self.wait = following, wait

    def __iter__(self) -> Iterator[bytes]:
        if self.following is not None and self.wait:
            asked = self.district.asked_event(self.following).wait(self.wait)
            self.district.before_body[self.cursor] = asked
        yield self.content


class District:
    """/changes over the changes, 2 a page; `headers`: "right", "none" or "wrong"."""

    def __init__(self, headers: str = "right", *, wait: float = 0.0,
                 fail_at: int | None = None) -> None:
        self.changes = _changes()
        self.headers = headers
        self.wait = wait
        self.fail_at = fail_at
        self.asked: list[int] = []  # cursors asked for, in order
        self.before_body: dict[int, bool] = {}  # cursor -> next page asked before its body
        self._events: dict[int, threading.Event] = {}
        self._lock = threading.Lock()

    def asked_event(self, cursor: int) -> threading.Event:
        with self._lock:
            return self._events.setdefault(cursor, threading.Event())

    def __call__(self, request: httpx.Request) -> httpx.Response:
        cursor = int(request.url.params["cursor"])
        with self._lock:
            self.asked.append(cursor)
        self.asked_event(cursor).set()
        if cursor == self.fail_at:
            raise httpx.ConnectError("the network went down")
        items = [c for c in self.changes if c.seq > cursor][:2]
        following = items[-1].seq if items else cursor
        more = following < self.changes[-1].seq
        page = wire.ChangesPage(items=items, next_cursor=following, more=more,
                                total=len([c for c in self.changes if c.seq > cursor]),
                                newest=self.changes[-1].seq, count=len(items))
        headers = {}
        if self.headers != "none":
            named = {"wrong": following + 1, "low": following - 1}.get(self.headers,
                                                                        following)
            if self.headers == "low at first" and cursor < 2:
                named = following - 1
            headers = {wire.NEXT_CURSOR_HEADER: str(named),
                       wire.MORE_HEADER: "1" if more else "0"}
        body = _Body(self, page.model_dump_json().encode(), cursor,
                     following if more else None, self.wait)
        return httpx.Response(200, headers=headers | {"Content-Type": "application/json"},
                              stream=body)


def _client(district: District) -> DistrictClient:
    return DistrictClient("http://district.test", lambda: "token",
                          transport=httpx.MockTransport(district))


def _state(store: Store) -> tuple[int, int, int]:
    with store.read_session() as session:
        return (get_cursor(session, STREAM),
                session.scalar(select(func.count()).select_from(PersonRecord)) or 0,
                session.scalar(select(func.count()).select_from(FeeRowRecord)) or 0)


def _pull_within(seconds: float, store: Store, client: DistrictClient, **kwargs: Any) -> Any:
    """pull() in a thread: a pull that hangs fails the test instead of the run."""
    outcome: dict[str, Any] = {}

    def run() -> None:
        try:
            outcome["stats"] = pull(store, client, page_size=2, **kwargs)
        except Exception as exc:  # the test looks at it
            outcome["error"] = exc

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(seconds)
    assert not thread.is_alive(), "the pull hung"
    if "error" in outcome:
        raise outcome["error"]
    return outcome["stats"]


def test_the_next_page_is_asked_for_before_this_pages_body_is_read(store: Store) -> None:
    district = District("right", wait=5.0)
    with _client(district) as client:
        stats = _pull_within(60, store, client)
    assert stats.complete and _state(store) == (2 * PAGES, PAGES, PAGES)
    assert district.asked == [2 * n for n in range(PAGES)]  # each page once, in order
    assert district.before_body and all(district.before_body.values())


def test_a_district_that_does_not_name_the_next_cursor_is_asked_after_the_body(
        store: Store) -> None:
    district = District("none", wait=0.2)
    with _client(district) as client:
        stats = _pull_within(60, store, client)
    assert stats.complete and _state(store) == (2 * PAGES, PAGES, PAGES)
    assert district.asked == [2 * n for n in range(PAGES)]
    assert not any(district.before_body.values())


@pytest.mark.parametrize("headers", ["wrong", "low"])
def test_headers_that_disagree_with_the_page_are_not_followed(store: Store, headers: str
                                                              ) -> None:
    """The page says where it ends; a page asked for at the cursor the headers named instead
    (after it or before it) is not applied, holds no place ahead, and the pull stops asking
    ahead."""
    district = District(headers)
    with _client(district) as client:
        stats = _pull_within(60, store, client)
    assert stats.complete and _state(store) == (2 * PAGES, PAGES, PAGES)
    assert set(district.asked) >= {2 * n for n in range(PAGES)}
    # the pages asked for at the cursors the headers named, before the first page showed
    # they disagree: a few at most, then none
    assert len(district.asked) <= PAGES + 2 * _Pages.LOOKAHEAD
    assert district.asked[-PAGES // 2:] == [2 * n for n in range(PAGES - PAGES // 2, PAGES)]


def test_a_page_announced_before_the_cursor_frees_its_place_ahead() -> None:
    """A district whose first two pages' headers name a cursor one short, the later ones
    right: the page asked for at 1 is dropped when the pull is past it, not kept holding a
    place ahead to the end (two such would stop the pull)."""
    district = District("low at first")
    with _client(district) as client, _Pages(client, 2) as pages:
        page = pages.take(pages.first(0))
        while page.more:
            time.sleep(0.05)  # the pages announced are asked for meanwhile
            page = pages.take(pages.after(page.next_cursor))
        assert page.next_cursor == 2 * PAGES
        time.sleep(0.2)
        free = [pages._slots.acquire(blocking=False) for _ in range(_Pages.LOOKAHEAD)]
        assert all(free)  # nothing is held ahead at the end
        for _ in free:
            pages._slots.release()


def test_the_pull_is_never_more_than_a_few_pages_ahead(store: Store) -> None:
    district = District("right")
    applied: list[int] = []
    ahead: list[int] = []

    def progress(done: int, _total: int) -> None:
        applied.append(done // 2)
        time.sleep(0.05)  # a slow writer: the fetching would run ahead
        ahead.append(len(district.asked) - applied[-1])

    with _client(district) as client:
        stats = _pull_within(60, store, client, progress=progress)
    assert stats.complete and _state(store) == (2 * PAGES, PAGES, PAGES)
    assert max(ahead) <= _Pages.LOOKAHEAD


def test_a_failure_ahead_ends_the_pull_with_the_pages_before_it_kept(store: Store) -> None:
    district = District("right", fail_at=6)
    with _client(district) as client, pytest.raises(Offline):
        _pull_within(60, store, client)
    assert _state(store) == (6, 3, 3)


def test_a_cancelled_pull_stops_and_keeps_the_pages_it_applied(store: Store) -> None:
    district = District("right")
    cancel = threading.Event()

    def progress(done: int, _total: int) -> None:
        if done >= 4:
            cancel.set()

    with _client(district) as client:
        stats = _pull_within(60, store, client, progress=progress, cancel=cancel)
    assert not stats.complete
    assert _state(store) == (stats.cursor, stats.cursor // 2, stats.cursor // 2)
    assert stats.cursor < 2 * PAGES
