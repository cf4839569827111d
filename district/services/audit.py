"""Audit events from the counters: appended, never changed, and chained twice.

Each counter sends its events in order, each with the hash of the previous one it sent and its
own (desktop.domain.audit_chain). The district recomputes the event's hash from its content and
refuses a mismatch; it keeps an event whose link to the device's previous event is broken (the
counter's trail was cut or rewritten: nothing is lost) and `python -m district audit verify`
names it. The district also chains every row it keeps, in the order it keeps them (chain_seq):
the change counter's row lock hands the numbers out one writer at a time, without gaps.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from desktop import wire
from desktop.domain.audit_chain import (
    DETAIL_LIMIT,
    SENT,
    AuditContent,
    ChainBreak,
    Problem,
    audit_row_hash,
    detail_size,
    district_row_hash,
)
from district import models
from district.services import deferred
from district.services.applications import parse_payload
from district.services.outcome import (
    EXISTING_EVENTS,
    Caller,
    Outcome,
    Refusal,
    known_absent,
    note_added,
)
from district.values import as_aware

log = logging.getLogger(__name__)
LIMITS = (("actor", 64), ("action", 64), ("subject", 128))


def apply_audit_event(session: Session, caller: Caller, item: wire.OutboxItem,
                      now: datetime) -> Outcome:
    payload = parse_payload(wire.AuditEventPayload, item.payload)
    event_id = str(payload.event_id)
    for name, limit in LIMITS:
        if len(getattr(payload, name)) > limit:
            raise Refusal("invalid_payload", f"审计事件的 {name} 超过 {limit} 个字符。",
                          {"field": name})
    if detail_size(payload.detail) > DETAIL_LIMIT:
        raise Refusal("invalid_payload", f"审计事件的 detail 超过 {DETAIL_LIMIT} 字节。",
                      {"field": "detail"})
    absent = known_absent(session, EXISTING_EVENTS, event_id)
    if absent is False or (absent is None
                           and session.get(models.AuditEvent, event_id) is not None):
        raise Refusal("event_exists", "该审计事件已经记录过。", {"event_id": event_id})
    content = AuditContent(event_id, as_aware(payload.at), payload.actor, payload.action,
                           payload.subject, payload.detail)
    _check_counter_hash(payload, content)

    # A push applies hundreds of events in one transaction, which holds the chain's lock from
    # its first event on: the chain's end and the device's last event are read once, then
    # carried along (session.info lives as long as the transaction's session).
    chain: dict[str, tuple[int, str | None]] = session.info.setdefault("audit_chain_end", {})
    devices: dict[str, models.AuditEvent | None] = session.info.setdefault(
        "audit_device_last", {})
    if "district" in chain:
        last_seq, prev_hash = chain["district"]
        seq = last_seq + 1
    else:
        seq, prev_hash = _next_in_chain(session)
    previous = (devices[caller.device_id] if caller.device_id in devices
                else _device_last(session, caller.device_id))
    actor_proven = payload.actor == caller.username
    row = models.AuditEvent(
        event_id=event_id, at=content.at, actor=payload.actor, action=payload.action,
        subject=payload.subject, detail=payload.detail, device_id=caller.device_id,
        street_code=caller.street_code, received_at=now, chain_seq=seq, prev_hash=prev_hash,
        counter_prev_hash=payload.prev_hash, counter_row_hash=payload.row_hash,
        reported_by=caller.username, actor_proven=actor_proven)
    row.row_hash = _district_hash(row)
    kept = deferred.pending(session)
    if kept is not None:  # written with the request's other rows (district.services.deferred)
        kept.add(row)
    else:
        session.add(row)
        session.flush()  # a row the database refuses fails here, before the heads move on
    note_added(session, EXISTING_EVENTS, event_id)
    chain["district"] = (seq, row.row_hash)
    devices[caller.device_id] = row
    broken = _link_problem(previous, payload.prev_hash, payload.row_hash)
    if broken is None:
        return Outcome("accepted")
    log.warning("audit chain broken on a counter", extra={
        "device_id": caller.device_id, "event_id": event_id, "problem": broken})
    return Outcome("accepted", detail={"audit_chain": broken})


def record_console_event(session: Session, actor: str, action: str, subject: str,
                         detail: dict[str, Any], now: datetime,
                         street_code: str | None = None) -> models.AuditEvent:
    """An action taken in the district console (district/console), in the district's chain
    like every counter's event: no PC, the street concerned if any, the actor proven by the
    console's own sign-in."""
    for name, limit in LIMITS:
        value = {"actor": actor, "action": action, "subject": subject}[name]
        if len(value) > limit:
            raise ValueError(f"console audit {name} over {limit} characters: {value!r}")
    chain: dict[str, tuple[int, str | None]] = session.info.setdefault("audit_chain_end", {})
    if "district" in chain:
        last_seq, prev_hash = chain["district"]
        seq = last_seq + 1
    else:
        seq, prev_hash = _next_in_chain(session)
    row = models.AuditEvent(
        event_id=str(uuid.uuid4()), at=now, actor=actor, action=action, subject=subject,
        detail=detail, device_id=None, street_code=street_code, received_at=now,
        chain_seq=seq, prev_hash=prev_hash, reported_by=actor, actor_proven=True)
    row.row_hash = _district_hash(row)
    session.add(row)
    session.flush()
    chain["district"] = (seq, row.row_hash)
    return row


