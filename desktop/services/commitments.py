"""A person's 免申即享 commitment (CN-2026 3.3 / POLICY.md §6.4, issue 15): its own record.

Given when an application with "免申即享" ticked is saved and the person has none live for
the program (same transaction: desktop.services.applications.save_application), signed by the
经办人; revoked only by a clerk's act with a reason, signed with the password. A refused or
withdrawn application does not end it, nor does a later application without the flag. Both
acts go to the district (outbox kinds `commitment`, `revocation`) and come back to every
counter of the street with the pull (the `commitment` entity), so a reinstalled PC has them.

A commitment is live while it is not revoked, whatever the district says of the application it
was given with: when the district refused that application (it then refuses the commitment as
`unknown_application`: it holds no such form), the consent still stands here, the person stays
in the run, and the next application with the flag gives the commitment again, to the
district, in place of this one. Any other refusal (e.g. another counter of the street gave one
first: it comes with the pull) ends it here. The monthly run lists the live ones
(desktop.services.monthly.committed_persons).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from desktop import wire
from desktop.domain import signing
from desktop.domain.clock import shanghai_day
from desktop.services.signing import Signer, SigningUnavailable, unlock
from desktop.services.verdicts import accepted
from desktop.store import Store, append_audit, enqueue
from desktop.store.models import CommitmentRecord, PersonRecord, UserRecord

MAX_REASON = 500  # what the district takes (wire.RevocationPayload)
# the district refused the commitment because it holds no such form: the application it was
# given with was refused there; the consent stands (see the module docstring)
FORM_REFUSED = "unknown_application"
# made by migration 0014 from this counter's live applications with the flag, before the
# commitment was a record: nothing could sign it, so the district never held it either
INFERRED = "inferred"
LOCAL_ONLY = frozenset({FORM_REFUSED, INFERRED})  # refused, yet live here
REVOKERS = frozenset({"clerk", "reviewer", "approver"})


class RevocationRefused(PermissionError):
    """Why the commitment cannot be revoked, in Chinese."""


@dataclass(frozen=True)
class CommitmentState:
    """What the counter shows and prints of a person's commitment for a program."""

    id: str
    person_id: str
    program: str
    application_id: str
    given_on: date
    given_by: str
    revoked_on: date | None
    revoked_by: str | None
    revoke_reason: str | None
    status: str  # saved | accepted | refused (the district's verdict on one made here)
    server_message: str | None = None

    server_reason: str | None = None

    @property
    def live(self) -> bool:
        return self.revoked_on is None and (self.status != "refused"
                                            or self.server_reason in LOCAL_ONLY)

    @property
    def label(self) -> str:
        """已承诺免申即享（自 日期起） / 已撤销 日期 原因 / 区里未受理."""
        if self.revoked_on is not None:
            return f"免申即享已撤销（{self.revoked_on.isoformat()}，原因：{self.revoke_reason}）"
        if self.status == "refused" and self.server_reason == INFERRED:
            return (f"已承诺免申即享（自 {self.given_on.isoformat()} 起，"
                    "据本机注明免申即享的申请）；下一份注明免申即享的申请将报区里登记承诺")
        if self.status == "refused" and self.server_reason == FORM_REFUSED:
            return (f"已承诺免申即享（自 {self.given_on.isoformat()} 起）；所附申请表区里未受理，"
                    "下一份注明免申即享的申请将重新报区里登记承诺")
        if self.status == "refused":
            return f"免申即享承诺区里未受理：{self.server_message or ''}".rstrip("：")
        waiting = "（待上传）" if self.status == "saved" else ""
        return f"已承诺免申即享（自 {self.given_on.isoformat()} 起）{waiting}"


def _state(c: CommitmentRecord) -> CommitmentState:
    return CommitmentState(c.id, c.person_id, c.program, c.application_id, c.given_on,
                           c.given_by, c.revoked_on, c.revoked_by, c.revoke_reason, c.status,
                           c.server_message, c.server_reason)


