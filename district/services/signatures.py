"""Signatures on an application: handler, reviewer, approver — three people (POLICY.md §6.5).

Each signer must hold the role, work at the application's street, and differ from the other
two (maker-checker); the approver signs after the reviewer.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from desktop import wire
from district import models
from district.services.applications import locked_application, parse_payload
from district.services.outcome import Caller, Outcome, Refusal
from district.services.users import ROLE_FOR_SIGNATURE, find_staff
from district.values import as_aware

_ROLE_NAMES = {"handler": "经办人", "reviewer": "审核人", "approver": "审批人"}
_STATUS_AFTER = {"reviewer": "reviewed", "approver": "approved"}


def apply_signature(session: Session, caller: Caller, item: wire.OutboxItem,
                    now: datetime) -> Outcome:
    payload = parse_payload(wire.SignaturePayload, item.payload)
    application_id = str(payload.application_id)
    application = locked_application(session, caller, application_id)
    role_name = _ROLE_NAMES[payload.role]
    staff = find_staff(session, payload.username)
    needed = ROLE_FOR_SIGNATURE[payload.role]
    if staff is None or not staff.works_at(caller.street_code) or needed not in staff.roles:
        raise Refusal("forbidden", f"{payload.username} 没有{role_name}的权限。",
                      {"rule": "role", "role": payload.role, "username": payload.username})
    signed = {s.role: s for s in session.scalars(
        select(models.Signature).where(models.Signature.application_id == application_id))}
    if payload.role in signed:
        raise Refusal("already_signed", f"这份申请已有{role_name}签名。",
                      {"role": payload.role, "username": signed[payload.role].username})
    others = {"handler": application.handler}
    others.update({role: s.username for role, s in signed.items()})
    if payload.role == "handler" and payload.username != application.handler:
        raise Refusal("forbidden", f"经办人签名须由提交申请的 {application.handler} 本人签署。",
                      {"rule": "handler_mismatch", "username": payload.username})
    if payload.role != "handler" and payload.username in others.values():
        raise Refusal("forbidden", "经办人、审核人、审批人须为三个不同的人。",
                      {"rule": "maker_checker", "username": payload.username})
    if payload.role == "approver" and "reviewer" not in signed:
        raise Refusal("not_reviewed", "审核人签名之后才能审批。",
                      {"application_id": application_id})
    session.add(models.Signature(application_id=application_id, role=payload.role,
                                 username=payload.username, signed_at=as_aware(payload.signed_at),
                                 device_id=caller.device_id, received_at=now))
    if payload.role in _STATUS_AFTER:
        application.status = _STATUS_AFTER[payload.role]
    return Outcome("accepted", detail={"application_id": application_id,
                                       "status": application.status})
