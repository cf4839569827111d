"""A sent-back application withdrawn by its counter: the district releases its claims (deletes
them from the registry, with a delete change the street's counters pull) so that the receipts
can go into a corrected application. An application already approved or paid is not
withdrawn here: that needs the district's own correction."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from desktop import wire
from district import models
from district.changelog import PendingChange
from district.services.applications import locked_application, parse_payload
from district.services.outcome import Caller, Outcome, Refusal
from district.services.users import find_staff

NOT_WITHDRAWABLE = ("approved", "paid", "withdrawn")


def apply_withdrawal(session: Session, caller: Caller, item: wire.OutboxItem,
                     now: datetime) -> Outcome:
    payload = parse_payload(wire.WithdrawalPayload, item.payload)
    application_id = str(payload.application_id)
    application = locked_application(session, caller, application_id)
    if application.status in NOT_WITHDRAWABLE:
        raise Refusal("not_withdrawable",
                      "这份申请已审批（或已撤回），不能在柜台撤回，请联系区医保事务中心。",
                      {"application_id": application_id, "status": application.status})
    staff = find_staff(session, payload.username)
    may = staff is not None and staff.works_at(caller.street_code) and (
        payload.username == application.handler or {"reviewer", "approver"} & set(staff.roles))
    if not may:
        raise Refusal("forbidden", f"{payload.username} 不能撤回这份申请。",
                      {"username": payload.username})
    claims = list(session.scalars(select(models.Claim).where(
        models.Claim.application_id == application_id)))
    for claim in claims:
        session.delete(claim)
    application.status = "withdrawn"
    changes = [PendingChange("claim", c.fee_row_id, c.street_code, None, op="delete")
               for c in claims]
    return Outcome("accepted", detail={"application_id": application_id,
                                       "released": sorted(c.fee_row_id for c in claims)},
                   changes=changes)