def is_live(c: CommitmentRecord) -> bool:
    return _state(c).live


def live_commitments(session: Session, person_id: str | None = None
                     ) -> list[CommitmentRecord]:
    """The live commitments (of one person, or everyone's), oldest first."""
    query = select(CommitmentRecord).where(
        CommitmentRecord.revoked_on.is_(None),
        or_(CommitmentRecord.status != "refused",
            CommitmentRecord.server_reason.in_(sorted(LOCAL_ONLY))))
    if person_id is not None:
        query = query.where(CommitmentRecord.person_id == person_id)
    return list(session.scalars(query.order_by(CommitmentRecord.given_at)))


def live_commitment(session: Session, person_id: str, program: str) -> CommitmentRecord | None:
    return next((c for c in live_commitments(session, person_id) if c.program == program),
                None)


def commitment_state(store: Store, person_id: str, program: str) -> CommitmentState | None:
    """The person's commitment for the program to show: the live one, else the latest."""
    with store.read_session() as session:
        return state_in(session, person_id, program)


def state_in(session: Session, person_id: str, program: str) -> CommitmentState | None:
    found = list(session.scalars(select(CommitmentRecord).where(
        CommitmentRecord.person_id == person_id, CommitmentRecord.program == program)
        .order_by(CommitmentRecord.given_at)))
    live = [c for c in found if is_live(c)]
    chosen = live[-1] if live else (found[-1] if found else None)
    return None if chosen is None else _state(chosen)


def give_commitment(session: Session, signer: Signer, *, person_id: str, program: str,
                    application_id: uuid.UUID, given_on: date, now: datetime
                    ) -> CommitmentRecord | None:
    """The person's commitment, given with this application, in the caller's transaction
    (with its outbox item and audit event); None when one is live already. One the district
    refused for want of its (refused) application form is given again, with this one."""
    live = live_commitment(session, person_id, program)
    if live is not None and live.status != "refused":
        return None
    if live is not None:  # never held by the district: this one takes its place
        append_audit(session, signer.username, "commitment.given_again", f"person:{person_id}",
                     {"commitment_id": live.id, "given_on": live.given_on.isoformat(),
                      "application_id": str(application_id)})
        session.delete(live)
        session.flush()
    commitment_id = uuid.uuid4()
    act = signing.commitment_act(
        "commit", commitment_id=str(commitment_id), person_id=person_id, program=program,
        application_id=str(application_id), given_on=given_on.isoformat(),
        username=signer.username, at=now)
    proof = signer.prove(replace(act, device_id=signer.device_id))
    person = session.get(PersonRecord, person_id)
    record = CommitmentRecord(
        id=str(commitment_id), person_id=person_id, program=program,
        street_code=person.street_code if person is not None else "",
        application_id=str(application_id), given_on=given_on, given_by=signer.username,
        given_at=now, status="saved", seq=0)
    session.add(record)
    payload = wire.CommitmentPayload(
        commitment_id=commitment_id, person_id=person_id,
        program=program,  # type: ignore[arg-type]
        application_id=application_id, given_on=given_on, handler=signer.username, at=now,
        proof=proof)
    enqueue(session, "commitment", payload.model_dump(mode="json"))
    append_audit(session, signer.username, "commitment.given", f"person:{person_id}",
                 {"commitment_id": str(commitment_id), "program": program,
                  "application_id": str(application_id), "given_on": given_on.isoformat()})
    return record


