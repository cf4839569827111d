"""Issue 9: the district proves who signed and enforces each application's states and times.

Each test is one attack an outsider made with one street PC and one clerk's login, against a real
server on SQLite and on PostgreSQL, and shows it refused. The counter in these tests is the
harness's (tests/district/harness.py): it registers each user's key at their login, as the
counter's desktop.services.signing does, and can sign with any key it holds — which is exactly
what an attacker holding the PC and one login has.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import select

from desktop import wire
from desktop.domain import signing
from district import models
from district.db import Database
from district.security import hash_password
from district.services.signing_keys import (
    deactivate_user,
    register_key,
    revoke_user_keys,
    set_password,
)
from district.services.users import find_staff
from tests.district.conftest import SeededDistrict, member_with_allowance
from tests.district.harness import (
    CHANGNING_STREET,
    MINHANG_STREET,
    Counter,
    claimable_rows,
    fresh_recipients,
    outbox,
    signature,
)


def _fresh(district: SeededDistrict, counter: Counter) -> tuple[str, list[str]]:
    person = district.take_person(fresh_recipients(counter))
    return person, claimable_rows(counter, person)


def _fresh_before(district: SeededDistrict, counter: Counter, day: datetime
                  ) -> tuple[str, list[str]]:
    """A person with claimable rows dated on or before `day` (the rest left alone)."""
    for person in fresh_recipients(counter):
        if person in district.used_persons:
            continue
        rows = [r for r in claimable_rows(counter, person, within_days=200)
                if counter.snapshot.fee_rows[r]["date"] <= day.date().isoformat()]
        if rows:
            district.used_persons.add(person)
            return person, rows
    raise AssertionError("no person with rows that old")


def _keys_registered_earlier(district: SeededDistrict, counter: Counter,
                             by: timedelta) -> None:
    """The keys this PC holds, as if registered `by` ago (a counter offline since then)."""
    with _database(district) as db, db.write() as session:
        for key in session.scalars(select(models.SigningKey).where(
                models.SigningKey.device_id == counter.device_id)):
            key.registered_at = datetime.now(UTC) - by


def _accepted(counter: Counter, item: wire.OutboxItem) -> str:
    result = counter.push_one(item)
    assert result.status == "accepted", result
    return str(item.payload["application_id"])


def _refused(result: wire.ItemResult, reason: str, rule: str | None = None) -> None:
    assert result.status == "refused" and result.reason == reason, result
    assert result.message  # a Chinese sentence for the clerk
    if rule is not None:
        assert result.detail is not None and result.detail.get("rule") == rule, result


def _forged(counter: Counter, act: signing.SignedAct, as_key_of: str) -> wire.Proof:
    """A signature of `act` made with another user's key that this PC holds."""
    counter.ensure_key(as_key_of)
    private, key_id = counter.keys[as_key_of]
    bound = signing.SignedAct(**{**act.__dict__, "device_id": counter.device_id})
    return wire.Proof(key_id=key_id, signature=signing.sign(private, bound))


def _signature_item(application_id: str, role: str, username: str, at: datetime,
                    proof: wire.Proof | None, card_confirmed: bool = False) -> wire.OutboxItem:
    return outbox("signature", wire.SignaturePayload(
        application_id=uuid.UUID(application_id), role=role,  # type: ignore[arg-type]
        username=username, signed_at=at, proof=proof, card_confirmed=card_confirmed))


@contextmanager
def _database(district: SeededDistrict) -> Iterator[Database]:
    db = Database(district.server.database_url)
    try:
        yield db
    finally:
        db.dispose()


