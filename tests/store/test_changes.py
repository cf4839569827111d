"""Applying pulled change pages: idempotent, safe against out-of-order re-delivery."""

from __future__ import annotations

import random
import tempfile
import uuid
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import inspect, select
from sqlalchemy.orm import Session

from desktop.store import (
    Store,
    UnknownEntity,
    apply_changes,
    get_cursor,
    open_store,
    set_cursor,
)
from desktop.store.models import (
    CategorySpanRecord,
    ClaimRecord,
    FeeRowRecord,
    InstitutionRecord,
    ParameterVersionRecord,
    ParkedChangeRecord,
    PersonRecord,
    TombstoneRecord,
)
from desktop.wire import Change
from tests.store.conftest import delete, fee_row_data, person_data, upsert

CLAIM_APP = uuid.UUID("00000000-0000-4000-8000-000000000001")


def claim_data(fee_row_id: str, status: str = "claimed") -> dict[str, Any]:
    return {"fee_row_id": fee_row_id, "application_id": str(CLAIM_APP), "street_code": "310105001",
            "device_id": "D1", "claimed_at": "2026-03-02T10:00:00+08:00", "status": status}


def snapshot(session: Session) -> dict[str, Any]:
    """Everything apply_changes can write, every column, as plain values."""
    def rows(model: Any) -> list[tuple[Any, ...]]:
        columns = [c.key for c in inspect(model).column_attrs]
        return sorted((tuple(getattr(r, c) for c in columns) for r in session.scalars(
            select(model))), key=repr)
    return {model.__tablename__: rows(model) for model in (
        PersonRecord, CategorySpanRecord, InstitutionRecord, FeeRowRecord, ClaimRecord,
        ParameterVersionRecord, ParkedChangeRecord, TombstoneRecord)}


def test_a_page_is_applied_and_typed(store: Store, rnd: random.Random) -> None:
    page = [
        upsert("person", "P1", person_data(rnd, "P1", "张三", allowance_balance="150.00",
                                           mutual_aid_years=[2026, 2025, 2026])),
        upsert("category_span", "S1", {"id": "S1", "person_id": "P1", "code": "dibao",
                                       "start": "2025-01-01", "end": None, "source": "民政 1号"}),
        upsert("institution", "H1", {"code": "H1", "name": "华山医院", "level": 3}),
        upsert("fee_row", "F1", fee_row_data("F1", "P1", "2026-03-01", "80.50")),
        upsert("parameter_version", "assistance:rate@2026-01-01",
               {"key": "assistance:rate", "effective_from": "2026-01-01", "value": "0.60",
                "source": "MH-2026 §八"}),
    ]
    with store.session() as session:
        assert apply_changes(session, page) == 5
    with store.session() as session:
        person = session.get(PersonRecord, "P1")
        assert person is not None
        assert person.allowance_balance == Decimal("150.00")
        assert person.mutual_aid_years == [2025, 2026]
        assert person.name_pinyin == "zhangsan"
        fee = session.get(FeeRowRecord, "F1")
        assert fee is not None and fee.self_pay == Decimal("80.50")
        assert fee.date.isoformat() == "2026-03-01"
        assert session.get(ParameterVersionRecord, "assistance:rate@2026-01-01") is not None


def test_applying_the_same_page_again_changes_nothing(store: Store, rnd: random.Random) -> None:
    page = [upsert("person", "P1", person_data(rnd, "P1", "张三")),
            upsert("fee_row", "F1", fee_row_data("F1", "P1", "2026-03-01", "80.00")),
            delete("fee_row", "F1")]
    with store.session() as session:
        assert apply_changes(session, page) == 3
        before = snapshot(session)
    with store.session() as session:
        assert apply_changes(session, page) == 0
        assert snapshot(session) == before


def test_an_older_version_never_overwrites_a_newer_one(store: Store, rnd: random.Random) -> None:
    old = person_data(rnd, "P1", "张三", phone="13900000001")
    new = {**old, "phone": "13900000002"}
    with store.session() as session:
        apply_changes(session, [upsert("person", "P1", new, seq=20)])
        assert apply_changes(session, [upsert("person", "P1", old, seq=10)]) == 0
        person = session.get(PersonRecord, "P1")
        assert person is not None
        assert (person.phone, person.seq) == ("13900000002", 20)


