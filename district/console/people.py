"""Console pages: 人员 — the users of each street and of the district, with their roles.

Everyone with a console role reads the list of the streets they see; only a 区管理员 adds a
user, changes roles, resets a password (the one-time password is shown once, on the answer
page, never stored in words nor audited) and deactivates or reactivates. The rules live in
district.services.staff_admin; every change is audited in its own transaction.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, Response

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
from district.services import staff_admin
from district.services.staff_admin import Person, StaffRefused
from district.values import utcnow

router = APIRouter()
DISTRICT_LEVEL = "district"  # the street filter's value for the district's own staff
NOTICES = {"roles_changed": "角色已修改。",
           "deactivated": "账号已停用：其登录、会话和签名密钥均已失效。"}
FIELD_WORDS = {"username": "用户名", "display_name": "姓名", "street_code": "所属",
               "roles": "角色"}


def _refused_text(refused: StaffRefused) -> str:
    word = FIELD_WORDS.get(refused.field)
    return f"{word}：{refused.message}" if word else refused.message


def _target(db: DbDep, identity: ConsoleIdentity, username: str) -> Person:
    """The user, if this console user may see them (404 otherwise, as for one that does not
    exist): street users to those who see the street, district-level users to district-level
    console users."""
    with db.read() as session:
        found = staff_admin.person(session, identity.district, username)
    if found is None:
        raise ConsoleError(404, "没有这个用户，或您无权查看。")
    if found.street_code is None:
        if identity.street_code is not None:
            raise ConsoleError(404, "没有这个用户，或您无权查看。")
    else:
        identity.street(found.street_code)
    return found


def _street_names(identity: ConsoleIdentity) -> dict[str | None, str]:
    names: dict[str | None, str] = {s.code: s.name for s in identity.streets}
    names[None] = "区级"
    return names


@router.get("/people", response_class=HTMLResponse)
def people_list(request: Request, identity: Console, db: DbDep, street: str = "",
                notice: str = "") -> Response:
    district_level = identity.street_code is None
    if street == DISTRICT_LEVEL and district_level:
        codes: list[str] = []
    elif street:
        codes = [identity.street(street).code]
    else:
        codes = identity.street_codes
    with db.read() as session:
        found = staff_admin.people(session, identity.district, codes,
                                   district_level=district_level and street in ("",
                                                                               DISTRICT_LEVEL))
        problems = {code: staff_admin.street_problem(session, code) for code in codes}
    groups: dict[str | None, list[Person]] = {}
    for p in found:
        groups.setdefault(p.street_code, []).append(p)
    return render(request, "people.html", identity, groups=groups, street=street,
                  names=_street_names(identity), district_level=district_level,
                  problems={k: v for k, v in problems.items() if v and k in groups},
                  DISTRICT_LEVEL=DISTRICT_LEVEL, notice_text=NOTICES.get(notice, ""))


def _form_page(request: Request, identity: ConsoleIdentity, *, status: int = 200,
               error: str = "", **values: object) -> Response:
    return render(request, "people_form.html", identity, status=status, error=error,
                  roles_for_street=staff_admin.COUNTER_ROLES,
                  roles_for_district=staff_admin.CONSOLE_ROLES,
                  district_level=identity.street_code is None,
                  DISTRICT_LEVEL=DISTRICT_LEVEL, values=values)


@router.get("/people/new", response_class=HTMLResponse)
def new_person(request: Request, identity: Admin, street: str = "") -> Response:
    return _form_page(request, identity, street_code=street, roles=["clerk"])


@router.post("/people/new", response_class=HTMLResponse)
def add_person(request: Request, identity: Admin, db: DbDep,
               username: Annotated[str, Form(max_length=200)] = "",
               display_name: Annotated[str, Form(max_length=200)] = "",
               street_code: Annotated[str, Form(max_length=20)] = "",
               roles: Annotated[list[str] | None, Form()] = None) -> Response:
    asked = roles or []
    values = {"username": username, "display_name": display_name, "street_code": street_code,
              "roles": asked}
    if street_code == DISTRICT_LEVEL:
        if identity.street_code is not None:
            return _form_page(request, identity, status=422, error="所属：您只能为本街镇添加人员。",
                              **values)
        code: str | None = None
    elif street_code and identity.sees(street_code):
        code = street_code
    else:
        return _form_page(request, identity, status=422,
                          error="所属：请选择一个您管理的街镇（或区级）。", **values)
    try:
        with db.write() as session:
            added, one_time = staff_admin.add_user(
                session, district=identity.district, username=username,
                display_name=display_name, street_code=code, roles=asked)
            audit(session, identity, "console.user_added", f"user:{added.username}",
                  {"display_name": added.display_name, "street_code": added.street_code,
                   "roles": list(added.roles)}, added.street_code)
    except StaffRefused as refused:
        return _form_page(request, identity, status=422, error=_refused_text(refused), **values)
    return _secret_page(request, identity, added, one_time, "已添加用户")


def _secret_page(request: Request, identity: ConsoleIdentity, who: Person, one_time: str,
                 heading: str) -> Response:
    return render(request, "people_secret.html", identity, who=who, one_time=one_time,
                  heading=heading, names=_street_names(identity))


def _edit_page(request: Request, identity: ConsoleIdentity, who: Person, *, status: int = 200,
               error: str = "") -> Response:
    allowed = (staff_admin.COUNTER_ROLES if who.street_code is not None
               else staff_admin.CONSOLE_ROLES)
    return render(request, "people_edit.html", identity, status=status, error=error, who=who,
                  allowed=allowed, names=_street_names(identity))


@router.get("/people/{username}", response_class=HTMLResponse)
def edit_person(request: Request, username: str, identity: Admin, db: DbDep) -> Response:
    return _edit_page(request, identity, _target(db, identity, username))


@router.post("/people/{username}/roles", response_class=HTMLResponse)
def change_roles(request: Request, username: str, identity: Admin, db: DbDep,
                 roles: Annotated[list[str] | None, Form()] = None) -> Response:
    who = _target(db, identity, username)
    try:
        with db.write() as session:
            changed, before = staff_admin.change_roles(
                session, district=identity.district, username=who.username,
                roles=roles or [], by=identity.username)
            audit(session, identity, "console.roles_changed", f"user:{who.username}",
                  {"before": list(before), "after": list(changed.roles)}, who.street_code)
    except StaffRefused as refused:
        return _edit_page(request, identity, who, status=422, error=_refused_text(refused))
    return see_other(f"/people?street={who.street_code or DISTRICT_LEVEL}", "roles_changed")


@router.post("/people/{username}/reset", response_class=HTMLResponse)
def reset_password(request: Request, username: str, identity: Admin, db: DbDep) -> Response:
    who = _target(db, identity, username)
    try:
        with db.write() as session:
            done, one_time = staff_admin.reset_password(
                session, district=identity.district, username=who.username, now=utcnow())
            # never the password itself
            audit(session, identity, "console.password_reset", f"user:{who.username}",
                  {"must_change_password": True}, who.street_code)
    except StaffRefused as refused:
        return _edit_page(request, identity, who, status=422, error=_refused_text(refused))
    return _secret_page(request, identity, done, one_time, "已重置密码")


@router.get("/people/{username}/deactivate", response_class=HTMLResponse)
def confirm_deactivate(request: Request, username: str, identity: Admin, db: DbDep) -> Response:
    who = _target(db, identity, username)
    return render(request, "people_deactivate.html", identity, who=who,
                  names=_street_names(identity))


@router.post("/people/{username}/deactivate", response_class=HTMLResponse)
def deactivate(request: Request, username: str, identity: Admin, db: DbDep,
               confirm: Annotated[str, Form(max_length=10)] = "") -> Response:
    who = _target(db, identity, username)
    if confirm != "yes":
        return render(request, "people_deactivate.html", identity, status=422, who=who,
                      names=_street_names(identity), error="请勾选确认后再停用。")
    try:
        with db.write() as session:
            staff_admin.deactivate(session, district=identity.district, username=who.username,
                                   by=identity.username, now=utcnow())
            audit(session, identity, "console.user_deactivated", f"user:{who.username}",
                  {"roles": list(who.roles)}, who.street_code)
    except StaffRefused as refused:
        return _edit_page(request, identity, who, status=422, error=_refused_text(refused))
    return see_other(f"/people?street={who.street_code or DISTRICT_LEVEL}", "deactivated")


@router.post("/people/{username}/reactivate", response_class=HTMLResponse)
def reactivate(request: Request, username: str, identity: Admin, db: DbDep) -> Response:
    who = _target(db, identity, username)
    try:
        with db.write() as session:
            done, one_time = staff_admin.reactivate(
                session, district=identity.district, username=who.username, now=utcnow())
            audit(session, identity, "console.user_reactivated", f"user:{who.username}",
                  {"must_change_password": True}, who.street_code)
    except StaffRefused as refused:
        return _edit_page(request, identity, who, status=422, error=_refused_text(refused))
    return _secret_page(request, identity, done, one_time, "已恢复账号")