def _check_counter_hash(payload: wire.AuditEventPayload, content: AuditContent) -> None:
    if payload.row_hash is None and payload.prev_hash is None:
        return  # a counter from before the chain: kept, outside it
    expected = None
    if payload.row_hash is not None and payload.at.tzinfo is not None:
        expected = audit_row_hash(content, payload.prev_hash, SENT)
    if expected is None or expected != payload.row_hash:
        raise Refusal("audit_hash_mismatch",
                      "审计事件的哈希与其内容不符，未予记录。请联系管理员检查这台电脑。",
                      {"event_id": content.event_id})


def _next_in_chain(session: Session) -> tuple[int, str | None]:
    """The next chain_seq and the last row's hash, under the change counter's row lock.

    The lock is the one every change writer takes (district.changelog): one lock, so two
    writers never take two locks in opposite orders. On SQLite the writers are serialised
    anyway. Under the lock the latest committed row is the last of the chain."""
    session.execute(select(models.ChangeCounter.id)
                    .where(models.ChangeCounter.id == 1).with_for_update()).scalar_one()
    last = session.execute(
        select(models.AuditEvent.chain_seq, models.AuditEvent.row_hash)
        .where(models.AuditEvent.chain_seq.is_not(None))
        .order_by(models.AuditEvent.chain_seq.desc()).limit(1)).first()
    if last is None or last[0] is None:
        return 1, None
    return int(last[0]) + 1, last[1]


def _device_last(session: Session, device_id: str) -> models.AuditEvent | None:
    return session.scalars(
        select(models.AuditEvent)
        .where(models.AuditEvent.device_id == device_id,
               models.AuditEvent.chain_seq.is_not(None))
        .order_by(models.AuditEvent.chain_seq.desc())
        .limit(1)).first()


def _link_problem(previous: models.AuditEvent | None, prev_hash: str | None,
                  row_hash: str | None) -> str | None:
    """Whether an event continues its device's chain: None, or what is wrong."""
    if row_hash is None:
        # an event without hashes after hashed ones: the counter stopped chaining
        return "missing_hash" if previous is not None and previous.counter_row_hash else None
    if previous is None or previous.counter_row_hash is None:
        return None  # the device's first chained event: its chain starts wherever it starts
    return None if prev_hash == previous.counter_row_hash else "link_broken"


def _content(row: models.AuditEvent) -> AuditContent:
    return AuditContent(row.event_id, row.at, row.actor, row.action, row.subject, row.detail)


def _district_hash(row: models.AuditEvent) -> str:
    assert row.chain_seq is not None
    return district_row_hash(
        _content(row), row.prev_hash, chain_seq=row.chain_seq, device_id=row.device_id or "",
        street_code=row.street_code or "", received_at=row.received_at, reported_by=row.reported_by,
        actor_proven=row.actor_proven, counter_prev_hash=row.counter_prev_hash,
        counter_row_hash=row.counter_row_hash)


# -- verification -------------------------------------------------------------------------------

