"""Applications come back with the pull (issue 10): what a supervisor at another counter of the
street decides reaches the counter that submitted, and both counters and the district place an
approved application in the same month (desktop.domain.clock.settlement_month).

Real counters (their own SQLCipher-free stores, their own signing keys) against a real district
server process on 127.0.0.1."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

from sqlalchemy import select

from desktop.domain.clock import month_range, settlement_month
from desktop.services.accounts import sign_in
from desktop.services.applications import record_push_result, withdraw_application
from desktop.services.approvals import approval_queue, review_queue, send_back, sign
from desktop.services.reports import monthly_summary
from desktop.store.models import ApplicationRecord, AuditEventRecord
from desktop.sync.credentials import MemoryKeyring
from desktop.sync.pull import pull
from desktop.sync.push import push
from tests.sync.conftest import PASSWORD, STREET, DistrictServer
from tests.sync.test_sync_e2e import Counter, counter, save_first, status_of


def _supervisors_at(c: Counter, district: DistrictServer) -> tuple[str, str]:
    """The street's 审核人 and 审批人 sign in at this counter (their keys are registered)."""
    reviewer = district.user("reviewer")
    approver = next(u["username"] for u in district.seed["users"]
                    if u["street_code"] == STREET and "approver" in u["roles"])
    sign_in(c.store, c.client, reviewer, PASSWORD)
    sign_in(c.store, c.client, approver, PASSWORD)
    push(c.store, c.client)
    return reviewer, approver


def test_an_approval_at_another_counter_reaches_the_counter_that_submitted(
        district: DistrictServer, memory_keyring: MemoryKeyring, tmp_path: Path) -> None:
    a = counter(district, tmp_path / "a.sqlite", district.codes()[0])
    b = counter(district, tmp_path / "b.sqlite", district.codes()[1], clerk=1)
    pull(a.store, a.client)
    pull(b.store, b.client)
    saved, person_id, _ = save_first(a)
    push(a.store, a.client, on_result=record_push_result)
    assert status_of(a.store, saved.application_id).status == "accepted"

    # counter B learns of it with its next pull, and its supervisors' queue holds it
    pull(b.store, b.client)
    there = status_of(b.store, saved.application_id)
    assert (there.status, there.person_id, there.created_by) == ("accepted", person_id, a.clerk)
    assert there.payable == saved.payable and there.result is not None
    assert there.result["payable"] == str(saved.payable)
    assert saved.application_id in {e.application_id for e in review_queue(b.store)}

    reviewer, approver = _supervisors_at(b, district)
    sign(b.store, saved.application_id, role="reviewer", username=reviewer, password=PASSWORD)
    sign(b.store, saved.application_id, role="approver", username=approver, password=PASSWORD,
         confirm_card=True)
    stats = push(b.store, b.client, on_result=record_push_result)
    assert stats.refused == 0, stats
    approved_at_b = status_of(b.store, saved.application_id)
    assert approved_at_b.status == "approved" and approved_at_b.approval_accepted_at

    # counter A shows the approval after its next pull: status, signers, the month
    assert status_of(a.store, saved.application_id).status == "accepted"
    pull(a.store, a.client)
    with a.store.session() as session:
        here = session.get(ApplicationRecord, saved.application_id)
        assert here is not None
        assert here.status == "approved"
        assert {(s.role, s.username) for s in here.signatures} == {
            ("handler", a.clerk), ("reviewer", reviewer), ("approver", approver)}
        assert here.approval_accepted_at == approved_at_b.approval_accepted_at
    assert saved.application_id not in {e.application_id for e in approval_queue(a.store)}

    # one month rule: both counters' 结算汇总表 and the district's summary of the month agree
    year, month = settlement_month(approved_at_b.approval_accepted_at)
    figures = []
    for c in (a, b):
        summary = monthly_summary(c.store, street_code=STREET, year=year, month=month)
        figures.append((summary.applications, summary.persons, summary.total,
                        {(p.program, p.applications, p.persons, p.amount)
                         for p in summary.programs if p.applications},
                        {(x.program, x.bucket, x.amount) for x in summary.buckets if x.amount}))
    assert figures[0] == figures[1]
    client = a.client
    answer = client._http.get("/monthly-summary", params={"month": f"{year}-{month:02d}"},
                              headers=client._headers(True))
    assert answer.status_code == 200, answer.text
    (street,) = answer.json()["streets"]
    district_figures = (
        street["applications"],
        sum(p["persons"] for p in street["programs"]),
        Decimal(street["payable"]),
        {(p["program"], p["applications"], p["persons"], Decimal(p["payable"]))
         for p in street["programs"]},
        {(p["program"], bucket, Decimal(amount)) for p in street["programs"]
         for bucket, amount in p["buckets"].items() if Decimal(amount)})
    assert figures[0] == district_figures
    assert figures[0][0] == 1 and figures[0][2] == saved.payable
    # the month before holds nothing on either side
    start, _ = month_range(year, month)
    before = (start - timedelta(days=1)).astimezone(UTC)
    for c2 in (a, b):
        assert monthly_summary(c2.store, street_code=STREET, year=before.year,
                               month=before.month).applications == 0
    a.close()
    b.close()


