"""Sign-in, sign-out and the password one must change: the console's own, on the users table.

Wrong name, wrong password, inactive account: one answer, after the same work (one scrypt). A
known user's failures lock them out of the console with growing delays (the counters' rule,
district.services.auth.lockout_for); a success resets the count. A user whose password an
administrator reset (users.must_change_password) can do nothing before choosing their own.
"""

from __future__ import annotations

import threading
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy import delete, func, select

from district import models
from district.console.web import (
    ABSOLUTE,
    CONSOLE_ROLES,
    COOKIE,
    Console,
    ConsoleError,
    DbDep,
    check_form,
    check_origin,
    clear_session_cookie,
    end_session,
    identity_for,
    render,
    see_other,
    set_session_cookie,
)
from district.security import (
    dummy_password_hash,
    hash_password,
    new_token,
    token_hash,
    verify_password,
)
from district.services.audit import record_console_event
from district.services.auth import FAILURES_FORGOTTEN, lockout_for, name_key
from district.services.signing_keys import set_password
from district.services.users import staff_of
from district.values import utcnow

router = APIRouter()
WRONG = "用户名或密码错误。"
MIN_PASSWORD = 10


class _UnknownNames:
    """Failed sign-ins of names that are no user, counted like a user's (lockout_for), so that
    a name locks after as many failures whether or not it exists: the lock-out message must
    not tell an attacker which names are real. Per process and bounded (forgotten past
    KEPT names or after FAILURES_FORGOTTEN); only the name's hash is kept."""

    KEPT = 10_000

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.failures: dict[str, tuple[int, datetime, datetime | None]] = {}

    def locked_until(self, username: str) -> datetime | None:
        with self.lock:
            found = self.failures.get(name_key(username))
        return found[2] if found is not None else None

    def failed(self, username: str, now: datetime) -> None:
        key = name_key(username)
        with self.lock:
            count, last, _ = self.failures.get(key, (0, now, None))
            if now - last > FAILURES_FORGOTTEN:
                count = 0
            if len(self.failures) >= self.KEPT:
                self.failures.clear()
            lock = lockout_for(count + 1)
            self.failures[key] = (count + 1, now, now + lock if lock else None)


_UNKNOWN = _UnknownNames()


@router.get("/login", response_class=HTMLResponse)
def login_page(request: Request, reason: str = "") -> Response:
    message = "长时间未操作，已自动退出，请重新登录。" if reason == "expired" else ""
    return render(request, "login.html", None, notice_text=message)


