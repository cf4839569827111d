"""Scanned receipts (RECEIPTS.md): keep every raw scan, parse it, match it to a cached fee row.

Each scan is one transaction: the verbatim text, what was recognised, the row it matched (if
any) and a local audit event. Anything the clerk must still resolve stays `pending` until it is
matched (after a sync, by `rematch_pending`) or dismissed with a reason, so no scan is lost.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from decimal import Decimal
from typing import Any, Literal

from sqlalchemy import select
from sqlalchemy.orm import Session

from desktop.domain.clock import SHANGHAI, local_time
from desktop.domain.id_number import mask_id_number
from desktop.domain.receipt_qr import ParsedReceipt, Unrecognised, parse_receipt_text
from desktop.services.applications import LIVE
from desktop.store import Store, append_audit
from desktop.store.cases import HOLDING_CLAIMS
from desktop.store.models import (
    ApplicationRecord,
    ApplicationRowRecord,
    FeeRowRecord,
    PersonRecord,
    ScannedReceiptRecord,
)

SCANNED = "receipt.scanned"
DISMISSED = "receipt.dismissed"
REMATCHED = "receipt.rematched"
PREVIEW_CHARS = 40  # how much of an unrecognised scan a pending list shows

ScanStatus = Literal[
    "matched", "already_claimed", "other_person", "no_person", "unmatched", "unrecognised",
    "repeat",
]
PendingKind = Literal["unmatched", "unrecognised", "other_person", "no_person"]
ClaimSource = Literal["district", "local", "feed"]

# The record's status for each outcome: what the clerk must still look at stays pending; a
# refused receipt was answered on the spot (the audit event keeps why) and is closed.
RECORD_STATUS: dict[ScanStatus, str] = {
    "matched": "matched",
    "repeat": "matched",
    "already_claimed": "dismissed",
    "other_person": "pending",
    "no_person": "pending",
    "unmatched": "pending",
    "unrecognised": "pending",
}

# The receipt fields matching uses (receipt_qr.MATCHING_FIELDS), as the clerk calls them.
FIELD_LABELS: dict[str, str] = {
    "issuer_code": "票据代码",
    "check_code": "校验码",
    "amount": "金额",
    "issue_date": "开票日期",
}

PENDING_LABELS: dict[PendingKind, str] = {
    "unmatched": "未找到费用记录",
    "unrecognised": "无法识别",
    "other_person": "属于其他对象",
    "no_person": "扫描时未打开对象",
}


class UnknownScan(LookupError):
    """No scan with this id; the message is in Chinese."""


@dataclass(frozen=True)
class ClaimHolder:
    """Who holds a receipt's fee row: the district registry, this counter, or the feed's flag."""

    source: ClaimSource
    street_code: str | None = None
    application_id: uuid.UUID | None = None
    claimed_at: datetime | None = None
    program: str | None = None
    handler: str | None = None  # the local application's handler


@dataclass(frozen=True)
class ScanOutcome:
    """What one scan came to; `message` is for the clerk, `person_id` is the row's person."""

    status: ScanStatus
    scan_id: uuid.UUID
    message: str
    fee_row_id: str | None = None
    person_id: str | None = None
    receipt: ParsedReceipt | None = None
    claim: ClaimHolder | None = None
    differences: tuple[str, ...] = ()  # receipt vs fee row (amount, date), in Chinese
    # the fields the matched receipt's text does not carry, so never compared (FIELD_LABELS)
    not_carried: tuple[str, ...] = ()


@dataclass(frozen=True)
class PendingScan:
    """A scan the clerk still has to resolve (match by hand, open the right person, dismiss)."""

    scan_id: uuid.UUID
    kind: PendingKind
    raw_text: str
    scanned_at: datetime
    clerk: str
    person_id: str | None  # whose counter session it was scanned in
    format: str | None
    issuer_code: str | None
    receipt_no: str | None
    check_code: str | None
    amount: Decimal | None
    receipt_date: date | None
    fee_row_id: str | None  # the row found, for a receipt of another person

    @property
    def label(self) -> str:
        return PENDING_LABELS[self.kind]

    @property
    def summary(self) -> str:
        """One line for the pending list: what it is, the receipt (or the text's start), when."""
        when = local_time(self.scanned_at)
        if self.receipt_no is None:
            return f"{self.label}：{preview(self.raw_text)}（{when}）"
        return f"{self.label}：票据 {self.receipt_no}（{when}）"


