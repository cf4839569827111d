"""Review and approval at the counter: the supervisors' queues, an application's detail, signing.

POLICY.md §6.5 (CN-2026 §3): the approval form is signed by 经办人, 审核人 and 审批人, three
different people, the 审核人 before the 审批人. Each signature is one transaction: the signature,
the application's new status, the audit event and the outbox item for the district, which checks
the same rules again (district/services/signatures.py). The signer proves who they are by
re-entering their password, which opens their signing key (desktop.services.signing.unlock).

Statuses (ApplicationRecord.status) this module reads and writes:

    saved ──(district accepts)──> accepted          saved / accepted: in the review queue
      │                              │
      └──────── 审核人 signs ─────────┴──> reviewed   reviewer-signed: in the approval queue
                                             │
                                    审批人 signs ──> approved   (then paid, later)

    from either queue, a 审核人 (review stage) or the 审批人 (approval stage) may send it back:
    ──> returned, with a reason, to the 经办人.

The queues follow the signatures rather than the status alone, so an application whose status
the district's late verdict moved back to "accepted" after a local signature
(record_push_result) still sits in the right queue. A signature or a send-back the district
refuses (desktop.services.applications) is undone here, with any signature after it: the
application goes back to the queue of the signature the district holds it at, with the
district's reason, so that a supervisor can sign it again or send it back.

A returned application keeps its rows' claims. The district registered them when it accepted
the application (or will, when the application item still waiting in the outbox arrives: a
send-back cannot recall it), and nothing at the counter releases a claim in the district's
registry. Releasing them locally would let the 经办人 tick the same receipts into a new
application that the district refuses as already claimed, and would leave this counter's settled
history (POLICY.md §0.4's H) different from the district's, so its amounts would no longer match.
"returned" therefore belongs with the statuses that hold their claim
(desktop.services.applications.LIVE).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any, Literal

from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from desktop import wire
from desktop.domain import bank_card
from desktop.domain.bank_card import mask_card
from desktop.domain.id_number import mask_id_number
from desktop.policy.labels import KIND_LABELS, PROGRAM_LABELS
from desktop.policy.model import Kind, Program
from desktop.services.accounts import (
    DEFAULT_MAX_OFFLINE_AGE,
    UNKNOWN_ACTOR,
    can_approve,
    can_review,
    stale,
)
from desktop.services.applications import signed_act
from desktop.services.signing import Signer, SigningUnavailable, unlock
from desktop.store import Store, append_audit, enqueue
from desktop.store.models import (
    ApplicationRecord,
    ApplicationRowRecord,
    AuditEventRecord,
    FeeRowRecord,
    InstitutionRecord,
    PersonRecord,
    SignatureRecord,
    UserRecord,
)

SigningRole = Literal["reviewer", "approver"]
Stage = Literal["review", "approval"]

ROLE_LABELS = {"handler": "经办人", "reviewer": "审核人", "approver": "审批人"}
STATUS_LABELS = {
    "draft": "草稿",
    "saved": "已保存，待上传区里",
    "accepted": "区里已受理",
    "review": "区里未受理，待核查",
    "reviewed": "已审核",
    "approved": "已审批",
    "returned": "已退回经办人",
    "paid": "已支付",
}
# Where a supervisor can still act (sign or send back).
OPEN = ("saved", "accepted", "reviewed")
AWAITING_REVIEW = ("saved", "accepted")
STATUS_AFTER: dict[str, str] = {"reviewer": "reviewed", "approver": "approved"}
MAX_REASON = 500
THREE_PEOPLE = "经办人、审核人、审批人须为三个不同的人。"
WRONG_SIGNER = "用户名或密码错误，未能确认签名人身份。"


class ApprovalRefused(PermissionError):
    """Signing or sending back was refused; the text is the Chinese message naming the rule."""

    def __init__(self, message: str, rule: str) -> None:
        super().__init__(message)
        self.message = message
        self.rule = rule  # e.g. "maker_checker", for tests and the audit trail


class UnknownApplication(LookupError):
    """No such application at this counter; the text is the Chinese message."""


# -- what the screens show ----------------------------------------------------------------------

@dataclass(frozen=True)
class QueueEntry:
    """One application in a supervisor's list."""

    application_id: uuid.UUID
    person_id: str
    person_name: str
    id_masked: str
    program: str
    program_label: str
    payable: Decimal
    created_at: datetime
    handler: str
    reviewer: str | None
    status: str
    status_label: str
    row_count: int
    # the people as the office knows them (their names, never the logins)
    handler_name: str = ""
    reviewer_name: str | None = None


