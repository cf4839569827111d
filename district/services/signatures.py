"""Signatures on an application: 审核人 and 审批人, after the 经办人 who submitted it — three
people (POLICY.md §6.5), each proven by their own registered key (district.services.signing_keys).

Each signer must hold the role, work at the application's street, differ from the other two
(maker-checker) and sign in the order of district.services.states; the signature must verify
over the case the district recomputed, its amount and its payout card. A payout card other than
the one on file needs the 审批人's confirmation, which is part of the signed bytes.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from desktop import wire
from desktop.domain import bank_card, signing
from district import models
from district.services import states
from district.services.applications import (
    locked_application,
    parse_payload,
    signature_added,
    signatures_of,
)
from district.services.outcome import Caller, Outcome, Refusal
from district.services.signing_keys import verify_act
from district.services.users import ROLE_FOR_SIGNATURE, find_staff
from district.values import from_fen

_ROLE_NAMES = {"handler": "经办人", "reviewer": "审核人", "approver": "审批人"}
_ACT_OF_ROLE = {"reviewer": "review", "approver": "approve"}


def card_changed(application: models.Application) -> bool:
    """The payout card differs from the person's card on file when the district accepted it."""
    return bank_card.card_changed(application.bank_account, application.card_on_file)


def application_act(application: models.Application, act: signing.ActKind, role: str,
                    username: str, at: datetime, *, card_confirmed: bool = False,
                    extra: str = "") -> signing.SignedAct:
    """An act on this application as the district holds it: its case, amount and card."""
    return signing.SignedAct(
        act=act, application_id=application.id, role=role, username=username, device_id="",
        case_sha256=signing.case_digest(application.case_json),
        payable=from_fen(application.payable_fen),
        card_sha256=signing.card_digest(application.bank_account),
        card_confirmed=card_confirmed, signed_at=at, extra=extra)


def apply_signature(session: Session, caller: Caller, item: wire.OutboxItem,
                    now: datetime) -> Outcome:
    payload = parse_payload(wire.SignaturePayload, item.payload)
    application_id = str(payload.application_id)
    if payload.role == "handler":
        raise Refusal("invalid_payload", "经办人的签名随申请一起提交，不能单独提交。",
                      {"field": "role"})
    application = locked_application(session, caller, application_id)
    role_name = _ROLE_NAMES[payload.role]
    staff = find_staff(session, payload.username)
    needed = ROLE_FOR_SIGNATURE[payload.role]
    if staff is None or not staff.works_at(caller.street_code) or needed not in staff.roles:
        raise Refusal("forbidden", f"{payload.username} 没有{role_name}的权限。",
                      {"rule": "role", "role": payload.role, "username": payload.username})
    signed = {s.role: s for s in signatures_of(session, application_id)}
    if payload.role in signed:
        raise Refusal("already_signed", f"这份申请已有{role_name}签名。",
                      {"role": payload.role, "username": signed[payload.role].username})
    others = {application.handler, *(s.username for s in signed.values())}
    if payload.username in others:
        raise Refusal("forbidden", "经办人、审核人、审批人须为三个不同的人。",
                      {"rule": "maker_checker", "username": payload.username})
    status = states.move(application, _ACT_OF_ROLE[payload.role])
    signed_at = states.bounded("signed_at", f"{role_name}签名时间", payload.signed_at, now,
                               caller.offline_allowance)
    states.not_before("signed_at", f"{role_name}签名时间", signed_at, application.created_at,
                      "申请的保存时间")
    if payload.role == "approver":
        states.not_before("signed_at", "审批时间", signed_at, signed["reviewer"].signed_at,
                          "审核时间")
        if card_changed(application) and not payload.card_confirmed:
            raise Refusal("card_change_unconfirmed",
                          "收款账户与登记的账户不同，须由审批人确认变更后才能审批。",
                          {"rule": "card_change"})
    act = application_act(application, "sign", payload.role, payload.username, signed_at,
                          card_confirmed=payload.card_confirmed)
    key = verify_act(session, caller, act, payload.proof, f"{role_name}签名")
    # the only writes, after every check: a request applies signatures without a savepoint
    # each (district.services.push)
    signature_added(session, models.Signature(
        application_id=application_id, role=payload.role, username=payload.username,
        signed_at=signed_at, device_id=caller.device_id, received_at=now, key_id=key.key_id,
        proof=payload.proof.signature if payload.proof else None,
        card_confirmed=payload.card_confirmed))
    application.status = status
    # when the district accepted it: an 审批人's signature places the application in that
    # month, at the counter as here (desktop.domain.clock.settlement_month)
    return Outcome("accepted", detail={"application_id": application_id,
                                       "status": application.status,
                                       "accepted_at": now.isoformat()})