@dataclass(frozen=True)
class _Verdict:
    """Classification of a parsed receipt against the cache, before it is written."""

    status: ScanStatus
    message: str
    row: FeeRowRecord | None = None
    claim: ClaimHolder | None = None
    differences: tuple[str, ...] = ()
    not_carried: tuple[str, ...] = ()


# -- the use cases ------------------------------------------------------------------------------

def record_scan(store: Store, *, raw_text: str, clerk: str, person_id: str | None,
                now: datetime | None = None,
                session_started: datetime | None = None) -> ScanOutcome:
    """Keep, parse and match one scan in one transaction.

    `person_id` is the person open at the counter (None: nobody). A row already matched by a
    scan for this person since `session_started` (default: the start of today, Shanghai time)
    is a `repeat`.
    """
    now = _aware(now or datetime.now(UTC))
    since = _aware(session_started) if session_started is not None else _start_of_day(now)
    parsed = parse_receipt_text(raw_text)
    with store.session() as session:
        record = ScannedReceiptRecord(id=uuid.uuid4(), raw_text=raw_text, scanned_at=now,
                                      clerk=clerk, person_id=person_id)
        if isinstance(parsed, Unrecognised):
            verdict = _Verdict("unrecognised", _unrecognised_message(parsed))
        else:
            _keep_fields(record, parsed)
            verdict = _classify(session, parsed, person_id, repeat_since=since)
        _settle(record, verdict)
        session.add(record)
        session.flush()
        append_audit(session, clerk, SCANNED, f"scan:{record.id}",
                     _audit_detail(record, verdict, parsed), at=now, push=False)
    receipt = parsed if isinstance(parsed, ParsedReceipt) else None
    row = verdict.row
    return ScanOutcome(status=verdict.status, scan_id=record.id, message=verdict.message,
                       fee_row_id=None if row is None else row.id,
                       person_id=None if row is None else row.person_id, receipt=receipt,
                       claim=verdict.claim, differences=verdict.differences,
                       not_carried=verdict.not_carried)


def scan_owner(store: Store, raw_text: str) -> str | None:
    """Whose receipt a scan is, when nobody is open at the counter: the one person the cached
    rows for it belong to (None: unrecognised, not cached, or several persons' rows).

    Reads only; the counter opens that person and then records the scan for them."""
    parsed = parse_receipt_text(raw_text)
    if not isinstance(parsed, ParsedReceipt):
        return None
    with store.read_session() as session:
        owners = {row.person_id for row in _candidates(session, parsed)}
    return owners.pop() if len(owners) == 1 else None


def pending_scans(store: Store, *, person_id: str | None = None) -> list[PendingScan]:
    """The scans still pending, newest first; only those scanned for `person_id` if given."""
    query = select(ScannedReceiptRecord).where(ScannedReceiptRecord.status == "pending")
    if person_id is not None:
        query = query.where(ScannedReceiptRecord.person_id == person_id)
    query = query.order_by(ScannedReceiptRecord.scanned_at.desc(), ScannedReceiptRecord.id)
    with store.read_session() as session:
        return [_pending(record) for record in session.scalars(query)]


def dismiss_scan(store: Store, scan_id: uuid.UUID | str, *, clerk: str, reason: str) -> None:
    """Close a pending scan the clerk has resolved otherwise; the reason is required, audited."""
    if not reason.strip():
        raise ValueError("作废扫描记录须填写原因。")
    with store.session() as session:
        record = _scan(session, scan_id)
        if record.status != "pending":
            state = "已匹配" if record.status == "matched" else "已作废"
            raise ValueError(f"该扫描记录{state}，不能再作废。")
        record.status = "dismissed"
        append_audit(session, clerk, DISMISSED, f"scan:{record.id}",
                     {"reason": reason.strip(), "receipt_no": record.receipt_no},
                     push=False)


