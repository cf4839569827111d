"""Review and approval at the counter: queues, detail, signatures, send-back (POLICY.md §6.5).

Applications are saved with `save_application` on a store filled with synthetic district
changes; the signers are remembered as an online sign-in would leave them (`remember_user`),
and one test runs the whole path against a real district server.
"""

from __future__ import annotations

import itertools
import random
import shutil
import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from desktop import wire
from desktop.domain import signing as acts
from desktop.services.accounts import UNKNOWN_ACTOR, can_approve, can_review, sign_in
from desktop.services.applications import record_push_result, save_application, settled_rows
from desktop.services.approvals import (
    THREE_PEOPLE,
    ApprovalRefused,
    UnknownApplication,
    application_detail,
    approval_queue,
    review_queue,
    send_back,
    sign,
)
from desktop.services.signing import signer_for
from desktop.store import Store, apply_changes, open_store
from desktop.store.models import (
    ApplicationRecord,
    AuditEventRecord,
    OutboxRecord,
    SignatureRecord,
)
from desktop.sync.client import DistrictClient
from desktop.sync.credentials import MemoryKeyring
from desktop.sync.pull import pull
from desktop.sync.push import push
from tests.signers import (
    TEST_DEVICE,
    case_of,
    open_signer,
    payable_of,
    proves,
    remember_with_key,
)
from tests.store.conftest import fee_row_data, person_data, upsert
from tests.sync.conftest import PASSWORD, seed_and_serve

TODAY = date(2026, 6, 10)
NOW = datetime(2026, 6, 10, 2, 0, tzinfo=UTC)
SECRET = "口令-Counter-2026"
# The counter's staff, with the roles the district gave them (GLOSSARY: 经办人 = clerk).
STAFF: dict[str, tuple[str, ...]] = {
    "li": ("clerk",),
    "sun": ("clerk",),
    "qian": ("clerk", "reviewer"),
    "wang": ("reviewer",),
    "zhao": ("approver", "reviewer"),
    "zhou": ("clerk", "reviewer", "approver"),
    "wu": ("clerk", "reviewer", "approver"),
    "zheng": ("clerk", "reviewer", "approver"),
    "feng": ("approver",),
}
NAMES = {"li": "李经办", "wang": "王审核", "zhao": "赵审批"}

_persons = itertools.count(1)


# -- a store with staff and something to sign ----------------------------------------------------

