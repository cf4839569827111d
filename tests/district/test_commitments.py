"""The 免申即享 commitment at the district (issue 15): given with an application that carries
the flag, signed by its 经办人, revoked with a reason; checked as if the PC were hostile, and
sent to every counter of the street (a freshly registered PC pulls it too). On SQLite and
PostgreSQL."""

from __future__ import annotations

import uuid
from typing import Any

from desktop import wire
from tests.district.conftest import SeededDistrict
from tests.district.harness import (
    MINHANG_STREET,
    Counter,
    claimable_rows,
    fresh_recipients,
    outbox,
)


def _committed(district: SeededDistrict, counter: Counter
               ) -> tuple[str, str, wire.OutboxItem]:
    """A person, the application with 免申即享 accepted for them, and their commitment
    (not yet pushed)."""
    person = district.take_person(fresh_recipients(counter))
    application = counter.application(person, claimable_rows(counter, person)[:1],
                                      auto_enrolled=True)
    assert counter.push_one(application).status == "accepted"
    app_id = str(application.payload["application_id"])
    return person, app_id, counter.commitment(person, app_id)


def _commitments(counter: Counter) -> dict[str, dict[str, Any]]:
    counter.pull()
    return counter.snapshot.commitments


def test_a_commitment_reaches_every_counter_of_the_street_and_a_new_pc(
        district: SeededDistrict) -> None:
    counter = district.counter()
    other = district.counter()
    person, app_id, item = _committed(district, counter)
    result = counter.push_one(item)
    assert result.status == "accepted", result
    key = str(item.payload["commitment_id"])
    seen = _commitments(other)[key]
    assert seen["person_id"] == person and seen["application_id"] == app_id
    assert counter.user is not None and seen["given_by"] == counter.user.username
    assert seen["revoked_on"] is None
    assert key in _commitments(district.counter(pull=False))  # a reinstalled PC
    assert key not in _commitments(district.counter(MINHANG_STREET))

    # a withdrawn application does not end it; a revocation does, with its reason
    assert counter.push_one(counter.withdrawal(app_id, counter.user.username)
                            ).status == "accepted"
    assert _commitments(other)[key]["revoked_on"] is None
    revoke = counter.revocation(seen, district.user(counter.street_code, "clerk1"),
                                reason="本人书面申请撤销")
    assert counter.push_one(revoke).status == "accepted"
    revoked = _commitments(other)[key]
    assert revoked["revoked_on"] and revoked["revoke_reason"] == "本人书面申请撤销"
    again = counter.push_one(counter.revocation(seen, district.user(counter.street_code,
                                                                    "clerk1")))
    assert (again.status, again.reason) == ("refused", "already_revoked")
    # revoked: the person may commit again, with a new application carrying the flag
    fresh = counter.application(person, claimable_rows(counter, person)[:1],
                                auto_enrolled=True)
    assert counter.push_one(fresh).status == "accepted"
    renewed = counter.push_one(counter.commitment(person, str(fresh.payload["application_id"])))
    assert renewed.status == "accepted", renewed


def test_a_second_live_commitment_is_refused(district: SeededDistrict) -> None:
    counter = district.counter()
    person, app_id, item = _committed(district, counter)
    assert counter.push_one(item).status == "accepted"
    second = counter.push_one(counter.commitment(person, app_id))
    assert (second.status, second.reason) == ("refused", "already_committed")


def test_a_forged_signature_is_refused(district: SeededDistrict) -> None:
    counter = district.counter()
    person, _app_id, item = _committed(district, counter)
    payload = dict(item.payload)
    payload["given_on"] = "2000-01-01"  # signed for another day: the bytes differ
    forged = counter.push_one(outbox("commitment",
                                     wire.CommitmentPayload.model_validate(payload)))
    assert forged.status == "refused" and forged.reason in ("bad_signature", "invalid_payload")
    unsigned = counter.push_one(outbox("commitment", wire.CommitmentPayload.model_validate(
        {**item.payload, "proof": None})))
    assert (unsigned.status, unsigned.reason) == ("refused", "unsigned")
    tampered = counter.push_one(outbox("commitment", wire.CommitmentPayload.model_validate(
        {**item.payload, "commitment_id": str(uuid.uuid4())})))
    assert (tampered.status, tampered.reason) == ("refused", "bad_signature")
    assert person not in {c["person_id"] for c in _commitments(counter).values()}


def test_an_application_without_the_flag_or_of_another_person_is_refused(
        district: SeededDistrict) -> None:
    counter = district.counter()
    person = district.take_person(fresh_recipients(counter))
    plain = counter.application(person, claimable_rows(counter, person)[:1])
    assert counter.push_one(plain).status == "accepted"
    refused = counter.push_one(counter.commitment(person, str(plain.payload["application_id"])))
    assert (refused.status, refused.reason) == ("refused", "unknown_application")
    unknown = counter.push_one(counter.commitment(person, str(uuid.uuid4())))
    assert (unknown.status, unknown.reason) == ("refused", "unknown_application")
    _other, app_id, _item = _committed(district, counter)
    elsewhere = counter.push_one(counter.commitment(person, app_id))  # other's application
    assert (elsewhere.status, elsewhere.reason) == ("refused", "unknown_application")


def test_another_street_can_neither_commit_nor_revoke(district: SeededDistrict) -> None:
    counter = district.counter()
    person, app_id, item = _committed(district, counter)
    assert counter.push_one(item).status == "accepted"
    minhang = district.counter(MINHANG_STREET)
    commit = minhang.push_one(minhang.commitment(person, app_id))
    assert (commit.status, commit.reason) == ("refused", "unknown_person")
    held = {**item.payload, "id": item.payload["commitment_id"]}
    revoke = minhang.push_one(minhang.revocation(held, district.user(MINHANG_STREET,
                                                                     "clerk1")))
    assert (revoke.status, revoke.reason) == ("refused", "unknown_person")
    assert _commitments(counter)[str(item.payload["commitment_id"])]["revoked_on"] is None


def test_a_revocation_of_an_unknown_commitment_is_refused(district: SeededDistrict) -> None:
    counter = district.counter()
    person = district.take_person(fresh_recipients(counter))
    ghost = {"id": str(uuid.uuid4()), "person_id": person, "program": "assistance",
             "application_id": str(uuid.uuid4()), "given_on": "2026-01-05"}
    refused = counter.push_one(counter.revocation(ghost, district.user(counter.street_code,
                                                                       "clerk1")))
    assert (refused.status, refused.reason) == ("refused", "unknown_commitment")


def test_a_protocol_3_counter_cannot_send_a_commitment(district: SeededDistrict) -> None:
    counter = district.counter()
    _person, _app_id, item = _committed(district, counter)
    counter.protocol = wire.OLDEST_PROTOCOL
    old = counter.push_one(item)
    assert (old.status, old.reason) == ("refused", "protocol_outdated")
    page = counter.page(0, 5000)
    assert "commitment" not in {c.entity for c in page.items}
