"""A sent-back application withdrawn, its receipts released by the district and claimed again
in a corrected application — against a real district server (review finding: a returned
application used to hold its receipts for ever)."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import select

from desktop.services.accounts import sign_in
from desktop.services.applications import (
    WithdrawalRefused,
    record_push_result,
    withdraw_application,
)
from desktop.services.approvals import send_back
from desktop.services.counter import CounterSession
from desktop.store import open_store
from desktop.store.models import ApplicationRecord, ClaimRecord
from desktop.sync.client import DistrictClient
from desktop.sync.credentials import MemoryKeyring
from desktop.sync.pull import pull
from desktop.sync.push import push
from tests.signers import remember_with_key
from tests.sync.conftest import PASSWORD, DistrictServer


def test_a_returned_application_is_withdrawn_and_its_receipts_claimed_again(
        district: DistrictServer, memory_keyring: MemoryKeyring, tmp_path: Path) -> None:
    with DistrictClient(district.url) as anonymous:
        token = anonymous.register(district.codes()[0], "withdrawal test").token
    store = open_store(tmp_path / "counter.sqlite")
    clerk, reviewer = district.user("clerk"), district.user("reviewer")
    today = date.today()
    with DistrictClient(district.url, lambda: token) as client:
        for username in (reviewer, clerk):  # the clerk's session pushes
            sign_in(store, client, username, PASSWORD)
        pull(store, client)
        with store.read_session() as session:
            person_ids = [p for (p,) in session.execute(select(ApplicationRecord.person_id))]
        from desktop.store.models import PersonRecord

        with store.read_session() as session:
            persons = [p.id for p in session.scalars(select(PersonRecord).order_by(
                PersonRecord.id)) if p.id not in person_ids]
        for person_id in persons:
            counter = CounterSession(store, person_id, program="assistance", clerk=clerk,
                                     application_date=today)
            tickable = [r.id for r in counter.rows if r.tickable]
            if tickable and counter.tick_all(tickable).payable > 0:
                break
        else:
            pytest.fail("no person with rows to claim in the seeded district")
        # the clerk received the 病史资料 of every 门诊大病 / 住院 row (CN-2026 4.6)
        first = counter.submit(medical_records=counter.needing_medical_records())
        assert push(store, client, on_result=record_push_result).refused == 0
        pull(store, client)
        send_back(store, first.application_id, username=reviewer, password=PASSWORD,
                  reason="银行卡号有误")
        with pytest.raises(WithdrawalRefused, match="原因"):
            withdraw_application(store, first.application_id, username=clerk,
                                 password=PASSWORD, reason=" ")
        withdraw_application(store, first.application_id, username=clerk, password=PASSWORD,
                             reason="更正银行卡号后重新申请")
        # at once, before any sync: the receipts can be ticked into a corrected application
        again = CounterSession(store, person_id, program="assistance", clerk=clerk,
                               application_date=today)
        assert all(again.row(i).tickable for i in tickable)
        stats = push(store, client, on_result=record_push_result)
        assert stats.refused == 0
        pull(store, client)
        with store.read_session() as session:  # the district released the claims
            assert not session.scalars(select(ClaimRecord).where(
                ClaimRecord.application_id == first.application_id)).all()
        again = CounterSession(store, person_id, program="assistance", clerk=clerk,
                               application_date=today)
        again.tick_all(tickable)
        second = again.submit(bank_account="6222021234567890128",
                              medical_records=again.needing_medical_records())
        assert second.payable == first.payable
        assert push(store, client, on_result=record_push_result).refused == 0
        with store.read_session() as session:
            assert session.get(ApplicationRecord, second.application_id).status == "accepted"  # type: ignore[union-attr]
            assert session.get(ApplicationRecord, first.application_id).status == "withdrawn"  # type: ignore[union-attr]
        # before review only its own 经办人 withdraws it (test_withdraw_before_review)
        with pytest.raises(WithdrawalRefused, match="经办人本人"):
            withdraw_application(store, second.application_id, username=reviewer,
                                 password=PASSWORD, reason="x")
    store.close()


def test_a_withdrawal_the_district_refuses_puts_everything_back(tmp_path: Path) -> None:
    """Approved at the district meanwhile: the refusal returns the application to "returned"
    and its rows to holding their claims, with the district's reason."""
    import uuid as uuid_module

    from desktop import wire
    from desktop.store import apply_changes
    from desktop.store.models import OutboxRecord
    from tests.services.test_counter import TODAY, P, fill, row
    from tests.store.conftest import upsert

    store = open_store(tmp_path / "s.sqlite")
    fill(store, [row("F1", "2026-04-08", "1000.00")])
    remember_with_key(store, "li", "李经办", ["clerk"], "pw-li-synthetic")
    remember_with_key(store, "zhao", "赵审核", ["reviewer"], "pw-zhao-synthetic")
    counter = CounterSession(store, P, program="assistance", clerk="li", application_date=TODAY)
    counter.tick("F1")
    saved = counter.submit()
    with store.session() as session:
        apply_changes(session, [upsert("claim", "F1", {
            "fee_row_id": "F1", "application_id": str(saved.application_id),
            "street_code": "310105001", "device_id": "D1",
            "claimed_at": "2026-06-10T02:00:00+00:00", "status": "claimed",
            "program": "assistance"})])
    send_back(store, saved.application_id, username="zhao", password="pw-zhao-synthetic",
              reason="缺材料")
    key = withdraw_application(store, saved.application_id, username="li",
                               password="pw-li-synthetic", reason="重新申请")
    with store.read_session() as session:
        assert session.get(ClaimRecord, "F1").status == "released"  # type: ignore[union-attr]
    with store.session() as session:
        outbox = session.scalar(select(OutboxRecord).where(OutboxRecord.idempotency_key == key))
        assert outbox is not None
        item = wire.OutboxItem(idempotency_key=key, kind="withdrawal", payload=outbox.payload,
                               created_at=outbox.created_at)
        record_push_result(session, item, wire.ItemResult(
            idempotency_key=key, status="refused", reason="not_withdrawable",
            message="这份申请已审批"))
    with store.read_session() as session:
        application = session.get(ApplicationRecord, saved.application_id)
        assert application is not None and application.status == "returned"
        assert "已审批" in (application.server_message or "")
        assert session.get(ClaimRecord, "F1").status == "claimed"  # type: ignore[union-attr]
    assert isinstance(key, uuid_module.UUID)
    store.close()
