"""Devices and clerks: registration with a one-time code, login, and who a request comes from."""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, select, update
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
from district.services.users import Staff, find_staff
from district.values import utcnow

log = logging.getLogger(__name__)
MAX_FAILED_LOGINS = 5
LOCKOUT = timedelta(minutes=5)
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
    token = new_token()
    device = models.Device(id=str(uuid.uuid4()), name=request.device_name,
                           street_code=code.street_code, token_hash=token_hash(token),
                           registered_at=utcnow())
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
                                 street_name=street.name)


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
    write transaction, so a login never holds up pushes; failed attempts are counted."""
    with db.read() as session:
        user = session.scalars(select(models.User)
                               .where(models.User.username == request.username)).first()
    if user is None:
        verify_password(request.password, dummy_password_hash())
        raise AuthError(401, "invalid_credentials", _WRONG_PASSWORD)
    now = utcnow()
    if user.locked_until is not None and user.locked_until > now:
        raise AuthError(401, "account_locked",
                        "密码错误次数过多，账号已暂时锁定，请 5 分钟后再试。")
    if not verify_password(request.password, user.password_hash) or not user.active:
        with db.write() as session:
            _count_failure(session, user.id, device, now)
        raise AuthError(401, "invalid_credentials", _WRONG_PASSWORD)
    with db.write() as session:
        staff = find_staff(session, user.username)
        if staff is None or not _may_work_at(staff, device):
            raise AuthError(403, "forbidden",
                            f"账号 {user.username} 不属于{device.street_name}，不能在本机登录。")
        session.execute(update(models.User).where(models.User.id == user.id)
                        .values(failed_logins=0, locked_until=None))
        session.execute(delete(models.LoginSession).where(  # this user's expired sessions
            models.LoginSession.user_id == user.id, models.LoginSession.expires_at <= now))
        token = new_token()
        expires = now + timedelta(hours=session_hours)
        session.add(models.LoginSession(token_hash=token_hash(token), user_id=user.id,
                                        device_id=device.id, created_at=now, expires_at=expires))
    log.info("user logged in", extra={"user": user.username, "device_id": device.id})
    return wire.LoggedIn(session_token=token, username=user.username,
                         display_name=user.display_name,
                         roles=sorted(staff.roles),  # type: ignore[arg-type]
                         expires_at=expires)


def _count_failure(session: Session, user_id: int, device: DeviceIdentity,
                   now: datetime) -> None:
    failures = session.execute(
        update(models.User).where(models.User.id == user_id)
        .values(failed_logins=models.User.failed_logins + 1)
        .returning(models.User.failed_logins, models.User.username)).one()
    if failures[0] >= MAX_FAILED_LOGINS:
        session.execute(update(models.User).where(models.User.id == user_id)
                        .values(failed_logins=0, locked_until=now + LOCKOUT))
        log.warning("account locked after failed logins",
                    extra={"user": failures[1], "device_id": device.id})


def log_out(session: Session, token: str) -> None:
    found = session.get(models.LoginSession, token_hash(token))
    if found is not None:
        session.delete(found)


def session_for_token(session: Session, device: DeviceIdentity,
                      token: str) -> SessionIdentity | None:
    found = session.get(models.LoginSession, token_hash(token))
    if found is None or found.device_id != device.id or found.expires_at <= utcnow():
        return None
    user = session.get(models.User, found.user_id)
    if user is None or not user.active:
        return None
    staff = find_staff(session, user.username)
    return None if staff is None else SessionIdentity(device, staff)


def _may_work_at(staff: Staff, device: DeviceIdentity) -> bool:
    if "district_admin" in staff.roles:
        return staff.district == device.district
    return staff.street_code == device.street_code