@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A store with the staff remembered once: scrypt is slow on purpose."""
    path = tmp_path_factory.mktemp("template") / "counter.sqlite"
    with open_store(path) as store:
        for username, roles in STAFF.items():
            remember_with_key(store, username, NAMES.get(username, username), roles, SECRET,
                              now=NOW)
        with store.session() as session:
            apply_changes(session, [upsert("institution", "H2",
                                           {"code": "H2", "name": "华山医院", "level": 2})])
    return path


@pytest.fixture
def store(template: Path, tmp_path: Path) -> Iterator[Store]:
    path = tmp_path / "counter.sqlite"
    shutil.copyfile(template, path)
    with open_store(path) as opened:
        yield opened


def new_person(store: Store, *self_pays: str, extra_rows: tuple[dict[str, Any], ...] = ()
               ) -> tuple[str, list[str]]:
    """A 低保 person with outpatient rows this spring; returns (person id, row ids)."""
    n = next(_persons)
    person_id = f"P{n}"
    changes = [
        upsert("person", person_id, person_data(random.Random(n), person_id, "张三")),
        upsert("category_span", f"S{n}", {"id": f"S{n}", "person_id": person_id,
                                          "code": "dibao", "start": "2024-03-01",
                                          "source": "民政"}),
    ]
    rows = []
    for i, self_pay in enumerate(self_pays):
        row_id = f"F{n}-{i}"
        rows.append(row_id)
        changes.append(upsert("fee_row", row_id, fee_row_data(
            row_id, person_id, f"2026-04-{i + 1:02d}", self_pay, institution_code="H2")))
    for row in extra_rows:
        changes.append(upsert("fee_row", row["id"], {**row, "person_id": person_id}))
    with store.session() as session:
        apply_changes(session, changes)
    return person_id, rows


def saved(store: Store, handler: str = "li", *, at: datetime = NOW,
          self_pays: tuple[str, ...] = ("1000.00",)) -> uuid.UUID:
    person_id, rows = new_person(store, *self_pays)
    if signer_for(handler) is None:
        open_signer(handler)  # signed in at this counter, as its 经办人
    return save_application(store, person_id=person_id, program="assistance",
                            district="changning", application_date=TODAY, ticked=rows,
                            handler=handler, now=at).application_id


def status(store: Store, application_id: uuid.UUID) -> str:
    with store.read_session() as session:
        application = session.get(ApplicationRecord, application_id)
        assert application is not None
        return application.status


def signatures(store: Store, application_id: uuid.UUID) -> dict[str, str]:
    with store.read_session() as session:
        return {s.role: s.username for s in session.scalars(
            select(SignatureRecord).where(SignatureRecord.application_id == application_id))}


def outbox(store: Store, kind: str) -> list[OutboxRecord]:
    with store.read_session() as session:
        return list(session.scalars(select(OutboxRecord).where(OutboxRecord.kind == kind)
                                    .order_by(OutboxRecord.id)))


def events(store: Store, action: str) -> list[AuditEventRecord]:
    with store.read_session() as session:
        return list(session.scalars(select(AuditEventRecord)
                                    .where(AuditEventRecord.action == action)
                                    .order_by(AuditEventRecord.id)))


def review(store: Store, application_id: uuid.UUID, username: str = "wang") -> None:
    sign(store, application_id, role="reviewer", username=username, password=SECRET, now=NOW)


def approve(store: Store, application_id: uuid.UUID, username: str = "zhao") -> None:
    sign(store, application_id, role="approver", username=username, password=SECRET, now=NOW)


def refused_to_district(store: Store, application_id: uuid.UUID) -> None:
    """The district's verdict, as the push brings it: the row was claimed elsewhere."""
    item = wire.OutboxItem(idempotency_key=uuid.uuid4(), kind="application",
                           payload={"application_id": str(application_id)}, created_at=NOW)
    result = wire.ItemResult(idempotency_key=item.idempotency_key, status="refused",
                             reason="already_claimed", message="该费用已由另一街镇申请。")
    with store.session() as session:
        record_push_result(session, item, result)


# -- queues --------------------------------------------------------------------------------------

def test_a_saved_application_waits_for_a_reviewer(store: Store) -> None:
    application_id = saved(store, self_pays=("1000.00", "200.00"))
    (entry,) = review_queue(store)
    assert entry.application_id == application_id
    assert entry.person_name == "张三"
    assert len(entry.id_masked) == 18 and entry.id_masked[4:14] == "*" * 10
    assert (entry.program, entry.program_label) == ("assistance", "医疗救助（事后救助）")
    assert entry.payable == Decimal("720.00")  # 低保 outpatient 60 % (POLICY.md §1)
    assert isinstance(entry.payable, Decimal)
    assert (entry.handler, entry.reviewer, entry.status, entry.row_count) == (
        "li", None, "saved", 2)
    assert (entry.handler_name, entry.reviewer_name) == ("李经办", None)  # names, not logins
    assert entry.created_at == NOW
    assert approval_queue(store) == []


def test_the_queues_are_oldest_first_and_follow_the_signatures(store: Store) -> None:
    late = saved(store, at=NOW - timedelta(hours=1))
    early = saved(store, at=NOW - timedelta(days=2))
    middle = saved(store, at=NOW - timedelta(days=1))
    assert [e.application_id for e in review_queue(store)] == [early, middle, late]
    review(store, middle)
    review(store, late)
    assert [e.application_id for e in review_queue(store)] == [early]
    assert [(e.application_id, e.reviewer, e.reviewer_name, e.status)
            for e in approval_queue(store)] == [
        (middle, "wang", "王审核", "reviewed"), (late, "wang", "王审核", "reviewed")]
    approve(store, late)
    assert [e.application_id for e in approval_queue(store)] == [middle]
    assert [e.application_id for e in review_queue(store)] == [early]


def test_accepted_by_the_district_still_waits_and_refused_leaves_the_queues(
        store: Store) -> None:
    accepted, refused = saved(store), saved(store)
    with store.session() as session:
        session.get(ApplicationRecord, accepted).status = "accepted"  # type: ignore[union-attr]
    refused_to_district(store, refused)
    assert [e.application_id for e in review_queue(store)] == [accepted]
    assert review_queue(store)[0].status_label == "区里已受理"