def test_a_deleted_row_stays_deleted_when_an_older_upsert_comes_again(
        store: Store, rnd: random.Random) -> None:
    data = person_data(rnd, "P1", "张三")
    with store.session() as session:
        apply_changes(session, [upsert("person", "P1", data, seq=1),
                                upsert("fee_row", "F1", fee_row_data("F1", "P1", "2026-03-01",
                                                                     "5.00"), seq=2),
                                delete("fee_row", "F1", seq=3)])
        assert apply_changes(session, [upsert("fee_row", "F1", fee_row_data(
            "F1", "P1", "2026-03-01", "5.00"), seq=2)]) == 0
        assert session.get(FeeRowRecord, "F1") is None
        # a newer upsert brings it back
        assert apply_changes(session, [upsert("fee_row", "F1", fee_row_data(
            "F1", "P1", "2026-03-01", "6.00"), seq=4)]) == 1
        fee = session.get(FeeRowRecord, "F1")
        assert fee is not None and fee.self_pay == Decimal("6.00")


def test_an_older_delete_does_not_remove_a_newer_row(store: Store, rnd: random.Random) -> None:
    with store.session() as session:
        apply_changes(session, [upsert("person", "P1", person_data(rnd, "P1", "张三"), seq=9)])
        apply_changes(session, [delete("person", "P1", seq=5)])
        person = session.get(PersonRecord, "P1")
        assert person is not None and person.seq == 9
        assert apply_changes(session, [delete("person", "P1", seq=5)]) == 0


def test_deleting_a_person_removes_their_spans_and_fee_rows(
        store: Store, rnd: random.Random) -> None:
    with store.session() as session:
        apply_changes(session, [
            upsert("person", "P1", person_data(rnd, "P1", "张三")),
            upsert("category_span", "S1", {"id": "S1", "person_id": "P1", "code": "dibao",
                                           "start": "2025-01-01", "source": "x"}),
            upsert("fee_row", "F1", fee_row_data("F1", "P1", "2026-03-01", "5.00")),
        ])
    with store.session() as session:
        session.get(FeeRowRecord, "F1")  # held by the session while the person goes
        apply_changes(session, [delete("person", "P1")])
        assert session.get(FeeRowRecord, "F1") is None
    with store.session() as session:
        assert snapshot(session)["fee_row"] == [] and snapshot(session)["category_span"] == []


def test_a_row_that_arrives_before_its_person_waits_for_it(
        store: Store, rnd: random.Random) -> None:
    with store.session() as session:
        assert apply_changes(session, [
            upsert("fee_row", "F1", fee_row_data("F1", "P1", "2026-03-01", "5.00"), seq=30),
            upsert("claim", "F1", claim_data("F1"), seq=31),
            upsert("category_span", "S1", {"id": "S1", "person_id": "P1", "code": "dibao",
                                           "start": "2025-01-01", "source": "x"}, seq=32),
        ]) == 3
        assert session.get(FeeRowRecord, "F1") is None
        assert len(session.scalars(select(ParkedChangeRecord)).all()) == 2
    with store.session() as session:  # the next page brings the person
        assert apply_changes(session, [upsert("person", "P1", person_data(rnd, "P1", "张三"),
                                              seq=40)]) == 1
        fee = session.get(FeeRowRecord, "F1")
        assert fee is not None
        assert (fee.seq, fee.claim_status, fee.claimed_by_application) == \
            (30, "claimed", CLAIM_APP)
        assert session.get(CategorySpanRecord, "S1") is not None
        assert session.scalars(select(ParkedChangeRecord)).all() == []


def test_rows_older_than_their_persons_delete_stay_ended(
        store: Store, rnd: random.Random) -> None:
    """P1 created (1), its fee row (2), P1 deleted (3), P1 created again (4): no fee row."""
    person = person_data(rnd, "P1", "张三")
    fee = upsert("fee_row", "F1", fee_row_data("F1", "P1", "2026-03-01", "5.00"), seq=2)
    with store.session() as session:
        apply_changes(session, [upsert("person", "P1", person, seq=4)])
        apply_changes(session, [delete("person", "P1", seq=3)])  # late: the person stays
        assert apply_changes(session, [fee]) == 1  # ended by the delete, not written
        assert session.get(FeeRowRecord, "F1") is None
        assert session.get(PersonRecord, "P1") is not None
        assert apply_changes(session, [fee]) == 0