@dataclass(frozen=True)
class DetailRow:
    """A ticked fee row: what the receipt says and what the calculation made of it."""

    fee_row_id: str
    date: date | None  # None: the district has since withdrawn the row from the cache
    institution: str | None
    kind: str | None
    kind_label: str | None
    self_pay: Decimal | None
    receipt_no: str | None
    claimed: bool  # held by this application (it counts and was not settled before)
    counts: bool
    category_label: str | None
    rate: str | None
    bucket_label: str | None
    reason_label: str | None  # why it does not count, in words


@dataclass(frozen=True)
class BucketLine:
    bucket: str
    label: str
    amount: Decimal


@dataclass(frozen=True)
class SignatureLine:
    role: str
    role_label: str
    username: str
    display_name: str
    signed_at: datetime


@dataclass(frozen=True)
class ReturnNote:
    """Who sent the application back, when and why."""

    username: str
    at: datetime
    reason: str
    display_name: str = ""  # who, as the office knows them


@dataclass(frozen=True)
class ApplicationDetail:
    application_id: uuid.UUID
    status: str
    status_label: str
    stage: Stage | None  # which queue it is in: which signature it waits for
    program: str
    program_label: str
    district: str
    person_id: str
    person_name: str
    id_masked: str
    proxy_name: str | None
    auto_enrolled: bool
    payable: Decimal
    buckets: tuple[BucketLine, ...]
    rows: tuple[DetailRow, ...]
    trace: tuple[str, ...]  # the calculation explained, line by line, in Chinese
    warnings: tuple[str, ...]
    signatures: tuple[SignatureLine, ...]
    created_at: datetime
    handler: str
    server_reason: str | None
    server_message: str | None
    returned: ReturnNote | None
    # the payout card, masked, and whether it differs from the one on file (变更: the 审批人
    # confirms it when approving)
    card_masked: str | None = None
    card_on_file_masked: str | None = None
    card_changed: bool = False


@dataclass(frozen=True)
class Signed:
    application_id: uuid.UUID
    role: str
    username: str
    signed_at: datetime
    status: str
    outbox_key: uuid.UUID


# -- queues and detail --------------------------------------------------------------------------

def stage_of(status: str, signed_roles: Iterable[str]) -> Stage | None:
    """The signature an application waits for, from its status and who has signed."""
    signed = set(signed_roles)
    if status not in OPEN or "approver" in signed:
        return None
    if "reviewer" in signed:
        return "approval"
    return "review" if status in AWAITING_REVIEW else None


def review_queue(store: Store) -> list[QueueEntry]:
    """Applications waiting for a 审核人, oldest first."""
    return _queue(store, "review")


def approval_queue(store: Store) -> list[QueueEntry]:
    """Applications the 审核人 signed, waiting for the 审批人, oldest first."""
    return _queue(store, "approval")


def display_names(session: Session, usernames: set[str]) -> dict[str, str]:
    """The users' names as the office knows them, by login (those this counter knows)."""
    if not usernames:
        return {}
    return {username: display or username for username, display in session.execute(
        select(UserRecord.username, UserRecord.display_name)
        .where(UserRecord.username.in_(usernames)))}