# -- signing -------------------------------------------------------------------------------------

def test_reviewer_then_approver_each_in_one_transaction(store: Store) -> None:
    application_id = saved(store)
    reviewed_at = NOW + timedelta(minutes=5)
    result = sign(store, application_id, role="reviewer", username="wang", password=SECRET,
                  now=reviewed_at)
    assert (result.status, result.role, result.username, result.signed_at) == (
        "reviewed", "reviewer", "wang", reviewed_at)
    assert status(store, application_id) == "reviewed"
    assert signatures(store, application_id) == {"handler": "li", "reviewer": "wang"}
    (item,) = outbox(store, "signature")
    assert item.idempotency_key == result.outbox_key
    pushed = wire.SignaturePayload.model_validate(item.payload)
    assert pushed.model_copy(update={"proof": None}) == wire.SignaturePayload(
        application_id=application_id, role="reviewer", username="wang", signed_at=reviewed_at)
    # the detached signature is wang's, over this application's case, amount and card
    assert pushed.proof is not None and proves(store, "wang", pushed.proof, acts.SignedAct(
        act="sign", application_id=str(application_id), role="reviewer", username="wang",
        device_id=TEST_DEVICE, case_sha256=acts.case_digest(case_of(store, application_id)),
        payable=f"{payable_of(store, application_id):.2f}", card_sha256="",
        card_confirmed=False, signed_at=reviewed_at))
    (event,) = events(store, "application.reviewed")
    assert (event.actor, event.subject) == ("wang", f"application:{application_id}")
    assert event.detail["role"] == "reviewer"
    pushed = [o.payload["event_id"] for o in outbox(store, "audit_event")]
    assert str(event.event_id) in pushed

    approve(store, application_id)
    assert status(store, application_id) == "approved"
    assert signatures(store, application_id) == {"handler": "li", "reviewer": "wang",
                                                 "approver": "zhao"}
    assert [o.payload["role"] for o in outbox(store, "signature")] == ["reviewer", "approver"]
    assert len(events(store, "application.approved")) == 1
    assert review_queue(store) == [] and approval_queue(store) == []


def sign_step(store: Store, application_id: uuid.UUID, role: str, username: str,
              password: str = SECRET, now: datetime = NOW) -> None:
    sign(store, application_id, role=role, username=username,  # type: ignore[arg-type]
         password=password, now=now)


# (handler, signatures before, the refused signature, rule, words of the message)
REFUSALS: list[tuple[str, list[tuple[str, str]], tuple[str, ...], str, str]] = [
    ("li", [], ("reviewer", "wang", "wrong"), "password", "密码错误"),
    ("li", [], ("reviewer", "nobody", SECRET), "password", "密码错误"),
    ("li", [], ("reviewer", "sun"), "role", "sun 没有审核人的权限"),
    ("li", [], ("reviewer", "feng"), "role", "没有审核人的权限"),
    ("li", [("reviewer", "wang")], ("approver", "qian"), "role", "没有审批人的权限"),
    ("li", [("reviewer", "qian")], ("approver", "wang"), "role", "没有审批人的权限"),
    ("qian", [], ("reviewer", "qian"), "maker_checker", THREE_PEOPLE),
    ("zhou", [("reviewer", "wang")], ("approver", "zhou"), "maker_checker", THREE_PEOPLE),
    ("li", [("reviewer", "zhao")], ("approver", "zhao"), "maker_checker", THREE_PEOPLE),
    ("li", [], ("approver", "zhao"), "order", "审核人签名之后才能审批"),
    ("li", [("reviewer", "wang")], ("reviewer", "qian"), "already_signed", "已有审核人签名"),
    ("li", [("reviewer", "wang"), ("approver", "zhao")], ("approver", "feng"), "status",
     "已审批"),
    ("li", [("reviewer", "wang"), ("approver", "zhao")], ("reviewer", "qian"), "status",
     "已审批"),
]