def test_claims_follow_the_district_registry(store: Store, rnd: random.Random) -> None:
    with store.session() as session:
        apply_changes(session, [
            upsert("person", "P1", person_data(rnd, "P1", "张三"), seq=1),
            upsert("fee_row", "F1", fee_row_data("F1", "P1", "2026-03-01", "5.00"), seq=2),
            upsert("claim", "F1", claim_data("F1"), seq=3),
            upsert("fee_row", "F1", fee_row_data("F1", "P1", "2026-03-01", "7.00"), seq=4),
        ])
        fee = session.get(FeeRowRecord, "F1")
        assert fee is not None
        assert (fee.self_pay, fee.claim_status, fee.claimed_street) == \
            (Decimal("7.00"), "claimed", "310105001")  # a row update keeps its claim
        assert fee.claimed_at is not None and fee.claimed_at.utcoffset() is not None
        apply_changes(session, [upsert("claim", "F1", {**claim_data("F1", "paid"),
                                                       "program": "mutual_aid"}, seq=5)])
        assert (fee.claim_status, fee.claimed_program) == ("paid", "mutual_aid")
        apply_changes(session, [delete("claim", "F1", seq=6)])
        assert (fee.claim_status, fee.claimed_by_application) == (None, None)
        assert apply_changes(session, [upsert("claim", "F1", claim_data("F1"), seq=3)]) == 0
        assert fee.claim_status is None
        # a claim may come before its row, or for a row this counter never gets
        assert apply_changes(session, [upsert("claim", "F9", claim_data("F9"), seq=7)]) == 1


def test_a_malformed_change_fails_the_page(store: Store, rnd: random.Random) -> None:
    good = upsert("person", "P1", person_data(rnd, "P1", "张三"))
    bad = upsert("fee_row", "F1", {"id": "F1", "person_id": "P1"})
    with pytest.raises(ValueError), store.session() as session:
        apply_changes(session, [good, bad])
    with store.session() as session:
        assert session.get(PersonRecord, "P1") is None
    weird = Change.model_construct(seq=1, entity="planet", key="X", op="upsert", data={})
    with pytest.raises(UnknownEntity), store.session() as session:
        apply_changes(session, [weird])


def test_cursors_start_at_zero_and_move_with_the_transaction(store: Store) -> None:
    with store.session() as session:
        assert get_cursor(session, "changes") == 0
        set_cursor(session, "changes", 120)
        set_cursor(session, "changes", 240)
    with pytest.raises(RuntimeError), store.session() as session:
        set_cursor(session, "changes", 360)
        raise RuntimeError("the page failed")
    with store.session() as session:
        assert get_cursor(session, "changes") == 240
        assert get_cursor(session, "other") == 0


# -- whatever the delivery order, the cache ends as the log says -------------------------------

def _log(draw: st.DrawFn) -> list[Change]:
    """A server change log over a few persons, fee rows and claims (seq = position)."""
    rnd = random.Random(draw(st.integers(0, 2**16)))
    log: list[Change] = []
    for seq in range(1, draw(st.integers(1, 40)) + 1):
        entity = draw(st.sampled_from(["person", "fee_row", "claim"]))
        key = draw(st.sampled_from(["1", "2", "3"]))
        if draw(st.integers(0, 4)) == 0:
            log.append(delete(entity, f"{entity[0].upper()}{key}", seq=seq))
            continue
        if entity == "person":
            data = person_data(rnd, f"P{key}", draw(st.sampled_from(["张三", "李四", "王五"])))
            data["id_number"] = data["id_number"][:14] + f"00{key}" + "X"  # unique per key
            log.append(upsert("person", f"P{key}", data, seq=seq))
        elif entity == "fee_row":
            owner = draw(st.sampled_from(["1", "2"]))
            log.append(upsert("fee_row", f"F{key}", fee_row_data(
                f"F{key}", f"P{owner}", "2026-03-01", f"{draw(st.integers(1, 99))}.00"), seq=seq))
        else:
            log.append(upsert("claim", f"F{key}", claim_data(
                f"F{key}", draw(st.sampled_from(["claimed", "paid"]))), seq=seq))
    return log


@st.composite
def deliveries(draw: st.DrawFn) -> tuple[list[Change], list[list[Change]]]:
    log = _log(draw)
    # re-delivery: every change at least once, some twice, in any order, cut into pages
    extra = draw(st.lists(st.sampled_from(log), max_size=len(log)))
    shuffled = draw(st.permutations(log + extra))
    cuts = sorted(draw(st.lists(st.integers(0, len(shuffled)), max_size=5)))
    pages = [shuffled[a:b] for a, b in zip([0, *cuts], [*cuts, len(shuffled)], strict=True)]
    return log, pages


def _final_state(pages: list[list[Change]], *, bulk: bool = True) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as folder, \
            open_store(Path(folder) / "s.sqlite") as store:
        for page in pages:
            with store.session() as session:
                apply_changes(session, page, bulk=bulk)
        with store.read_session() as session:
            return snapshot(session)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(deliveries())
def test_any_delivery_order_ends_in_the_state_of_the_log(
        delivery: tuple[list[Change], list[list[Change]]]) -> None:
    log, pages = delivery
    after, reference = _final_state(pages), _final_state([log], bulk=False)
    # which deletes were seen as such depends on the order; the rows themselves do not
    del after["sync_tombstone"], reference["sync_tombstone"]
    assert after == reference


