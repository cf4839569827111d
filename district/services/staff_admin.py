"""People of a district as its administrators manage them (the console's 人员 page, issue 14).

Add a user, change their roles, reset their password (a one-time one, to be changed at the next
sign-in, in the console or at a counter), deactivate and reactivate. Each change is made in the
caller's transaction and checked before anything is written: a refusal (StaffRefused, in
Chinese, naming the field) leaves the transaction as it was.

Two rules:
- a street user holds counter roles only (经办人 / 审核人 / 审批人); a district-level user holds
  console roles only (区管理员 / 区审核人);
- a street that can sign off its applications keeps that ability: at least one active 审批人
  and an active 审核人 who is another person (the approver must not be the street's only
  reviewer). A change that would end it is refused; a street still being staffed is not held
  to it until it first meets it.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from district import models
from district.security import hash_password, new_password
from district.services.auth import name_key
from district.services.signing_keys import deactivate_user, set_password

COUNTER_ROLES = ("clerk", "reviewer", "approver")
CONSOLE_ROLES = ("district_admin", "district_reviewer")
ALL_ROLES = COUNTER_ROLES + CONSOLE_ROLES
RESERVED_NAMES = frozenset({"new"})  # a page's address under /console/people/
USERNAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{1,63}$")
_LABELS = {"clerk": "经办人", "reviewer": "审核人", "approver": "审批人",
           "district_admin": "区管理员", "district_reviewer": "区审核人"}


class StaffRefused(Exception):
    """A change refused: the field it is about (a form's input name, or "" for the whole
    change) and why, in Chinese."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


@dataclass(frozen=True)
class Person:
    """A user as the 人员 page lists them."""

    id: int
    username: str
    display_name: str
    street_code: str | None
    active: bool
    roles: tuple[str, ...]  # in ALL_ROLES order
    must_change_password: bool
    locked_until: datetime | None

    @property
    def role_text(self) -> str:
        return "、".join(_LABELS[r] for r in self.roles if r in _LABELS)


def people(session: Session, district: str, street_codes: Iterable[str], *,
           district_level: bool) -> list[Person]:
    """The users of these streets (and the district-level ones if `district_level`), by street
    then user name."""
    codes = list(street_codes)
    query = select(models.User).where(models.User.district == district)
    users = [u for u in session.scalars(query)
             if (u.street_code in codes) or (district_level and u.street_code is None)]
    roles = _roles_of(session, [u.id for u in users])
    found = [_person(u, roles.get(u.id, ())) for u in users]
    return sorted(found, key=lambda p: (p.street_code or "", p.username))


def person(session: Session, district: str, username: str) -> Person | None:
    user = _user(session, district, username)
    return None if user is None else _person(user, _roles_of(session, [user.id]).get(user.id, ()))


def add_user(session: Session, *, district: str, username: str, display_name: str,
             street_code: str | None, roles: Iterable[str]) -> tuple[Person, str]:
    """A new user with a one-time password (returned once, to be handed over in person; the
    user must change it at their first sign-in)."""
    username = username.strip()
    if not USERNAME.fullmatch(username):
        raise StaffRefused("username", "用户名须为 2 至 64 个字符，只能用英文字母、数字、"
                                       "点（.）、下划线（_）和连字符（-），且以字母或数字开头。")
    if username.lower() in RESERVED_NAMES:
        raise StaffRefused("username", f"“{username}”是系统保留的名称，请换一个用户名。")
    if session.scalars(select(models.User.id).where(models.User.username == username)).first():
        raise StaffRefused("username", f"用户名“{username}”已被使用，请换一个。")
    display_name = _display_name(display_name)
    if street_code is not None:
        street = session.get(models.Street, street_code)
        if street is None or street.district != district:
            raise StaffRefused("street_code", "所属街镇不存在，或不属于本区。")
    wanted = _checked_roles(roles, street_code)
    one_time = new_password()
    user = models.User(username=username, display_name=display_name,
                       password_hash=hash_password(one_time), street_code=street_code,
                       district=district, active=True, failed_logins=0,
                       must_change_password=True)
    session.add(user)
    session.flush()
    for role in wanted:
        session.add(models.UserRole(user_id=user.id, role=role))
    session.flush()
    return _person(user, wanted), one_time