@dataclass
class AuditVerdict:
    """What `audit verify` found: rows read, the chain's end, and every break (first first)."""

    rows: int = 0
    unchained: int = 0  # rows from before the chain (migration 0004)
    last_seq: int | None = None
    last_hash: str | None = None
    problems: list[ChainBreak] = field(default_factory=list)
    device_heads: dict[str, str] = field(default_factory=dict)  # device -> its last counter hash

    @property
    def intact(self) -> bool:
        return not self.problems


def verify_audit_trail(session: Session, limit: int = 50) -> AuditVerdict:
    """Walk the district's chain in chain_seq order and each device's counter chain within it."""
    verdict = AuditVerdict()
    verdict.unchained = session.scalar(
        select(func.count()).select_from(models.AuditEvent)
        .where(models.AuditEvent.chain_seq.is_(None))) or 0
    expected_seq = 1
    prev_hash: str | None = None
    devices: dict[str, models.AuditEvent] = {}  # each device's previous chained event
    for row in _chained(session):
        verdict.rows += 1
        origin = "区管理台" if row.device_id is None else f"电脑 {row.device_id}"
        where = f"第 {row.chain_seq} 号事件 {row.event_id}（{origin}）"

        def report(problem: Problem, message: str, row: models.AuditEvent = row) -> None:
            if len(verdict.problems) < limit:
                verdict.problems.append(ChainBreak(problem, message, row.chain_seq, row.event_id,
                                                   row.device_id))

        seq = row.chain_seq or 0
        if seq != expected_seq:
            report("sequence_gap", f"{where}之前缺少第 {expected_seq}–{seq - 1} 号："
                                   "区里的审计记录被删除了。")
        if row.prev_hash != prev_hash:
            report("link_broken",
                   f"{where}的上一行哈希对不上：区里的审计记录被删除、插入或改动了。")
        if row.row_hash != _district_hash(row):
            report("content_changed",
                   f"{where}的内容与区里记下的哈希不符：这一行在区里被改过。")
        if row.counter_row_hash is not None and (
                audit_row_hash(_content(row), row.counter_prev_hash, SENT)
                != row.counter_row_hash):
            report("content_changed",
                   f"{where}的内容与柜台发来的哈希不符：这一行在区里被改过。")
        expected_seq = seq + 1
        prev_hash = row.row_hash
        verdict.last_seq, verdict.last_hash = row.chain_seq, row.row_hash
        if row.device_id is None:
            continue  # the console's own event: in the district's chain only
        previous = devices.get(row.device_id)
        link = _link_problem(previous, row.counter_prev_hash, row.counter_row_hash)
        if link == "link_broken":
            report("link_broken", f"{where}没有接上这台电脑的上一条事件"
                                  f"{'' if previous is None else ' ' + previous.event_id}："
                                  "柜台上的审计记录被删除、插入或改写过。")
        elif link == "missing_hash":
            report("missing_hash",
                   f"{where}没有哈希，而这台电脑之前的事件都有：柜台停止了审计链。")
        devices[row.device_id] = row
    verdict.device_heads = {device: row.counter_row_hash for device, row in devices.items()
                            if row.counter_row_hash is not None}
    return verdict


def _chained(session: Session) -> Iterator[models.AuditEvent]:
    yield from session.scalars(
        select(models.AuditEvent)
        .where(models.AuditEvent.chain_seq.is_not(None))
        .order_by(models.AuditEvent.chain_seq)
        .execution_options(yield_per=2000))


def describe(verdict: AuditVerdict) -> list[str]:
    """The verdict as lines: English keys, Chinese explanations."""
    lines = [f"status: {'intact' if verdict.intact else 'broken'}"
             f"  （审计链{'完整' if verdict.intact else '断裂'}）",
             f"rows_checked: {verdict.rows}",
             f"unchained_rows: {verdict.unchained}  （链建立之前的旧记录，不在链内）",
             f"last_chain_seq: {verdict.last_seq}", f"last_row_hash: {verdict.last_hash}"]
    for n, problem in enumerate(verdict.problems, 1):
        lines += [f"problem[{n}]: {problem.problem}", f"  chain_seq: {problem.row_id}",
                  f"  event_id: {problem.event_id}", f"  device_id: {problem.device_id}",
                  f"  说明: {problem.message}"]
    return lines
