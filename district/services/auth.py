"""Devices and clerks: registration with a one-time code, login, and who a request comes from."""

from __future__ import annotations

import hashlib
import logging
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import get_args

from sqlalchemy import delete, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from desktop import wire
from district import models
from district.db import Database
from district.security import (
    dummy_password_hash,
    enrolment_code_hash,
    new_enrolment_code,
    new_token,
    token_hash,
    verify_password,
)
from district.services.users import Staff, find_staff, staff_of
from district.values import utcnow

log = logging.getLogger(__name__)
# Login failures per user name and PC (LoginFailures): FREE_FAILURES in a row lock the name on
# that PC for FIRST_LOCKOUT, each further one doubles it, up to MAX_LOCKOUT; a run of failures
# is forgotten after FAILURES_FORGOTTEN without one.
FREE_FAILURES = 5
FIRST_LOCKOUT = timedelta(minutes=1)
MAX_LOCKOUT = timedelta(hours=1)
FAILURES_FORGOTTEN = timedelta(hours=24)
COUNTER_ROLES = frozenset(get_args(wire.Role))
_WRONG_PASSWORD = "用户名或密码错误。"
_CODE_REFUSED = "注册码无效或已被使用，请向区医保事务中心申领新的注册码。"


class AuthError(Exception):
    """Authentication or authorization failed: an HTTP status, a code and a Chinese message."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(f"{status} {code}")
        self.status = status
        self.code = code
        self.message = message


@dataclass(frozen=True)
class DeviceIdentity:
    id: str
    name: str
    street_code: str
    street_name: str
    district: str


@dataclass(frozen=True)
class SessionIdentity:
    device: DeviceIdentity
    user: Staff


def register_device(session: Session, request: wire.RegisterDevice) -> wire.DeviceRegistered:
    """Use up an enrolment code and create the device; the token is returned once."""
    code = session.scalars(select(models.EnrolmentCode).where(
        models.EnrolmentCode.code_hash == enrolment_code_hash(request.enrolment_code))).first()
    if code is None or code.used_at is not None:
        raise AuthError(401, "invalid_enrolment_code", _CODE_REFUSED)
    if code.expires_at is not None and code.expires_at <= utcnow():
        raise AuthError(401, "enrolment_code_expired",
                        "注册码已过期，请向区医保事务中心申领新的注册码。")
    token = new_token()
    # the street's row locked: two PCs of a street registering at once get 1 and 2 (PostgreSQL;
    # SQLite writes one at a time), and a number is never reused, even a revoked device's
    session.scalars(select(models.Street).where(models.Street.code == code.street_code)
                    .with_for_update()).first()
    number = (session.scalar(select(func.max(models.Device.number)).where(
        models.Device.street_code == code.street_code)) or 0) + 1
    device = models.Device(id=str(uuid.uuid4()), name=request.device_name,
                           street_code=code.street_code, token_hash=token_hash(token),
                           registered_at=utcnow(), number=number)
    session.add(device)
    session.flush()
    # The condition on used_at makes a code good for one device even if two register at once.
    used = session.execute(
        update(models.EnrolmentCode)
        .where(models.EnrolmentCode.id == code.id, models.EnrolmentCode.used_at.is_(None))
        .values(used_at=utcnow(), device_id=device.id)).rowcount  # type: ignore[attr-defined]
    if used != 1:
        raise AuthError(401, "invalid_enrolment_code", _CODE_REFUSED)
    street = session.get_one(models.Street, code.street_code)
    log.info("device registered", extra={"device_id": device.id, "street_code": street.code,
                                         "device_name": device.name})
    return wire.DeviceRegistered(device_id=device.id, token=token, street_code=street.code,
                                 street_name=street.name, device_number=device.number)


def revoked_device(session: Session, token: str) -> models.Device | None:
    """The revoked PC this token was issued to, if it is one (the district console revoked
    it): its requests are refused with words saying so, not as an unknown token."""
    return session.scalars(select(models.Device).where(
        models.Device.token_hash == token_hash(token),
        models.Device.revoked_at.is_not(None))).first()


def issue_enrolment_code(session: Session, street_code: str) -> str:
    code = new_enrolment_code()
    session.add(models.EnrolmentCode(code_hash=enrolment_code_hash(code),
                                     street_code=street_code, created_at=utcnow()))
    return code


def device_for_token(session: Session, token: str) -> DeviceIdentity | None:
    row = session.execute(
        select(models.Device, models.Street)
        .join(models.Street, models.Street.code == models.Device.street_code)
        .where(models.Device.token_hash == token_hash(token), models.Device.revoked_at.is_(None))
    ).first()
    if row is None:
        return None
    device, street = row
    return DeviceIdentity(device.id, device.name, street.code, street.name, street.district)


def log_in(db: Database, device: DeviceIdentity, request: wire.Login,
           session_hours: float) -> wire.LoggedIn:
    """Check the password, then open a session. The slow password check runs outside any
    write transaction, so a login never holds up pushes.

    The answers tell nothing but "in" or "not in": an unknown user name, a wrong password, an
    inactive account and a right password on another street's PC all answer the same 401
    invalid_credentials after the same work (one scrypt, one write), and all count as a
    failure of that name on that PC. Failures lock the name on that PC only (LoginFailures),
    with growing delays (lockout_for), so a PC in hostile hands cannot lock an approver out
    of the other PCs, and a name that does not exist locks exactly like one that does.
    """
    now = utcnow()
    name = request.username
    with db.read() as session:
        user = session.scalars(select(models.User)
                               .where(models.User.username == name)).first()
        staff = find_staff(session, name)
        tried = session.get(models.LoginFailures, (name_key(name), device.id))
        locked_until = tried.locked_until if tried is not None else None
    if locked_until is not None and locked_until > now:
        raise AuthError(401, "account_locked", _locked_message(locked_until - now))
    right = verify_password(request.password,
                            user.password_hash if user is not None else dummy_password_hash())
    if (user is None or staff is None or not right or not user.active
            or not _may_work_at(staff, device)):
        _count_failure(db, name, device, now, known=user is not None)
        raise AuthError(401, "invalid_credentials", _WRONG_PASSWORD)
    with db.write() as session:
        session.execute(delete(models.LoginFailures).where(
            models.LoginFailures.username == name_key(name),
            models.LoginFailures.device_id == device.id))
        session.execute(delete(models.LoginSession).where(  # this user's expired sessions
            models.LoginSession.user_id == user.id, models.LoginSession.expires_at <= now))
        token = new_token()
        expires = now + timedelta(hours=session_hours)
        session.add(models.LoginSession(token_hash=token_hash(token), user_id=user.id,
                                        device_id=device.id, created_at=now, expires_at=expires))
    log.info("user logged in", extra={"user": user.username, "device_id": device.id})
    return wire.LoggedIn(session_token=token, username=user.username,
                         display_name=user.display_name,
                         # the roles a counter knows (a console-only role is not one)
                         roles=sorted(staff.roles & COUNTER_ROLES),  # type: ignore[arg-type]
                         expires_at=expires,
                         # a password an administrator set: the counter has the user choose
                         # their own before anything else (require_session allows nothing else)
                         must_change_password=user.must_change_password)


def lockout_for(failures: int) -> timedelta | None:
    """How long a name is locked on a PC after this many failures in a row there: nothing
    before FREE_FAILURES, then 1 minute, doubling with each further failure, at most 1 hour."""
    if failures < FREE_FAILURES:
        return None
    return min(FIRST_LOCKOUT * (1 << min(failures - FREE_FAILURES, 16)), MAX_LOCKOUT)


def _locked_message(left: timedelta) -> str:
    minutes = max(1, -(-int(left.total_seconds()) // 60))
    return f"密码错误次数过多，本机已暂停此账号登录，请 {minutes} 分钟后再试。"


def name_key(username: str) -> str:
    """What a failed login is counted under: the SHA-256 of the name tried, never the name.
    People type their password in the user name field; the database must not keep it."""
    return hashlib.sha256(f"login-name:{username}".encode()).hexdigest()


def _count_failure(db: Database, username: str, device: DeviceIdentity,
                   now: datetime, *, known: bool) -> None:
    """One more failure of `username` on `device` (a row per name and PC, whether or not the
    name exists); a run of failures ends with a success or after FAILURES_FORGOTTEN. Two
    failures at once may both insert the row: the loser counts again on the winner's row."""
    for attempt in range(2):
        try:
            with db.write() as session:
                _count_failure_in(session, username, device, now, known)
            return
        except IntegrityError:
            if attempt:
                raise


