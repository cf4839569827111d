"""Applications as the district holds them, from the change feed, into the cache (issue 10).

Every state change of an application at the district (accepted, a signature, a send-back, a
withdrawal, paid) is a change for its street, carrying the whole application (wire
ApplicationData). A counter applies it so that what a supervisor at another counter or the
district decided shows in its lists, queues and month report:

- An application this counter has never seen (submitted at another counter of the street) is
  added, with its rows and signatures, and its result computed again from its case by the same
  engine and parameters that the district used to accept it.
- One this counter holds takes the district's status, signatures and acceptance times, unless
  this counter still has an act on it waiting in the outbox (a signature, a send-back or a
  withdrawal made offline): that act goes first, and the district's answer to it, and the change
  it causes, bring the two together again.
- A change older than the one the application was last written from is skipped, so repeated or
  out-of-order pages end in the district's newest state.
- Its human number (申请编号, wire protocol 3) is kept as its counter gave it.
- A send-back made elsewhere is noted as a local audit event (the district's news, not pushed
  back), which is where the 经办人's list reads the reason from.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from desktop.policy.contract import parse_case, result_to_json
from desktop.policy.engine import calculate
from desktop.policy.parameters import PolicyParameters
from desktop.store.audit import append_audit
from desktop.store.models import (
    ApplicationRecord,
    ApplicationRowRecord,
    AuditEventRecord,
    OutboxRecord,
    SignatureRecord,
)
from desktop.store.parameter_values import pulled_parameters
from desktop.wire import AnyChange, ApplicationData

# outbox kinds that act on an application already at the district
_ACTS = ("signature", "return", "withdrawal", "application")


def apply_application_changes(session: Session, changes: Sequence[AnyChange]) -> int:
    """Apply the page's application changes, in seq order; return how many took effect."""
    if not changes:
        return 0
    waiting = _waiting_acts(session)
    # the page's other changes are in by now: its parameter values too (M18)
    parameters = pulled_parameters(session)
    applied = 0
    for change in sorted(changes, key=lambda c: c.seq):
        if change.op != "upsert" or change.data is None:
            continue  # the district keeps every application; nothing deletes one
        data = ApplicationData.model_validate(change.data)
        applied += _apply(session, data, change.seq, waiting, parameters)
    session.flush()
    return applied


def _waiting_acts(session: Session) -> set[str]:
    """The applications this counter has an act on still waiting to be pushed."""
    return {str(payload.get("application_id")) for payload in session.scalars(
        select(OutboxRecord.payload).where(OutboxRecord.delivered_at.is_(None),
                                           OutboxRecord.kind.in_(_ACTS)))}


def _apply(session: Session, data: ApplicationData, seq: int, waiting: set[str],
           parameters: PolicyParameters) -> int:
    app_id = uuid.UUID(data.id)
    record = session.get(ApplicationRecord, app_id)
    if record is not None and (record.district_seq or 0) >= seq:
        return 0
    if str(app_id) in waiting:
        return 0  # this counter's own act goes first; the district's answer follows it
    if record is None:
        record = _new_record(data, parameters)
        session.add(record)
    returned_before = record.status == "returned"
    record.status = data.status
    record.district_seq = seq
    record.accepted_at = record.accepted_at or data.accepted_at
    record.card_on_file = data.card_on_file
    record.number = record.number or data.number  # 申请编号, given once by its counter
    record.server_reason = None
    record.server_message = None
    approver = next((s for s in data.signatures if s.role == "approver"), None)
    record.approval_accepted_at = approver.accepted_at if approver is not None else None
    held = {s.role: s for s in record.signatures}
    theirs = {s.role for s in data.signatures}
    for role, signature in held.items():
        if role not in theirs:
            record.signatures.remove(signature)  # the district does not hold it
    for s in data.signatures:
        mine = held.get(s.role)
        if mine is None:
            mine = SignatureRecord(role=s.role)
            record.signatures.append(mine)
        mine.username = s.username
        mine.signed_at = s.signed_at
        mine.key_id = s.key_id
        mine.proof = s.proof
        mine.card_confirmed = s.card_confirmed
    sent_back = [t for t in data.transitions if t.kind == "return"]
    if data.status == "returned" and sent_back and not returned_before:
        _note_return(session, app_id, sent_back[-1].username, sent_back[-1].reason or "",
                     sent_back[-1].signed_at)
    return 1


def _new_record(data: ApplicationData, parameters: PolicyParameters) -> ApplicationRecord:
    record = ApplicationRecord(
        id=uuid.UUID(data.id), program=data.program, district=data.district,
        person_id=data.person_id, proxy_name=data.proxy_name,
        proxy_id_number=data.proxy_id_number, auto_enrolled=data.auto_enrolled,
        bank_account=data.bank_account, card_on_file=data.card_on_file, applicant=None,
        payable=Decimal(data.payable), buckets=dict(data.buckets), case=data.case,
        result=_result(data.case, parameters), parameter_versions=list(data.parameter_versions),
        created_at=data.created_at, created_by=data.handler, status=data.status,
        number=data.number)
    record.rows = [ApplicationRowRecord(fee_row_id=i) for i in data.fee_row_ids]
    record.signatures = []
    return record


def _result(case: dict[str, Any], parameters: PolicyParameters) -> dict[str, Any] | None:
    """The calc output of a case the district accepted (so it computes), with its trace: with
    the shipped and pulled parameter values, as the district computed it."""
    try:
        return result_to_json(calculate(parse_case(case, parameters), parameters), parameters)
    except Exception:
        return None  # its explanation rather than failing the whole pull


def _note_return(session: Session, app_id: uuid.UUID, username: str, reason: str,
                 at: Any) -> None:
    seen = session.scalars(select(AuditEventRecord.id).where(
        AuditEventRecord.subject == f"application:{app_id}",
        AuditEventRecord.action == "application.returned", AuditEventRecord.at == at)).first()
    if seen is None:
        append_audit(session, username, "application.returned", f"application:{app_id}",
                     {"reason": reason, "from": "district"}, at=at, push=False)
