"""The 免申即享 commitment as its own record (issue 15 point 2): given when an application with
the flag is saved, in the same transaction, signed by its 经办人; ended only by a revocation
(with a reason, signed with a password); the monthly run reads it. A withdrawn or refused
application, or a later one without the flag, leaves the person in the run. Another counter
of the street and a freshly reinstalled PC have it after a pull."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from sqlalchemy import select

from desktop import wire
from desktop.printing.documents import application_form_data, approval_form_data
from desktop.services.accounts import sign_in
from desktop.services.applications import (
    record_push_result,
    save_application,
    withdraw_application,
)
from desktop.services.commitments import (
    RevocationRefused,
    commitment_state,
    revoke_commitment,
)
from desktop.services.counter import CounterSession
from desktop.services.monthly import committed_persons, month_run
from desktop.services.numbering import remember_registration
from desktop.store import Store, open_store
from desktop.store.models import CommitmentRecord, OutboxRecord
from desktop.sync.client import DistrictClient
from desktop.sync.credentials import MemoryKeyring
from desktop.sync.pull import pull
from desktop.sync.push import push
from tests.services.test_counter import TODAY, P, fill, row
from tests.signers import remember_with_key
from tests.sync.conftest import PASSWORD, DistrictServer
from tests.sync.test_sync_e2e import claimable

LATER = date(2026, 7, 3)


@pytest.fixture
def store(tmp_path: Path) -> Store:
    store = open_store(tmp_path / "counter.sqlite")
    fill(store, [row("F1", "2026-04-08", "1000.00"), row("F2", "2026-05-08", "800.00"),
                 row("F3", "2026-06-28", "300.00")])
    remember_with_key(store, "li", "李经办", ["clerk"], "pw-li-synthetic")
    remember_with_key(store, "zhao", "赵审核", ["reviewer"], "pw-zhao-synthetic")
    return store


def _save(store: Store, rows: tuple[str, ...], *, auto: bool, day: date = TODAY) -> uuid.UUID:
    counter = CounterSession(store, P, program="assistance", clerk="li", application_date=day)
    counter.tick_all(rows)
    return counter.submit(auto_enrolled=auto, now=datetime(day.year, day.month, day.day, 2,
                                                           tzinfo=UTC)).application_id


def _commitments(store: Store) -> list[CommitmentRecord]:
    with store.read_session() as session:
        return list(session.scalars(select(CommitmentRecord)))


def _listed(store: Store) -> set[str]:
    return {e.person_id for e in month_run(store, today=LATER, clerk="li").entries}


def test_saving_with_the_flag_gives_the_commitment_once(store: Store) -> None:
    first = _save(store, ("F1",), auto=True)
    (given,) = _commitments(store)
    assert (given.person_id, given.application_id, given.given_on, given.given_by,
            given.status) == (P, str(first), TODAY, "li", "saved")
    with store.read_session() as session:  # after the application in the outbox
        kinds = [o.kind for o in session.scalars(
            select(OutboxRecord).order_by(OutboxRecord.id)) if o.kind != "audit_event"]
    assert kinds == ["application", "commitment"]
    _save(store, ("F2",), auto=True, day=date(2026, 6, 11))  # one live: no second
    assert len(_commitments(store)) == 1
    state = commitment_state(store, P, "assistance")
    assert state is not None and state.live
    assert state.label == f"已承诺免申即享（自 {TODAY.isoformat()} 起）（待上传）"


def test_a_withdrawn_application_or_one_without_the_flag_keeps_the_person(
        store: Store) -> None:
    first = _save(store, ("F1",), auto=True)
    withdraw_application(store, first, username="li", password="pw-li-synthetic",
                         reason="漏带材料")
    with store.read_session() as session:
        assert [c.person_id for c in committed_persons(session)] == [P]
    _save(store, ("F2",), auto=False, day=date(2026, 6, 12))
    assert P in _listed(store)


def _answer(store: Store, kind: str, status: str, reason: str | None = None,
            message: str | None = None) -> None:
    """The district's verdict on this counter's last item of `kind`."""
    with store.session() as session:
        out = session.scalars(select(OutboxRecord).where(OutboxRecord.kind == kind)
                              .order_by(OutboxRecord.id.desc())).first()
        assert out is not None
        item = wire.OutboxItem(idempotency_key=out.idempotency_key, kind=kind,  # type: ignore[arg-type]
                               payload=out.payload, created_at=out.created_at)
        record_push_result(session, item, wire.ItemResult(
            idempotency_key=out.idempotency_key,
            status=status, reason=reason, message=message))  # type: ignore[arg-type]


def test_a_refused_application_keeps_the_person_and_the_next_flag_gives_it_again(
        store: Store) -> None:
    """The district refuses the application (the row was claimed elsewhere), and so the
    commitment given with it (it holds no such form): the consent stands here, the person
    stays in the run, and the next application with the flag gives the commitment again."""
    first = _save(store, ("F1",), auto=True)
    _answer(store, "application", "refused", "already_claimed", "已被申请")
    _answer(store, "commitment", "refused", "unknown_application", "区里没有该申请表")
    assert P in _listed(store)
    state = commitment_state(store, P, "assistance")
    assert state is not None and state.live and "所附申请表区里未受理" in state.label
    second = _save(store, ("F2",), auto=True, day=date(2026, 6, 12))
    (again,) = _commitments(store)  # in place of the one the district never held
    assert (again.application_id, again.given_on, again.status) == (
        str(second), date(2026, 6, 12), "saved")
    assert str(first) != again.application_id
    _answer(store, "commitment", "accepted")
    assert P in _listed(store)


def test_another_refusal_ends_it_here(store: Store) -> None:
    _save(store, ("F1",), auto=True)
    _answer(store, "commitment", "refused", "already_committed", "已承诺")
    assert P not in _listed(store)


def test_one_the_district_never_held_is_revoked_here_only(store: Store) -> None:
    _save(store, ("F1",), auto=True)
    _answer(store, "commitment", "refused", "unknown_application", "区里没有该申请表")
    state = commitment_state(store, P, "assistance")
    assert state is not None
    assert revoke_commitment(store, state.id, username="li", password="pw-li-synthetic",
                             reason="本人撤销") is None
    assert P not in _listed(store)


def test_a_revocation_removes_the_person_and_is_shown_and_printed(store: Store) -> None:
    first = _save(store, ("F1",), auto=True)
    state = commitment_state(store, P, "assistance")
    assert state is not None
    with pytest.raises(RevocationRefused, match="原因"):
        revoke_commitment(store, state.id, username="li", password="pw-li-synthetic",
                          reason="  ")
    with pytest.raises(RevocationRefused, match="密码"):
        revoke_commitment(store, state.id, username="li", password="wrong", reason="本人撤销")
    assert P in _listed(store)
    revoke_commitment(store, state.id, username="li", password="pw-li-synthetic",
                      reason="本人书面申请\n撤销", now=datetime(2026, 6, 20, 2, tzinfo=UTC))
    assert P not in _listed(store)
    revoked = commitment_state(store, P, "assistance")
    assert revoked is not None and not revoked.live
    assert revoked.label == "免申即享已撤销（2026-06-20，原因：本人书面申请 撤销）"
    with pytest.raises(RevocationRefused, match="已于 2026-06-20 撤销"):
        revoke_commitment(store, state.id, username="li", password="pw-li-synthetic",
                          reason="再次")
    form = application_form_data(store, first)
    assert form["commitment"] == f"已签署承诺，自 {TODAY.isoformat()} 起，已于 2026-06-20 撤销"
    approval = approval_form_data(store, first)
    assert approval["auto_enrolled_text"] == "是（承诺已于 2026-06-20 撤销）"
    # a later application with the flag gives a new commitment
    _save(store, ("F2",), auto=True, day=date(2026, 6, 21))
    assert P in _listed(store)
    assert application_form_data(store, first)["commitment"].endswith("撤销")


def test_the_district_refusing_a_revocation_puts_the_commitment_back(store: Store) -> None:
    _save(store, ("F1",), auto=True)
    _answer(store, "commitment", "accepted")
    state = commitment_state(store, P, "assistance")
    assert state is not None
    revoke_commitment(store, state.id, username="li", password="pw-li-synthetic",
                      reason="本人撤销")
    assert P not in _listed(store)
    _answer(store, "revocation", "refused", "forbidden", "不能撤销")
    assert P in _listed(store)


def test_other_counters_of_the_street_and_a_reinstalled_pc_see_it(
        district: DistrictServer, memory_keyring: MemoryKeyring, tmp_path: Path) -> None:
    clerk = district.user("clerk")
    today = date.today()

    codes = iter(district.codes())  # the module's district has two: this test's

    def registered_store(name: str) -> tuple[Store, wire.DeviceRegistered]:
        with DistrictClient(district.url) as anonymous:
            registered = anonymous.register(next(codes), name)
        store = open_store(tmp_path / f"{name}.sqlite")
        remember_registration(store, registered.street_name, registered.device_number)
        return store, registered

    def listed(store: Store) -> set[str]:
        with store.read_session() as session:
            return {c.person_id for c in committed_persons(session)}

    here, here_pc = registered_store("here")
    there, there_pc = registered_store("there")
    with (DistrictClient(district.url, lambda: here_pc.token) as client,
          DistrictClient(district.url, lambda: there_pc.token) as other):
        # the last sign-in opens the clerk's key for saving (one PC per process, in life)
        sign_in(store=there, client=other, username=clerk, password=PASSWORD)
        sign_in(store=here, client=client, username=clerk, password=PASSWORD)
        pull(here, client)
        pull(there, other)
        person, rows = claimable(here, "assistance")[0]
        saved = save_application(here, person_id=person, program="assistance",
                                 district="changning", application_date=today,
                                 ticked=rows[:1], handler=clerk, auto_enrolled=True)
        stats = push(here, client, on_result=record_push_result)
        assert stats.refused == 0, stats
        mine = commitment_state(here, person, "assistance")
        assert mine is not None and mine.status == "accepted"
        assert person not in listed(there)
        pull(there, other)
        assert person in listed(there)
        seen = commitment_state(there, person, "assistance")
        assert seen is not None and seen.application_id == str(saved.application_id)
        # revoked at the other counter: the first one learns it at its next pull
        revoke_commitment(there, seen.id, username=clerk, password=PASSWORD,
                          reason="本人不再同意")
        assert push(there, other, on_result=record_push_result).refused == 0
        pull(here, client)
        assert person not in listed(here)
        shown = commitment_state(here, person, "assistance")
        assert shown is not None and "原因：本人不再同意" in shown.label
    # the first PC reinstalled: an empty cache under its registration, one pull
    reinstalled = open_store(tmp_path / "reinstalled.sqlite")
    remember_registration(reinstalled, here_pc.street_name, here_pc.device_number)
    with DistrictClient(district.url, lambda: here_pc.token) as fresh:
        sign_in(store=reinstalled, client=fresh, username=clerk, password=PASSWORD)
        pull(reinstalled, fresh)
    again = commitment_state(reinstalled, person, "assistance")
    assert again is not None and again.revoked_on is not None and not again.live