def rematch_pending(store: Store, *, clerk: str) -> int:
    """Try the pending unmatched scans again (after a sync brought rows); how many matched.

    A scan whose row turns out to be another person's stays pending (as such); one whose row is
    held by a claim is closed as refused, as it would have been when scanned.
    """
    matched = 0
    with store.session() as session:
        waiting = session.scalars(
            select(ScannedReceiptRecord)
            .where(ScannedReceiptRecord.status == "pending",
                   ScannedReceiptRecord.format.is_not(None),
                   ScannedReceiptRecord.person_id.is_not(None),
                   ScannedReceiptRecord.fee_row_id.is_(None))
            .order_by(ScannedReceiptRecord.scanned_at, ScannedReceiptRecord.id)).all()
        for record in waiting:
            parsed = parse_receipt_text(record.raw_text)
            if not isinstance(parsed, ParsedReceipt):
                continue
            verdict = _classify(session, parsed, record.person_id, repeat_since=None)
            if verdict.status == "unmatched":
                continue
            _settle(record, verdict)
            append_audit(session, clerk, REMATCHED, f"scan:{record.id}",
                         _audit_detail(record, verdict, parsed), push=False)
            if verdict.status == "matched":
                matched += 1
    return matched


# -- classifying a recognised receipt -----------------------------------------------------------

def _classify(session: Session, receipt: ParsedReceipt, person_id: str | None, *,
              repeat_since: datetime | None) -> _Verdict:
    candidates = _candidates(session, receipt)
    if person_id is None:
        return _no_person(session, receipt, candidates)
    mine = [row for row in candidates if row.person_id == person_id]
    if not mine and candidates:
        return _other_person(session, receipt, candidates[0])
    if len(mine) > 1:
        mine = _narrowed(mine, receipt)
    if len(mine) > 1:
        return _Verdict("unmatched", f"票据 {receipt.receipt_no} 对应多条费用记录，无法确定是"
                                     "哪一条，请在费用明细中手工勾选。已列入待处理。")
    if not mine:
        return _Verdict("unmatched", f"没有找到票据 {receipt.receipt_no} 的费用记录（区里可能"
                                     "尚未推送），已列入待处理，同步后可重新匹配。")
    return _for_row_of_person(session, receipt, mine[0], repeat_since)


def _for_row_of_person(session: Session, receipt: ParsedReceipt, row: FeeRowRecord,
                       repeat_since: datetime | None) -> _Verdict:
    holder = _holder(session, row)
    if holder is not None:
        return _Verdict("already_claimed", _claimed_message(holder), row, holder)
    if repeat_since is not None and _matched_before(session, row, repeat_since):
        return _Verdict("repeat", f"票据 {receipt.receipt_no} 已扫描并勾选，无需重复扫描。", row)
    differences = _differences(receipt, row)
    # What the receipt's format does not carry is said as such, never taken for a difference.
    not_carried = tuple(FIELD_LABELS[name] for name in receipt.not_carried)
    message = f"已匹配票据 {receipt.receipt_no}（{row.date.isoformat()}，{_yuan(row.total)} 元）。"
    if differences:
        message += "注意：" + "；".join(differences) + "。"
    if not_carried:
        message += f"票据未载明{'、'.join(not_carried)}，这几项未核对。"
    return _Verdict("matched", message, row, differences=differences, not_carried=not_carried)


def _candidates(session: Session, receipt: ParsedReceipt) -> list[FeeRowRecord]:
    """Cached rows for the receipt: by (issuer code, number), else by number alone.

    A row whose issuer code or check code contradicts the receipt is another receipt.
    """
    rows = [row for row in session.scalars(
        select(FeeRowRecord).where(FeeRowRecord.receipt_no == receipt.receipt_no)
        .order_by(FeeRowRecord.person_id, FeeRowRecord.date, FeeRowRecord.id))
        if _agrees(row.issuer_code, receipt.issuer_code)
        and _agrees(row.check_code, receipt.check_code)]
    exact = [row for row in rows
             if receipt.issuer_code is not None and row.issuer_code == receipt.issuer_code]
    return exact or rows


