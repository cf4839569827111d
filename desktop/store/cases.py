"""Building the policy engine's Case from the cached person, category spans and fee rows."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from desktop.policy.model import (
    Case,
    CategorySpan,
    District,
    FeeRow,
    Kind,
    MutualAidMembership,
    Person,
    Program,
)
from desktop.store.models import CategorySpanRecord, FeeRowRecord, PersonRecord

# A claim in the district registry in one of these states holds the row for its application.
HOLDING_CLAIMS = ("claimed", "paid")


class UnknownPerson(LookupError):
    pass


class UnknownFeeRow(LookupError):
    pass


def case_for(
    session: Session,
    person_id: str,
    program: Program | str,
    district: District | str,
    application_date: date,
    ticked_fee_row_ids: Iterable[str],
    settled_fee_row_ids: Iterable[str],
    *,
    application_id: uuid.UUID | None = None,
) -> Case:
    """The case of an application: its ticked rows (C) and the person's settled rows (H).

    A ticked row counts as already claimed when the district feed says so, or when the claim
    registry holds it for another application than `application_id` (POLICY.md §3).
    """
    program, district = Program(program), District(district)
    person = session.get(PersonRecord, person_id)
    if person is None:
        raise UnknownPerson(f"no person {person_id!r} in the cache")
    ticked, settled = list(dict.fromkeys(ticked_fee_row_ids)), set(settled_fee_row_ids)
    both = settled.intersection(ticked)
    if both:
        raise ValueError(f"rows both ticked and settled: {sorted(both)}")
    wanted = set(ticked) | settled
    rows = {r.id: r for r in session.scalars(
        select(FeeRowRecord).where(FeeRowRecord.id.in_(wanted)))}
    missing = sorted(i for i in wanted if i not in rows or rows[i].person_id != person_id)
    if missing:
        raise UnknownFeeRow(f"fee rows not cached for person {person_id!r}: {missing}")
    fees = [_fee_row(rows[i], settled=i in settled, application_id=application_id)
            for i in wanted]
    fees.sort(key=lambda f: f.order_key)
    return Case(program, district, application_date, _person(session, person, program),
                tuple(fees))


def _person(session: Session, person: PersonRecord, program: Program) -> Person:
    spans = session.scalars(select(CategorySpanRecord)
                            .where(CategorySpanRecord.person_id == person.id)
                            .order_by(CategorySpanRecord.start, CategorySpanRecord.id))
    categories = tuple(CategorySpan(s.code, s.start, s.end) for s in spans)
    membership = None
    if program is Program.MUTUAL_AID or person.mutual_aid_years:
        membership = MutualAidMembership(
            member_years=frozenset(person.mutual_aid_years),
            external_inpatient_insurance=person.external_inpatient_insurance,
            benefits_from=person.mutual_aid_benefits_from,
            allowance_balance=person.allowance_balance,
        )
    return Person(categories, person.resident_insurance, membership)


def _fee_row(row: FeeRowRecord, *, settled: bool, application_id: uuid.UUID | None) -> FeeRow:
    held_elsewhere = (row.claim_status in HOLDING_CLAIMS
                      and row.claimed_by_application != application_id)
    return FeeRow(
        id=row.id,
        receipt_no=row.receipt_no,
        date=row.date,
        kind=Kind(row.kind),
        hospital_level=row.hospital_level,
        total=row.total,
        out_of_scope=row.out_of_scope,
        self_pay=row.self_pay,
        in_shanghai=row.in_shanghai,
        out_of_province_filed=row.out_of_province_filed,
        deductible_part=row.deductible_part,
        external_deductible=row.external_deductible,
        external_reimbursed=row.external_reimbursed,
        one_stop_settled=row.one_stop_settled,
        # a settled row was claimed by its own earlier application: the engine skips the check
        already_claimed=row.already_claimed or (not settled and held_elsewhere),
        clearing_pending=row.clearing_pending,
        major_illness=row.major_illness,
        major_illness_doc=row.major_illness_doc,
        means_test_included=row.means_test_included,
        settled=settled,
    )


def applicant_snapshot(session: Session, person_id: str, on: date) -> dict[str, Any]:
    """The person as the forms print them, frozen at saving (a reprint shows the same)."""
    person = session.get(PersonRecord, person_id)
    if person is None:
        return {}
    spans = session.scalars(select(CategorySpanRecord).where(
        CategorySpanRecord.person_id == person_id))
    return {
        "name": person.name, "sex": person.sex, "birth_date": person.birth_date.isoformat(),
        "id_number": person.id_number, "phone": person.phone, "address": person.address,
        "street_code": person.street_code, "committee": person.committee,
        "bank_account": person.bank_account, "resident_insurance": person.resident_insurance,
        "categories": sorted({s.code for s in spans
                              if s.start <= on and (s.end is None or on <= s.end)}),
        "mutual_aid_years": sorted(person.mutual_aid_years),
        "external_inpatient_insurance": person.external_inpatient_insurance,
    }