def count_failed_password(db: Database, username: str, device: DeviceIdentity,
                          now: datetime) -> None:
    """A wrong current password when a signed-in user changes theirs: one more failure of the
    name on the PC, as at login (a session is no way round the lock-out)."""
    _count_failure(db, username, device, now, known=True)


def _count_failure_in(session: Session, username: str, device: DeviceIdentity,
                      now: datetime, known: bool) -> None:
    key = name_key(username)
    row = session.get(models.LoginFailures, (key, device.id), with_for_update=True)
    if row is None:
        row = models.LoginFailures(username=key, device_id=device.id, failures=0,
                                   last_failure_at=now)
        session.add(row)
    elif now - row.last_failure_at > FAILURES_FORGOTTEN:
        row.failures = 0
    row.failures += 1
    row.last_failure_at = now
    lockout = lockout_for(row.failures)
    row.locked_until = now + lockout if lockout is not None else None
    if lockout is not None:
        log.warning("login locked on this device after failed attempts", extra={
            # an unknown name may be a password typed in the wrong field: never logged
            "user": username if known else "(unknown)", "device_id": device.id,
            "failures": row.failures,
            "locked_minutes": lockout.total_seconds() / 60})


def log_out(session: Session, token: str) -> None:
    found = session.get(models.LoginSession, token_hash(token))
    if found is not None:
        session.delete(found)


def session_for_token(session: Session, device: DeviceIdentity,
                      token: str) -> SessionIdentity | None:
    # the session and its user in one statement, then the roles (find_staff would read the
    # user again): every request of a signed-in counter comes this way
    row = session.execute(
        select(models.LoginSession, models.User)
        .join(models.User, models.User.id == models.LoginSession.user_id)
        .where(models.LoginSession.token_hash == token_hash(token))).first()
    if row is None:
        return None
    found, user = row
    if found.device_id != device.id or found.expires_at <= utcnow() or not user.active:
        return None
    return SessionIdentity(device, staff_of(session, user))


def _may_work_at(staff: Staff, device: DeviceIdentity) -> bool:
    if "district_admin" in staff.roles:
        return staff.district == device.district
    return staff.street_code == device.street_code

