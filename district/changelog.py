"""The change sequence counters pull, and the wire shape of every entity in it.

Each change carries the entity's `desktop.wire` *Data fields as they were when it changed, and
is written in the transaction of that change. Sequence numbers are handed out by updating the
one-row counter as the last step before commit: the row lock serialises the writers, so the
numbers become visible in order and a reader's cursor never skips a change that commits later.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from desktop import wire
from desktop.policy.parameters import ParameterValue, value_text
from district import models
from district.values import from_fen, utcnow

_CHUNK = 5000


@dataclass(frozen=True)
class PendingChange:
    entity: wire.Entity
    key: str
    street_code: str | None  # None: every street sees it (institutions, parameters)
    data: dict[str, Any] | None
    op: str = "upsert"


def record_changes(session: Session, changes: list[PendingChange],
                   at: datetime | None = None) -> None:
    """Give `changes` the next sequence numbers and write them, in this transaction."""
    if not changes:
        return
    first = allocate_seqs(session, len(changes))
    moment = at or utcnow()
    table = models.table_of(models.Change)
    for start in range(0, len(changes), _CHUNK):
        session.execute(table.insert(), [
            {"seq": first + start + i, "entity": c.entity, "key": c.key, "op": c.op,
             "street_code": c.street_code, "data": c.data, "at": moment}
            for i, c in enumerate(changes[start:start + _CHUNK])
        ])


def allocate_seqs(session: Session, count: int) -> int:
    """The first of `count` new sequence numbers, in this transaction: the one-row counter is
    moved on by `count` as the last step before the changes are written (its row lock
    serialises the writers of changes, so the numbers become visible in order)."""
    session.flush()
    last = session.execute(
        update(models.ChangeCounter)
        .where(models.ChangeCounter.id == 1)
        .values(last_seq=models.ChangeCounter.last_seq + count)
        .returning(models.ChangeCounter.last_seq)
        # nothing in the session holds the counter: no looking through the push's thousands
        # of loaded objects for it (evaluate), nor reading its key first (fetch)
        .execution_options(synchronize_session=False)
    ).scalar_one()
    return int(last) - count + 1


def _dump(model: wire.Strict) -> dict[str, Any]:
    return model.model_dump(mode="json")


def person_data(p: models.Person) -> dict[str, Any]:
    return _dump(wire.PersonData(
        id=p.id, id_number=p.id_number, name=p.name, sex=p.sex,  # type: ignore[arg-type]
        birth_date=p.birth_date, phone=p.phone, address=p.address, street_code=p.street_code,
        committee=p.committee, bank_account=p.bank_account,
        resident_insurance=p.resident_insurance, mutual_aid_years=sorted(p.mutual_aid_years),
        mutual_aid_benefits_from=p.mutual_aid_benefits_from,
        external_inpatient_insurance=p.external_inpatient_insurance,
        allowance_balance=from_fen(p.allowance_balance_fen),
    ))


def person_change(p: models.Person) -> PendingChange:
    return PendingChange("person", p.id, p.street_code, person_data(p))


def span_change(s: models.CategorySpan, street_code: str) -> PendingChange:
    data = _dump(wire.CategorySpanData(id=s.id, person_id=s.person_id, code=s.code,
                                       start=s.start_date, end=s.end_date, source=s.source))
    return PendingChange("category_span", s.id, street_code, data)


def institution_change(i: models.Institution) -> PendingChange:
    data = _dump(wire.InstitutionData(code=i.code, name=i.name, level=i.level,
                                      in_shanghai=i.in_shanghai))
    return PendingChange("institution", i.code, None, data)


def fee_row_data(r: models.FeeRow) -> dict[str, Any]:
    return _dump(wire.FeeRowData(
        id=r.id, person_id=r.person_id, institution_code=r.institution_code,
        issuer_code=r.issuer_code, receipt_no=r.receipt_no, check_code=r.check_code,
        date=r.receipt_date, kind=r.kind,  # type: ignore[arg-type]
        hospital_level=r.hospital_level, in_shanghai=r.in_shanghai,
        out_of_province_filed=r.out_of_province_filed, total=from_fen(r.total_fen),
        out_of_scope=from_fen(r.out_of_scope_fen), self_pay=from_fen(r.self_pay_fen),
        deductible_part=from_fen(r.deductible_part_fen),
        external_deductible=from_fen(r.external_deductible_fen),
        external_reimbursed=from_fen(r.external_reimbursed_fen),
        one_stop_settled=r.one_stop_settled, already_claimed=r.already_claimed,
        clearing_pending=r.clearing_pending, major_illness=r.major_illness,
        major_illness_doc=r.major_illness_doc, means_test_included=r.means_test_included,
    ))


def fee_row_change(r: models.FeeRow) -> PendingChange:
    return PendingChange("fee_row", r.id, r.street_code, fee_row_data(r))


def claim_data(c: models.Claim, program: str | None = None) -> dict[str, Any]:
    return _dump(wire.ClaimData(
        fee_row_id=c.fee_row_id, application_id=c.application_id,  # type: ignore[arg-type]
        street_code=c.street_code, device_id=c.device_id, claimed_at=c.claimed_at,
        status=c.status,  # type: ignore[arg-type]
        program=program,  # type: ignore[arg-type]
    ))


def claim_change(c: models.Claim, program: str) -> PendingChange:
    return PendingChange("claim", c.fee_row_id, c.street_code, claim_data(c, program))


@dataclass(frozen=True)
class Accepted:
    """What an acceptance holds already of the application it adds: its buckets (fen) and
    the rows it claims; it has no other signature and no send-back yet."""

    buckets: dict[str, int]
    fee_row_ids: list[str]


def application_data(session: Session, a: models.Application,
                     accepted: Accepted | None = None) -> dict[str, Any]:
    """The application as the district holds it now: its signatures, send-backs and
    withdrawals, its buckets and the rows it claimed (a withdrawal released them: none)."""
    if accepted:
        return _application_data(a, (), (), accepted.buckets.items(), accepted.fee_row_ids)
    return _application_data(a, *held_by(session, [a.id])[a.id])


Held = tuple[list[models.Signature], list[models.ApplicationTransition],
              list[tuple[str, int]], list[str]]


def held_by(session: Session, ids: list[str]) -> dict[str, Held]:
    """What the applications hold (signatures, send-backs and withdrawals, buckets, claimed
    rows), in one query per table for all of them."""
    held: dict[str, Held] = {i: ([], [], [], []) for i in ids}
    for chunk in (ids[n:n + _CHUNK] for n in range(0, len(ids), _CHUNK)):
        for s in session.scalars(select(models.Signature).where(
                models.Signature.application_id.in_(chunk))):
            held[s.application_id][0].append(s)
        for t in session.scalars(select(models.ApplicationTransition).where(
                models.ApplicationTransition.application_id.in_(chunk))
                .order_by(models.ApplicationTransition.id)):
            held[t.application_id][1].append(t)
        for app_id, bucket, fen in session.execute(select(
                models.ApplicationBucket.application_id, models.ApplicationBucket.bucket,
                models.ApplicationBucket.amount_fen).where(
                models.ApplicationBucket.application_id.in_(chunk))):
            held[app_id][2].append((bucket, fen))
        for app_id, row_id in session.execute(select(
                models.Claim.application_id, models.Claim.fee_row_id).where(
                models.Claim.application_id.in_(chunk))):
            held[app_id][3].append(row_id)
    return held


def _application_data(a: models.Application, signatures: Iterable[models.Signature],
                      transitions: Iterable[models.ApplicationTransition],
                      buckets: Iterable[tuple[str, int]], rows: Iterable[str]
                      ) -> dict[str, Any]:
    app_id = a.id
    handler = wire.SignatureData(role="handler", username=a.handler, signed_at=a.created_at,
                                 accepted_at=a.received_at, key_id=a.handler_key_id,
                                 proof=a.handler_proof)
    order = {"handler": 0, "reviewer": 1, "approver": 2}
    return _dump(wire.ApplicationData(
        id=app_id, program=a.program, district=a.district,  # type: ignore[arg-type]
        person_id=a.person_id, street_code=a.street_code, device_id=a.device_id,
        handler=a.handler, application_date=a.application_date, created_at=a.created_at,
        accepted_at=a.received_at, status=a.status,  # type: ignore[arg-type]
        payable=str(from_fen(a.payable_fen)),
        buckets={b: str(from_fen(fen)) for b, fen in sorted(buckets)},
        fee_row_ids=sorted(rows), case=a.case_json, parameter_versions=a.parameter_versions,
        bank_account=a.bank_account, card_on_file=a.card_on_file, proxy_name=a.proxy_name,
        proxy_id_number=a.proxy_id_number, auto_enrolled=a.auto_enrolled,
        signatures=sorted([handler, *(wire.SignatureData(
            role=s.role, username=s.username,  # type: ignore[arg-type]
            signed_at=s.signed_at, accepted_at=s.received_at, key_id=s.key_id, proof=s.proof,
            card_confirmed=s.card_confirmed) for s in signatures)],
            key=lambda s: order[s.role]),
        transitions=[wire.TransitionData(kind=t.kind,  # type: ignore[arg-type]
                                         username=t.username, reason=t.reason,
                                         signed_at=t.signed_at) for t in transitions],
        number=a.number,
    ))


def application_change(session: Session, a: models.Application,
                       accepted: Accepted | None = None) -> PendingChange:
    """A change for the application's street: every counter of it learns its new state."""
    if accepted is None:
        session.flush()
    return PendingChange("application", a.id, a.street_code,
                         application_data(session, a, accepted))


def held_change(a: models.Application, held: Held) -> PendingChange:
    """application_change from what the caller holds of the application (held_by, kept true
    since): no statement."""
    return PendingChange("application", a.id, a.street_code, _application_data(a, *held))


def parameter_key(value: ParameterValue) -> str:
    """"assistance:category.dibao.outpatient_rate", as the calc output names parameters."""
    return f"{value.file.removesuffix('.yaml')}:{value.key}"


def parameter_text(value: object) -> str:
    """A parameter value as the wire's text: amounts and rates as decimals, lists as JSON
    (desktop.policy.parameters.value_text, which the published values use too)."""
    if not isinstance(value, str | Decimal | int | tuple | list) and value is not None:
        raise TypeError(f"unexpected parameter value {value!r}")
    return value_text(tuple(value) if isinstance(value, list) else value)


def parameter_change(p: models.ParameterVersion) -> PendingChange:
    data = _dump(wire.ParameterVersionData(key=p.key, effective_from=p.effective_from,
                                           value=p.value, source=p.source,
                                           assumption=bool(p.assumption)))
    return PendingChange("parameter_version", f"{p.key}@{p.effective_from.isoformat()}", None,
                         data)
