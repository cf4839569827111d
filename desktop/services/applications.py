"""Save an application, and take the district's verdict on it.

Saving writes the application, its ticked rows, the handler's signature, the audit event and
the outbox item in ONE transaction: after a crash either all of it is there or none of it.
The amount is computed by the policy engine from the cache at the moment of saving; the
district recomputes it from the same case when the item arrives (ARCHITECTURE.md step 6).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from desktop import wire
from desktop.domain import signing
from desktop.policy.contract import case_to_json, result_to_json
from desktop.policy.engine import calculate
from desktop.services.commitments import give_commitment, record_commitment_result
from desktop.services.numbering import next_number
from desktop.services.policy_values import current_parameters
from desktop.services.signing import Signer, SigningUnavailable, handler_signer, unlock
from desktop.services.verdicts import accepted
from desktop.services.waivers import Waiver
from desktop.store import Store, append_audit, case_for, enqueue
from desktop.store.cases import HOLDING_CLAIMS, applicant_snapshot
from desktop.store.models import (
    ApplicationRecord,
    ApplicationRowRecord,
    AuditEventRecord,
    ClaimRecord,
    FeeRowRecord,
    InstitutionRecord,
    PersonRecord,
    SignatureRecord,
    UserRecord,
)

# Applications whose rows hold their claim: settled history (H) for the next application.
# A returned application keeps its rows: the district registered (or will register) the claim
# when the application arrived, and a local send-back does not release it.
LIVE = ("saved", "accepted", "reviewed", "approved", "paid", "returned")


class NothingToClaim(ValueError):
    """None of the ticked rows counts; the message says why, in Chinese."""


@dataclass(frozen=True)
class SavedApplication:
    application_id: uuid.UUID
    payable: Decimal
    output: dict[str, Any]  # the calc contract output, with trace
    outbox_key: uuid.UUID
    # 申请编号 (desktop.services.numbering): None on a PC without a device number
    number: str | None = None


def settled_rows(
    session: Session, person_id: str, program: str, years: Iterable[int],
    exclude: Iterable[str] = (),
) -> list[str]:
    """The person's rows of these years already settled: held by a live local application of
    the same program, or by a claim in the district registry (POLICY.md §0.4's H)."""
    years = set(years)
    excluded = set(exclude)
    local = set(session.scalars(
        select(ApplicationRowRecord.fee_row_id)
        .join(ApplicationRecord, ApplicationRecord.id == ApplicationRowRecord.application_id)
        .where(ApplicationRecord.person_id == person_id, ApplicationRecord.program == program,
               ApplicationRecord.status.in_(LIVE))))
    # a claim on this person's row held by one of this counter's own applications for them
    local_apps = set(session.scalars(
        select(ApplicationRecord.id).where(ApplicationRecord.person_id == person_id)))
    out = []
    rows = select(FeeRowRecord).where(FeeRowRecord.person_id == person_id).options(
        selectinload(FeeRowRecord.claim))  # one query for the claims, not one per row
    for row in session.scalars(rows):
        if row.date.year not in years or row.id in excluded:
            continue
        registry = (row.claim_status in HOLDING_CLAIMS
                    and row.claimed_program == program
                    and row.claimed_by_application not in local_apps)
        if row.id in local or registry:
            out.append(row.id)
    return out


def save_application(
    store: Store,
    *,
    person_id: str,
    program: str,
    district: str,
    application_date: date,
    ticked: list[str],
    handler: str,
    proxy_name: str | None = None,
    proxy_id_number: str | None = None,
    auto_enrolled: bool = False,
    bank_account: str | None = None,
    waivers: Iterable[Waiver] = (),
    now: datetime | None = None,
    signer: Signer | None = None,
    bank_name: str | None = None,
    household_address: str | None = None,
    medical_records: Iterable[str] = (),
) -> SavedApplication:
    """Compute and save one application, signed by its 经办人 (`signer`, by default the
    handler's open key: desktop.services.signing); everything or nothing is written.
    Raises SigningUnavailable when the handler has no open key.

    `bank_name` (开户银行) and `household_address` (户籍地址), as the applicant gave them at the
    counter, are kept with the applicant as at saving and printed on the 申请表;
    `medical_records` names the ticked 门诊大病 / 住院 rows whose 病史资料 the clerk received
    (CN-2026 4.6), kept in the application's `documents`.

    The application gets its human number (申请编号, desktop.services.numbering) in the same
    transaction: None on a PC registered without a device number."""
    now = now or datetime.now(UTC)
    signer = signer or handler_signer(handler)
    if signer.username != handler:
        raise SigningUnavailable("申请须由经办人本人签名。")
    params = current_parameters(store)  # shipped + pulled from the district (M18)
    application_id = uuid.uuid4()
    with store.session() as session:
        years = {r.date.year for r in session.scalars(
            select(FeeRowRecord).where(FeeRowRecord.id.in_(ticked)))}
        history = settled_rows(session, person_id, program, years, exclude=ticked)
        case = case_for(session, person_id, program, district, application_date, ticked,
                        history, application_id=application_id)
        waived = {w.fee_row_id: w for w in waivers if w.fee_row_id in ticked}
        if waived:  # the approver's waivers travel in the case the district recomputes
            case = replace(case, fees=tuple(
                replace(f, waived=waived[f.id].reasons) if f.id in waived else f
                for f in case.fees))
        result = calculate(case, params)
        output = result_to_json(result, params)
        claimed = [r.id for r in result.rows if r.counts and not r.settled]
        if not claimed:
            reasons = "；".join(f"{r['id']}：{r['reason_label']}" for r in output["rows"]
                               if not r["settled"])
            raise NothingToClaim(f"勾选的费用均不计入：{reasons}")
        versions = [f"{p['key']}@{p['effective_from']}" for p in output["parameters"]]
        # the institutions' names as printed on the forms, kept with the result for reprints
        output["institutions"] = {fee_id: name for fee_id, name in session.execute(
            select(FeeRowRecord.id, InstitutionRecord.name)
            .join(InstitutionRecord, InstitutionRecord.code == FeeRowRecord.institution_code)
            .where(FeeRowRecord.id.in_(ticked)))}
        kept_waivers = [waived[i].wire() for i in claimed if i in waived]
        if kept_waivers:
            output["waivers"] = kept_waivers  # who waived what, kept with the result
        # The district re-computes from the rows this application claims and the history;
        # ticked rows that do not count stay in the local result, with their reasons.
        kept = set(claimed)
        case_json = case_to_json(replace(
            case, fees=tuple(f for f in case.fees if f.settled or f.id in kept)))
        person = session.get(PersonRecord, person_id)
        card_on_file = person.bank_account if person is not None else None
        handler_act = signer.act("sign", application_id=str(application_id), role="handler",
                                 case_sha256=signing.case_digest(case_json),
                                 payable=output["payable"], card=bank_account, signed_at=now)
        handler_proof = signer.prove(handler_act)
        applicant = applicant_snapshot(session, person_id, application_date)
        for field, value in (("bank_name", bank_name),
                             ("household_address", household_address)):
            if value and value.strip():
                applicant[field] = value.strip()
        received = sorted(set(medical_records) & set(claimed))
        number = next_number(session, application_date.year)
        application = ApplicationRecord(
            number=number,
            card_on_file=card_on_file,
            id=application_id, program=program, district=district, person_id=person_id,
            applicant=applicant,
            documents={"medical_records": received} if received else None,
            proxy_name=proxy_name, proxy_id_number=proxy_id_number,
            auto_enrolled=auto_enrolled, bank_account=bank_account, status="saved",
            payable=result.payable,
            buckets=output["buckets"], case=case_json, result=output,
            parameter_versions=versions, created_at=now, created_by=handler)
        application.rows = [ApplicationRowRecord(fee_row_id=i) for i in claimed]
        application.signatures = [SignatureRecord(
            role="handler", username=handler, signed_at=now, key_id=handler_proof.key_id,
            proof=handler_proof.signature)]
        session.add(application)
        payload = wire.ApplicationPayload(
            application_id=application_id, program=program,  # type: ignore[arg-type]
            district=district,  # type: ignore[arg-type]
            person_id=person_id, fee_row_ids=claimed, case=case_json,
            payable=output["payable"], buckets=output["buckets"],
            parameter_versions=versions, handler=handler, proxy_name=proxy_name,
            proxy_id_number=proxy_id_number, auto_enrolled=auto_enrolled,
            bank_account=bank_account, waivers=kept_waivers,  # type: ignore[arg-type]
            created_at=now, handler_proof=handler_proof, number=number)
        key = enqueue(session, "application", payload.model_dump(mode="json"))
        append_audit(session, handler, "application.saved", f"application:{application_id}",
                     {"payable": output["payable"], "fee_rows": claimed, "number": number})
        if auto_enrolled:  # the person's 免申即享 consent, if none is live (after the
            # application in the outbox: the district checks the form it names)
            give_commitment(session, signer, person_id=person_id, program=program,
                            application_id=application_id, given_on=application_date,
                            now=now)
    return SavedApplication(application_id, result.payable, output, key, number)


def _record_signature_verdict(session: Session, item: wire.OutboxItem,
                              result: wire.ItemResult) -> None:
    """A signature the district refused (a role revoked, a key it cannot verify, a time out of
    bounds) is undone here too, with any signature made after it: the application goes back
    to the queue of the signature the district holds it at, with the district's reason, so a
    supervisor can sign it again (or send it back). The district's acceptance of an 审批人's
    signature places the application in that month (desktop.domain.clock.settlement_month)."""
    if accepted(result) and item.payload.get("role") == "approver":
        taken = session.get(ApplicationRecord, uuid.UUID(str(item.payload["application_id"])))
        at = (result.detail or {}).get("accepted_at")
        if taken is not None and at:
            taken.approval_accepted_at = datetime.fromisoformat(at)
    application = _refused_act(session, item, result, "签名")
    if application is None:
        return
    refused_role = str(item.payload.get("role"))
    undone = ("reviewer", "approver") if refused_role == "reviewer" else (refused_role,)
    for signature in [s for s in application.signatures if s.role in undone]:
        application.signatures.remove(signature)
    if application.status != "review":  # the district refused the application itself
        application.status = _status_held(application)
    append_audit(session, "district", "signature.refused", f"application:{application.id}",
                 {"role": item.payload.get("role"), "username": item.payload.get("username"),
                  "reason": result.reason, "message": result.message}, push=False)


def record_push_result(session: Session, item: wire.OutboxItem, result: wire.ItemResult
                       ) -> None:
    """The district's verdict on a pushed item, applied to the local application.

    A refused application is never dropped: it is marked for review with the server's reason
    and message (e.g. the row was claimed at another counter, and when).
    """
    if item.kind == "enrolment":
        from desktop.services.enrolment import record_enrolment_result

        record_enrolment_result(session, item, result)
        return
    if item.kind in ("commitment", "revocation"):
        record_commitment_result(session, item, result)
        return
    if item.kind == "signature":
        _record_signature_verdict(session, item, result)
        return
    if item.kind == "withdrawal":
        _record_withdrawal_verdict(session, item, result)
        return
    if item.kind == "return":
        _record_return_verdict(session, item, result)
        return
    if item.kind != "application":
        return
    application = session.get(ApplicationRecord, uuid.UUID(str(item.payload["application_id"])))
    if application is None:
        return
    if accepted(result):
        if application.accepted_at is None:
            application.accepted_at = datetime.now(UTC)
        if result.detail and "card_on_file" in result.detail:  # the district's, not our copy's
            application.card_on_file = result.detail["card_on_file"]
        # A verdict arriving after a local signature or send-back (an offline day) does not
        # move the application back: only one still waiting for it becomes "accepted".
        if application.status in ("saved", "review"):
            application.status = "accepted"
        application.server_reason = None
        application.server_message = None
    else:
        application.status = "review"
        application.server_reason = result.reason
        application.server_message = result.message
    append_audit(session, "district", f"application.{application.status}",
                 f"application:{application.id}",
                 {"reason": result.reason, "message": result.message,
                  "detail": result.detail or {}}, push=False)  # the district's own verdict


MAX_WITHDRAWAL_REASON = 500


class WithdrawalRefused(PermissionError):
    """Why the application cannot be withdrawn, in Chinese."""


# before any 审核人 signed: its own 经办人 may withdraw it (the district: accepted)
NOT_YET_REVIEWED = ("saved", "accepted")


def withdraw_application(store: Store, application_id: uuid.UUID, *, username: str,
                         password: str, reason: str, now: datetime | None = None) -> uuid.UUID:
    """Withdraw an application so its receipts can go into a corrected one: a sent-back one
    (by its 经办人, or a 审核人/审批人), or one no 审核人 has signed yet (by its own 经办人 only,
    signed with their password; once a 审核人 signed, a supervisor must send it back first).

    One transaction: the status "withdrawn" (its rows stop holding their claims here at
    once), the audit event and the outbox item asking the district to release the claims.
    The item goes after the application's own, if that is still waiting: the outbox pushes
    in order, so the district accepts the application first, then withdraws it. If the
    district refuses (a 审核人 signed meanwhile, or it had approved), the application goes back
    to the status it held. Returns the outbox key.
    """
    now = now or datetime.now(UTC)
    text = reason.strip()
    if not text:
        raise WithdrawalRefused("请填写撤回的原因。")
    if len(text) > MAX_WITHDRAWAL_REASON:  # what the district takes (wire.WithdrawalPayload)
        raise WithdrawalRefused(f"撤回原因请控制在 {MAX_WITHDRAWAL_REASON} 字以内。")
    try:  # one scrypt: the password's check and the user's key
        signer = unlock(store, username, password)
    except SigningUnavailable as exc:
        raise WithdrawalRefused(
            "用户名或密码错误。" if exc.reason == "password" else exc.message) from None
    with store.session() as session:
        application = session.get(ApplicationRecord, application_id)
        if application is None:
            raise WithdrawalRefused("本机没有这份申请。")
        if application.status in NOT_YET_REVIEWED:
            if username != application.created_by:
                raise WithdrawalRefused("审核之前，只有该申请的经办人本人可以撤回。")
        elif application.status == "returned":
            user = session.get(UserRecord, username)
            roles = set(user.roles) if user is not None else set()
            if username != application.created_by and not roles & {"reviewer", "approver"}:
                raise WithdrawalRefused("只有该申请的经办人或审核人、审批人可以撤回。")
        elif application.status in ("reviewed", "approved", "paid"):
            raise WithdrawalRefused(
                "审核人已签名，不能直接撤回：请审核人或审批人先退回，再撤回。")
        else:
            raise WithdrawalRefused("这份申请当前不能撤回（撤回后可重新勾选这些费用）。")
        previous = application.status
        application.status = "withdrawn"
        for claim in session.scalars(select(ClaimRecord).where(
                ClaimRecord.application_id == application_id)):
            claim.status = "released"  # until the district's release arrives with the pull
        proof = signer.prove(signed_act(signer, application, "withdraw", now, extra=text))
        payload = wire.WithdrawalPayload(application_id=application_id, username=username,
                                         reason=text, at=now, proof=proof)
        key = enqueue(session, "withdrawal", payload.model_dump(mode="json"))
        append_audit(session, username, "application.withdrawn",
                     f"application:{application_id}", {"reason": text, "from": previous})
    return key


def signed_act(signer: Signer, application: ApplicationRecord, act: signing.ActKind,
               at: datetime, *, role: str = "", card_confirmed: bool = False,
               extra: str = "") -> signing.SignedAct:
    """An act on a saved application, over the exact case the district recomputes, its amount
    and its payout card (what the district rebuilds: district.services.signatures)."""
    return signer.act(act, application_id=str(application.id), role=role,
                      case_sha256=signing.case_digest(application.case or {}),
                      payable=f"{application.payable:.2f}", card=application.bank_account,
                      signed_at=at, card_confirmed=card_confirmed, extra=extra)


def _record_return_verdict(session: Session, item: wire.OutboxItem,
                           result: wire.ItemResult) -> None:
    """A send-back the district refused (it had moved on, or cannot verify it): the
    application is back where the district holds it, in its supervisors' queue, with the
    district's reason."""
    application = _refused_act(session, item, result, "退回")
    if application is not None and application.status == "returned":
        application.status = _status_held(application)


def _refused_act(session: Session, item: wire.OutboxItem, result: wire.ItemResult,
                 what: str) -> ApplicationRecord | None:
    """The application an act the district refused was about, with the district's reason;
    None when the act was accepted (or the application is gone)."""
    if accepted(result):
        return None
    application = session.get(ApplicationRecord, uuid.UUID(str(item.payload["application_id"])))
    if application is None:
        return None
    if application.status != "review":  # keep why the application itself was refused
        application.server_reason = result.reason
        application.server_message = f"{what}未被区里接受：{result.message or result.reason}"
    return application


def _status_held(application: ApplicationRecord) -> str:
    """The status the signatures still standing here give (district.services.states)."""
    roles = {s.role for s in application.signatures}
    if "approver" in roles:
        return "approved"
    if "reviewer" in roles:
        return "reviewed"
    return "accepted" if application.accepted_at is not None else "saved"


def _record_withdrawal_verdict(session: Session, item: wire.OutboxItem,
                               result: wire.ItemResult) -> None:
    if accepted(result):
        return
    application = session.get(ApplicationRecord, uuid.UUID(str(item.payload["application_id"])))
    if application is None:
        return
    # the district still holds the claims: back to where it was (a sent-back one stays
    # returned; one withdrawn before review goes back to the signatures standing here)
    application.status = "returned" if _was_returned(session, application.id) \
        else _status_held(application)
    application.server_reason = result.reason
    application.server_message = f"撤回未被区里接受：{result.message or result.reason}"
    for claim in session.scalars(select(ClaimRecord).where(
            ClaimRecord.application_id == application.id, ClaimRecord.status == "released")):
        claim.status = "claimed"


def _was_returned(session: Session, application_id: uuid.UUID) -> bool:
    """Whether the application was sent back (here or elsewhere): a returned one never goes
    back to a supervisor's queue, so a withdrawal of it refused leaves it returned."""
    return session.scalars(select(AuditEventRecord.id).where(
        AuditEventRecord.subject == f"application:{application_id}",
        AuditEventRecord.action == "application.returned")).first() is not None
