"""An application withdrawn by its counter: the district releases its claims (deletes them from
the registry, with a delete change the street's counters pull) so that the receipts can go into
a corrected application. A returned application is withdrawn by its 经办人 or a 审核人/审批人 of
the street; an accepted one (no 审核人 has signed it) by its own 经办人 only
(district.services.states); withdrawn is final, so nothing signs it afterwards. The act is
signed by whoever withdraws it."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from desktop import wire
from district import models
from district.changelog import PendingChange, person_change
from district.services import prefetch, states
from district.services.applications import locked_application, parse_payload
from district.services.outcome import Caller, Outcome, Refusal
from district.services.signatures import application_act
from district.services.signing_keys import verify_act
from district.services.users import find_staff
from district.values import from_fen


def apply_withdrawal(session: Session, caller: Caller, item: wire.OutboxItem,
                     now: datetime) -> Outcome:
    payload = parse_payload(wire.WithdrawalPayload, item.payload)
    application_id = str(payload.application_id)
    application = locked_application(session, caller, application_id)
    if application.status in ("approved", "paid"):
        raise Refusal("not_withdrawable",
                      "这份申请已审批，不能在柜台撤回，请联系区医保事务中心。",
                      {"application_id": application_id, "status": application.status})
    previous = application.status
    after = states.move(application, "withdraw")
    staff = find_staff(session, payload.username)
    supervisor = application.status == "returned" and staff is not None and bool(
        {"reviewer", "approver"} & set(staff.roles))
    may = staff is not None and staff.works_at(caller.street_code) and (
        payload.username == application.handler or supervisor)
    if not may:
        only_handler = "（审核前只有该申请的经办人本人可以撤回）" \
            if application.status == "accepted" else ""
        raise Refusal("forbidden", f"{payload.username} 不能撤回这份申请。{only_handler}",
                      {"username": payload.username})
    at = states.bounded("at", "撤回时间", payload.at, now, caller.offline_allowance)
    states.not_before("at", "撤回时间", at, application.created_at, "申请的保存时间")
    act = application_act(application, "withdraw", "", payload.username, at,
                          extra=payload.reason)
    key = verify_act(session, caller, act, payload.proof, "撤回")
    claims = list(session.scalars(select(models.Claim).where(
        models.Claim.application_id == application_id)))
    for claim in claims:
        session.delete(claim)
    prefetch.forget(session)  # the request's later items must not see these claims
    changes = [PendingChange("claim", c.fee_row_id, c.street_code, None, op="delete")
               for c in claims]
    # what acceptance took off the member's card (MA-2021 四(一)) goes back on it: the
    # corrected application pays from the same balance
    from_card = session.scalar(select(models.ApplicationBucket.amount_fen).where(
        models.ApplicationBucket.application_id == application_id,
        models.ApplicationBucket.bucket == "allowance"))
    person = session.scalars(select(models.Person).where(
        models.Person.id == application.person_id).with_for_update()).first()
    if from_card and person is not None:  # (wherever the person lives now)
        person.allowance_balance_fen += from_card
        changes.append(person_change(person))
    application.status = after
    session.add(models.ApplicationTransition(
        application_id=application_id, kind="withdrawal", from_status=previous, to_status=after,
        username=payload.username, key_id=key.key_id,
        proof=payload.proof.signature if payload.proof else None, reason=payload.reason,
        signed_at=at, received_at=now))
    return Outcome("accepted", detail={"application_id": application_id,
                                       "released": sorted(c.fee_row_id for c in claims),
                                       "allowance_returned": from_fen(from_card or 0)},
                   changes=changes)
