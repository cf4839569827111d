"""The 经办人 withdraws their own application before any 审核人 signed it (issue 12), with a
reason: at once here (its rows free again), then at the district, in the outbox's order (the
application first if it was still waiting, then the withdrawal). Nobody else withdraws it
before review, and nobody withdraws it once a 审核人 signed (it must be sent back first)."""

from __future__ import annotations

import uuid
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import select

from desktop import wire
from desktop.services.accounts import sign_in
from desktop.services.applications import (
    WithdrawalRefused,
    record_push_result,
    save_application,
    withdraw_application,
)
from desktop.services.approvals import sign
from desktop.services.counter import CounterSession
from desktop.services.numbering import remember_registration
from desktop.store import Store, apply_changes, open_store
from desktop.store.models import ApplicationRecord, ClaimRecord, OutboxRecord
from desktop.sync.client import DistrictClient
from desktop.sync.credentials import MemoryKeyring
from desktop.sync.pull import pull
from desktop.sync.push import push
from tests.services.test_counter import TODAY, P, fill, row
from tests.signers import remember_with_key
from tests.store.conftest import upsert
from tests.sync.conftest import PASSWORD, DistrictServer
from tests.sync.test_sync_e2e import claimable


@pytest.fixture
def store(tmp_path: Path) -> Store:
    store = open_store(tmp_path / "counter.sqlite")
    fill(store, [row("F1", "2026-04-08", "1000.00")])
    remember_with_key(store, "li", "李经办", ["clerk"], "pw-li-synthetic")
    remember_with_key(store, "wang", "王经办", ["clerk"], "pw-wang-synthetic")
    remember_with_key(store, "zhao", "赵审核", ["reviewer"], "pw-zhao-synthetic")
    return store


def _saved(store: Store) -> uuid.UUID:
    counter = CounterSession(store, P, program="assistance", clerk="li", application_date=TODAY)
    counter.tick("F1")
    application_id = counter.submit().application_id
    with store.session() as session:  # the district's claim, as the pull brings it
        apply_changes(session, [upsert("claim", "F1", {
            "fee_row_id": "F1", "application_id": str(application_id),
            "street_code": "310105001", "device_id": "D1",
            "claimed_at": "2026-06-10T02:00:00+00:00", "status": "claimed",
            "program": "assistance"})])
    return application_id


def _status(store: Store, application_id: uuid.UUID) -> str:
    with store.read_session() as session:
        record = session.get(ApplicationRecord, application_id)
        assert record is not None
        return record.status


def test_only_its_own_handler_withdraws_it_before_review(store: Store) -> None:
    application_id = _saved(store)
    for username, password in (("zhao", "pw-zhao-synthetic"), ("wang", "pw-wang-synthetic")):
        with pytest.raises(WithdrawalRefused, match="经办人本人"):
            withdraw_application(store, application_id, username=username, password=password,
                                 reason="重新申请")
    with pytest.raises(WithdrawalRefused, match="原因"):
        withdraw_application(store, application_id, username="li",
                             password="pw-li-synthetic", reason="  ")
    key = withdraw_application(store, application_id, username="li",
                               password="pw-li-synthetic", reason="勾错了费用，重新申请")
    assert _status(store, application_id) == "withdrawn"
    with store.read_session() as session:
        assert session.get(ClaimRecord, "F1").status == "released"  # type: ignore[union-attr]
        # the application goes to the district first, then its withdrawal
        kinds = [(o.kind, o.payload.get("application_id")) for o in session.scalars(
            select(OutboxRecord).where(OutboxRecord.kind.in_(("application", "withdrawal")))
            .order_by(OutboxRecord.id))]
        withdrawal = session.scalar(select(OutboxRecord).where(
            OutboxRecord.idempotency_key == key))
        assert withdrawal is not None and withdrawal.payload["reason"] == "勾错了费用，重新申请"
    assert kinds == [("application", str(application_id)), ("withdrawal", str(application_id))]
    # its rows can go into a new application at once
    again = CounterSession(store, P, program="assistance", clerk="li", application_date=TODAY)
    assert again.row("F1").tickable