def _queue(store: Store, stage: Stage) -> list[QueueEntry]:
    with store.read_session() as session:
        applications = [a for a in session.scalars(
            select(ApplicationRecord).where(ApplicationRecord.status.in_(OPEN))
            .order_by(ApplicationRecord.created_at, ApplicationRecord.id)
            .options(selectinload(ApplicationRecord.signatures)))
            if stage_of(a.status, (s.role for s in a.signatures)) == stage]
        ids = [a.id for a in applications]
        counts = {app_id: int(n) for app_id, n in session.execute(
            select(ApplicationRowRecord.application_id, func.count())
            .where(ApplicationRowRecord.application_id.in_(ids))
            .group_by(ApplicationRowRecord.application_id))} if ids else {}
        persons = _persons(session, {a.person_id for a in applications})
        names = display_names(session, {a.created_by for a in applications}
                              | {s.username for a in applications for s in a.signatures})
        entries = []
        for a in applications:
            by_role = {s.role: s.username for s in a.signatures}
            name, masked = persons.get(a.person_id, _NO_PERSON)
            handler = by_role.get("handler", a.created_by)
            reviewer = by_role.get("reviewer")
            entries.append(QueueEntry(
                application_id=a.id, person_id=a.person_id, person_name=name, id_masked=masked,
                program=a.program, program_label=_program_label(a.program), payable=a.payable,
                created_at=a.created_at, handler=handler, reviewer=reviewer, status=a.status,
                status_label=STATUS_LABELS.get(a.status, a.status),
                row_count=counts.get(a.id, 0), handler_name=names.get(handler, handler),
                reviewer_name=names.get(reviewer, reviewer) if reviewer else None))
    return entries


def application_detail(store: Store, application_id: uuid.UUID) -> ApplicationDetail:
    """Everything a supervisor checks before signing: rows, amounts, the trace, signatures.
    Raises UnknownApplication."""
    with store.read_session() as session:
        a = _application(session, application_id, acting=False)
        persons = _persons(session, {a.person_id})
        name, masked = persons.get(a.person_id, _NO_PERSON)
        result: dict[str, Any] = a.result or {}
        claimed = {r.fee_row_id for r in a.rows}
        results = [r for r in result.get("rows", []) if not r.get("settled")]
        wanted = [r["id"] for r in results] + sorted(claimed - {r["id"] for r in results})
        fee_rows = {r.id: r for r in session.scalars(
            select(FeeRowRecord).where(FeeRowRecord.id.in_(wanted)))}
        institutions = {i.code: i.name for i in session.scalars(
            select(InstitutionRecord).where(InstitutionRecord.code.in_(
                {r.institution_code for r in fee_rows.values() if r.institution_code})))}
        by_id = {r["id"]: r for r in results}
        rows = tuple(_detail_row(i, fee_rows.get(i), by_id.get(i, {}), i in claimed,
                                 institutions) for i in wanted)
        names = display_names(session, {s.username for s in a.signatures})
        signatures = tuple(SignatureLine(s.role, ROLE_LABELS.get(s.role, s.role), s.username,
                                         names.get(s.username, s.username), s.signed_at)
                           for s in sorted(a.signatures, key=_signing_order))
        labels: dict[str, str] = result.get("bucket_labels", {})
        buckets = tuple(BucketLine(code, labels.get(code, code), Decimal(amount))
                        for code, amount in (a.buckets or {}).items())
        returned = _return_note(session, a.id) if a.status == "returned" else None
        return ApplicationDetail(
            application_id=a.id, status=a.status,
            status_label=STATUS_LABELS.get(a.status, a.status),
            stage=stage_of(a.status, (s.role for s in a.signatures)),
            program=a.program, program_label=_program_label(a.program), district=a.district,
            person_id=a.person_id, person_name=name, id_masked=masked,
            proxy_name=a.proxy_name, auto_enrolled=a.auto_enrolled, payable=a.payable,
            buckets=buckets, rows=rows, trace=tuple(result.get("trace", [])),
            warnings=tuple(str(w) for w in result.get("warnings", [])),
            signatures=signatures, created_at=a.created_at,
            handler=next((s.username for s in a.signatures if s.role == "handler"),
                         a.created_by),
            server_reason=a.server_reason, server_message=a.server_message, returned=returned,
            card_masked=mask_card(a.bank_account) if a.bank_account else None,
            card_on_file_masked=mask_card(a.card_on_file) if a.card_on_file else None,
            card_changed=card_changed(a))