def test_a_clerk_cannot_sign_as_the_reviewer_and_the_approver(district: SeededDistrict) -> None:
    """The attack: huayang.clerk1's session pushed signatures naming the reviewer and the
    approver, one back-dated. Unsigned, signed with the clerk's own key, or back-dated: all
    refused, and the application stays accepted."""
    counter = district.counter(login="clerk1")
    clerk = district.user(CHANGNING_STREET, "clerk1")
    reviewer = district.user(CHANGNING_STREET, "reviewer")
    approver = district.user(CHANGNING_STREET, "approver")
    person, rows = _fresh(district, counter)
    app = _accepted(counter, counter.application(person, rows))
    now = datetime.now(UTC)

    _refused(counter.push_one(signature(app, "reviewer", reviewer)), "unsigned",
             "signature_required")
    as_reviewer = counter.act("sign", app, "reviewer", reviewer, now)
    forged = _forged(counter, as_reviewer, as_key_of=clerk)
    _refused(counter.push_one(_signature_item(app, "reviewer", reviewer, now, forged)),
             "bad_signature", "unknown_key")
    back_dated = now - timedelta(days=45)
    _refused(counter.push_one(_signature_item(app, "approver", approver, back_dated, None)),
             "not_reviewed")  # out of order first; the time is checked on a reviewed one too
    with _database(district) as db, db.read() as session:
        stored = session.get(models.Application, app)
        assert stored is not None and stored.status == "accepted"
        assert not session.scalars(select(models.Signature).where(
            models.Signature.application_id == app)).all()


def test_a_reviewer_session_cannot_submit_and_approve_alone(district: SeededDistrict) -> None:
    """A reviewer-only session names a clerk as handler and the approver as approver: without
    their keys it proves neither."""
    counter = district.counter(login="reviewer")
    clerk = district.user(CHANGNING_STREET, "clerk1")
    reviewer = district.user(CHANGNING_STREET, "reviewer")
    approver = district.user(CHANGNING_STREET, "approver")
    person, rows = _fresh(district, counter)
    unsigned = counter.application(person, rows, handler=clerk, signed=False)
    _refused(counter.push_one(unsigned), "unsigned")
    # signed with the reviewer's key, naming the clerk
    item = counter.application(person, rows, handler=reviewer)
    payload = {**item.payload, "handler": clerk}
    _refused(counter.push_one(outbox("application", wire.ApplicationPayload.model_validate(
        payload))), "bad_signature")
    # the same, as the handler it really is: refused for the role, never for the signature
    _refused(counter.push_one(item), "forbidden", "handler_role")
    # and a reviewer cannot approve with a key of its own either
    counter.login(district.user(CHANGNING_STREET, "clerk1"))
    app = _accepted(counter, counter.application(person, rows))
    assert counter.push_one(counter.signature(app, "reviewer", reviewer)).status == "accepted"
    now = datetime.now(UTC)
    forged = _forged(counter, counter.act("sign", app, "approver", approver, now), reviewer)
    _refused(counter.push_one(_signature_item(app, "approver", approver, now, forged)),
             "bad_signature")


def test_a_key_the_district_never_registered_proves_nothing(district: SeededDistrict) -> None:
    """The attack through the app: a made-up user row with a known verifier and a key made on
    the PC. The district has no such key, so the approval is refused."""
    counter = district.counter(login="clerk1")
    person, rows = _fresh(district, counter)
    app = _accepted(counter, counter.application(person, rows))
    reviewer = district.user(CHANGNING_STREET, "reviewer")
    private = signing.new_private_key()
    now = datetime.now(UTC)
    act = signing.SignedAct(**{**counter.act("sign", app, "reviewer", reviewer, now).__dict__})
    made_up = wire.Proof(key_id=signing.key_id_of(signing.public_key_b64(private)),
                         signature=signing.sign(private, act))
    _refused(counter.push_one(_signature_item(app, "reviewer", reviewer, now, made_up)),
             "bad_signature", "unknown_key")


def test_a_signature_covers_the_amount_case_and_card_it_was_made_for(
        district: SeededDistrict) -> None:
    """A handler's signature made for one payout card does not carry another; a reviewer's
    made for another application does not carry this one."""
    counter = district.counter(login="clerk1")
    person, rows = _fresh(district, counter)
    item = counter.application(person, rows, bank_account="6222021234567890128")
    swapped = {**item.payload, "bank_account": "6222029876543210980"}
    _refused(counter.push_one(outbox("application", wire.ApplicationPayload.model_validate(
        swapped))), "bad_signature", "signature_mismatch")
    app = _accepted(counter, item)
    other_person, other_rows = _fresh(district, counter)
    other = _accepted(counter, counter.application(other_person, other_rows))
    reviewer = district.user(CHANGNING_STREET, "reviewer")
    for_other = counter.signature(other, "reviewer", reviewer)
    moved = {**for_other.payload, "application_id": app}
    _refused(counter.push_one(outbox("signature", wire.SignaturePayload.model_validate(moved))),
             "bad_signature", "signature_mismatch")


