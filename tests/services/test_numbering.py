"""The application number a counter gives at saving (desktop.services.numbering): a sequence per
year in the counter store, moved on in the saving transaction, so a number goes to exactly one
saved application; none on a PC without a device number."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from desktop.services.counter import CounterSession
from desktop.services.numbering import (
    display_number,
    next_number,
    remember_registration,
)
from desktop.store import Store, open_store
from desktop.store.local_state import set_state_value
from desktop.store.models import ApplicationRecord, OutboxRecord
from tests.services.test_counter import TODAY, P, fill, row
from tests.signers import remember_with_key


@pytest.fixture
def store(tmp_path: Path) -> Store:
    store = open_store(tmp_path / "counter.sqlite")
    fill(store, [row(f"F{i}", "2026-04-08", "1000.00") for i in range(1, 6)])
    remember_with_key(store, "li", "李经办", ["clerk"], "pw-li-synthetic")
    return store


def _save(store: Store, row_id: str) -> uuid.UUID:
    counter = CounterSession(store, P, program="assistance", clerk="li",
                             application_date=TODAY)
    counter.tick(row_id)
    saved = counter.submit()
    with store.read_session() as session:
        record = session.get(ApplicationRecord, saved.application_id)
        assert record is not None and record.number == saved.number
    return saved.application_id


def _number(store: Store, application_id: uuid.UUID) -> str | None:
    with store.read_session() as session:
        record = session.get(ApplicationRecord, application_id)
        assert record is not None
        return record.number


def test_saved_applications_are_numbered_in_sequence(store: Store) -> None:
    remember_registration(store, "华阳路街道", 3)
    ids = [_save(store, f"F{i}") for i in (1, 2, 3)]
    assert [_number(store, i) for i in ids] == [
        "华阳-2026-03-0001", "华阳-2026-03-0002", "华阳-2026-03-0003"]
    with store.read_session() as session:  # the number travels to the district
        payloads = [o.payload for o in session.scalars(
            select(OutboxRecord).where(OutboxRecord.kind == "application"))]
    assert sorted(p["number"] for p in payloads) == [
        "华阳-2026-03-0001", "华阳-2026-03-0002", "华阳-2026-03-0003"]


def test_each_year_starts_again(store: Store) -> None:
    remember_registration(store, "新泾镇", 12)
    with store.session() as session:
        assert next_number(session, 2026) == "新泾-2026-12-0001"
        assert next_number(session, 2026) == "新泾-2026-12-0002"
        assert next_number(session, 2027) == "新泾-2027-12-0001"
        assert next_number(session, 2026) == "新泾-2026-12-0003"


def test_a_number_is_not_given_twice_after_a_crash_or_a_rollback(store: Store) -> None:
    remember_registration(store, "华阳路街道", 3)
    first = _save(store, "F1")

    class Crash(Exception):
        pass

    with pytest.raises(Crash), store.session() as session:
        assert next_number(session, 2026) == "华阳-2026-03-0002"
        raise Crash  # before the commit: neither the application nor the sequence is kept
    second = _save(store, "F2")  # the number no saved application had is given now
    assert (_number(store, first), _number(store, second)) == (
        "华阳-2026-03-0001", "华阳-2026-03-0002")
    # a kept sequence behind the applications (a hand-edited row) repeats none of them
    with store.session() as session:
        set_state_value(session, "application_sequence:2026", "0")
    assert _number(store, _save(store, "F3")) == "华阳-2026-03-0003"


def test_the_store_holds_a_number_once(store: Store) -> None:
    remember_registration(store, "华阳路街道", 3)
    first = _save(store, "F1")
    second = _save(store, "F2")
    with pytest.raises(IntegrityError), store.session() as session:
        record = session.get(ApplicationRecord, second)
        assert record is not None
        record.number = _number(store, first)


def test_a_pc_without_a_device_number_numbers_nothing(store: Store) -> None:
    remember_registration(store, "华阳路街道", None)  # registered with an older server
    saved = _save(store, "F1")
    assert _number(store, saved) is None
    assert display_number(None, saved) == str(saved)[:8]
    assert display_number("华阳-2026-03-0001", saved) == "华阳-2026-03-0001"
    with store.read_session() as session:
        payload = session.scalars(select(OutboxRecord.payload).where(
            OutboxRecord.kind == "application")).one()
    assert payload["number"] is None
