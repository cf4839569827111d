"""POST /login (on a registered device), POST /logout and POST /password (protocol 4)."""

from __future__ import annotations

from datetime import timedelta

from fastapi import APIRouter, Depends, Header, Request, Response, status
from sqlalchemy import delete

from desktop import wire
from district import models
from district.api.deps import (
    DbDep,
    DeviceDep,
    SessionDep,
    SettingsDep,
    require_device,
    require_session,
)
from district.api.errors import ApiError, documented
from district.console.signin import password_problem
from district.security import hash_password, new_token, token_hash, verify_password
from district.services.audit import record_console_event
from district.services.auth import (
    COUNTER_ROLES,
    count_failed_password,
    log_in,
    log_out,
    name_key,
)
from district.services.signing_keys import set_password
from district.values import utcnow

router = APIRouter(tags=["login"], dependencies=[Depends(require_device)])
session_router = APIRouter(tags=["login"], dependencies=[Depends(require_session)])


def _answer(logged: wire.LoggedIn, request: Request) -> Response:
    # a counter of an older protocol refuses the fields it does not know (wire.Strict)
    since = wire.ANSWER_FIELDS_SINCE["LoggedIn"]
    hidden = {f for f, v in since.items() if request.state.protocol < v}
    return Response(logged.model_dump_json(exclude=hidden or None),
                    media_type="application/json")


@router.post("/login", response_model=wire.LoggedIn, responses=documented(413))
def login(body: wire.Login, device: DeviceDep, db: DbDep, settings: SettingsDep,
          request: Request) -> Response:
    return _answer(log_in(db, device, body, settings.session_hours), request)


@session_router.post("/logout", status_code=status.HTTP_204_NO_CONTENT)
def logout(db: DbDep, x_session_token: str = Header()) -> None:
    with db.write() as session:
        log_out(session, x_session_token)


@session_router.post("/password", response_model=wire.LoggedIn, responses=documented(413))
def change_password(body: wire.ChangePassword, identity: SessionDep, db: DbDep,
                    settings: SettingsDep, request: Request) -> Response:
    """The signed-in user's own new password (after an administrator's reset, or by choice):
    the current one proves it is them. Every session and signing key of theirs ends (the
    counter registers a new key); the answer is a new session on this PC."""
    with db.read() as session:
        user = session.get(models.User, identity.user.id)
    assert user is not None  # the session was just found with it
    # the slow checks outside any write transaction, as at login; a wrong current password
    # counts as a failed login of this name on this PC (a session is no way round the lock)
    with db.read() as session:
        tried = session.get(models.LoginFailures, (name_key(user.username), identity.device.id))
        locked_until = tried.locked_until if tried is not None else None
    if locked_until is not None and locked_until > utcnow():
        raise ApiError(401, "account_locked", "密码错误次数过多，本机已暂停此账号，请稍后再试。")
    if not verify_password(body.current_password, user.password_hash):
        count_failed_password(db, user.username, identity.device, utcnow())
        raise ApiError(422, "current_password_wrong", "当前密码不正确。", "current_password")
    problem = password_problem(body.new_password, body.new_password, body.current_password)
    if problem:
        raise ApiError(422, "password_too_weak", problem, "new_password")
    new_hash = hash_password(body.new_password)
    now = utcnow()
    token = new_token()
    expires = now + timedelta(hours=settings.session_hours)
    with db.write() as session:
        set_password(session, user.username, new_hash, now)  # ends every session, every key
        fresh = session.get_one(models.User, user.id)
        was_reset = fresh.must_change_password
        fresh.must_change_password = False
        session.execute(delete(models.ConsoleSession).where(
            models.ConsoleSession.user_id == user.id))
        session.add(models.LoginSession(token_hash=token_hash(token), user_id=user.id,
                                        device_id=identity.device.id, created_at=now,
                                        expires_at=expires))
        record_console_event(session, user.username, "account.password_changed",
                             f"user:{user.username}",
                             {"device_id": identity.device.id, "was_reset": was_reset},
                             now, user.street_code)
    logged = wire.LoggedIn(session_token=token, username=user.username,
                           display_name=user.display_name,
                           roles=sorted(identity.user.roles  # type: ignore[arg-type]
                                        & COUNTER_ROLES),
                           expires_at=expires, must_change_password=False)
    return _answer(logged, request)