# -- signing and sending back --------------------------------------------------------------------

def sign(
    store: Store,
    application_id: uuid.UUID,
    *,
    role: SigningRole,
    username: str,
    password: str,
    now: datetime | None = None,
    max_offline_age: timedelta = DEFAULT_MAX_OFFLINE_AGE,
    confirm_card: bool = False,
) -> Signed:
    """Sign as 审核人 (`role="reviewer"`) or 审批人 (`role="approver"`).

    Checked: the password, the role (as the district last confirmed it here, within
    `max_offline_age`), that the application waits for this signature, the order (审核 before
    审批) and that the three signers are different people. Then the signature, the new status,
    the audit event and the signature's outbox item, in one transaction. Raises ApprovalRefused.
    """
    if role not in STATUS_AFTER:
        raise ValueError(f"role must be reviewer or approver, not {role!r}")
    now = now or datetime.now(UTC)
    username = username.strip()
    role_label = ROLE_LABELS[role]
    signer = _check_signer(store, application_id, username, password, now, max_offline_age,
                           "application.sign_refused", {"role": role})
    try:
        with store.session() as session:
            user = session.get(UserRecord, username)
            assert user is not None  # the password matched its verifier
            has_role = can_review(user.roles) if role == "reviewer" else can_approve(user.roles)
            if not has_role:
                raise ApprovalRefused(f"{username} 没有{role_label}的权限。", "role")
            a = _application(session, application_id)
            signed = {s.role: s.username for s in a.signatures}
            if a.status not in OPEN:
                raise ApprovalRefused(_status_refusal(a, "签名"), "status")
            if role in signed:
                raise ApprovalRefused(f"这份申请已有{role_label}签名（{signed[role]}）。",
                                      "already_signed")
            if role == "approver" and "reviewer" not in signed:
                raise ApprovalRefused("审核人签名之后才能审批。", "order")
            if role == "reviewer" and a.status not in AWAITING_REVIEW:
                raise ApprovalRefused(_status_refusal(a, "审核"), "status")
            if username in signed.values() or username == a.created_by:
                raise ApprovalRefused(THREE_PEOPLE, "maker_checker")
            changed = card_changed(a)
            if role == "approver" and changed and not confirm_card:
                raise ApprovalRefused(
                    "收款账户与登记的账户不同：请审批人核对后勾选“确认变更收款账户”再审批。",
                    "card_change")
            confirmed = role == "approver" and changed
            status = STATUS_AFTER[role]
            proof = signer.prove(signed_act(signer, a, "sign", now, role=role,
                                            card_confirmed=confirmed))
            session.add(SignatureRecord(application_id=a.id, role=role, username=username,
                                        signed_at=now, key_id=proof.key_id,
                                        proof=proof.signature, card_confirmed=confirmed))
            a.status = status
            payload = wire.SignaturePayload(application_id=a.id, role=role, username=username,
                                            signed_at=now, card_confirmed=confirmed,
                                            proof=proof)
            key = enqueue(session, "signature", payload.model_dump(mode="json"))
            append_audit(session, username, f"application.{status}", f"application:{a.id}",
                         {"role": role, "signed_at": now.isoformat()}, at=now)
    except ApprovalRefused as refused:
        _audit_refusal(store, username, "application.sign_refused", application_id,
                       {"role": role, "rule": refused.rule}, now)
        raise
    return Signed(application_id, role, username, now, status, key)


