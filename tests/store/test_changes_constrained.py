"""The bulk insert without key lookups (no tombstone, no parked change: the tables' constraints
check the keys), and pages whose data is typed as the client reads them."""

from __future__ import annotations

import gc
import random
from dataclasses import dataclass
from datetime import date
from typing import Any, Literal

import pytest
from hypothesis import HealthCheck, given, settings

from desktop import wire
from desktop.store import Store, apply_changes
from desktop.store.changes import _insert_new
from desktop.store.models import CommitmentRecord, FeeRowRecord, ParkedChangeRecord, PersonRecord
from desktop.sync.pull import PULL_GC_THRESHOLD, fewer_collections
from desktop.sync.reader import TYPED_DATA, parse_changes_page
from desktop.wire import Change
from tests.store.conftest import fee_row_data, person_data, upsert
from tests.store.test_changes import _final_state, new_rows_pages, snapshot


def commitment_data(key: str, person_id: str) -> dict[str, Any]:
    return {"id": key, "person_id": person_id, "program": "assistance",
            "street_code": "310105001", "application_id": "A1", "given_on": "2026-03-01",
            "given_by": "clerk", "given_at": "2026-03-01T10:00:00+08:00"}


def typed(page: list[Change]) -> list[Change]:
    """The page as the client reads it from the wire."""
    text = wire.ChangesPage(items=page, next_cursor=0, more=False).model_dump_json()
    parsed = parse_changes_page(text)
    assert all(type(c) in wire.CHECKED_READ_CHANGES for c in parsed.items
               if c.entity in TYPED_DATA)
    return parsed.items


@pytest.mark.parametrize("case", ["known-key", "person-not-cached", "commitment-not-cached",
                                  "part-before-person"])
def test_the_constraints_send_a_page_the_general_way(store: Store, rnd: random.Random,
                                                     case: str) -> None:
    with store.session() as session:  # nothing parked, no tombstone: no lookups
        assert _insert_new(session, [upsert("person", "P1", person_data(rnd, "P1", "张三"),
                                            seq=1)])
    pages = {
        "known-key": [upsert("fee_row", "F1", fee_row_data("F1", "P1", "2026-03-01", "8.00"),
                             seq=10),
                      upsert("person", "P1", person_data(rnd, "P1", "李四"), seq=11)],
        "person-not-cached": [
            upsert("fee_row", "F2", fee_row_data("F2", "P1", "2026-03-01", "8.00"), seq=10),
            upsert("fee_row", "F3", fee_row_data("F3", "P7", "2026-03-01", "9.00"), seq=11)],
        "commitment-not-cached": [upsert("commitment", "C1", commitment_data("C1", "P7"),
                                         seq=10)],
        "part-before-person": [
            upsert("fee_row", "F2", fee_row_data("F2", "P2", "2026-03-01", "8.00"), seq=10),
            upsert("person", "P2", person_data(rnd, "P2", "王五"), seq=11)],
    }
    with store.session() as session:
        before = snapshot(session)
        assert not _insert_new(session, pages[case])
        assert snapshot(session) == before  # nothing written, the savepoint rolled back
        assert apply_changes(session, pages[case]) == len(pages[case])
    with store.read_session() as session:
        if case == "known-key":
            person = session.get(PersonRecord, "P1")
            assert person is not None and person.name == "李四"
            assert session.get(FeeRowRecord, "F1") is not None
        elif case == "person-not-cached":
            assert session.get(FeeRowRecord, "F2") is not None
            assert session.get(FeeRowRecord, "F3") is None
            assert session.get(ParkedChangeRecord, ("fee_row", "F3")) is not None
        elif case == "commitment-not-cached":
            assert session.get(CommitmentRecord, "C1") is None
            assert session.get(ParkedChangeRecord, ("commitment", "C1")) is not None
        else:
            assert session.get(FeeRowRecord, "F2") is not None
            assert session.get(ParkedChangeRecord, ("fee_row", "F2")) is None


def test_a_typed_page_is_read_with_its_entities_models(rnd: random.Random) -> None:
    person = person_data(rnd, "P1", "张三")
    fee = fee_row_data("F1", "P1", "2026-03-01", "8.00")
    page = typed([upsert("person", "P1", person, seq=1),
                  upsert("fee_row", "F1", fee, seq=2),
                  Change(seq=3, entity="application", key="A", op="upsert", data={"x": 1}),
                  Change(seq=4, entity="fee_row", key="F9", op="delete", data=None)])
    # a known entity's change: a checked ReadChange, its data the fields as the model reads them
    assert [type(c) in wire.CHECKED_READ_CHANGES for c in page] == [True, True, False, True]
    assert [c.entity for c in page] == ["person", "fee_row", "application", "fee_row"]
    assert wire.PersonData.model_validate(page[0].data, from_attributes=True
                                          ) == wire.PersonData.model_validate(person)
    assert page[1].data is not None and page[1].data.date == date(2026, 3, 1)
    assert wire.FeeRowData.model_validate(page[1].data, from_attributes=True
                                          ) == wire.FeeRowData.model_validate(fee)
    assert page[2].data == {"x": 1}  # an application: validated by the store
    assert page[3].op == "delete" and page[3].data is None


@dataclass(frozen=True)
class Impostor:
    """A change of the reader's shape, not made by the reader."""

    seq: int
    entity: str
    key: str
    op: Literal["upsert", "delete"]
    data: Any


def test_a_read_change_not_made_by_the_reader_has_its_data_validated(store: Store) -> None:
    """Only the reader's own types are taken as checked: a change made otherwise is validated
    as a dict is, and a bad one is refused with nothing written."""
    bad = fee_row_data("F1", "P1", "2026-03-01", "8.00") | {"hospital_level": 9}
    change = Impostor(seq=1, entity="fee_row", key="F1", op="upsert", data=bad)
    with store.session() as session, pytest.raises(ValueError, match="hospital_level"):
        apply_changes(session, [change])
    with store.read_session() as session:
        assert session.get(FeeRowRecord, "F1") is None


def test_a_page_with_data_its_entity_refuses_is_read_as_dicts(rnd: random.Random) -> None:
    bad = fee_row_data("F2", "P1", "2026-03-01", "8.00") | {"hospital_level": 9}
    text = wire.ChangesPage(items=[
        upsert("fee_row", "F1", fee_row_data("F1", "P1", "2026-03-01", "8.00"), seq=1),
        upsert("fee_row", "F2", bad, seq=2)], next_cursor=2, more=False).model_dump_json()
    page = parse_changes_page(text)
    assert [type(c) in wire.CHECKED_READ_CHANGES for c in page.items] == [False, False]
    assert [type(c.data) for c in page.items] == [dict, dict]  # the store refuses change 2


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(new_rows_pages())
def test_typed_pages_write_what_dict_pages_write(pages: list[list[Change]]) -> None:
    assert _final_state([typed(page) for page in pages]) == _final_state(pages, bulk=False)


def test_the_garbage_collector_threshold_is_set_back_after_the_pulls() -> None:
    before = gc.get_threshold()
    with fewer_collections():
        with fewer_collections():
            assert gc.get_threshold()[0] >= PULL_GC_THRESHOLD
        assert gc.get_threshold()[0] >= PULL_GC_THRESHOLD
    assert gc.get_threshold() == before
