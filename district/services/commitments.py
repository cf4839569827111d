"""免申即享 commitments pushed by counters (CN-2026 3.3, issue 15), checked as if the PC were
hostile: the 经办人 works at the caller's street and signed it (desktop.domain.signing
.commitment_act), its moments are bounded, the application it names exists, is the person's,
of the program, and carries "免申即享"; a person has one live commitment per program. A
revocation names a live commitment of a person of the caller's street, has a reason and is
signed by who revokes it. Every counter of the street is told (the `commitment` change)."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from desktop import wire
from desktop.domain import signing
from district import models
from district.changelog import PendingChange
from district.services import states
from district.services.applications import check_handler, locked_person, parse_payload
from district.services.outcome import Caller, Outcome, Refusal
from district.services.signing_keys import verify_act
from district.services.users import find_staff
from district.values import shanghai_date

REVOKERS = frozenset({"clerk", "reviewer", "approver"})


def commitment_data(c: models.Commitment) -> dict[str, object]:
    return wire.CommitmentData(
        id=c.id, person_id=c.person_id, program=c.program,  # type: ignore[arg-type]
        street_code=c.street_code, application_id=c.application_id, given_on=c.given_on,
        given_by=c.given_by, given_at=c.given_at, revoked_on=c.revoked_on,
        revoked_by=c.revoked_by, revoked_at=c.revoked_at, revoke_reason=c.revoke_reason,
    ).model_dump(mode="json")


def commitment_change(c: models.Commitment) -> PendingChange:
    return PendingChange("commitment", c.id, c.street_code, commitment_data(c))


def _day_of(field: str, label: str, day: date, at: datetime) -> None:
    """The day a counter gives an act is the day of its moment (a day's slack either side)."""
    if abs((day - shanghai_date(at)).days) > 1:
        raise Refusal("invalid_payload", f"{label}与办理时间不符。", {"field": field})


def apply_commitment(session: Session, caller: Caller, item: wire.OutboxItem,
                     now: datetime) -> Outcome:
    payload = parse_payload(wire.CommitmentPayload, item.payload)
    check_handler(session, caller, payload.handler)
    at = states.bounded("at", "承诺时间", payload.at, now, caller.offline_allowance)
    _day_of("given_on", "承诺日期", payload.given_on, at)
    commitment_id = str(payload.commitment_id)
    application_id = str(payload.application_id)
    act = signing.commitment_act(
        "commit", commitment_id=commitment_id, person_id=payload.person_id,
        program=payload.program, application_id=application_id,
        given_on=payload.given_on.isoformat(), username=payload.handler, at=at)
    key = verify_act(session, caller, act, payload.proof, "免申即享承诺")
    if session.get(models.Commitment, commitment_id) is not None:
        raise Refusal("commitment_exists", "该免申即享承诺已经提交过（编号重复）。",
                      {"commitment_id": commitment_id})
    person = locked_person(session, caller, payload.person_id)
    application = session.get(models.Application, application_id)
    if (application is None or application.person_id != person.id
            or application.program != payload.program or not application.auto_enrolled):
        raise Refusal("unknown_application",
                      "区里没有该人员注明“免申即享”的这份申请表，免申即享承诺不予受理。",
                      {"application_id": application_id})
    live = session.scalars(select(models.Commitment).where(
        models.Commitment.person_id == person.id, models.Commitment.program == payload.program,
        models.Commitment.revoked_at.is_(None))).first()
    if live is not None:
        raise Refusal("already_committed",
                      f"该人员已于 {live.given_on.isoformat()} 承诺免申即享，尚未撤销。",
                      {"commitment_id": live.id, "given_on": live.given_on.isoformat()})
    commitment = models.Commitment(
        id=commitment_id, person_id=person.id, program=payload.program,
        street_code=person.street_code, device_id=caller.device_id,
        application_id=application_id, given_on=payload.given_on, given_by=payload.handler,
        given_at=at, given_key_id=key.key_id,
        given_proof=payload.proof.signature if payload.proof else "", received_at=now)
    session.add(commitment)
    session.flush()  # the live index refuses a second one a racing request added
    return Outcome("accepted", detail={"commitment_id": commitment_id},
                   changes=[commitment_change(commitment)])


def apply_revocation(session: Session, caller: Caller, item: wire.OutboxItem,
                     now: datetime) -> Outcome:
    payload = parse_payload(wire.RevocationPayload, item.payload)
    commitment_id = str(payload.commitment_id)
    commitment = session.scalars(select(models.Commitment).where(
        models.Commitment.id == commitment_id).with_for_update()).first()
    if commitment is None:
        raise Refusal("unknown_commitment", "区里没有这份免申即享承诺，不能撤销。",
                      {"commitment_id": commitment_id})
    locked_person(session, caller, commitment.person_id)  # a person of the caller's street
    staff = find_staff(session, payload.username)
    if staff is None or not staff.works_at(caller.street_code) or not REVOKERS & set(
            staff.roles):
        raise Refusal("forbidden", f"{payload.username} 不是本街镇的经办人员，不能撤销免申即享。",
                      {"username": payload.username})
    if commitment.revoked_at is not None:
        raise Refusal("already_revoked",
                      f"这份免申即享承诺已于 {commitment.revoked_on} 撤销。",
                      {"commitment_id": commitment_id})
    at = states.bounded("at", "撤销时间", payload.at, now, caller.offline_allowance)
    states.not_before("at", "撤销时间", at, commitment.given_at - timedelta(minutes=5),
                      "承诺时间")
    _day_of("revoked_on", "撤销日期", payload.revoked_on, at)
    reason = payload.reason.strip()
    if not reason:
        raise Refusal("invalid_payload", "撤销免申即享须写明原因。", {"field": "reason"})
    act = signing.commitment_act(
        "revoke", commitment_id=commitment_id, person_id=commitment.person_id,
        program=commitment.program, application_id=commitment.application_id,
        given_on=commitment.given_on.isoformat(), username=payload.username, at=at,
        revoked_on=payload.revoked_on.isoformat(), reason=payload.reason)
    key = verify_act(session, caller, act, payload.proof, "撤销免申即享")
    commitment.revoked_on = payload.revoked_on
    commitment.revoked_by = payload.username
    commitment.revoked_at = at
    commitment.revoke_reason = payload.reason
    commitment.revoked_key_id = key.key_id
    commitment.revoked_proof = payload.proof.signature if payload.proof else None
    commitment.revoked_received_at = now
    return Outcome("accepted", detail={"commitment_id": commitment_id},
                   changes=[commitment_change(commitment)])