def send_back(
    store: Store,
    application_id: uuid.UUID,
    *,
    username: str,
    password: str,
    reason: str,
    now: datetime | None = None,
    max_offline_age: timedelta = DEFAULT_MAX_OFFLINE_AGE,
) -> None:
    """Return the application to its 经办人 with a reason: status "returned", audited and the
    event pushed. While it waits for review, a 审核人 or the 审批人 may send it back; once
    reviewed, only a 审批人. Nobody sends back what they signed themselves.

    The rows keep their claims (see the module's docstring). The send-back is signed and pushed:
    the district holds the application as returned and takes no signature on it any more.
    """
    now = now or datetime.now(UTC)
    username, reason = username.strip(), reason.strip()
    if not reason:
        raise ApprovalRefused("退回须填写原因，告诉经办人要改什么。", "reason")
    if len(reason) > MAX_REASON:
        raise ApprovalRefused(f"退回原因请控制在 {MAX_REASON} 字以内。", "reason")
    signer = _check_signer(store, application_id, username, password, now, max_offline_age,
                           "application.return_refused", {})
    try:
        with store.session() as session:
            user = session.get(UserRecord, username)
            assert user is not None
            if not (can_review(user.roles) or can_approve(user.roles)):
                raise ApprovalRefused(f"{username} 没有审核人或审批人的权限，不能退回申请。",
                                      "role")
            a = _application(session, application_id)
            signed = {s.role: s.username for s in a.signatures}
            stage = stage_of(a.status, signed)
            if stage is None:
                raise ApprovalRefused(_status_refusal(a, "退回"), "status")
            if stage == "approval" and not can_approve(user.roles):
                raise ApprovalRefused("已审核的申请只能由审批人退回。", "role")
            if username in signed.values() or username == a.created_by:
                raise ApprovalRefused(f"{THREE_PEOPLE}不能退回自己经办或审核过的申请。",
                                      "maker_checker")
            previous = a.status
            a.status = "returned"
            # after the application's own item in the outbox, so the district takes them in
            # order: it holds the application as returned and refuses any signature on it
            proof = signer.prove(signed_act(signer, a, "return", now, extra=reason))
            enqueue(session, "return", wire.ReturnPayload(
                application_id=a.id, username=username, reason=reason, at=now,
                proof=proof).model_dump(mode="json"))
            append_audit(session, username, "application.returned", f"application:{a.id}",
                         {"reason": reason, "stage": stage, "previous_status": previous},
                         at=now)
    except ApprovalRefused as refused:
        _audit_refusal(store, username, "application.return_refused", application_id,
                       {"rule": refused.rule}, now)
        raise


# -- helpers -------------------------------------------------------------------------------------

_NO_PERSON = ("（本机缓存中已无此人）", "")


def card_changed(a: ApplicationRecord) -> bool:
    """The payout card differs from the person's card on file when the application was saved:
    the 审批人 confirms it (变更 on the 审批表)."""
    return bank_card.card_changed(a.bank_account, a.card_on_file)


def _check_signer(store: Store, application_id: uuid.UUID, username: str, password: str,
                  now: datetime, max_age: timedelta, action: str, detail: dict[str, Any]
                  ) -> Signer:
    """The password (slow: before the write transaction), how fresh the user's roles are, and
    the user's signing key at this PC, opened with the password."""
    refused: ApprovalRefused | None = None
    signer: Signer | None = None
    try:
        signer = unlock(store, username, password)  # one scrypt: the password and the key
    except SigningUnavailable as exc:
        wrong = exc.reason == "password"
        refused = ApprovalRefused(WRONG_SIGNER if wrong else exc.message,
                                  "password" if wrong else "no_key")
    else:
        with store.read_session() as session:
            user = session.get(UserRecord, username)
            verified_at = None if user is None else user.verified_at
            who = user.display_name if user is not None and user.display_name else username
        if stale(verified_at, now, max_age):
            refused = ApprovalRefused(
                f"{who} 距上次联网登录已超过 {max_age.days} 天，其权限无法确认："
                "请在区服务器可以连接时登录一次后再签名。", "stale_roles")
    if refused is None and signer is not None:
        return signer
    assert refused is not None
    _audit_refusal(store, username, action, application_id,
                   {**detail, "rule": refused.rule}, now)
    raise refused


def _audit_refusal(store: Store, username: str, action: str, application_id: uuid.UUID,
                   detail: dict[str, Any], now: datetime) -> None:
    """A refused signature or send-back, in its own transaction (the action's rolled back).
    A name never seen here is not written: it may be a password typed in the wrong field."""
    with store.session() as session:
        actor = username if session.get(UserRecord, username) is not None else UNKNOWN_ACTOR
        append_audit(session, actor, action, f"application:{application_id}", detail, at=now)


