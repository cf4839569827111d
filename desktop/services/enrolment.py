"""Mutual-aid enrolment at the counter (MA-2021 二): the form 附件1, the 130-yuan fee, one
transaction with its audit event and its outbox item; the district confirms and pushes the
person's new membership year back.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from desktop import wire
from desktop.domain import signing
from desktop.domain.streets import district_of
from desktop.policy.enrolment import EnrolmentClosed, EnrolmentTerms, enrolment_terms
from desktop.services.policy_values import current_parameters
from desktop.services.signing import signer_for
from desktop.services.verdicts import accepted
from desktop.store import Store, append_audit, enqueue
from desktop.store.cases import applicant_snapshot
from desktop.store.models import EnrolmentRecord, PersonRecord

ATTRIBUTE_LABELS: dict[str, str] = {
    "zhinei": "支内", "zhijiang": "支疆", "relocated_cadre": "异地安置干部",
    "youth_during_cr": "文革期间知青", "youth_before_cr": "文革前知青", "spouse": "上述人员配偶",
}


class EnrolmentRefused(ValueError):
    """Why the enrolment cannot be saved, in Chinese, with the field it concerns."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


@dataclass(frozen=True)
class EnrolmentForm:
    """What the clerk fills in from 附件1 and the applicant's documents."""

    person_attribute: str
    hukou_district: str
    hukou_street: str
    contact_district: str
    contact_street: str
    external_inpatient_insurance: bool
    contact_address: str | None = None
    phone: str | None = None
    postcode: str | None = None
    original_employer: str | None = None
    other_province_employer: str | None = None
    mid_year_reason: str | None = None


@dataclass(frozen=True)
class SavedEnrolment:
    enrolment_id: uuid.UUID
    terms: EnrolmentTerms
    outbox_key: uuid.UUID


def terms_for(store: Store, person_id: str, paid_on: date,
              mid_year_reason: str | None = None) -> EnrolmentTerms:
    """The year, benefits start and fee of an enrolment paid today (EnrolmentClosed outside
    the window without a reason)."""
    with store.read_session() as session:
        person = session.get(PersonRecord, person_id)
        if person is None:
            raise EnrolmentRefused("person_id", "没有找到此人，请重新查询。")
        district = district_of(person.street_code)
    return enrolment_terms(current_parameters(store), district, paid_on,
                           mid_year_reason=mid_year_reason)


def enrol(store: Store, person_id: str, form: EnrolmentForm, *, handler: str, paid_on: date,
          now: datetime | None = None) -> SavedEnrolment:
    """Record an enrolment paid today; everything or nothing is written."""
    now = now or datetime.now(UTC)
    if form.person_attribute not in ATTRIBUTE_LABELS:
        raise EnrolmentRefused("person_attribute", "请选择人员属性（支内、支疆、知青等）。")
    for field, value, words in (("hukou_district", form.hukou_district, "户籍所在地（区）"),
                                ("hukou_street", form.hukou_street, "户籍所在地（街道）"),
                                ("contact_district", form.contact_district, "联系住址（区）"),
                                ("contact_street", form.contact_street, "联系住址（街道）")):
        if not value.strip():
            raise EnrolmentRefused(field, f"请填写{words}。")
    if form.postcode and not (len(form.postcode) == 6 and form.postcode.isdigit()):
        raise EnrolmentRefused("postcode", "邮政编码应为6位数字。")
    try:
        terms = terms_for(store, person_id, paid_on, form.mid_year_reason)
    except EnrolmentClosed as exc:
        raise EnrolmentRefused(exc.field, exc.message_zh) from None
    enrolment_id = uuid.uuid4()
    with store.session() as session:
        person = session.get(PersonRecord, person_id)
        assert person is not None
        if terms.year in person.mutual_aid_years:
            raise EnrolmentRefused("year", f"{person.name} 已参加 {terms.year} 年度互助帮困计划。")
        paid_here = session.scalars(select(EnrolmentRecord).where(
            EnrolmentRecord.person_id == person_id, EnrolmentRecord.year == terms.year,
            EnrolmentRecord.status.in_(("saved", "accepted")))).first()
        if paid_here is not None:
            raise EnrolmentRefused("year", f"本柜台已为 {person.name} 办理 {terms.year} 年度登记。")
        payload = wire.EnrolmentPayload(
            enrolment_id=enrolment_id, person_id=person_id, year=terms.year,
            benefits_from=terms.benefits_from, fee=f"{terms.fee:.2f}", paid_on=paid_on,
            mid_year_reason=(form.mid_year_reason or "").strip() or None,
            person_attribute=form.person_attribute,  # type: ignore[arg-type]
            hukou_district=form.hukou_district.strip(), hukou_street=form.hukou_street.strip(),
            contact_district=form.contact_district.strip(),
            contact_street=form.contact_street.strip(),
            contact_address=form.contact_address, phone=form.phone, postcode=form.postcode,
            original_employer=form.original_employer,
            other_province_employer=form.other_province_employer,
            external_inpatient_insurance=form.external_inpatient_insurance, handler=handler,
            created_at=now)
        signer = signer_for(handler)
        if signer is not None:  # the 经办人's signature lets any session of the street push it
            act = signer.act("enrol", application_id=str(enrolment_id), role="handler",
                             case_sha256=signing.case_digest(payload.model_dump(
                                 mode="json", exclude={"handler_proof"})),
                             payable=payload.fee, card=None, signed_at=now)
            payload = payload.model_copy(update={"handler_proof": signer.prove(act)})
        stored = payload.model_dump(mode="json")
        # the form 附件1 also prints who the person was when they enrolled (kept here only)
        printed = {**stored, "applicant": applicant_snapshot(session, person_id, paid_on)}
        session.add(EnrolmentRecord(
            id=enrolment_id, person_id=person_id, year=terms.year,
            benefits_from=terms.benefits_from, fee=terms.fee, paid_on=paid_on,
            mid_year_reason=payload.mid_year_reason, form=printed, handler=handler,
            created_at=now))
        key = enqueue(session, "enrolment", stored)
        append_audit(session, handler, "enrolment.saved", f"enrolment:{enrolment_id}",
                     {"person_id": person_id, "year": terms.year, "fee": f"{terms.fee:.2f}"})
    return SavedEnrolment(enrolment_id, terms, key)


def record_enrolment_result(session: Session, item: wire.OutboxItem,
                            result: wire.ItemResult) -> None:
    """The district's verdict on an enrolment, kept with it (a refusal is never dropped)."""
    enrolment = session.get(EnrolmentRecord, uuid.UUID(str(item.payload["enrolment_id"])))
    if enrolment is None:
        return
    if accepted(result):
        enrolment.status, enrolment.server_reason, enrolment.server_message = \
            "accepted", None, None
    else:
        enrolment.status = "review"
        enrolment.server_reason, enrolment.server_message = result.reason, result.message
