"""Console pages: 审计, the district's audit trail (issue 14 point 6).

- GET  /audit              search the trail: by person (ID number or name → their person ids →
                           events about them, their applications, enrolments and fee rows),
                           user (actor), application (id or number), Shanghai date range;
                           50 a page, newest first; each event's origin (a PC, by name and
                           number, or the console) and whether its actor is proven; and the
                           chain check's last result with its time
- POST /audit/verify       check the whole chain again (district.services.audit
                           .verify_audit_trail), CSRF-checked, audited

Who sees which rows: a user of one street sees the events of that street only; a district user
those of the district's streets and the console events of the district's own users.

The chain check walks the whole trail, so its result is kept (per server process) with its time
and who asked; the page shows it and offers 重新校验. Its first showing runs the check once.

Reading is audited when it looks someone up: a search with a person, user or application
(console.audit.searched, the filters in the detail); paging a plain listing is not, so the
trail does not fill with its own reading. Re-verifying is always audited
(console.audit.verified, with the verdict).
"""

from __future__ import annotations

import json
import re
import threading
import uuid
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy import String, and_, cast, func, or_, select
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from district import models
from district.console.web import (
    Console,
    ConsoleError,
    ConsoleIdentity,
    DbDep,
    audit,
    render,
    see_other,
)
from district.services.audit import AuditVerdict, describe, verify_audit_trail
from district.values import SHANGHAI, utcnow

router = APIRouter()
PAGE_SIZE = 50
NOTICES = {"verified": "已重新校验审计链。"}
ID_NUMBER = re.compile(r"^[0-9]{17}[0-9Xx]$")


@dataclass(frozen=True)
class ChainCheck:
    verdict: AuditVerdict
    at: datetime
    by: str

    @property
    def lines(self) -> list[str]:
        return describe(self.verdict)


_lock = threading.Lock()


def last_check(request: Request) -> ChainCheck | None:
    found: ChainCheck | None = getattr(request.app.state, "console_audit_check", None)
    return found


def run_check(request: Request, db: DbDep, identity: ConsoleIdentity) -> ChainCheck:
    with _lock, db.read() as session:
        check = ChainCheck(verify_audit_trail(session), utcnow(), identity.display_name)
    request.app.state.console_audit_check = check
    return check


@dataclass(frozen=True)
class Filters:
    person: str = ""
    actor: str = ""
    application: str = ""
    since: date | None = None
    until: date | None = None

    @property
    def looks_up(self) -> bool:
        return bool(self.person or self.actor or self.application)

    def as_detail(self) -> dict[str, Any]:
        return {k: v for k, v in (("person", self.person), ("actor", self.actor),
                                  ("application", self.application),
                                  ("since", self.since and self.since.isoformat()),
                                  ("until", self.until and self.until.isoformat())) if v}


def _day(value: str, field: str) -> date | None:
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise ConsoleError(422, f"日期（字段 {field}）应为 YYYY-MM-DD，收到：{value[:20]!r}") \
            from None


@dataclass(frozen=True)
class EventRow:
    seq: int | None
    at: datetime
    actor: str
    action: str
    subject: str
    detail: dict[str, Any]
    origin: str  # 区管理台 | 电脑 <name>（<number>）
    console: bool
    street: str
    actor_proven: bool | None
    reported_by: str | None

    @property
    def detail_text(self) -> str:
        return json.dumps(self.detail, ensure_ascii=False, sort_keys=True)


def _visible(identity: ConsoleIdentity) -> ColumnElement[bool]:
    event = models.AuditEvent
    streets = event.street_code.in_(identity.street_codes)
    if identity.street_code is not None:
        return streets
    own_users = select(models.User.username).where(models.User.district == identity.district)
    return or_(streets, and_(event.street_code.is_(None), event.actor.in_(own_users)))


def _person_subjects(session: Session, text: str) -> tuple[list[str], list[str]] | None:
    """The subjects naming the person(s) the text finds, and their person ids; None: no one."""
    person = models.Person
    query = select(person.id)
    if ID_NUMBER.match(text):
        query = query.where(person.id_number == text.upper())
    else:
        query = query.where(or_(person.name == text, person.id == text))
    ids = list(session.scalars(query.limit(50)))
    if not ids:
        return None
    subjects = [f"person:{i}" for i in ids]
    subjects += [f"application:{a}" for a in session.scalars(
        select(models.Application.id).where(models.Application.person_id.in_(ids)))]
    subjects += [f"enrolment:{e}" for e in session.scalars(
        select(models.Enrolment.id).where(models.Enrolment.person_id.in_(ids)))]
    subjects += [f"fee_row:{f}" for f in session.scalars(
        select(models.FeeRow.id).where(models.FeeRow.person_id.in_(ids)))]
    return subjects, ids