def test_a_withdrawn_application_cannot_be_signed_so_receipts_are_paid_once(
        district: SeededDistrict) -> None:
    """The attack: withdraw W1, claim the same rows in W2, sign W1 — both approved. Now W1 is
    final once withdrawn: its signatures are refused and only W2 reaches approval."""
    counter = district.counter(login="clerk1")
    reviewer = district.user(CHANGNING_STREET, "reviewer")
    approver = district.user(CHANGNING_STREET, "approver")
    person, rows = _fresh(district, counter)
    w1 = _accepted(counter, counter.application(person, rows))
    # before review only its own 经办人 withdraws it: a supervisor needs a send-back first
    _refused(counter.push_one(counter.withdrawal(w1, reviewer)), "forbidden")
    assert counter.push_one(counter.send_back(w1, reviewer)).status == "accepted"
    _refused(counter.push_one(counter.send_back(w1, approver)), "wrong_state", "state")
    _refused(counter.push_one(counter.signature(w1, "reviewer", reviewer)), "wrong_state")
    assert counter.push_one(counter.withdrawal(w1, district.user(CHANGNING_STREET, "clerk1"))
                            ).status == "accepted"
    counter.pull()
    w2 = _accepted(counter, counter.application(person, rows))
    for role, who in (("reviewer", reviewer), ("approver", approver)):
        _refused(counter.push_one(counter.signature(w1, role, who)), "wrong_state", "state")
        assert counter.push_one(counter.signature(w2, role, who)).status == "accepted"
    _refused(counter.push_one(counter.withdrawal(w1, reviewer)), "wrong_state", "state")
    _refused(counter.push_one(counter.withdrawal(w2, reviewer)), "not_withdrawable")
    with _database(district) as db, db.read() as session:
        statuses = {a.id: a.status for a in session.scalars(
            select(models.Application).where(models.Application.id.in_([w1, w2])))}
        assert statuses == {w1: "withdrawn", w2: "approved"}
        transitions = [(t.kind, t.from_status, t.to_status) for t in session.scalars(
            select(models.ApplicationTransition)
            .where(models.ApplicationTransition.application_id == w1)
            .order_by(models.ApplicationTransition.id))]
        assert transitions == [("return", "accepted", "returned"),
                               ("withdrawal", "returned", "withdrawn")]


def test_a_send_back_follows_the_roles_and_maker_checker(district: SeededDistrict) -> None:
    counter = district.counter(login="clerk2")  # clerk2 may also review
    clerk2 = district.user(CHANGNING_STREET, "clerk2")
    reviewer = district.user(CHANGNING_STREET, "reviewer")
    approver = district.user(CHANGNING_STREET, "approver")
    person, rows = _fresh(district, counter)
    app = _accepted(counter, counter.application(person, rows))
    _refused(counter.push_one(counter.send_back(app, clerk2)), "forbidden", "maker_checker")
    assert counter.push_one(counter.signature(app, "reviewer", reviewer)).status == "accepted"
    _refused(counter.push_one(counter.send_back(app, reviewer)), "forbidden")  # reviewed
    assert counter.push_one(counter.send_back(app, approver)).status == "accepted"
    _refused(counter.push_one(counter.signature(app, "approver", approver)), "wrong_state")


def test_moments_outside_the_servers_bounds_are_refused(district: SeededDistrict) -> None:
    """Back-dating created_at and application_date claimed receipts overdue today; a moment in
    the future or older than the offline allowance (30 days) is refused, and no act comes
    before the application."""
    counter = district.counter(login="clerk1")
    reviewer = district.user(CHANGNING_STREET, "reviewer")
    now = datetime.now(UTC)
    old = now - timedelta(days=45)
    person, rows = _fresh_before(district, counter, old)
    back_dated = counter.application(person, rows, created_at=old, today=old.date())
    result = counter.push_one(back_dated)
    _refused(result, "time_out_of_bounds")
    assert result.detail == {"field": "created_at", "rule": "too_old", "allowance_days": 30}
    future = counter.application(person, rows, created_at=now + timedelta(hours=2))
    _refused(counter.push_one(future), "time_out_of_bounds", "future")
    within = now - timedelta(days=3)  # offline for three days: accepted
    _keys_registered_earlier(district, counter, timedelta(days=7))
    person, rows = _fresh_before(district, counter, within)
    app = _accepted(counter, counter.application(person, rows, created_at=within,
                                                 today=within.date()))
    counter.ensure_key(reviewer)
    _keys_registered_earlier(district, counter, timedelta(days=7))
    _refused(counter.push_one(counter.signature(app, "reviewer", reviewer,
                                                at=within - timedelta(minutes=1))),
             "time_out_of_order", "order")
    assert counter.push_one(counter.signature(app, "reviewer", reviewer)).status == "accepted"


