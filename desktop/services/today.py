"""今日受理 and 待上传: the counter's applications of a day (or days) in the office's words, and
what waits in the outbox to go to the district, each item said in words with its age.

Read-only: the 今日受理 tab and the 待上传 list show what these return; nothing here writes.
An application's state as the clerk sees it (GLOSSARY: 待上传 / 已受理 / 已审核 / 已审批 /
已发放 / 退回 / 已撤回, and 被拒 for one the district refused) comes from its status and
whether its own outbox item has reached the district yet.
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from desktop.domain.audit_words import AUDIT_ACTION_LABELS
from desktop.domain.clock import SHANGHAI
from desktop.policy.labels import PROGRAM_LABELS
from desktop.policy.model import Program
from desktop.store import Store
from desktop.store.models import (
    ApplicationRecord,
    OutboxRecord,
    PersonRecord,
    UserRecord,
)

# the state a clerk sees -> its words (GLOSSARY.md)
STATE_LABELS = {
    "waiting": "待上传",
    "accepted": "已受理",
    "reviewed": "已审核",
    "approved": "已审批",
    "paid": "已发放",
    "returned": "退回",
    "withdrawn": "已撤回",
    "refused": "被拒",
}
# ApplicationRecord.status -> the clerk's state, once its application item has been delivered
_STATE_OF_STATUS = {
    "saved": "accepted",  # delivered, the district's verdict not applied yet
    "submitted": "accepted",
    "accepted": "accepted",
    "reviewed": "reviewed",
    "approved": "approved",
    "paid": "paid",
    "returned": "returned",
    "withdrawn": "withdrawn",
    "review": "refused",  # the district did not accept it; the reason is its server_message
    "refused": "refused",
}
NEXT_STEPS = {
    "waiting": "待上传（联网后自动上传）",
    "accepted": "待审核人签名",
    "reviewed": "待审批人签名",
    "approved": "待区里发放",
    "paid": "—",
    "returned": "请按退回原因处理",
    "withdrawn": "—",
    "refused": "请核查区里的原因",
}
OUTBOX_KIND_LABELS = {
    "application": "申请",
    "signature": "签名",
    "return": "退回",
    "withdrawal": "撤回",
    "enrolment": "互助帮困登记",
    "audit_event": "审计记录",
}
SIGNER_LABELS = {"handler": "经办人", "reviewer": "审核人", "approver": "审批人"}
# what an audit record waiting in 待上传 is about: desktop.domain.audit_words (the console's
# audit page says the same); an action not listed is just "审计记录"
NO_PERSON_ACTORS = {"district", "system"}  # actors that are no one's login


@dataclass(frozen=True)
class TodayEntry:
    """One application in the 今日受理 list."""

    application_id: uuid.UUID
    number: str  # the human number, else a short form of the id
    person_id: str
    person_name: str
    program: str
    program_label: str
    payable: Decimal
    state: str  # a key of STATE_LABELS
    state_label: str
    next_step: str
    handler: str  # the 经办人's display name
    created_at: datetime
    waiting: int  # its outbox items not yet delivered (the application, signatures, …)


@dataclass(frozen=True)
class WaitingItem:
    """One outbox item not yet delivered, as the 待上传 list shows it."""

    key: uuid.UUID
    kind: str
    what: str  # e.g. "申请 张三 1,234.50 元"
    created_at: datetime
    age: str  # e.g. "3 小时前"
    attempts: int
    last_error: str | None


def format_amount(value: Decimal | str) -> str:
    """1234.5 -> "1,234.50" (as desktop.services.counter writes amounts on screen)."""
    return f"{Decimal(value):,.2f}"


def short_number(application: ApplicationRecord) -> str:
    return application.number or str(application.id)[:8].upper()


def day_bounds(first: date, last: date) -> tuple[datetime, datetime]:
    """The instants [start, end) of Shanghai days first..last, in UTC."""
    start = datetime.combine(first, time(), tzinfo=SHANGHAI).astimezone(UTC)
    end = datetime.combine(last + timedelta(days=1), time(), tzinfo=SHANGHAI).astimezone(UTC)
    return start, end


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _application_ids_waiting(items: Iterable[OutboxRecord]) -> dict[str, list[str]]:
    """application id (text) -> the kinds of its undelivered items."""
    waiting: dict[str, list[str]] = {}
    for item in items:
        key = item.payload.get("application_id") if isinstance(item.payload, dict) else None
        if key:
            waiting.setdefault(str(key), []).append(item.kind)
    return waiting


def _undelivered(session: Session) -> list[OutboxRecord]:
    return list(session.scalars(select(OutboxRecord).where(OutboxRecord.delivered_at.is_(None))
                                .order_by(OutboxRecord.id)))


def _display_names(session: Session, usernames: set[str]) -> dict[str, str]:
    if not usernames:
        return {}
    users = session.scalars(select(UserRecord).where(UserRecord.username.in_(usernames)))
    return {u.username: u.display_name for u in users}


def _person_names(session: Session, person_ids: set[str]) -> dict[str, str]:
    if not person_ids:
        return {}
    persons = session.scalars(select(PersonRecord).where(PersonRecord.id.in_(person_ids)))
    return {p.id: p.name for p in persons}


def _program_label(program: str) -> str:
    try:
        return PROGRAM_LABELS[Program(program)]
    except ValueError:
        return program


def state_of(status: str, application_waiting: bool) -> str:
    """The clerk's state of an application: 待上传 while its own item has not reached the
    district and nothing later (a return, a withdrawal) has replaced it."""
    if application_waiting and status in ("saved", "submitted", "draft"):
        return "waiting"
    return _STATE_OF_STATUS.get(status, "accepted" if not application_waiting else "waiting")


def _next_step(state: str, waiting_kinds: list[str], server_message: str | None) -> str:
    step = NEXT_STEPS[state]
    if state == "refused" and server_message:
        step = f"请核查：{server_message}"
    others = [k for k in waiting_kinds if k != "application" or state != "waiting"]
    if others:
        words = "、".join(dict.fromkeys(OUTBOX_KIND_LABELS.get(k, k) for k in others))
        step = f"{step}（{words}待上传）"
    return step


def todays_work(store: Store, first: date, last: date | None = None) -> list[TodayEntry]:
    """This counter's applications made on Shanghai days first..last (default: that one day),
    oldest first, each with its state and next step in the office's words."""
    start, end = day_bounds(first, last or first)
    with store.read_session() as session:
        applications = list(session.scalars(
            select(ApplicationRecord)
            .where(ApplicationRecord.created_at >= start, ApplicationRecord.created_at < end,
                   ApplicationRecord.status != "draft")
            .order_by(ApplicationRecord.created_at, ApplicationRecord.id)))
        waiting = _application_ids_waiting(_undelivered(session))
        handlers = _display_names(session, {a.created_by for a in applications})
        names = _person_names(session, {a.person_id for a in applications
                                        if not (a.applicant or {}).get("name")})
        entries = []
        for a in applications:
            kinds = waiting.get(str(a.id), [])
            state = state_of(a.status, "application" in kinds)
            name = (a.applicant or {}).get("name") or names.get(a.person_id) or "（未知）"
            entries.append(TodayEntry(
                application_id=a.id, number=short_number(a), person_id=a.person_id,
                person_name=str(name), program=a.program, program_label=_program_label(a.program),
                payable=a.payable, state=state, state_label=STATE_LABELS[state],
                next_step=_next_step(state, kinds, a.server_message),
                handler=handlers.get(a.created_by, a.created_by),
                created_at=_aware(a.created_at), waiting=len(kinds)))
        return entries


