"""An initial pull builds the district tables' plain indexes when it ends (however it ends), not
row by row; a pull into tables that hold rows leaves them alone; a process that died in between
gets them back when the cache opens next (desktop.store.deferred_indexes)."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from desktop import wire
from desktop.store import Store, open_store, search_persons
from desktop.store.deferred_indexes import STATE, TABLES, defer_indexes, restore_indexes
from desktop.sync.pull import MalformedChanges, PageWriter
from tests.store.conftest import delete
from tests.sync.test_pull_writer import pages, state


@pytest.fixture
def path(tmp_path: Path) -> Path:
    return tmp_path / "store.sqlite"


@pytest.fixture
def store(path: Path) -> Iterator[Store]:
    with open_store(path) as opened:
        yield opened


def indexes(path: Path) -> dict[str, str]:
    """The plain indexes of the district tables, each with its SQL (as the migrations made it)."""
    with sqlite3.connect(path) as raw:
        return dict(raw.execute(
            "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL"
            f" AND tbl_name IN ({', '.join('?' for _ in TABLES)})", TABLES).fetchall())


def remembered(path: Path) -> list[tuple[str]]:
    with sqlite3.connect(path) as raw:
        return raw.execute("SELECT value FROM local_state WHERE name = ?", (STATE,)).fetchall()


def test_an_initial_pull_builds_the_indexes_when_it_ends(store: Store, path: Path) -> None:
    migrated = indexes(path)
    assert {"ix_fee_row_receipt_no", "ix_person_name_id", "ix_fee_row_person_id_date",
            "ix_category_span_person_id"} <= set(migrated)
    good = pages(3)
    with PageWriter(store, max_changes=2, max_seconds=3600) as writer:
        writer.apply(0, good[0])
        assert indexes(path) == {}  # committed pages, indexes set aside
        assert len(remembered(path)) == 1
        writer.apply(2, good[1])
        writer.apply(4, good[2])
    assert indexes(path) == migrated and remembered(path) == []
    assert state(store) == (6, 3, 3)
    with store.read_session() as session:  # the search finds them through the indexes again
        assert [hit.person_id for hit in search_persons(session, "张三")] == ["P0", "P1", "P2"]


def test_a_page_that_deletes_a_person_is_applied_with_the_indexes(store: Store, path: Path
                                                                   ) -> None:
    """The delete cascades to the person's fee rows and spans through their person indexes:
    without them it would read every fee row of the street."""
    migrated = indexes(path)
    good = pages(3)
    gone = wire.ChangesPage(items=[delete("person", "P0", seq=7)], next_cursor=7, more=False)
    with PageWriter(store, max_changes=1, max_seconds=3600) as writer:
        writer.apply(0, good[0])
        writer.apply(2, good[1])
        assert indexes(path) == {}
        writer.apply(6, gone)  # committed (one change a transaction) with the indexes
        assert indexes(path) == migrated and remembered(path) == []
        writer.apply(7, good[2])  # the rest of the pull inserts into them
    assert indexes(path) == migrated
    assert state(store) == (6, 2, 2)  # P0 and their fee row gone; the last page's cursor


def test_a_writer_that_could_not_build_them_leaves_them_to_the_next(store: Store, path: Path
                                                                    ) -> None:
    """A stopped writer leaves them aside: the next pull's writer (tables not empty now)
    builds them when it ends, without waiting for the cache to be opened again."""
    migrated = indexes(path)
    good = pages(2)
    with pytest.raises(KeyboardInterrupt), \
            PageWriter(store, max_changes=2, max_seconds=3600) as writer:
        writer.apply(0, good[0])
        raise KeyboardInterrupt
    assert indexes(path) == {}
    with PageWriter(store) as writer:
        writer.apply(2, good[1])
    assert indexes(path) == migrated and remembered(path) == []
    assert state(store) == (4, 2, 2)


def test_a_pull_that_fails_builds_them_too(store: Store, path: Path) -> None:
    migrated = indexes(path)
    good = pages(2)
    bad = good[1].model_copy(update={"items": [good[1].items[0].model_copy(
        update={"entity": "unknown"})]})
    with pytest.raises(MalformedChanges), PageWriter(store) as writer:
        writer.apply(0, good[0])
        writer.apply(2, bad)
    assert indexes(path) == migrated and remembered(path) == []
    assert state(store) == (2, 1, 1)


def test_a_pull_into_tables_with_rows_keeps_the_indexes(store: Store, path: Path) -> None:
    migrated = indexes(path)
    good = pages(2)
    with PageWriter(store) as writer:
        writer.apply(0, good[0])
    with PageWriter(store, max_changes=1, max_seconds=3600) as writer:
        writer.apply(2, good[1])
        assert indexes(path) == migrated  # committed: the indexes were there all along
    assert state(store) == (4, 2, 2)


def test_a_process_stopped_in_a_pull_gets_them_back_at_the_next_open(path: Path) -> None:
    with open_store(path) as store:
        migrated = indexes(path)
        good = pages(2)
        with pytest.raises(KeyboardInterrupt), \
                PageWriter(store, max_changes=2, max_seconds=3600) as writer:
            writer.apply(0, good[0])
            raise KeyboardInterrupt  # nothing more written: the indexes stay aside
        assert indexes(path) == {} and len(remembered(path)) == 1
    with open_store(path) as store:
        assert indexes(path) == migrated and remembered(path) == []
        assert state(store) == (2, 1, 1)


def test_indexes_are_set_aside_once_and_built_once(store: Store, path: Path) -> None:
    migrated = indexes(path)
    with store.engine.begin() as connection:
        aside = defer_indexes(connection)
        assert "ix_fee_row_receipt_no" in aside
        assert defer_indexes(connection) == aside  # remembered: the same, not dropped again
    with store.engine.begin() as connection:
        assert sorted(restore_indexes(connection)) == sorted(migrated)
        assert restore_indexes(connection) == []
    assert indexes(path) == migrated