def test_a_send_back_at_another_counter_reaches_the_handler_with_its_reason(
        district: DistrictServer, memory_keyring: MemoryKeyring, tmp_path: Path) -> None:
    a = counter(district, tmp_path / "a.sqlite", district.codes()[0])
    b = counter(district, tmp_path / "b.sqlite", district.codes()[1], clerk=1)
    pull(a.store, a.client)
    saved, _, _ = save_first(a)
    push(a.store, a.client, on_result=record_push_result)
    pull(b.store, b.client)
    reviewer, _ = _supervisors_at(b, district)
    send_back(b.store, saved.application_id, username=reviewer, password=PASSWORD,
              reason="发票复印件不清楚")
    assert push(b.store, b.client, on_result=record_push_result).refused == 0
    pull(a.store, a.client)
    assert status_of(a.store, saved.application_id).status == "returned"
    with a.store.session() as session:
        note = session.scalars(select(AuditEventRecord).where(
            AuditEventRecord.subject == f"application:{saved.application_id}",
            AuditEventRecord.action == "application.returned")).one()
        assert (note.actor, note.detail["reason"]) == (reviewer, "发票复印件不清楚")
    # the handler withdraws it at A; B learns that too
    withdraw_application(a.store, saved.application_id, username=a.clerk,
                         password=PASSWORD, reason="重新申请")
    assert push(a.store, a.client, on_result=record_push_result).refused == 0
    pull(b.store, b.client)
    assert status_of(b.store, saved.application_id).status == "withdrawn"
    a.close()
    b.close()


def test_the_counters_own_waiting_act_goes_before_the_districts_older_state(
        district: DistrictServer, memory_keyring: MemoryKeyring, tmp_path: Path) -> None:
    """A review signed here offline is not undone by a pull that still shows "accepted"."""
    a = counter(district, tmp_path / "a.sqlite", district.codes()[0])
    pull(a.store, a.client)
    saved, _, _ = save_first(a)
    push(a.store, a.client, on_result=record_push_result)
    reviewer, _ = _supervisors_at(a, district)
    sign(a.store, saved.application_id, role="reviewer", username=reviewer, password=PASSWORD)
    pull(a.store, a.client)  # brings the acceptance's change; the review waits in the outbox
    assert status_of(a.store, saved.application_id).status == "reviewed"
    assert push(a.store, a.client, on_result=record_push_result).refused == 0
    pull(a.store, a.client)
    record = status_of(a.store, saved.application_id)
    assert record.status == "reviewed" and record.district_seq is not None
    assert record.approval_accepted_at is None
    assert datetime.now(UTC) - record.created_at.replace(tzinfo=UTC) < timedelta(hours=1)
    a.close()
