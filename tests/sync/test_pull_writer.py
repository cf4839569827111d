"""The pull's PageWriter: several whole pages per transaction, never a page in part, never a
cursor ahead of the data, whatever stops the pull."""

from __future__ import annotations

import random
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import func, select

from desktop import wire
from desktop.store import Store, get_cursor, open_store
from desktop.store.models import FeeRowRecord, PersonRecord
from desktop.sync.pull import STREAM, MalformedChanges, PageWriter
from tests.store.conftest import fee_row_data, person_data, upsert


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    with open_store(tmp_path / "store.sqlite") as opened:
        yield opened


def pages(count: int) -> list[wire.ChangesPage]:
    """`count` pages, each a person and a fee row of theirs, seqs 1, 2, 3, ..."""
    rnd = random.Random(7)
    result = []
    for n in range(count):
        items = [upsert("person", f"P{n}", person_data(rnd, f"P{n}", "张三"), seq=2 * n + 1),
                 upsert("fee_row", f"F{n}", fee_row_data(f"F{n}", f"P{n}", "2026-03-01",
                                                         "10.00"), seq=2 * n + 2)]
        result.append(wire.ChangesPage(items=items, next_cursor=2 * n + 2, more=n + 1 < count))
    return result


def state(store: Store) -> tuple[int, int, int]:
    """(cursor, persons, fee rows) as another connection sees them: what is committed."""
    with store.read_session() as session:
        return (get_cursor(session, STREAM),
                session.scalar(select(func.count()).select_from(PersonRecord)) or 0,
                session.scalar(select(func.count()).select_from(FeeRowRecord)) or 0)


def test_a_transaction_holds_several_pages_and_commits_when_full(store: Store) -> None:
    good = pages(5)
    with PageWriter(store, max_changes=4, max_seconds=3600) as writer:
        writer.apply(0, good[0])
        assert state(store) == (0, 0, 0)  # not committed yet
        writer.apply(2, good[1])
        assert state(store) == (4, 2, 2)  # four changes: committed with their cursor
        writer.apply(4, good[2])
        assert state(store) == (4, 2, 2)
    assert state(store) == (6, 3, 3)  # closing commits the whole pages applied


def test_a_malformed_page_leaves_nothing_and_the_pages_before_it_stay(store: Store) -> None:
    good = pages(3)
    bad_items = [*good[2].items[:1], good[2].items[1].model_copy(
        update={"data": {**(good[2].items[1].data or {}), "self_pay": None}})]
    bad = good[2].model_copy(update={"items": bad_items})
    with pytest.raises(MalformedChanges) as raised, \
            PageWriter(store, max_changes=10**6, max_seconds=3600) as writer:
        writer.apply(0, good[0])
        writer.apply(2, good[1])
        writer.apply(4, bad)  # its person is valid: written in the savepoint, then undone
    assert (raised.value.first_seq, raised.value.last_seq) == (5, 6)
    assert state(store) == (4, 2, 2)
    with store.read_session() as session:
        assert session.get(PersonRecord, "P2") is None


def test_a_stopped_process_writes_nothing_of_the_open_transaction(store: Store) -> None:
    good = pages(3)
    with pytest.raises(KeyboardInterrupt), \
            PageWriter(store, max_changes=4, max_seconds=3600) as writer:
        writer.apply(0, good[0])
        writer.apply(2, good[1])  # committed
        writer.apply(4, good[2])
        raise KeyboardInterrupt
    assert state(store) == (4, 2, 2)


def test_the_connection_gets_its_cache_size_back(store: Store) -> None:
    with store.engine.connect() as connection:
        before = connection.exec_driver_sql("PRAGMA cache_size").scalar()
    with PageWriter(store) as writer:
        writer.apply(0, pages(1)[0])
    with store.engine.connect() as connection:  # the pool's connections, the writer's too
        assert connection.exec_driver_sql("PRAGMA cache_size").scalar() == before
    assert state(store) == (2, 1, 1)