@router.post("/login", response_class=HTMLResponse)
def login(request: Request, db: DbDep, username: Annotated[str, Form(max_length=64)] = "",
          password: Annotated[str, Form(max_length=200)] = "") -> Response:
    check_origin(request)
    now = utcnow()
    username = username.strip()
    with db.read() as session:
        user = session.scalars(select(models.User)
                               .where(models.User.username == username)).first()
        roles = staff_of(session, user).roles if user is not None else frozenset()
    locked_until = user.locked_until if user is not None else _UNKNOWN.locked_until(username)
    if locked_until is not None and locked_until > now:
        verify_password(password, dummy_password_hash())  # the same work as any other answer
        minutes = max(1, -(-int((locked_until - now).total_seconds()) // 60))
        return render(request, "login.html", None, status=401, username=username,
                      error=f"密码错误次数过多，此账号暂停登录，请 {minutes} 分钟后再试。")
    right = verify_password(password, user.password_hash if user else dummy_password_hash())
    if user is None or not right or not user.active:
        if user is None:
            _UNKNOWN.failed(username, now)
        else:
            with db.write() as session:
                row = session.get(models.User, user.id, with_for_update=True)
                assert row is not None
                row.failed_logins = (row.failed_logins or 0) + 1
                lock = lockout_for(row.failed_logins)
                row.locked_until = now + lock if lock else None
                record_console_event(session, user.username, "console.sign_in_failed",
                                     f"user:{user.username}",
                                     {"failures": row.failed_logins}, now, user.street_code)
        return render(request, "login.html", None, status=401, username=username, error=WRONG)
    if not roles & CONSOLE_ROLES:
        return render(request, "login.html", None, status=403, username=username,
                      error="此账号没有区管理台权限（需要区管理员或区审核人角色）。"
                            "经办人、审核人、审批人请在柜台程序中登录。")
    token = new_token()
    with db.write() as session:
        row = session.get(models.User, user.id, with_for_update=True)
        assert row is not None
        row.failed_logins = 0
        row.locked_until = None
        session.execute(delete(models.ConsoleSession).where(
            models.ConsoleSession.user_id == user.id, models.ConsoleSession.expires_at <= now))
        session.add(models.ConsoleSession(token_hash=token_hash(token), user_id=user.id,
                                          created_at=now, last_seen_at=now,
                                          expires_at=now + ABSOLUTE))
        record_console_event(session, user.username, "console.sign_in", f"user:{user.username}",
                             {}, now, user.street_code)
    response = see_other("/password" if user.must_change_password else "/")
    set_session_cookie(response, token)
    return response


@router.post("/logout")
async def logout(request: Request, identity: Console, db: DbDep) -> Response:
    with db.write() as session:
        record_console_event(session, identity.username, "console.sign_out",
                             f"user:{identity.username}", {}, utcnow(), identity.street_code)
    end_session(db, identity.token)
    response = see_other("/login")
    clear_session_cookie(response)
    return response


@router.get("/password", response_class=HTMLResponse)
def password_page(request: Request, db: DbDep) -> Response:
    identity = identity_for(db, request.cookies.get(COOKIE), allow_pending=True)
    return render(request, "password.html", identity)


@router.post("/password", response_class=HTMLResponse)
async def change_password(request: Request, db: DbDep,
                          current: Annotated[str, Form(max_length=200)] = "",
                          new: Annotated[str, Form(max_length=200)] = "",
                          again: Annotated[str, Form(max_length=200)] = "") -> Response:
    identity = identity_for(db, request.cookies.get(COOKIE), allow_pending=True)
    await check_form(request)
    now = utcnow()
    with db.read() as session:
        user = session.get(models.User, identity.user_id)
    assert user is not None

    def again_page(error: str) -> Response:
        return render(request, "password.html", identity, status=422, error=error)

    if user.locked_until is not None and user.locked_until > now:
        return again_page("密码错误次数过多，请稍后再试。")
    if not verify_password(current, user.password_hash):
        # a session left open is no way round the lock-out: a wrong current password counts
        # as a failed sign-in
        with db.write() as session:
            row = session.get_one(models.User, user.id, with_for_update=True)
            row.failed_logins = (row.failed_logins or 0) + 1
            lock = lockout_for(row.failed_logins)
            row.locked_until = now + lock if lock else None
        return again_page("当前密码不正确。")
    problem = password_problem(new, again, current)
    if problem:
        return again_page(problem)
    with db.write() as session:
        set_password(session, user.username, hash_password(new), now)
        fresh = session.get(models.User, user.id)
        assert fresh is not None
        fresh.must_change_password = False
        # every other console session of this user ends; this one goes on
        session.execute(delete(models.ConsoleSession).where(
            models.ConsoleSession.user_id == user.id,
            models.ConsoleSession.token_hash != token_hash(identity.token)))
        record_console_event(session, user.username, "console.password_changed",
                             f"user:{user.username}", {"was_reset": identity.must_change},
                             now, user.street_code)
    return see_other("/", "password_changed")


def password_problem(new: str, again: str, current: str | None = None) -> str | None:
    """Why a new password is refused, in words; None when it will do."""
    if new != again:
        return "两次输入的新密码不一致。"
    if len(new) < MIN_PASSWORD:
        return f"新密码至少 {MIN_PASSWORD} 个字符。"
    if current is not None and new == current:
        return "新密码不能与当前密码相同。"
    if len(set(new)) < 4:
        return "新密码过于简单，请混用字母、数字和符号。"
    return None


@router.get("/", response_class=HTMLResponse)
def home(request: Request, identity: Console, db: DbDep, notice: str = "") -> Response:
    codes = identity.street_codes
    with db.read() as session:
        users = session.scalar(select(func.count()).select_from(models.User).where(
            models.User.street_code.in_(codes), models.User.active.is_(True))) or 0
        devices = session.scalar(select(func.count()).select_from(models.Device).where(
            models.Device.street_code.in_(codes), models.Device.revoked_at.is_(None))) or 0
        persons = session.scalar(select(func.count()).select_from(models.Person).where(
            models.Person.street_code.in_(codes))) or 0
        waiting = session.scalar(select(func.count()).select_from(models.Application).where(
            models.Application.street_code.in_(codes),
            models.Application.status.in_(("accepted", "reviewed")))) or 0
    notices = {"password_changed": "密码已修改。"}
    return render(request, "home.html", identity, users=users, devices=devices,
                  persons=persons, waiting=waiting, notice_text=notices.get(notice, ""))


__all__ = ["ConsoleError", "router"]
