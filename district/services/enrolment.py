"""Mutual-aid enrolments pushed by counters (MA-2021 二): checked against the same terms the
counter used (desktop.policy.enrolment), recorded once per person and year, and the person's
new membership year sent back to the street's counters."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from desktop import wire
from desktop.domain import signing
from desktop.policy.enrolment import EnrolmentClosed, enrolment_terms
from district import models
from district.changelog import person_change
from district.services import states
from district.services.applications import check_handler, locked_person, parse_payload
from district.services.outcome import Caller, Outcome, Refusal
from district.services.parameters import current_parameters
from district.services.signing_keys import verify_act
from district.values import shanghai_date, to_fen


def apply_enrolment(session: Session, caller: Caller, item: wire.OutboxItem,
                    now: datetime) -> Outcome:
    payload = parse_payload(wire.EnrolmentPayload, item.payload)
    check_handler(session, caller, payload.handler)
    created_at = states.bounded("created_at", "登记时间", payload.created_at, now,
                                caller.offline_allowance)
    if payload.handler_proof is not None or payload.handler != caller.username:
        verify_act(session, caller, enrolment_act(payload, created_at), payload.handler_proof,
                   f"{payload.handler} 经办的互助帮困登记")
    enrolment_id = str(payload.enrolment_id)
    if session.get(models.Enrolment, enrolment_id) is not None:
        raise Refusal("enrolment_exists", "该登记已经提交过（登记号重复）。",
                      {"enrolment_id": enrolment_id})
    person = locked_person(session, caller, payload.person_id)
    received = shanghai_date(now)
    made = shanghai_date(payload.created_at)
    earliest, latest = received - timedelta(days=366), received + timedelta(days=1)
    if abs((payload.paid_on - made).days) > 1 or not earliest <= payload.paid_on <= latest:
        raise Refusal("invalid_payload",
                      "缴费日期不在合理范围内（须为办理登记当天，不能晚于今天）。",
                      {"field": "paid_on"})
    try:
        terms = enrolment_terms(current_parameters(session), caller.district, payload.paid_on,
                                mid_year_reason=payload.mid_year_reason)
    except EnrolmentClosed as exc:
        raise Refusal("enrolment_closed", exc.message_zh, {"field": exc.field}) from None
    if (terms.year, terms.benefits_from, to_fen(str(payload.fee))) != (
            payload.year, payload.benefits_from, int(terms.fee * 100)):
        raise Refusal("terms_mismatch",
                      f"登记条件与规定不符：应为 {terms.year} 年度，{terms.benefits_from} 起享受，"
                      f"缴费 {terms.fee:.2f} 元。",
                      {"year": terms.year, "benefits_from": terms.benefits_from.isoformat(),
                       "fee": f"{terms.fee:.2f}"})
    if terms.year in (person.mutual_aid_years or []):
        raise Refusal("already_enrolled", f"该人员已参加 {terms.year} 年度互助帮困计划。",
                      {"year": terms.year})
    session.add(models.Enrolment(
        id=enrolment_id, person_id=person.id, year=terms.year,
        benefits_from=terms.benefits_from, fee_fen=int(terms.fee * 100),
        paid_on=payload.paid_on, mid_year_reason=payload.mid_year_reason,
        form=payload.model_dump(mode="json"), street_code=caller.street_code,
        device_id=caller.device_id, handler=payload.handler, received_at=now))
    person.mutual_aid_years = sorted({*(person.mutual_aid_years or []), terms.year})
    if not terms.in_window:
        # mid-year: benefits from the month after payment (二(三)); the engine reads
        # benefits_from for its own year only, so earlier whole years stay whole
        person.mutual_aid_benefits_from = terms.benefits_from
    if terms.year <= payload.paid_on.year:
        # the flag is one for all years: a running (mid-year) membership takes it now; one for
        # next year must not change how this year's stays are paid (set at the year's start)
        person.external_inpatient_insurance = payload.external_inpatient_insurance
    return Outcome("accepted", detail={"enrolment_id": enrolment_id, "year": terms.year},
                   changes=[person_change(person)])


def enrolment_act(payload: wire.EnrolmentPayload, at: datetime) -> signing.SignedAct:
    """What the 经办人 signs for an enrolment: the form as pushed (less the proof), the fee."""
    form = payload.model_dump(mode="json", exclude={"handler_proof"})
    return signing.SignedAct(
        act="enrol", application_id=str(payload.enrolment_id), role="handler",
        username=payload.handler, device_id="", case_sha256=signing.case_digest(form),
        payable=str(payload.fee), card_sha256="", card_confirmed=False, signed_at=at)