# -- the bulk insert of new rows (an initial pull) writes what the general path writes ---------

def _new_rows_log(draw: st.DrawFn) -> list[Change]:
    """A log of first versions only: persons, their spans, fee rows and claims, institutions."""
    rnd = random.Random(draw(st.integers(0, 2**16)))
    log: list[Change] = []
    persons = draw(st.integers(1, 6))
    names = ["张三", "曾小贤", "单田芳", "欧阳娜娜", "李四"]
    for p in range(persons):
        pid = f"P{p}"
        log.append(upsert("person", pid, person_data(
            rnd, pid, rnd.choice(names), phone=rnd.choice([None, f"1390000{p:04d}"]),
            mutual_aid_years=rnd.sample([2024, 2025, 2026], rnd.randrange(3)),
            allowance_balance=f"{rnd.randrange(300)}.{rnd.randrange(100):02d}")))
        log.append(upsert("category_span", f"S{p}", {
            "id": f"S{p}", "person_id": pid, "code": "dibao", "start": "2025-01-01",
            "end": rnd.choice([None, "2026-06-30"]), "source": "民政"}))
        for r in range(draw(st.integers(0, 3))):
            fid = f"F{p}-{r}"
            log.append(upsert("fee_row", fid, fee_row_data(
                fid, pid, "2026-03-01", f"{rnd.randrange(1, 999)}.{rnd.randrange(100):02d}",
                one_stop_settled=rnd.random() < 0.2, issuer_code="31060122")))
            if rnd.random() < 0.3:
                log.append(upsert("claim", fid, claim_data(fid)))
    log.append(upsert("institution", "H1", {"code": "H1", "name": "华山医院", "level": 3}))
    return [c.model_copy(update={"seq": i}) for i, c in enumerate(log, start=1)]


@st.composite
def new_rows_pages(draw: st.DrawFn) -> list[list[Change]]:
    log = _new_rows_log(draw)
    shuffled = draw(st.permutations(log))  # a fee row may come before its person
    cuts = sorted(draw(st.lists(st.integers(0, len(shuffled)), max_size=4)))
    return [shuffled[a:b] for a, b in zip([0, *cuts], [*cuts, len(shuffled)], strict=True)]


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(new_rows_pages())
def test_bulk_insert_writes_what_the_general_path_writes(pages: list[list[Change]]) -> None:
    assert _final_state(pages) == _final_state(pages, bulk=False)


def test_an_initial_page_takes_the_bulk_insert(store: Store, rnd: random.Random) -> None:
    page = [upsert("person", "P1", person_data(rnd, "P1", "曾小贤", phone="13912345678")),
            upsert("fee_row", "F1", fee_row_data("F1", "P1", "2026-03-01", "80.00")),
            upsert("claim", "F1", claim_data("F1"))]
    with store.session() as session:
        changes_module = __import__("desktop.store.changes", fromlist=["_insert_new"])
        assert changes_module._insert_new(session, page)
    with store.session() as session:
        person = session.get(PersonRecord, "P1")
        assert person is not None
        assert (person.name_pinyin, person.name_initials) == ("zengxiaoxian", "zxx")
        assert person.phone_reversed == "87654321931"
        fee = session.get(FeeRowRecord, "F1")
        assert fee is not None and fee.claim_status == "claimed"
        assert fee.self_pay == Decimal("80.00")


@pytest.mark.parametrize("second", ["delete", "known-key", "part-before-person", "parked"])
def test_a_page_the_bulk_insert_cannot_take_goes_the_general_way(
        store: Store, rnd: random.Random, second: str) -> None:
    from desktop.store.changes import _insert_new
    with store.session() as session:
        apply_changes(session, [upsert("person", "P1", person_data(rnd, "P1", "张三"), seq=1),
                                upsert("fee_row", "F9", fee_row_data(
                                    "F9", "P7", "2026-03-01", "5.00"), seq=2)])  # parked
    pages = {
        "delete": [delete("fee_row", "F1", seq=10)],
        "known-key": [upsert("person", "P1", person_data(rnd, "P1", "李四"), seq=10)],
        "part-before-person": [
            upsert("fee_row", "F2", fee_row_data("F2", "P2", "2026-03-01", "8.00"), seq=10),
            upsert("person", "P2", person_data(rnd, "P2", "王五"), seq=11)],
        "parked": [upsert("person", "P7", person_data(rnd, "P7", "赵六"), seq=10)],
    }
    with store.session() as session:
        assert not _insert_new(session, pages[second])
        assert snapshot(session)["person"][0][0] == "P1"  # nothing written