def change_roles(session: Session, *, district: str, username: str, roles: Iterable[str],
                 by: str) -> tuple[Person, tuple[str, ...]]:
    """Give the user exactly these roles; returns the user and the roles they had."""
    user = _existing(session, district, username)
    wanted = _checked_roles(roles, user.street_code)
    before = _roles_of(session, [user.id]).get(user.id, ())
    if username == by and "district_admin" in before and "district_admin" not in wanted:
        raise StaffRefused("roles", "不能取消自己的区管理员角色（请由另一位区管理员操作）。")
    _keep_street_rule(session, user.street_code, user.id, wanted)
    session.execute(delete(models.UserRole).where(models.UserRole.user_id == user.id))
    for role in wanted:
        session.add(models.UserRole(user_id=user.id, role=role))
    session.flush()
    return _person(user, wanted), before


def reset_password(session: Session, *, district: str, username: str,
                   now: datetime) -> tuple[Person, str]:
    """A new one-time password: the user's signing keys are revoked, every session of theirs
    (counter and console) ends, a lock-out is lifted, and they must choose their own password
    at their next sign-in. Returns the password, once."""
    user = _existing(session, district, username)
    one_time = new_password()
    set_password(session, user.username, hash_password(one_time), now)
    user.must_change_password = True
    user.failed_logins = 0
    user.locked_until = None
    session.execute(delete(models.LoginFailures).where(
        models.LoginFailures.username == name_key(user.username)))
    _end_console_sessions(session, user.id)
    session.flush()
    return _person(user, _roles_of(session, [user.id]).get(user.id, ())), one_time


def deactivate(session: Session, *, district: str, username: str, by: str,
               now: datetime) -> Person:
    """Stop a user at once: no sign-in, every session ended, every signing key revoked (what a
    counter pushes under their signature afterwards is refused)."""
    user = _existing(session, district, username)
    if username == by:
        raise StaffRefused("username", "不能停用自己的账号。")
    if not user.active:
        raise StaffRefused("username", f"{user.display_name}（{username}）已是停用状态。")
    _keep_street_rule(session, user.street_code, user.id, ())
    deactivate_user(session, user.username, now)
    _end_console_sessions(session, user.id)
    session.flush()
    return _person(user, _roles_of(session, [user.id]).get(user.id, ()))


def reactivate(session: Session, *, district: str, username: str,
               now: datetime) -> tuple[Person, str]:
    """Bring a deactivated user back, with a one-time password (their keys stay revoked: the
    counter makes new ones at their next sign-in)."""
    user = _existing(session, district, username)
    if user.active:
        raise StaffRefused("username", f"{user.display_name}（{username}）未被停用。")
    user.active = True
    _, one_time = reset_password(session, district=district, username=username, now=now)
    return _person(user, _roles_of(session, [user.id]).get(user.id, ())), one_time


# -- the rules -----------------------------------------------------------------------------------

def street_problem(session: Session, street_code: str) -> str | None:
    """Why the street cannot sign off its applications (no active approver, or none with
    another active reviewer beside them); None when it can."""
    if _street_ok(session, street_code):
        return None
    return _rule_words(session, street_code)


