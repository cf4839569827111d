"""Console pages: 政策参数, the dated policy values in force and the publishing of a new one
(issue 14 point 4, M18: a new value reaches every counter without reinstalling).

- GET  /policy                 the values in force today, by program and district overlay
                               (value, from, source, "政策未明确，按本区口径", who published it),
                               the next dated value if any; the form 发布新值 (admins)
- GET  /policy/history?key=…   every dated value of one key
- POST /policy/preview         the value checked by the loader's rules, and how many open
                               applications it would affect; nothing written
- POST /policy/publish         publish it: kept, in the change feed, audited
                               (console.parameter_published)

district_reviewer reads; only district_admin publishes. The work is
district.services.parameters'; the rules are desktop.policy.parameters.validate_published.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from desktop.policy.parameters import (
    DISTRICTS,
    FIELD_LABELS,
    PROGRAM_FILES,
    ParameterValue,
    PolicyParameters,
    PublishedValueError,
    program_of,
    value_text,
)
from district import models
from district.changelog import parameter_key
from district.console.web import (
    Admin,
    Console,
    ConsoleError,
    ConsoleIdentity,
    DbDep,
    audit,
    render,
    see_other,
)
from district.services.parameters import (
    affected_open_applications,
    check_value,
    current_parameters,
    publish_parameter,
)
from district.values import SHANGHAI, utcnow

router = APIRouter()
NOTICES = {"published": "新值已发布：各柜台下次同步后，对生效日期及以后的费用按新值计算。"}
ASSUMPTION_TEXT = "政策未明确，按本区口径"
PROGRAM_NAMES = {"assistance": "医疗救助", "mutual_aid": "医疗互助帮困", "care": "长期护理保险",
                 "employee_outpatient": "职工门诊", "premium_subsidy": "参保资助"}


@dataclass(frozen=True)
class Row:
    key: str  # "file:key"
    name: str
    current: ParameterValue | None
    upcoming: ParameterValue | None
    published_by: str | None
    published_at: datetime | None

    @property
    def text(self) -> str:
        return "" if self.current is None else value_text(self.current.value)


@dataclass(frozen=True)
class Group:
    title: str
    rows: list[Row]


def _today() -> date:
    return utcnow().astimezone(SHANGHAI).date()


Published = dict[tuple[str, date], models.ParameterVersion]


def _groups(parameters: PolicyParameters, published: Published, today: date,
            district: str) -> list[Group]:
    """The city's values by program, then the user's own district's overlay."""
    groups: list[Group] = []
    sets = [(PROGRAM_NAMES.get(p, p), p, series) for p, series in parameters.base.items()]
    for overlay, programs in parameters.overlays.items():
        if overlay != district:
            continue
        for program, series in programs.items():
            sets.append((f"{parameters.titles.get(overlay, overlay)}·"
                         f"{PROGRAM_NAMES.get(program, program)}", overlay, series))
    for title, file, series in sets:
        rows = []
        for name, entries in sorted(series.items()):
            current = next((e for e in reversed(entries) if e.effective_from <= today), None)
            upcoming = next((e for e in entries if e.effective_from > today), None)
            key = f"{file}:{name}"  # an overlay's series may continue the city's entries
            row = (published.get((parameter_key(current), current.effective_from))
                   if current else None)
            rows.append(Row(key, name, current, upcoming,
                            row.published_by if row else None, row.published_at if row else None))
        groups.append(Group(title, rows))
    return groups


def _published_rows(session: Session) -> Published:
    return {(p.key, p.effective_from): p for p in session.scalars(
        select(models.ParameterVersion).where(models.ParameterVersion.published_by.is_not(None)))}


def _keys(groups: list[Group], parameters: PolicyParameters, district: str) -> list[str]:
    """Every key in force, and each city key as the user's own district's (an overlay value:
    for that district only); another district's keys are not offered."""
    keys = {r.key for g in groups for r in g.rows}
    if district in parameters.overlays or district in DISTRICTS[1:]:
        keys |= {f"{district}:{name}" for series in parameters.base.values() for name in series}
    own = (*PROGRAM_FILES, district)
    return sorted(k for k in keys if k.partition(":")[0] in own)


def _own_key(identity: ConsoleIdentity, key: str) -> None:
    # a value is the city's or the district's, never one street's
    if identity.street_code is not None:
        raise ConsoleError(403, "街镇账号不能发布政策参数：参数对全区（或全市）生效，"
                                "请由区管理员（不属于某个街镇的账号）发布。")
    file = key.partition(":")[0]
    if file in DISTRICTS and file != identity.district:
        raise ConsoleError(403, "只能发布市级参数或本区的参数。")


