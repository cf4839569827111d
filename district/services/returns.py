"""A send-back (退回): a 审核人 or 审批人 returns an application to its 经办人 with a reason.

While it waits for review a 审核人 or 审批人 may send it back; once reviewed, only a 审批人.
Nobody sends back what they submitted or signed. The act is signed like a signature; the
application becomes "returned" and no signature is taken on it any more (it is withdrawn, and its
receipts go into a corrected application).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from desktop import wire
from district import models
from district.services import states
from district.services.applications import locked_application, parse_payload, signatures_of
from district.services.outcome import Caller, Outcome, Refusal
from district.services.signatures import application_act
from district.services.signing_keys import verify_act
from district.services.users import find_staff


def apply_return(session: Session, caller: Caller, item: wire.OutboxItem,
                 now: datetime) -> Outcome:
    payload = parse_payload(wire.ReturnPayload, item.payload)
    application_id = str(payload.application_id)
    application = locked_application(session, caller, application_id)
    staff = find_staff(session, payload.username)
    roles = set(staff.roles) if staff is not None and staff.works_at(caller.street_code) else set()
    previous = application.status
    after = states.move(application, "return")
    if not roles & {"reviewer", "approver"} or (
            previous == "reviewed" and "approver" not in roles):
        raise Refusal("forbidden", "该账号不能退回这份申请"
                      "（待审核的由审核人或审批人退回，已审核的只能由审批人退回）。",
                      {"rule": "role", "username": payload.username})
    signers = {s.username for s in signatures_of(session, application_id)}
    if payload.username == application.handler or payload.username in signers:
        raise Refusal("forbidden", "不能退回自己经办或签过名的申请。",
                      {"rule": "maker_checker", "username": payload.username})
    at = states.bounded("at", "退回时间", payload.at, now, caller.offline_allowance)
    states.not_before("at", "退回时间", at, application.created_at, "申请的保存时间")
    act = application_act(application, "return", "", payload.username, at,
                          extra=payload.reason)
    key = verify_act(session, caller, act, payload.proof, "退回")
    application.status = after
    session.add(models.ApplicationTransition(
        application_id=application_id, kind="return", from_status=previous, to_status=after,
        username=payload.username, key_id=key.key_id,
        proof=payload.proof.signature if payload.proof else None, reason=payload.reason,
        signed_at=at, received_at=now))
    return Outcome("accepted", detail={"application_id": application_id, "status": after})