def _agrees(cached: str | None, scanned: str | None) -> bool:
    return cached is None or scanned is None or cached.casefold() == scanned.casefold()


def _narrowed(rows: list[FeeRowRecord], receipt: ParsedReceipt) -> list[FeeRowRecord]:
    """The rows whose amount and date agree with the receipt, when that tells them apart."""
    agreeing = [row for row in rows if not _differences(receipt, row)]
    return agreeing if agreeing else rows


def _differences(receipt: ParsedReceipt, row: FeeRowRecord) -> tuple[str, ...]:
    out = []
    if receipt.amount is not None and receipt.amount != row.total:
        # A VAT invoice's QR carries the amount before tax: a difference there is expected.
        note = "（增值税发票二维码中的金额通常不含税）" if receipt.amount_before_tax else ""
        out.append(f"票面金额 {_yuan(receipt.amount)} 元{note}与费用记录的 "
                   f"{_yuan(row.total)} 元不一致")
    if receipt.issue_date is not None and receipt.issue_date != row.date:
        out.append(f"开票日期 {receipt.issue_date.isoformat()} 与费用日期 "
                   f"{row.date.isoformat()} 不一致")
    return tuple(out)


def _holder(session: Session, row: FeeRowRecord) -> ClaimHolder | None:
    """Who holds the row: a district claim, a live application of this counter, the feed."""
    if row.claim_status in HOLDING_CLAIMS:
        return ClaimHolder("district", row.claimed_street, row.claimed_by_application,
                           row.claimed_at, row.claimed_program)
    local = session.scalars(
        select(ApplicationRecord)
        .join(ApplicationRowRecord, ApplicationRowRecord.application_id == ApplicationRecord.id)
        .where(ApplicationRowRecord.fee_row_id == row.id, ApplicationRecord.status.in_(LIVE))
        .order_by(ApplicationRecord.created_at)).first()
    if local is not None:
        return ClaimHolder("local", None, local.id, local.created_at, local.program,
                           local.created_by)
    if row.already_claimed:
        return ClaimHolder("feed")
    return None


def _matched_before(session: Session, row: FeeRowRecord, since: datetime) -> bool:
    earlier = session.scalars(
        select(ScannedReceiptRecord.id)
        .where(ScannedReceiptRecord.status == "matched",
               ScannedReceiptRecord.person_id == row.person_id,
               ScannedReceiptRecord.fee_row_id == row.id,
               ScannedReceiptRecord.scanned_at >= since)).first()
    return earlier is not None


def _no_person(session: Session, receipt: ParsedReceipt,
               candidates: Sequence[FeeRowRecord]) -> _Verdict:
    owners = {row.person_id for row in candidates}
    message = f"尚未打开对象，票据 {receipt.receipt_no} 已列入待处理。"
    if len(owners) == 1:
        row = candidates[0]
        message += f"该票据属于{_owner(session, row.person_id)}，请先打开该对象后再扫描。"
        return _Verdict("no_person", message, row)
    return _Verdict("no_person", message + "请先查找并打开对象后再扫描。")


def _other_person(session: Session, receipt: ParsedReceipt, row: FeeRowRecord) -> _Verdict:
    owner = _owner(session, row.person_id)
    return _Verdict("other_person", f"票据 {receipt.receipt_no} 属于{owner}，不是当前打开的"
                                    "对象，不能勾选。已列入待处理。", row)


def _owner(session: Session, person_id: str) -> str:
    person = session.get(PersonRecord, person_id)
    if person is None:
        return "另一位对象"
    return f"另一位对象（身份证号 {mask_id_number(person.id_number)}）"


# -- messages and records -----------------------------------------------------------------------

def _claimed_message(holder: ClaimHolder) -> str:
    if holder.source == "feed":
        return "区医保数据显示该票据已经报销，不能重复申请。"
    when = f"于 {local_time(holder.claimed_at)} " if holder.claimed_at is not None else ""
    if holder.source == "local":
        who = f"由本柜台（经办人 {holder.handler}）" if holder.handler else "由本柜台"
    else:
        who = f"由 {holder.street_code} " if holder.street_code else "由其他柜台"
    which = f"（申请 {short_id(holder.application_id)}）" if holder.application_id else ""
    return f"该票据已{when}{who}申请{which}，不能重复申请。"


