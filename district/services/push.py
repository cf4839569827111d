"""Apply pushed outbox items exactly once each, by idempotency key.

An item's effect, its changes and the record of its key with the result commit together or not
at all (a request's items in one transaction, each in a savepoint). A key seen before answers
"duplicate" with the first result, so a push repeated after a lost answer, a crash or a kill
changes nothing twice. The key is bound to the SHA-256 of the item's canonical kind and payload
(`body_sha256`): a key used again with another body is refused as a whole request
(IdempotencyKeyReused, HTTP 409), never answered "duplicate" with the new body dropped. Keys
recorded before the hash was kept (NULL) cannot be told apart, and count as the same body.

A write refused by the database because another transaction got there first (the same key, or
a claim on the same fee row) is simply checked again: the second look sees the winner and
answers accordingly.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.exc import DataError, IntegrityError, OperationalError
from sqlalchemy.orm import Session

from desktop import wire
from desktop.domain.signing import canonical_json, sha256_hex
from district import models
from district.changelog import (
    Held,
    PendingChange,
    application_change,
    held_by,
    held_change,
    record_changes,
)
from district.db import Database
from district.services import deferred, prefetch
from district.services.applications import apply_application
from district.services.audit import apply_audit_event
from district.services.commitments import apply_commitment, apply_revocation
from district.services.enrolment import apply_enrolment
from district.services.outcome import (
    APPLICATIONS_HELD,
    EXISTING_APPLICATIONS,
    EXISTING_EVENTS,
    LOCKED_APPLICATIONS,
    Caller,
    Outcome,
    Refusal,
)
from district.services.returns import apply_return
from district.services.signatures import apply_signature
from district.services.withdrawals import apply_withdrawal
from district.values import utcnow

log = logging.getLogger(__name__)
Handler = Callable[[Session, Caller, wire.OutboxItem, datetime], Outcome]
HANDLERS: dict[str, Handler] = {
    "application": apply_application,
    "signature": apply_signature,
    "audit_event": apply_audit_event,
    "enrolment": apply_enrolment,
    "withdrawal": apply_withdrawal,
    "return": apply_return,
    "commitment": apply_commitment,
    "revocation": apply_revocation,
}
_ATTEMPTS = 5
_RECORDED = "push_keys_recorded"  # session.info: the keys a lookup may find
# session.info: the request's own records of its keys, written together after its last item
_WRITTEN = "push_items_written"
# Kinds whose acceptance changes an application's state: its street's counters are told (an
# accepted application records its own change, from what it holds).
_MOVES_APPLICATION = frozenset({"signature", "return", "withdrawal"})
# Kinds whose rows wait for the request's end in a request (district.services.deferred)
_DEFERS_ROWS = frozenset({"application", "audit_event"})
# Kinds applied without a savepoint in a request: they refuse only before they write (or
# their rows wait in the buffer); a write the database refuses fails the request, which is
# then applied again item by item, each in its savepoint
_NO_SAVEPOINT = _DEFERS_ROWS | {"signature"}


class IdempotencyKeyReused(Exception):
    """A request's item reuses a key already bound to another body: nothing of it is applied."""

    def __init__(self, index: int, key: str) -> None:
        super().__init__(f"idempotency key {key} reused with another body (item {index})")
        self.index = index
        self.key = key


class UnhashableItem(Exception):
    """An item whose payload has no canonical JSON (NaN, Infinity)."""

    def __init__(self, index: int) -> None:
        super().__init__(f"item {index} has no canonical JSON")
        self.index = index


def body_sha256(item: wire.OutboxItem) -> str:
    """What a key is bound to: the item's kind and payload, not when it was queued (a counter
    resends the same item, but its created_at may come back from its store reformatted)."""
    return sha256_hex(canonical_json({"kind": item.kind, "payload": item.payload}))


def _hashes(push: wire.Push) -> list[str]:
    hashes = []
    for index, item in enumerate(push.items):
        try:
            hashes.append(body_sha256(item))
        except (ValueError, RecursionError):
            raise UnhashableItem(index) from None
    return hashes


def _check_keys(session: Session, push: wire.Push, hashes: list[str]) -> set[str]:
    """Raise IdempotencyKeyReused if any item's key is bound to another body, by an earlier
    request or by an earlier item of this one; before anything of the request is applied.
    Returns the keys an earlier request recorded."""
    seen: dict[str, str] = {}
    keys = [str(item.idempotency_key) for item in push.items]
    known = {row.idempotency_key: row.body_sha256 for row in session.scalars(
        select(models.PushItem).where(models.PushItem.idempotency_key.in_(set(keys))))
    } if keys else {}
    for index, (key, digest) in enumerate(zip(keys, hashes, strict=True)):
        bound = seen.setdefault(key, known.get(key) or digest)
        if bound != digest:
            raise IdempotencyKeyReused(index, key)
    return set(known)