def test_a_key_registered_after_the_signature_time_is_refused(district: SeededDistrict) -> None:
    counter = district.counter(login="clerk1")
    reviewer = district.user(CHANGNING_STREET, "reviewer")
    created = datetime.now(UTC) - timedelta(hours=2)
    _keys_registered_earlier(district, counter, timedelta(days=1))  # the clerk's
    person, rows = _fresh_before(district, counter, created)
    app = _accepted(counter, counter.application(person, rows, created_at=created,
                                                 today=created.date()))
    counter.ensure_key(reviewer)  # registered now
    earlier = counter.signature(app, "reviewer", reviewer, at=created + timedelta(minutes=5))
    _refused(counter.push_one(earlier), "key_after_signature", "key_after_signature")


def test_a_changed_payout_card_needs_the_approvers_confirmation(
        district: SeededDistrict) -> None:
    """Any 16–19 digit card was stored and paid. A card other than the one on file now needs
    the 审批人's confirmation, which is inside the signed bytes."""
    counter = district.counter(login="clerk1")
    reviewer = district.user(CHANGNING_STREET, "reviewer")
    approver = district.user(CHANGNING_STREET, "approver")
    person, rows = _fresh(district, counter)
    on_file = counter.snapshot.persons[person].get("bank_account")
    new_card = "6222021234567890128" if on_file != "6222021234567890128" else "6222029876543210980"
    app = _accepted(counter, counter.application(person, rows, bank_account=new_card))
    assert counter.push_one(counter.signature(app, "reviewer", reviewer)).status == "accepted"
    _refused(counter.push_one(counter.signature(app, "approver", approver)),
             "card_change_unconfirmed", "card_change")
    # claiming the confirmation without having signed it
    unconfirmed = counter.signature(app, "approver", approver)
    claimed = {**unconfirmed.payload, "card_confirmed": True}
    _refused(counter.push_one(outbox("signature", wire.SignaturePayload.model_validate(claimed))),
             "bad_signature", "signature_mismatch")
    confirmed = counter.signature(app, "approver", approver, card_confirmed=True)
    assert counter.push_one(confirmed).status == "accepted"
    with _database(district) as db, db.read() as session:
        stored = session.get(models.Application, app)
        assert stored is not None
        assert (stored.status, stored.bank_account, stored.card_on_file) == (
            "approved", new_card, on_file)
        approval = session.get(models.Signature, (app, "approver"))
        assert approval is not None and approval.card_confirmed


def test_a_revoked_key_proves_nothing(district: SeededDistrict) -> None:
    counter = district.counter(login="clerk1")
    reviewer = district.user(CHANGNING_STREET, "reviewer")
    person, rows = _fresh(district, counter)
    app = _accepted(counter, counter.application(person, rows))
    counter.ensure_key(reviewer)
    with _database(district) as db, db.write() as session:
        staff = find_staff(session, reviewer)
        assert staff is not None
        assert revoke_user_keys(session, staff.id, "password_changed", datetime.now(UTC)) >= 1
    _refused(counter.push_one(counter.signature(app, "reviewer", reviewer)), "key_revoked",
             "key_revoked")
    # a new key registered at the next sign-in signs again
    del counter.keys[reviewer]
    assert counter.push_one(counter.signature(app, "reviewer", reviewer)).status == "accepted"