def _unrecognised_message(parsed: Unrecognised) -> str:
    return f"无法识别扫描内容：{parsed.reason}已保留原文，列入待处理。"


def _keep_fields(record: ScannedReceiptRecord, receipt: ParsedReceipt) -> None:
    record.format = receipt.format
    record.issuer_code = receipt.issuer_code
    record.receipt_no = receipt.receipt_no
    record.check_code = receipt.check_code
    record.amount = receipt.amount
    record.receipt_date = receipt.issue_date


def _settle(record: ScannedReceiptRecord, verdict: _Verdict) -> None:
    record.status = RECORD_STATUS[verdict.status]
    record.fee_row_id = None if verdict.row is None else verdict.row.id


def _audit_detail(record: ScannedReceiptRecord, verdict: _Verdict,
                  parsed: ParsedReceipt | Unrecognised) -> dict[str, Any]:
    detail: dict[str, Any] = {
        "outcome": verdict.status,
        "format": record.format,
        "receipt_no": record.receipt_no,
        "issuer_code": record.issuer_code,
        "fee_row_id": record.fee_row_id,
        "person_id": record.person_id,
        "row_person_id": None if verdict.row is None else verdict.row.person_id,
        "raw_length": len(record.raw_text),
    }
    if isinstance(parsed, Unrecognised):
        detail["reason"] = parsed.reason
    if verdict.claim is not None:
        detail["held_by"] = {
            "source": verdict.claim.source, "street_code": verdict.claim.street_code,
            "application_id": None if verdict.claim.application_id is None
            else str(verdict.claim.application_id),
        }
    return detail


def _pending(record: ScannedReceiptRecord) -> PendingScan:
    return PendingScan(
        scan_id=record.id, kind=_pending_kind(record), raw_text=record.raw_text,
        scanned_at=record.scanned_at, clerk=record.clerk, person_id=record.person_id,
        format=record.format, issuer_code=record.issuer_code, receipt_no=record.receipt_no,
        check_code=record.check_code, amount=record.amount, receipt_date=record.receipt_date,
        fee_row_id=record.fee_row_id)


def _pending_kind(record: ScannedReceiptRecord) -> PendingKind:
    if record.format is None:
        return "unrecognised"
    if record.person_id is None:
        return "no_person"
    if record.fee_row_id is None:
        return "unmatched"
    return "other_person"


def _scan(session: Session, scan_id: uuid.UUID | str) -> ScannedReceiptRecord:
    try:
        key = scan_id if isinstance(scan_id, uuid.UUID) else uuid.UUID(scan_id)
    except ValueError:
        raise UnknownScan(f"没有这条扫描记录（{scan_id}）。") from None
    record = session.get(ScannedReceiptRecord, key)
    if record is None:
        raise UnknownScan(f"没有这条扫描记录（{scan_id}）。")
    return record


# -- small formats --------------------------------------------------------------------------------

def short_id(value: uuid.UUID) -> str:
    """An application id as clerks read it out: its first 8 characters and an ellipsis."""
    return f"{str(value)[:8]}…"


def preview(text: str) -> str:
    """The start of a raw scan, on one line, for lists."""
    flat = " ".join(text.split())
    return flat if len(flat) <= PREVIEW_CHARS else flat[:PREVIEW_CHARS] + "…"


def _yuan(amount: Decimal) -> str:
    return f"{amount:,.2f}"


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def _start_of_day(now: datetime) -> datetime:
    return datetime.combine(now.astimezone(SHANGHAI).date(), time(), tzinfo=SHANGHAI)


__all__ = [
    "FIELD_LABELS",
    "PENDING_LABELS",
    "ClaimHolder",
    "PendingKind",
    "PendingScan",
    "ScanOutcome",
    "ScanStatus",
    "UnknownScan",
    "dismiss_scan",
    "pending_scans",
    "preview",
    "record_scan",
    "rematch_pending",
    "scan_owner",
    "short_id",
]