def application_person(store: Store, application_id: uuid.UUID) -> tuple[str, str]:
    """(person_id, program) of an application; LookupError in Chinese when there is none."""
    with store.read_session() as session:
        a = session.get(ApplicationRecord, application_id)
        if a is None:
            raise LookupError("本机没有这份申请。")
        return a.person_id, a.program


# -- 待上传 ----------------------------------------------------------------------------------------

def age_words(delta: timedelta) -> str:
    """How long ago, as a clerk says it: 刚刚, 5 分钟前, 3 小时前, 2 天前."""
    seconds = max(0, int(delta.total_seconds()))
    if seconds < 60:
        return "刚刚"
    if seconds < 3600:
        return f"{seconds // 60} 分钟前"
    if seconds < 86400:
        return f"{seconds // 3600} 小时前"
    return f"{seconds // 86400} 天前"


def _describe(item: OutboxRecord, applications: dict[str, ApplicationRecord],
              persons: dict[str, str], users: dict[str, str]) -> str:
    payload: dict[str, Any] = item.payload if isinstance(item.payload, dict) else {}
    label = OUTBOX_KIND_LABELS.get(item.kind, item.kind)
    if item.kind == "audit_event":  # the action in words and who did it, by their name
        action = AUDIT_ACTION_LABELS.get(str(payload.get("action", "")))
        actor = str(payload.get("actor") or "")
        who = users.get(actor, "") if actor not in NO_PERSON_ACTORS else ""
        words = " ".join(w for w in (action, who) if w)
        return f"{label}（{words}）" if words else label
    if item.kind == "enrolment":
        name = persons.get(str(payload.get("person_id")), "")
        return f"{label} {name} {format_amount(payload.get('fee', '0'))} 元".replace("  ", " ")
    a = applications.get(str(payload.get("application_id")))
    name = ""
    if a is not None:
        name = (a.applicant or {}).get("name") or persons.get(a.person_id, "")
    elif payload.get("person_id"):
        name = persons.get(str(payload["person_id"]), "")
    if item.kind == "application":
        return f"{label} {name} {format_amount(payload.get('payable', '0'))} 元".replace("  ", " ")
    who = users.get(str(payload.get("username")), str(payload.get("username") or ""))
    if item.kind == "signature":
        role = SIGNER_LABELS.get(str(payload.get("role")), "")
        return f"{label} {name}（{role} {who}）".replace("  ", " ")
    return f"{label} {name}（{who}）".replace("  ", " ") if who else f"{label} {name}".strip()


def waiting_items(store: Store, now: datetime | None = None) -> list[WaitingItem]:
    """Every outbox item not yet delivered, oldest first, said in words."""
    now = now or datetime.now(UTC)
    with store.read_session() as session:
        items = _undelivered(session)
        ids = set()
        for item in items:
            key = item.payload.get("application_id") if isinstance(item.payload, dict) else None
            if key:
                with contextlib.suppress(ValueError):
                    ids.add(uuid.UUID(str(key)))
        applications = {str(a.id): a for a in session.scalars(
            select(ApplicationRecord).where(ApplicationRecord.id.in_(ids)))} if ids else {}
        person_ids = {a.person_id for a in applications.values()} | {
            str(i.payload["person_id"]) for i in items
            if isinstance(i.payload, dict) and i.payload.get("person_id")}
        persons = _person_names(session, person_ids)
        users = _display_names(session, {str(i.payload.get(field)) for i in items
                                         for field in ("username", "actor")
                                         if isinstance(i.payload, dict)
                                         and i.payload.get(field)})
        return [WaitingItem(
            key=i.idempotency_key, kind=i.kind,
            what=_describe(i, applications, persons, users),
            created_at=_aware(i.created_at), age=age_words(now - _aware(i.created_at)),
            attempts=i.attempts, last_error=i.last_error) for i in items]