def test_a_deactivated_user_or_a_new_password_revokes_the_keys(tmp_path: Any) -> None:
    """The district's own steps: deactivating a user or setting a new password revokes every
    key of theirs, and a revoked key cannot be registered again."""
    from tests.district.harness import PASSWORD, seed

    url = f"sqlite:///{tmp_path / 'd.sqlite3'}"
    seed(url, persons=5, streets=[CHANGNING_STREET], codes=1)
    db = Database(url)
    try:
        with db.write() as session:
            device = models.Device(id=str(uuid.uuid4()), name="t", street_code=CHANGNING_STREET,
                                   token_hash="0" * 64, registered_at=datetime.now(UTC))
            session.add(device)
            names = list(session.scalars(select(models.User.username).where(
                models.User.street_code == CHANGNING_STREET)))
        assert len(names) >= 2
        keys: dict[str, str] = {}
        with db.write() as session:
            for name in names[:2]:
                staff = find_staff(session, name)
                assert staff is not None
                public = signing.public_key_b64(signing.new_private_key())
                keys[name] = public
                register_key(session, staff, device.id, public, datetime.now(UTC))
        first, second = names[:2]
        with db.write() as session:
            deactivate_user(session, first, datetime.now(UTC))
            set_password(session, second, hash_password(PASSWORD + "-new"), datetime.now(UTC))
        with db.read() as session:
            reasons = {k.key_id: k.revoked_reason for k in session.scalars(
                select(models.SigningKey))}
        assert reasons == {signing.key_id_of(keys[first]): "deactivated",
                           signing.key_id_of(keys[second]): "password_changed"}
        from district.services.signing_keys import KeyRefused

        with db.write() as session:
            staff = find_staff(session, second)
            assert staff is not None
            try:
                register_key(session, staff, device.id, keys[second], datetime.now(UTC))
            except KeyRefused as exc:
                assert exc.code == "signing_key_revoked"
            else:
                raise AssertionError("a revoked key was registered again")
    finally:
        db.dispose()


def test_a_nul_byte_in_a_pushed_field_is_refused_not_a_server_error(
        district: SeededDistrict) -> None:
    """PostgreSQL's text columns cannot hold a NUL byte: the item is refused, the request and
    the items beside it go on (the harness asserts the answer is 200)."""
    counter = district.counter()
    clerk = district.user(CHANGNING_STREET, "clerk1")
    odd = outbox("audit_event", wire.AuditEventPayload(
        event_id=uuid.uuid4(), at=datetime.now(UTC), actor=clerk, action="tick\x00row",
        subject="fee_row:1", detail={}))
    plain = outbox("audit_event", wire.AuditEventPayload(
        event_id=uuid.uuid4(), at=datetime.now(UTC), actor=clerk, action="tick_row",
        subject="fee_row:2", detail={}))
    first, second = counter.push([odd, plain])
    assert second.status == "accepted", second
    if district.backend == "postgresql":
        _refused(first, "invalid_payload")
        assert first.detail == {"field": "payload"}


def test_a_district_admin_session_cannot_submit_or_approve(district: SeededDistrict) -> None:
    """A district-admin session at a street PC: it may push (the transport), but nothing it
    signs counts as a clerk's, reviewer's or approver's act."""
    counter = district.counter(MINHANG_STREET, login=None)
    counter.login("minhang.admin")
    counter.pull()
    clerk = district.user(MINHANG_STREET, "clerk1")
    person, rows = _fresh(district, counter)
    as_admin = counter.application(person, rows)  # signed by the admin, as handler
    _refused(counter.push_one(as_admin), "forbidden", "handler_role")
    item = counter.application(person, rows, handler="minhang.admin")
    naming_clerk = {**item.payload, "handler": clerk}  # the admin's signature, a clerk named
    _refused(counter.push_one(outbox("application", wire.ApplicationPayload.model_validate(
        naming_clerk))), "bad_signature")
    counter.login(clerk)
    app = _accepted(counter, counter.application(person, rows))
    now = datetime.now(UTC)
    reviewer = district.user(MINHANG_STREET, "reviewer")
    forged = _forged(counter, counter.act("sign", app, "reviewer", reviewer, now),
                     "minhang.admin")
    _refused(counter.push_one(_signature_item(app, "reviewer", reviewer, now, forged)),
             "bad_signature")
    _refused(counter.push_one(counter.signature(app, "reviewer", "minhang.admin")),
             "forbidden", "role")