@pytest.mark.parametrize(("handler", "before", "step", "rule", "words"), REFUSALS)
def test_every_signing_rule_refuses_and_writes_nothing(
        store: Store, handler: str, before: list[tuple[str, str]], step: tuple[str, ...],
        rule: str, words: str) -> None:
    application_id = saved(store, handler)
    for role, username in before:
        sign_step(store, application_id, role, username)
    state = (status(store, application_id), signatures(store, application_id),
             len(outbox(store, "signature")))
    role, username, *password = step
    with pytest.raises(ApprovalRefused) as refused:
        sign_step(store, application_id, role, username, *password)
    assert refused.value.rule == rule
    assert words in refused.value.message
    assert (status(store, application_id), signatures(store, application_id),
            len(outbox(store, "signature"))) == state
    (event,) = events(store, "application.sign_refused")
    assert event.detail == {"role": role, "rule": rule}
    assert event.actor == (UNKNOWN_ACTOR if username == "nobody" else username)
    assert SECRET not in str(event.detail) and "wrong" not in str(event.detail)


@pytest.mark.parametrize(("prepare", "role", "words"), [
    (refused_to_district, "reviewer", "区里未受理，待核查"),
    (lambda s, a: send_back(s, a, username="wang", password=SECRET, reason="缺出院小结",
                            now=NOW),
     "reviewer", "已退回经办人"),
])
def test_only_an_open_application_can_be_signed(store: Store, prepare: Any, role: str,
                                                words: str) -> None:
    application_id = saved(store)
    prepare(store, application_id)
    with pytest.raises(ApprovalRefused) as refused:
        sign_step(store, application_id, role, "qian")
    assert refused.value.rule == "status" and words in refused.value.message
    if status(store, application_id) == "review":  # the district's reason comes with it
        assert "该费用已由另一街镇申请" in refused.value.message


def test_an_unknown_application_is_refused(store: Store) -> None:
    with pytest.raises(ApprovalRefused) as refused:
        sign_step(store, uuid.uuid4(), "reviewer", "wang")
    assert refused.value.rule == "unknown_application"
    with pytest.raises(UnknownApplication, match="本机没有这份申请"):
        application_detail(store, uuid.uuid4())


def test_roles_not_confirmed_online_for_too_long_cannot_sign(store: Store) -> None:
    application_id = saved(store)
    with pytest.raises(ApprovalRefused) as refused:
        sign_step(store, application_id, "reviewer", "wang", now=NOW + timedelta(days=31))
    assert refused.value.rule == "stale_roles" and "超过 30 天" in refused.value.message
    sign_step(store, application_id, "reviewer", "wang", now=NOW + timedelta(days=30))
    assert status(store, application_id) == "reviewed"


def test_three_different_people_exactly(store: Store) -> None:
    """POLICY.md §6.5: over every assignment of three users (each holding every role) to
    经办人 / 审核人 / 审批人, exactly the assignments of three different people are approved."""
    people = ("zhou", "wu", "zheng")
    for handler, reviewer, approver in itertools.product(people, repeat=3):
        application_id = saved(store, handler)
        for role, username in (("reviewer", reviewer), ("approver", approver)):
            try:
                sign_step(store, application_id, role, username)
            except ApprovalRefused as refused:
                assert refused.rule in ("maker_checker", "order")
        distinct = len({handler, reviewer, approver}) == 3
        assert (status(store, application_id) == "approved") is distinct, (
            handler, reviewer, approver)