def apply_push(db: Database, caller: Caller, push: wire.Push) -> wire.PushResult:
    """Apply a request's items in one transaction, each in a savepoint of its own.

    One commit per request instead of one per item: a commit waits for the disk, and a
    counter pushing a day's work sends hundreds of items. Each item keeps its own outcome (a
    refusal rolls back that item's savepoint only). If the transaction hits a race (another
    counter's transaction took the same key or fee row first), nothing of it is kept and the
    items are applied again one transaction each, which check again and see the winner.
    """
    hashes = _hashes(push)
    try:
        with db.write() as session:
            # keys recorded before: only these (and this request's own) are looked up again
            session.info[_RECORDED] = _check_keys(session, push, hashes)
            written: dict[str, models.PushItem] = session.info.setdefault(_WRITTEN, {})
            _prefetch(session, push)
            rows = deferred.start(session)
            changes: list[PendingChange] = []
            results = [_apply_once(session, caller, item, digest, index, changes)
                       for index, (item, digest) in enumerate(zip(push.items, hashes,
                                                                  strict=True))]
            rows.write(session)
            # one statement for the request's keys (the primary key still refuses a key
            # another transaction recorded first: the race is handled below)
            session.execute(insert(models.PushItem), [_columns(p) for p in written.values()])
            # the request's changes get their numbers together, as the last step before the
            # commit (district.changelog): one counter update instead of one per item
            record_changes(session, changes)
    # a race, a deadlock (PostgreSQL 40P01), or a value the database refused when the
    # request's rows were written together: each item again, on its own
    except (IntegrityError, OperationalError, DataError):
        log.info("push batch raced another transaction; applying item by item",
                 extra={"device_id": caller.device_id, "items": len(push.items)})
        with db.read() as session:
            _check_keys(session, push, hashes)
        return wire.PushResult(results=[apply_item(db, caller, item, index)
                                        for index, item in enumerate(push.items)])
    except IdempotencyKeyReused as reused:
        log.warning("idempotency key reused with another body; request refused", extra={
            "idempotency_key": reused.key, "device_id": caller.device_id,
            "user": caller.username})
        raise
    for item, result in zip(push.items, results, strict=True):
        _log_applied(caller, item, result)
    return wire.PushResult(results=results)


def _prefetch(session: Session, push: wire.Push) -> None:
    """What the request's items look up one by one, read in one query each: which of the
    applications and audit events they add exist already (district.services.applications,
    district.services.audit keep the sets up to date as they add)."""
    ids: dict[str, set[str]] = {"application": set(), "audit_event": set()}
    for item in push.items:
        field = {"application": "application_id", "audit_event": "event_id"}.get(item.kind)
        value = item.payload.get(field) if field else None
        if isinstance(value, str):
            ids[item.kind].add(value)
    session.info[EXISTING_APPLICATIONS] = set(session.scalars(select(
        models.Application.id).where(models.Application.id.in_(ids["application"])))
    ) if ids["application"] else set()
    session.info[EXISTING_EVENTS] = set(session.scalars(select(
        models.AuditEvent.event_id).where(models.AuditEvent.event_id.in_(ids["audit_event"])))
    ) if ids["audit_event"] else set()
    prefetch.prefetch(session, [item.payload for item in push.items
                                if item.kind == "application"])
    # the applications the request's signatures, send-backs and withdrawals name, locked in
    # key order (as persons are) and held by the session, with their signatures
    named = sorted({value for item in push.items if item.kind in _MOVES_APPLICATION
                    for value in [item.payload.get("application_id")]
                    if isinstance(value, str)})
    if named:
        found = session.scalars(select(models.Application).where(
            models.Application.id.in_(named)).order_by(models.Application.id)
            .with_for_update()).all()
        # held here too: the session's identity map alone keeps them only weakly
        session.info[LOCKED_APPLICATIONS] = {a.id: a for a in found}
        session.info[APPLICATIONS_HELD] = held_by(session, [a.id for a in found])


def apply_item(db: Database, caller: Caller, item: wire.OutboxItem,
               index: int = 0) -> wire.ItemResult:
    """One item in a transaction of its own, checked again after a race. A key bound to
    another body by a request that raced this one raises IdempotencyKeyReused (the items
    before it, each in its own transaction, stay applied)."""
    key = str(item.idempotency_key)
    digest = body_sha256(item)
    for _ in range(_ATTEMPTS):
        try:
            with db.write() as session:
                result = _apply_once(session, caller, item, digest, index)
        except (IntegrityError, OperationalError):
            log.info("push item raced another transaction; checking again",
                     extra={"idempotency_key": key, "device_id": caller.device_id})
            continue
        _log_applied(caller, item, result)
        return result
    raise RuntimeError(f"push item {key} kept conflicting after {_ATTEMPTS} attempts")