def _application_id(session: Session, text: str) -> str | None:
    try:
        return str(uuid.UUID(text))
    except ValueError:
        found: str | None = session.scalar(
            select(models.Application.id).where(models.Application.number == text))
        return found


def search(session: Session, identity: ConsoleIdentity, filters: Filters, page: int
           ) -> tuple[list[EventRow], int]:
    """One page of the events the user may see that match, newest first, and how many match."""
    event = models.AuditEvent
    where: list[ColumnElement[bool]] = [_visible(identity)]
    detail_text = cast(event.detail, String)
    if filters.person:
        found = _person_subjects(session, filters.person)
        if found is None:
            return [], 0
        subjects, ids = found
        where.append(or_(event.subject.in_(subjects),
                         *(detail_text.contains(f'"{i}"') for i in ids)))
    if filters.actor:
        where.append(event.actor == filters.actor)
    if filters.application:
        app_id = _application_id(session, filters.application)
        if app_id is None:
            return [], 0
        where.append(or_(event.subject == f"application:{app_id}",
                         detail_text.contains(f'"{app_id}"')))
    if filters.since is not None:
        where.append(event.at >= _start_of(filters.since))
    if filters.until is not None:
        where.append(event.at < _start_of(filters.until + timedelta(days=1)))
    total = session.scalar(select(func.count()).select_from(event).where(*where)) or 0
    rows = list(session.scalars(
        select(event).where(*where)
        .order_by(event.at.desc(), event.chain_seq.desc(), event.event_id)
        .offset((page - 1) * PAGE_SIZE).limit(PAGE_SIZE)))
    devices = {d.id: d for d in session.scalars(select(models.Device).where(
        models.Device.id.in_({r.device_id for r in rows if r.device_id})))}
    streets = {s.code: s.name for s in identity.streets}
    out = []
    for r in rows:
        device = devices.get(r.device_id) if r.device_id else None
        if r.device_id is None:
            origin = "区管理台"
        elif device is None:
            origin = f"电脑 {r.device_id}"
        else:
            number = f"（{device.number} 号）" if device.number is not None else ""
            origin = f"电脑 {device.name}{number}"
        out.append(EventRow(r.chain_seq, r.at, r.actor, r.action, r.subject, r.detail or {},
                            origin, r.device_id is None,
                            streets.get(r.street_code or "", r.street_code or ""),
                            r.actor_proven, r.reported_by))
    return out, total


def _start_of(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=SHANGHAI)


@router.get("/audit", response_class=HTMLResponse)
def audit_page(request: Request, identity: Console, db: DbDep, person: str = "",
               actor: str = "", application: str = "", since: str = "", until: str = "",
               page: str = "1", notice: str = "") -> Response:
    try:
        number = int(page)
    except ValueError:
        number = 0
    if number < 1:
        raise ConsoleError(422, "页码（字段 page）应为正整数。")
    filters = Filters(person.strip()[:64], actor.strip()[:64], application.strip()[:64],
                      _day(since, "since"), _day(until, "until"))
    if filters.since and filters.until and filters.since > filters.until:
        raise ConsoleError(422, "日期范围（字段 since、until）：起始日期晚于截止日期。")
    with db.read() as session:
        rows, total = search(session, identity, filters, number)
    if filters.looks_up:
        with db.write() as session:
            audit(session, identity, "console.audit.searched", "audit",
                  {**filters.as_detail(), "page": number, "found": total},
                  street_code=identity.street_code)
    check = last_check(request) or run_check(request, db, identity)
    pages = max(1, -(-total // PAGE_SIZE))
    return render(request, "audit.html", identity, rows=rows, total=total, page=number,
                  pages=pages, filters=filters, check=check, since=since, until=until,
                  notice_text=NOTICES.get(notice, ""))


@router.post("/audit/verify")
def verify(request: Request, identity: Console, db: DbDep) -> Response:
    check = run_check(request, db, identity)
    verdict = check.verdict
    with db.write() as session:
        audit(session, identity, "console.audit.verified", "audit",
              {"intact": verdict.intact, "rows": verdict.rows,
               "problems": len(verdict.problems), "last_chain_seq": verdict.last_seq},
              street_code=identity.street_code)
    return see_other("/audit", "verified")