@settings(max_examples=25, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(handler=st.sampled_from(sorted(STAFF)), reviewer=st.sampled_from(sorted(STAFF)),
       approver=st.sampled_from(sorted(STAFF)))
def test_a_signature_stands_exactly_when_every_rule_holds(
        store: Store, handler: str, reviewer: str, approver: str) -> None:
    """Any staff member in any seat: the reviewer's signature stands iff they hold the role and
    are not the handler; the approver's iff they hold the role, differ from both and the
    reviewer signed. Whatever is refused leaves no signature."""
    application_id = saved(store, handler)
    reviewed = reviewer != handler and can_review(STAFF[reviewer])
    approved = (reviewed and approver not in (handler, reviewer)
                and can_approve(STAFF[approver]))
    for role, username, expected in (("reviewer", reviewer, reviewed),
                                     ("approver", approver, approved)):
        try:
            sign_step(store, application_id, role, username)
            assert expected, (role, username)
        except ApprovalRefused:
            assert not expected, (role, username)
    expected_signatures = {"handler": handler}
    if reviewed:
        expected_signatures["reviewer"] = reviewer
    if approved:
        expected_signatures["approver"] = approver
    assert signatures(store, application_id) == expected_signatures
    assert status(store, application_id) == (
        "approved" if approved else "reviewed" if reviewed else "saved")


# -- sending back -------------------------------------------------------------------------------

def test_a_reviewer_sends_back_with_a_reason(store: Store) -> None:
    application_id = saved(store)
    send_back(store, application_id, username="wang", password=SECRET,
              reason="  第二张收据金额与票据不符，请核对。 ", now=NOW)
    assert status(store, application_id) == "returned"
    assert review_queue(store) == [] and approval_queue(store) == []
    (event,) = events(store, "application.returned")
    assert event.actor == "wang"
    assert event.detail == {"reason": "第二张收据金额与票据不符，请核对。", "stage": "review",
                            "previous_status": "saved"}
    assert str(event.event_id) in [o.payload["event_id"] for o in outbox(store, "audit_event")]
    assert outbox(store, "signature") == []  # the district has no send-back step
    detail = application_detail(store, application_id)
    assert detail.status_label == "已退回经办人" and detail.stage is None
    assert detail.returned is not None
    assert (detail.returned.username, detail.returned.display_name, detail.returned.reason) == (
        "wang", "王审核", "第二张收据金额与票据不符，请核对。")


def test_the_approver_sends_back_a_reviewed_application(store: Store) -> None:
    application_id = saved(store)
    review(store, application_id)
    send_back(store, application_id, username="feng", password=SECRET, reason="缺出院小结",
              now=NOW)
    assert status(store, application_id) == "returned"
    assert events(store, "application.returned")[0].detail["stage"] == "approval"
    assert approval_queue(store) == []


SEND_BACK_REFUSALS: list[tuple[str, list[tuple[str, str]], str, str, str, str]] = [
    # (handler, signatures before, who, password, reason, rule)
    ("li", [], "wang", SECRET, "", "reason"),
    ("li", [], "wang", SECRET, "   \n", "reason"),
    ("li", [], "wang", SECRET, "字" * 501, "reason"),
    ("li", [], "wang", "wrong", "缺材料", "password"),
    ("li", [], "sun", SECRET, "缺材料", "role"),
    ("qian", [], "qian", SECRET, "缺材料", "maker_checker"),
    ("li", [("reviewer", "wang")], "qian", SECRET, "缺材料", "role"),  # reviewed: 审批人 only
    ("li", [("reviewer", "zhao")], "zhao", SECRET, "缺材料", "maker_checker"),
    ("li", [("reviewer", "wang"), ("approver", "zhao")], "feng", SECRET, "缺材料", "status"),
]


@pytest.mark.parametrize(("handler", "before", "who", "password", "reason", "rule"),
                         SEND_BACK_REFUSALS)
def test_every_send_back_rule_refuses_and_writes_nothing(
        store: Store, handler: str, before: list[tuple[str, str]], who: str, password: str,
        reason: str, rule: str) -> None:
    application_id = saved(store, handler)
    for role, username in before:
        sign_step(store, application_id, role, username)
    previous = status(store, application_id)
    with pytest.raises(ApprovalRefused) as refused:
        send_back(store, application_id, username=who, password=password, reason=reason,
                  now=NOW)
    assert refused.value.rule == rule and refused.value.message
    assert status(store, application_id) == previous
    assert events(store, "application.returned") == []
    if rule != "reason":  # a blank reason is refused before anyone is asked for a password
        assert [e.detail["rule"] for e in events(store, "application.return_refused")] == [rule]


def test_a_returned_application_keeps_holding_its_rows(store: Store) -> None:
    application_id = saved(store)
    with store.read_session() as session:
        application = session.get(ApplicationRecord, application_id)
        assert application is not None
        person_id, rows = application.person_id, [r.fee_row_id for r in application.rows]
    send_back(store, application_id, username="wang", password=SECRET, reason="缺出院小结",
              now=NOW)
    with store.read_session() as session:
        assert set(settled_rows(session, person_id, "assistance", {2026})) == set(rows)


# -- the detail a supervisor reads -----------------------------------------------------------------

def test_the_detail_shows_rows_amounts_trace_and_signatures(store: Store) -> None:
    person_id, rows = new_person(store, "1000.00", extra_rows=(
        fee_row_data("OLD", "", "2025-11-01", "300.00", institution_code="H2"),))
    application_id = save_application(
        store, person_id=person_id, program="assistance", district="changning",
        application_date=TODAY, ticked=[*rows, "OLD"], handler="li", now=NOW).application_id
    review(store, application_id)
    detail = application_detail(store, application_id)
    assert (detail.status, detail.stage, detail.handler) == ("reviewed", "approval", "li")
    assert detail.person_name == "张三" and "*" in detail.id_masked
    assert detail.payable == Decimal("600.00")
    assert [(b.bucket, b.label, b.amount) for b in detail.buckets] == [
        ("outpatient", "门急诊", Decimal("600.00"))]
    by_id = {r.fee_row_id: r for r in detail.rows}
    assert set(by_id) == {rows[0], "OLD"}
    counted = by_id[rows[0]]
    assert (counted.date, counted.institution, counted.kind_label, counted.self_pay,
            counted.receipt_no) == (date(2026, 4, 1), "华山医院", "门急诊", Decimal("1000.00"),
                                    f"R{rows[0]}")
    assert counted.claimed and counted.counts and counted.reason_label is None
    assert counted.rate is not None and counted.category_label
    old = by_id["OLD"]  # ticked, but more than 6 months before the application (CN-2026 4.3)
    assert not old.claimed and not old.counts
    assert old.reason_label is not None and "6个月" in old.reason_label
    assert any("本次应付合计" in line for line in detail.trace)
    assert [(s.role_label, s.username, s.display_name) for s in detail.signatures] == [
        ("经办人", "li", "李经办"), ("审核人", "wang", "王审核")]
    assert detail.server_reason is None and detail.returned is None


def test_the_detail_carries_the_districts_reason(store: Store) -> None:
    application_id = saved(store)
    refused_to_district(store, application_id)
    detail = application_detail(store, application_id)
    assert (detail.status, detail.server_reason) == ("review", "already_claimed")
    assert detail.server_message == "该费用已由另一街镇申请。"


# -- against the district --------------------------------------------------------------------------

def test_a_late_verdict_keeps_the_local_signatures_status(store: Store) -> None:
    application_id = saved(store)
    review(store, application_id)
    item = wire.OutboxItem(idempotency_key=uuid.uuid4(), kind="application",
                           payload={"application_id": str(application_id)}, created_at=NOW)
    with store.session() as session:
        record_push_result(session, item, wire.ItemResult(
            idempotency_key=item.idempotency_key, status="accepted"))
    assert status(store, application_id) == "reviewed"


def test_signatures_made_here_are_accepted_by_the_district(
        tmp_path: Path, memory_keyring: MemoryKeyring) -> None:
    server = seed_and_serve(tmp_path / "district", persons=30)
    try:
        with DistrictClient(server.url) as client:
            token = client.register(server.codes()[0], "approvals e2e").token
        with open_store(tmp_path / "counter.sqlite") as store, \
                DistrictClient(server.url, lambda: token) as client:
            clerk, reviewer, approver = (server.user("clerk"), server.user("reviewer"),
                                         server.user("approver"))
            now = datetime.now(UTC)
            for username in (reviewer, approver, clerk):  # the clerk's session pushes
                assert not sign_in(store, client, username, PASSWORD, now=now).offline
            pull(store, client)
            application_id = save_on_the_seeded_district(store, clerk)
            sign(store, application_id, role="reviewer", username=reviewer, password=PASSWORD)
            sign(store, application_id, role="approver", username=approver, password=PASSWORD)
            stats = push(store, client, on_result=record_push_result)
            assert stats.refused == 0, stats
            results = [o.result for o in outbox(store, "signature")]
            assert [r["status"] if r else None for r in results] == ["accepted", "accepted"]
            assert results[-1] is not None and results[-1]["detail"]["status"] == "approved"
            assert review_queue(store) == [] and approval_queue(store) == []
    finally:
        server.kill()


def test_a_made_up_approver_in_the_cache_cannot_approve(
        tmp_path: Path, memory_keyring: MemoryKeyring) -> None:
    """Issue 9's attack through the app: a user row inserted in the cache with a known
    verifier (and a key made on the PC) signs here, but the district has no key of theirs:
    it refuses, and the application goes back to review here."""
    server = seed_and_serve(tmp_path / "district", persons=30)
    try:
        with DistrictClient(server.url) as client:
            token = client.register(server.codes()[0], "forged approver").token
        with open_store(tmp_path / "counter.sqlite") as store, \
                DistrictClient(server.url, lambda: token) as client:
            clerk, reviewer, approver = (server.user("clerk"), server.user("reviewer"),
                                         server.user("approver"))
            for username in (reviewer, clerk):  # the clerk's session pushes
                assert not sign_in(store, client, username, PASSWORD).offline
            pull(store, client)
            # the attacker's own row for the real approver's name, with a password they know
            remember_with_key(store, approver, "王审批", ["approver"], "known-to-the-attacker",
                              device_id=str(client_device(store, reviewer)))
            application_id = save_on_the_seeded_district(store, clerk)
            sign(store, application_id, role="reviewer", username=reviewer, password=PASSWORD)
            sign(store, application_id, role="approver", username=approver,
                 password="known-to-the-attacker", confirm_card=True)
            assert status(store, application_id) == "approved"  # here, for now
            push(store, client, on_result=record_push_result)
            results = {o.payload["role"]: o.result for o in outbox(store, "signature")}
            assert results["reviewer"] is not None and results["reviewer"]["status"] == "accepted"
            refused = results["approver"]
            assert refused is not None and refused["status"] == "refused"
            assert refused["reason"] == "bad_signature"
            # undone here: back in the approval queue, with the district's reason
            assert status(store, application_id) == "reviewed"
            assert signatures(store, application_id) == {"handler": clerk, "reviewer": reviewer}
            (waiting,) = approval_queue(store)
            assert waiting.application_id == application_id
            detail = application_detail(store, application_id)
            assert detail.server_reason == "bad_signature"
            assert detail.server_message and "签名未被区里接受" in detail.server_message
    finally:
        server.kill()


def client_device(store: Store, username: str) -> str:
    """The device id the district gave this PC, as the user's registered key records it."""
    from desktop.store.models import SigningKeyRecord

    with store.read_session() as session:
        key = session.scalars(select(SigningKeyRecord).where(
            SigningKeyRecord.username == username)).one()
        assert key.device_id is not None
        return key.device_id


def save_on_the_seeded_district(store: Store, clerk: str) -> uuid.UUID:
    from desktop.services.applications import NothingToClaim
    from desktop.store.models import ClaimRecord, FeeRowRecord, PersonRecord

    today = date.today()
    with store.read_session() as session:
        held = select(ClaimRecord.fee_row_id)
        by_person: dict[str, list[str]] = {}
        for row in session.scalars(select(FeeRowRecord).where(
                FeeRowRecord.id.not_in(held), FeeRowRecord.date >= today - timedelta(days=150))):
            by_person.setdefault(row.person_id, []).append(row.id)
        programs = {p.id: "mutual_aid" if p.mutual_aid_years else "assistance"
                    for p in session.scalars(select(PersonRecord))}
    for person_id, rows in sorted(by_person.items(), key=lambda kv: -len(kv[1])):
        try:
            return save_application(store, person_id=person_id, program=programs[person_id],
                                    district="changning", application_date=today,
                                    ticked=rows, handler=clerk).application_id
        except NothingToClaim:
            continue
    pytest.fail("the seeded district has no claimable person")


def test_bank_name_household_address_and_medical_records_are_kept_with_the_application(
        store: Store) -> None:
    """What the submit dialog asks (issue 12): 开户银行 and 户籍地址 go with the applicant as at
    saving; the 病史资料 received (CN-2026 4.6) are kept for the ticked rows only."""
    person_id, rows = new_person(store, "1000.00", "200.00")
    open_signer("li")
    application_id = save_application(
        store, person_id=person_id, program="assistance", district="changning",
        application_date=TODAY, ticked=rows, handler="li", now=NOW,
        bank_name=" 中国工商银行 ", household_address="上海市长宁区华阳路1号",
        medical_records=[rows[0], "NOT-TICKED"]).application_id
    with store.read_session() as session:
        application = session.get(ApplicationRecord, application_id)
        assert application is not None and application.applicant is not None
        assert application.applicant["bank_name"] == "中国工商银行"
        assert application.applicant["household_address"] == "上海市长宁区华阳路1号"
        assert application.documents == {"medical_records": [rows[0]]}
    plain = saved(store)
    with store.read_session() as session:
        application = session.get(ApplicationRecord, plain)
        assert application is not None and application.applicant is not None
        assert "bank_name" not in application.applicant and application.documents is None