def test_a_withdrawal_puts_back_what_the_card_paid(district: SeededDistrict) -> None:
    """MA-2021 四(一): acceptance took the card's part off the member's balance; withdrawing the
    application gives it back, so the corrected application pays from the same balance and
    the member loses nothing."""
    counter = district.counter()
    snap = counter.snapshot
    person, all_rows, item = member_with_allowance(district, counter, rows_needed=1)
    rows = all_rows[:1]
    before = Decimal(snap.persons[person]["allowance_balance"])
    paid = Decimal(item.payload["buckets"]["allowance"])
    app = _accepted(counter, item)
    counter.pull()
    assert Decimal(snap.persons[person]["allowance_balance"]) == before - paid
    reviewer = district.user(CHANGNING_STREET, "reviewer")
    assert counter.push_one(counter.send_back(app, reviewer)).status == "accepted"
    withdrawn = counter.push_one(counter.withdrawal(app, reviewer))
    assert withdrawn.status == "accepted", withdrawn
    assert withdrawn.detail is not None
    assert Decimal(withdrawn.detail["allowance_returned"]) == paid
    counter.pull()
    assert Decimal(snap.persons[person]["allowance_balance"]) == before
    again = counter.application(person, rows, program="mutual_aid")  # the corrected one
    assert again.payload["buckets"] == item.payload["buckets"]
    _accepted(counter, again)


def test_only_the_signed_in_user_registers_a_key_for_this_pc(district: SeededDistrict) -> None:
    """POST /signing-keys: anonymous, a PC without a session, and a key already another user's
    or another PC's are refused; the key always belongs to the session's own user."""
    counter = district.counter(login=None)
    public = signing.public_key_b64(signing.new_private_key())
    anonymous = counter.http.post("/signing-keys", json={"public_key": public},
                                  headers={wire.PROTOCOL_HEADER: str(wire.PROTOCOL_VERSION)})
    assert anonymous.status_code == 401
    no_session = counter.http.post("/signing-keys", json={"public_key": public},
                                   headers=counter.headers())
    assert no_session.status_code == 401 and no_session.json()["code"] == "login_required"
    counter.login(district.user(CHANGNING_STREET, "clerk1"))
    again = counter.http.post(  # the key this PC registered for the clerk at the login above
        "/signing-keys", json={"public_key": signing.public_key_b64(
            counter.keys[district.user(CHANGNING_STREET, "clerk1")][0])},
        headers=counter.headers())
    assert again.status_code == 200  # the clerk's own: registered once, answered again
    other = district.counter(login="reviewer", pull=False)
    stolen = other.http.post("/signing-keys", json={"public_key": signing.public_key_b64(
        counter.keys[district.user(CHANGNING_STREET, "clerk1")][0])}, headers=other.headers())
    assert stolen.status_code == 409 and stolen.json()["code"] == "signing_key_taken"
    bad = counter.http.post("/signing-keys", json={"public_key": "not-a-key"},
                            headers=counter.headers())
    assert bad.status_code == 422 and bad.json()["field"] == "public_key"


def test_a_send_back_is_refused_from_another_street_unsigned_or_in_anothers_name(
        district: SeededDistrict) -> None:
    counter = district.counter(login="clerk1")
    reviewer = district.user(CHANGNING_STREET, "reviewer")
    person, rows = _fresh(district, counter)
    app = _accepted(counter, counter.application(person, rows))
    elsewhere = district.counter(MINHANG_STREET, login="clerk1", pull=False)
    elsewhere.saved[app] = counter.saved[app]
    _refused(elsewhere.push_one(elsewhere.send_back(app, district.user(MINHANG_STREET,
                                                                       "reviewer"))),
             "unknown_application")
    now = datetime.now(UTC)
    unsigned = outbox("return", wire.ReturnPayload(
        application_id=uuid.UUID(app), username=reviewer, reason="材料不全", at=now))
    _refused(counter.push_one(unsigned), "unsigned")
    as_clerk = _forged(counter, counter.act("return", app, "", reviewer, now, extra="材料不全"),
                       district.user(CHANGNING_STREET, "clerk1"))
    forged = outbox("return", wire.ReturnPayload(
        application_id=uuid.UUID(app), username=reviewer, reason="材料不全", at=now,
        proof=as_clerk))
    result = counter.push_one(forged)
    _refused(result, "bad_signature")
    assert reviewer not in (result.message or "")  # the office's words: names, not logins
    assert counter.push_one(counter.send_back(app, reviewer)).status == "accepted"