def _application(session: Session, application_id: uuid.UUID, *, acting: bool = True
                 ) -> ApplicationRecord:
    a = session.scalars(select(ApplicationRecord).where(ApplicationRecord.id == application_id)
                        .options(selectinload(ApplicationRecord.signatures),
                                 selectinload(ApplicationRecord.rows))).first()
    if a is None:
        if acting:
            raise ApprovalRefused("本机没有这份申请。", "unknown_application")
        raise UnknownApplication("本机没有这份申请。")
    return a


def _status_refusal(a: ApplicationRecord, what: str) -> str:
    text = f"这份申请当前状态为“{STATUS_LABELS.get(a.status, a.status)}”，不能{what}。"
    if a.status == "review" and a.server_message:
        text += f"区里的意见：{a.server_message}"
    return text


def _persons(session: Session, person_ids: set[str]) -> dict[str, tuple[str, str]]:
    if not person_ids:
        return {}
    return {p.id: (p.name, mask_id_number(p.id_number)) for p in session.scalars(
        select(PersonRecord).where(PersonRecord.id.in_(person_ids)))}


def _program_label(program: str) -> str:
    try:
        return PROGRAM_LABELS[Program(program)]
    except ValueError:
        return program


def _kind_label(kind: str) -> str:
    try:
        return KIND_LABELS[Kind(kind)]
    except ValueError:
        return kind


def _detail_row(fee_row_id: str, row: FeeRowRecord | None, result: dict[str, Any],
                claimed: bool, institutions: dict[str, str]) -> DetailRow:
    institution = None
    if row is not None and row.institution_code:
        institution = institutions.get(row.institution_code, row.institution_code)
    return DetailRow(
        fee_row_id=fee_row_id,
        date=None if row is None else row.date,
        institution=institution,
        kind=None if row is None else row.kind,
        kind_label=None if row is None else _kind_label(row.kind),
        self_pay=None if row is None else row.self_pay,
        receipt_no=None if row is None else row.receipt_no,
        claimed=claimed,
        counts=bool(result.get("counts", claimed)),
        category_label=result.get("category_label"),
        rate=result.get("rate"),
        bucket_label=result.get("bucket_label"),
        reason_label=result.get("reason_label"),
    )


def _signing_order(s: SignatureRecord) -> tuple[int, datetime]:
    return (("handler", "reviewer", "approver").index(s.role)
            if s.role in ROLE_LABELS else 3, s.signed_at)


def _return_note(session: Session, application_id: uuid.UUID) -> ReturnNote | None:
    event = session.scalars(
        select(AuditEventRecord)
        .where(AuditEventRecord.subject == f"application:{application_id}",
               AuditEventRecord.action == "application.returned")
        .order_by(AuditEventRecord.id.desc())).first()
    if event is None:
        return None
    return ReturnNote(event.actor, event.at, str(event.detail.get("reason", "")),
                      display_names(session, {event.actor}).get(event.actor, event.actor))



@dataclass(frozen=True)
class AttentionEntry:
    """An application the 经办人 must act on: sent back here, or refused by the district."""

    application_id: uuid.UUID
    person_name: str
    id_masked: str
    program_label: str
    payable: Decimal
    status: str
    status_label: str
    why: str  # the send-back reason or the district's message


def needing_attention(store: Store) -> list[AttentionEntry]:
    """Returned and refused applications, newest first."""
    with store.read_session() as session:
        ids = list(session.scalars(select(ApplicationRecord.id).where(
            ApplicationRecord.status.in_(("returned", "review")))
            .order_by(ApplicationRecord.updated_at.desc())))
    out = []
    for application_id in ids:
        d = application_detail(store, application_id)
        if d.status == "returned" and d.returned is not None:
            why = f"{d.returned.display_name or d.returned.username} 退回：{d.returned.reason}"
        else:
            why = d.server_message or d.server_reason or ""
        out.append(AttentionEntry(d.application_id, d.person_name, d.id_masked,
                                  d.program_label, d.payable, d.status, d.status_label, why))
    return out