def _apply_once(session: Session, caller: Caller, item: wire.OutboxItem, digest: str,
                index: int = 0, changes: list[PendingChange] | None = None
                ) -> wire.ItemResult:
    """The item's effect, its changes and the record of its key, in the session's transaction.
    The changes are recorded now, or added to `changes` for the caller to record."""
    key = str(item.idempotency_key)
    recorded: set[str] | None = session.info.get(_RECORDED)
    written: dict[str, models.PushItem] | None = session.info.get(_WRITTEN)
    earlier = (written.get(key) if written is not None and key in written
               else session.get(models.PushItem, key) if recorded is None or key in recorded
               else None)
    if earlier is not None:
        if earlier.body_sha256 not in (None, digest):
            raise IdempotencyKeyReused(index, key)
        return _duplicate(item, earlier, caller)
    outcome = _apply(session, caller, item)
    record = models.PushItem(
        idempotency_key=key, device_id=caller.device_id, username=caller.username,
        kind=item.kind, status=outcome.status, reason=outcome.reason,
        message=outcome.message, detail=outcome.detail, received_at=utcnow(),
        body_sha256=digest)
    if written is not None:  # the next item of the request sees it there
        written[key] = record
    else:
        session.add(record)
    if changes is None:
        record_changes(session, outcome.changes)
    else:
        changes.extend(outcome.changes)
    return wire.ItemResult(idempotency_key=item.idempotency_key, status=outcome.status,
                           reason=outcome.reason, message=outcome.message,
                           detail=outcome.detail)


def _columns(record: models.PushItem) -> dict[str, Any]:
    return {column.key: getattr(record, column.key)
            for column in models.PushItem.__mapper__.column_attrs}


def _log_applied(caller: Caller, item: wire.OutboxItem, result: wire.ItemResult) -> None:
    log.info("push item applied", extra={
        "idempotency_key": str(item.idempotency_key), "kind": item.kind,
        "status": result.status, "reason": result.reason, "device_id": caller.device_id,
        "user": caller.username})


def _apply(session: Session, caller: Caller, item: wire.OutboxItem) -> Outcome:
    if caller.protocol < wire.KINDS_SINCE.get(item.kind, 0):
        # a counter of an older protocol never sends it: refused before anything is read
        return Outcome("refused", "protocol_outdated",
                       "柜台程序版本过旧，不能提交此项，请升级柜台程序。",
                       {"kind": item.kind, "since": wire.KINDS_SINCE[item.kind]})
    now = utcnow()
    kept = deferred.pending(session)
    if kept is not None and item.kind not in _DEFERS_ROWS:
        # it reads (and may change) what the items before it added
        kept.write(session)
    if kept is not None and item.kind in _NO_SAVEPOINT:
        # no savepoint: it refuses only before it adds anything, and what an application or
        # an audit event adds waits in the request's buffer (district.services.deferred)
        try:
            outcome = HANDLERS[item.kind](session, caller, item, now)
        except Refusal as refusal:
            return refusal.outcome()
        _moved(session, outcome, item)
        return outcome
    try:
        with session.begin_nested():
            outcome = HANDLERS[item.kind](session, caller, item, now)
    except Refusal as refusal:
        return refusal.outcome()
    except DataError:  # e.g. a NUL byte PostgreSQL's text columns cannot hold: the item only
        log.info("push item refused by the database", extra={
            "idempotency_key": str(item.idempotency_key), "device_id": caller.device_id})
        return Outcome("refused", "invalid_payload",
                       "提交的内容含有无法保存的字符或数值，请联系管理员。", {"field": "payload"})
    _moved(session, outcome, item)
    return outcome


def _moved(session: Session, outcome: Outcome, item: wire.OutboxItem) -> None:
    """An accepted item that moved an application: its street's counters learn its new state.
    A signature in a request tells it from what the request holds of the application (no
    statement); a send-back or a withdrawal (rare) reads it again, and what the request held
    of that application is dropped."""
    if outcome.status != "accepted" or item.kind not in _MOVES_APPLICATION:
        return
    application = session.get(models.Application, (outcome.detail or {})["application_id"])
    if application is None:
        return
    held: dict[str, Held] = session.info.get(APPLICATIONS_HELD) or {}
    if item.kind == "signature" and application.id in held:
        outcome.changes.append(held_change(application, held[application.id]))
        return
    held.pop(application.id, None)
    outcome.changes.append(application_change(session, application))


def _duplicate(item: wire.OutboxItem, earlier: models.PushItem,
               caller: Caller) -> wire.ItemResult:
    if earlier.device_id != caller.device_id or earlier.kind != item.kind:
        return wire.ItemResult(
            idempotency_key=item.idempotency_key, status="refused",
            reason="idempotency_key_reused",
            message="该提交编号已被其他内容使用，请联系管理员。",
            detail={"kind": earlier.kind})
    detail: dict[str, Any] = dict(earlier.detail or {})
    detail["original_status"] = earlier.status
    return wire.ItemResult(idempotency_key=item.idempotency_key, status="duplicate",
                           reason=earlier.reason, message=earlier.message, detail=detail)