def revoke_commitment(store: Store, commitment_id: str, *, username: str, password: str,
                      reason: str, now: datetime | None = None) -> uuid.UUID | None:
    """Revoke a live commitment (the person withdrew their consent), with its reason, signed
    with the password of who revokes it (a clerk, 审核人 or 审批人 of this counter). One
    transaction: the revoked record, the audit event, the outbox item. Returns the outbox
    key (None for one the district never held: revoked here only). The district refusing it
    puts the commitment back, with its reason."""
    now = now or datetime.now(UTC)
    text = " ".join(reason.split())  # one line, as the district takes it
    if not text:
        raise RevocationRefused("请填写撤销免申即享的原因。")
    if len(text) > MAX_REASON:
        raise RevocationRefused(f"撤销原因请控制在 {MAX_REASON} 字以内。")
    if any(ord(ch) < 0x20 or ord(ch) == 0x7f for ch in text):
        raise RevocationRefused("撤销原因请写在一行内。")
    try:
        signer = unlock(store, username, password)
    except SigningUnavailable as exc:
        raise RevocationRefused(
            "用户名或密码错误。" if exc.reason == "password" else exc.message) from None
    with store.session() as session:
        user = session.get(UserRecord, username)
        if user is None or not REVOKERS & set(user.roles or ()):
            raise RevocationRefused("只有经办人、审核人或审批人可以撤销免申即享。")
        commitment = session.get(CommitmentRecord, commitment_id)
        if commitment is None:
            raise RevocationRefused("本机没有这份免申即享承诺。")
        if commitment.revoked_on is not None:
            raise RevocationRefused(
                f"这份免申即享承诺已于 {commitment.revoked_on.isoformat()} 撤销。")
        if commitment.status == "refused" and commitment.server_reason not in LOCAL_ONLY:
            raise RevocationRefused("这份免申即享承诺区里未受理，无需撤销。")
        day = shanghai_day(now)
        if commitment.status == "refused":  # the district never held it: revoked here only
            commitment.revoked_on, commitment.revoked_by = day, username
            commitment.revoked_at, commitment.revoke_reason = now, text
            append_audit(session, username, "commitment.revoked",
                         f"person:{commitment.person_id}",
                         {"commitment_id": commitment.id, "program": commitment.program,
                          "reason": text, "local": True})
            return None
        act = signing.commitment_act(
            "revoke", commitment_id=commitment.id, person_id=commitment.person_id,
            program=commitment.program, application_id=commitment.application_id,
            given_on=commitment.given_on.isoformat(), username=username, at=now,
            revoked_on=day.isoformat(), reason=text)
        proof = signer.prove(replace(act, device_id=signer.device_id))
        commitment.revoked_on, commitment.revoked_by = day, username
        commitment.revoked_at, commitment.revoke_reason = now, text
        payload = wire.RevocationPayload(commitment_id=uuid.UUID(commitment.id),
                                         username=username, revoked_on=day, reason=text,
                                         at=now, proof=proof)
        key = enqueue(session, "revocation", payload.model_dump(mode="json"))
        append_audit(session, username, "commitment.revoked", f"person:{commitment.person_id}",
                     {"commitment_id": commitment.id, "program": commitment.program,
                      "reason": text})
    return key


def record_commitment_result(session: Session, item: wire.OutboxItem,
                             result: wire.ItemResult) -> None:
    """The district's verdict on a commitment or a revocation pushed from here."""
    commitment = session.get(CommitmentRecord, str(item.payload.get("commitment_id")))
    if commitment is None:
        return
    if item.kind == "commitment":
        if accepted(result):
            commitment.status = "accepted"
            commitment.server_reason = commitment.server_message = None
        elif commitment.status == "saved":
            commitment.status = "refused"
            commitment.server_reason, commitment.server_message = result.reason, result.message
        else:
            return
        action = f"commitment.{commitment.status}"
    else:
        if accepted(result) or result.reason == "already_revoked":
            return  # the district's copy comes back with the pull
        if commitment.status == "refused" and result.reason == "unknown_commitment":
            return  # never held by the district (its form was refused): revoked here
        commitment.revoked_on = commitment.revoked_by = None
        commitment.revoked_at = commitment.revoke_reason = None
        commitment.server_reason, commitment.server_message = result.reason, result.message
        action = "commitment.revocation_refused"
    append_audit(session, "district", action, f"person:{commitment.person_id}",
                 {"commitment_id": commitment.id, "reason": result.reason,
                  "message": result.message}, push=False)