def test_a_refused_withdrawal_before_review_puts_it_back_where_it_was(store: Store) -> None:
    application_id = _saved(store)
    key = withdraw_application(store, application_id, username="li",
                               password="pw-li-synthetic", reason="重新申请")
    with store.session() as session:
        outbox = session.scalar(select(OutboxRecord).where(OutboxRecord.idempotency_key == key))
        assert outbox is not None
        item = wire.OutboxItem(idempotency_key=key, kind="withdrawal", payload=outbox.payload,
                               created_at=outbox.created_at)
        record_push_result(session, item, wire.ItemResult(
            idempotency_key=key, status="refused", reason="wrong_state",
            message="这份申请当前为“已审核”，不能撤回。"))
    with store.read_session() as session:
        record = session.get(ApplicationRecord, application_id)
        assert record is not None and record.status == "saved"  # not "returned"
        assert "撤回未被区里接受" in (record.server_message or "")
        assert session.get(ClaimRecord, "F1").status == "claimed"  # type: ignore[union-attr]


@pytest.mark.parametrize("status", ["reviewed", "approved", "paid", "withdrawn"])
def test_once_a_reviewer_signed_it_is_sent_back_first(store: Store, status: str) -> None:
    application_id = _saved(store)
    with store.session() as session:
        record = session.get(ApplicationRecord, application_id)
        assert record is not None
        record.status = status
    with pytest.raises(WithdrawalRefused, match="退回" if status != "withdrawn" else "不能撤回"):
        withdraw_application(store, application_id, username="li",
                             password="pw-li-synthetic", reason="重新申请")
    assert _status(store, application_id) == status


def test_withdrawn_before_it_was_sent_the_district_takes_both_in_order(
        district: DistrictServer, memory_keyring: MemoryKeyring, tmp_path: Path) -> None:
    """Saved and withdrawn offline: the push delivers the application, then the withdrawal;
    the district releases the claims, and the rows go into a new application. One the
    reviewer signed cannot be withdrawn by its handler."""
    with DistrictClient(district.url) as anonymous:
        registered = anonymous.register(district.codes()[0], "withdraw test")
    store = open_store(tmp_path / "counter.sqlite")
    remember_registration(store, registered.street_name, registered.device_number)
    clerk, reviewer = district.user("clerk"), district.user("reviewer")
    today = date.today()
    with DistrictClient(district.url, lambda: registered.token) as client:
        for username in (reviewer, clerk):  # the clerk's session pushes
            sign_in(store, client, username, PASSWORD)
        pull(store, client)
        (person_id, rows), (person2, rows2) = claimable(store, "assistance")[:2]

        def save(person: str, ticked: list[str]) -> uuid.UUID:
            return save_application(store, person_id=person, program="assistance",
                                    district="changning", application_date=today,
                                    ticked=ticked, handler=clerk).application_id

        first = save(person_id, rows)
        withdraw_application(store, first, username=clerk, password=PASSWORD,
                             reason="漏带材料，补齐后重新申请")
        stats = push(store, client, on_result=record_push_result)
        assert stats.refused == 0, stats
        pull(store, client)
        assert _status(store, first) == "withdrawn"
        with store.read_session() as session:  # the district released the claims
            assert not session.scalars(select(ClaimRecord).where(
                ClaimRecord.application_id == first)).all()
            numbered = session.get(ApplicationRecord, first)
            assert numbered is not None and numbered.number is not None
            assert numbered.number.endswith(f"-{registered.device_number:02d}-0001")
        second = save(person_id, rows)  # the same receipts, claimed again
        assert push(store, client, on_result=record_push_result).refused == 0
        assert _status(store, second) == "accepted"

        third = save(person2, rows2)
        assert push(store, client, on_result=record_push_result).refused == 0
        sign(store, third, role="reviewer", username=reviewer, password=PASSWORD)
        assert push(store, client, on_result=record_push_result).refused == 0
        with pytest.raises(WithdrawalRefused, match="退回"):
            withdraw_application(store, third, username=clerk, password=PASSWORD,
                                 reason="重新申请")
        assert _status(store, third) == "reviewed"
    store.close()