def _page(request: Request, identity: ConsoleIdentity, db: DbDep, status: int = 200,
          notice: str = "", error: str = "", errors: dict[str, str] | None = None,
          form: dict[str, str] | None = None) -> HTMLResponse:
    today = _today()
    with db.read() as session:
        parameters = current_parameters(session)
        groups = _groups(parameters, _published_rows(session), today, identity.district)
    return render(request, "policy.html", identity, status=status, groups=groups, today=today,
                  keys=_keys(groups, parameters, identity.district),
                  assumption_text=ASSUMPTION_TEXT,
                  notice_text=NOTICES.get(notice, ""), error=error, errors=errors or {},
                  form=form or {})


@router.get("/policy", response_class=HTMLResponse)
def policy_page(request: Request, identity: Console, db: DbDep, notice: str = "") -> Response:
    return _page(request, identity, db, notice=notice)


@router.get("/policy/history", response_class=HTMLResponse)
def history_page(request: Request, identity: Console, db: DbDep, key: str = "") -> Response:
    if not key:
        return see_other("/policy")  # no key asked: the list of every key
    file = key.partition(":")[0]
    if file in DISTRICTS and file != identity.district:
        raise ConsoleError(404, "没有这个参数。")  # another district's: not told apart
    with db.read() as session:
        rows = list(session.scalars(select(models.ParameterVersion)
                                    .where(models.ParameterVersion.key == key)
                                    .order_by(models.ParameterVersion.effective_from)))
    if not rows:
        raise ConsoleError(404, "没有这个参数。")
    today = _today()
    current = max((r for r in rows if r.effective_from <= today),
                  key=lambda r: r.effective_from, default=None)
    return render(request, "policy_history.html", identity, key=key, rows=rows,
                  current=current, today=today, assumption_text=ASSUMPTION_TEXT)


Text = Annotated[str, Form(max_length=400)]


def _form(key: str, value: str, effective_from: str, source: str,
          assumption: str) -> dict[str, str]:
    return {"key": key.strip(), "value": value.strip(), "effective_from": effective_from.strip(),
            "source": source.strip(), "assumption": "yes" if assumption else ""}


def _refused(request: Request, identity: ConsoleIdentity, db: DbDep, form: dict[str, str],
             exc: PublishedValueError) -> HTMLResponse:
    return _page(request, identity, db, status=422, error=f"未发布：{exc}",
                 errors={exc.field: exc.message}, form=form)


@router.post("/policy/preview", response_class=HTMLResponse)
def preview(request: Request, identity: Admin, db: DbDep, key: Text = "", value: Text = "",
            effective_from: Text = "", source: Text = "", assumption: Text = "") -> Response:
    form = _form(key, value, effective_from, source, assumption)
    _own_key(identity, form["key"])
    try:
        entry = check_value(form["key"], form["effective_from"], form["value"], form["source"],
                            bool(form["assumption"]))
    except PublishedValueError as exc:
        return _refused(request, identity, db, form, exc)
    with db.read() as session:
        affected = affected_open_applications(session, form["key"], entry.effective_from)
        params = current_parameters(session)
        old = _value_on(params, form["key"], entry.effective_from)
        existing = session.get(models.ParameterVersion, (form["key"], entry.effective_from))
    form["value"] = value_text(entry.value)
    return render(request, "policy_preview.html", identity, form=form, entry=entry,
                  affected=affected, old=old, replaces=existing,
                  assumption_text=ASSUMPTION_TEXT, labels=FIELD_LABELS)


def _value_on(params: PolicyParameters, key: str, day: date) -> ParameterValue | None:
    file, _, name = key.partition(":")
    program = program_of(file, name)
    if program is None:
        return None
    district = file if file != program else "shanghai"
    return params.for_program(program, district).at(name, day)


@router.post("/policy/publish", response_class=HTMLResponse)
def publish(request: Request, identity: Admin, db: DbDep, key: Text = "", value: Text = "",
            effective_from: Text = "", source: Text = "", assumption: Text = "",
            confirm: Annotated[str, Form(max_length=8)] = "") -> Response:
    form = _form(key, value, effective_from, source, assumption)
    _own_key(identity, form["key"])
    if confirm != "yes":
        return _page(request, identity, db, status=422, form=form,
                     error="请先预览，再在预览页确认发布。")
    now = utcnow()
    try:
        with db.write() as session:
            affected = affected_open_applications(session, form["key"],
                                                  check_value(form["key"], form["effective_from"],
                                                              form["value"], form["source"],
                                                              bool(form["assumption"])
                                                              ).effective_from)
            row = publish_parameter(session, identity.username, form["key"],
                                    form["effective_from"], form["value"], form["source"],
                                    bool(form["assumption"]), now)
            audit(session, identity, "console.parameter_published",
                  f"parameter:{row.key}@{row.effective_from.isoformat()}",
                  {"key": row.key, "effective_from": row.effective_from.isoformat(),
                   "value": row.value, "source": row.source, "assumption": row.assumption,
                   "open_applications_affected": affected}, now=now)
    except PublishedValueError as exc:
        return _refused(request, identity, db, form, exc)
    return see_other("/policy", "published")