def _street_ok(session: Session, street_code: str | None,
               after: tuple[int, tuple[str, ...]] | None = None) -> bool:
    """Whether the street has an active approver and another active reviewer; with `after`
    (a user's id and the roles they would hold, none if deactivated), as it would be."""
    if street_code is None:
        return True
    rows = session.execute(
        select(models.User.id, models.UserRole.role)
        .join(models.UserRole, models.UserRole.user_id == models.User.id)
        .where(models.User.street_code == street_code, models.User.active.is_(True),
               models.UserRole.role.in_(("reviewer", "approver")))).all()
    held = [(user_id, role) for user_id, role in rows if after is None or user_id != after[0]]
    if after is not None:
        held += [(after[0], role) for role in after[1]]
    approvers = {user_id for user_id, role in held if role == "approver"}
    reviewers = {user_id for user_id, role in held if role == "reviewer"}
    return any(a != r for a in approvers for r in reviewers)


def _keep_street_rule(session: Session, street_code: str | None, user_id: int,
                      roles_after: tuple[str, ...]) -> None:
    """Refuse, before anything is written, a change that would end the street's ability to
    sign off (a street still being staffed, which never had it, is not held to it)."""
    if street_code is None or not _street_ok(session, street_code):
        return
    if not _street_ok(session, street_code, (user_id, roles_after)):
        raise StaffRefused("roles", _rule_words(session, street_code)
                           + "此次修改后将不再满足，未作任何更改。")


def _rule_words(session: Session, street_code: str) -> str:
    street = session.get(models.Street, street_code)
    name = street.name if street is not None else street_code
    return (f"{name}须至少保留一名在岗的审批人，并另有一名不是此审批人的在岗审核人"
            "（审批人不能是本街镇唯一的审核人）。")


def _checked_roles(roles: Iterable[str], street_code: str | None) -> tuple[str, ...]:
    asked = set(roles)
    unknown = asked - set(ALL_ROLES)
    if unknown:
        raise StaffRefused("roles", "角色不认识：" + "、".join(sorted(unknown)) + "。")
    if not asked:
        raise StaffRefused("roles", "请至少选择一个角色。")
    allowed = COUNTER_ROLES if street_code is not None else CONSOLE_ROLES
    wrong = asked - set(allowed)
    if wrong:
        words = "、".join(_LABELS[r] for r in ALL_ROLES if r in wrong)
        if street_code is not None:
            raise StaffRefused("roles",
                               f"街镇人员只能担任经办人、审核人、审批人，不能担任{words}。")
        raise StaffRefused("roles", f"区级人员只能担任区管理员、区审核人，不能担任{words}。")
    return tuple(r for r in ALL_ROLES if r in asked)


def _display_name(name: str) -> str:
    name = name.strip()
    if not name:
        raise StaffRefused("display_name", "请填写姓名。")
    if len(name) > 64:
        raise StaffRefused("display_name", "姓名最多 64 个字符。")
    if any(unicodedata.category(c).startswith("C") for c in name):
        raise StaffRefused("display_name", "姓名中不能有控制字符或不可见字符。")
    return name


# -- reading ------------------------------------------------------------------------------------

def _user(session: Session, district: str, username: str) -> models.User | None:
    user = session.scalars(select(models.User).where(models.User.username == username)).first()
    return user if user is not None and user.district == district else None


def _existing(session: Session, district: str, username: str) -> models.User:
    user = _user(session, district, username)
    if user is None:
        raise StaffRefused("username", f"本区没有用户“{username}”。")
    return user


def _roles_of(session: Session, user_ids: list[int]) -> dict[int, tuple[str, ...]]:
    if not user_ids:
        return {}
    held: dict[int, set[str]] = {}
    for user_id, role in session.execute(select(models.UserRole.user_id, models.UserRole.role)
                                         .where(models.UserRole.user_id.in_(user_ids))):
        held.setdefault(user_id, set()).add(role)
    return {k: tuple(r for r in ALL_ROLES if r in v) for k, v in held.items()}


def _person(user: models.User, roles: Iterable[str]) -> Person:
    return Person(user.id, user.username, user.display_name, user.street_code, user.active,
                  tuple(roles), user.must_change_password, user.locked_until)


def _end_console_sessions(session: Session, user_id: int) -> None:
    session.execute(delete(models.ConsoleSession).where(models.ConsoleSession.user_id == user_id))
