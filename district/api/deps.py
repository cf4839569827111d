"""Dependencies every route declares: the database, the device, the clerk's session, roles.

Protected routers declare `require_session` (or `require_device`) at router level, so a route
cannot be added without authentication.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.orm import Session

from district import models
from district.api.errors import ApiError
from district.config import Settings
from district.db import Database
from district.services.auth import (
    DeviceIdentity,
    SessionIdentity,
    device_for_token,
    revoked_device,
    session_for_token,
)
from district.services.outcome import Caller

_bearer = HTTPBearer(auto_error=False, scheme_name="DeviceToken",
                     description="The device token from POST /devices/register.")
_session_header = APIKeyHeader(name="X-Session-Token", auto_error=False,
                               scheme_name="SessionToken",
                               description="The session token from POST /login.")


def get_db(request: Request) -> Database:
    db: Database = request.app.state.db
    return db


def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


DbDep = Annotated[Database, Depends(get_db)]
# what a session whose password an administrator reset may still do (users.must_change_password)
PASSWORD_PENDING_PATHS = ("/password", "/logout")
SettingsDep = Annotated[Settings, Depends(get_settings)]


def _device_token(credentials: HTTPAuthorizationCredentials | None) -> str:
    if credentials is None or credentials.scheme.lower() != "bearer" or not credentials.credentials:
        raise ApiError(401, "device_required", "本机尚未注册到区服务器，或未提供设备令牌。")
    return credentials.credentials


def _device_unknown(session: Session, token: str) -> ApiError:
    if revoked_device(session, token) is not None:
        return ApiError(401, "device_revoked",
                        "本机已被区医保事务中心停用，不能再与区服务器同步。本机尚未上传的数据"
                        "仍保留在本机；请联系区医保事务中心核实，并用新的注册码重新注册本机。")
    return ApiError(401, "device_unknown", "设备令牌无效或已被停用，请重新注册本机。")


def require_device(
    request: Request,
    db: DbDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> DeviceIdentity:
    device_token = _device_token(credentials)
    with db.read() as session:
        device = device_for_token(session, device_token)
        if device is None:
            raise _device_unknown(session, device_token)
    request.state.device_id = device.id
    return device


DeviceDep = Annotated[DeviceIdentity, Depends(require_device)]


def require_session(
    request: Request,
    db: DbDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
    token: Annotated[str | None, Depends(_session_header)],
) -> SessionIdentity:
    """The device and the clerk's session, read in one transaction (on PostgreSQL every
    transaction and statement of a request is a round trip, and a pull makes hundreds). A user
    whose password an administrator reset may only change it or log out (403 otherwise)."""
    device_token = _device_token(credentials)
    with db.read() as session:
        device = device_for_token(session, device_token)
        found = (session_for_token(session, device, token)
                 if device is not None and token else None)
        if device is None:
            raise _device_unknown(session, device_token)
        # already in the session's identity map (session_for_token read it): no second query
        user = session.get(models.User, found.user.id) if found is not None else None
        must_change = user is not None and user.must_change_password
    request.state.device_id = device.id
    if not token:
        raise ApiError(401, "login_required", "请先登录。")
    if found is None:
        raise ApiError(401, "session_invalid", "登录已过期或无效，请重新登录。")
    request.state.user = found.user.username
    if must_change and not request.url.path.endswith(PASSWORD_PENDING_PATHS):
        raise ApiError(403, "password_change_required",
                       "您的密码由管理员重置，是一次性密码：请先设置您自己的新密码，才能继续使用。")
    return found


SessionDep = Annotated[SessionIdentity, Depends(require_session)]


def require_role(*roles: str) -> Callable[[SessionIdentity], SessionIdentity]:
    """A dependency that also needs one of `roles` (403 otherwise)."""

    def check(identity: SessionDep) -> SessionIdentity:
        if not identity.user.roles & set(roles):
            raise ApiError(403, "forbidden", "当前账号没有执行此操作的权限。")
        return identity

    return check


def caller_of(identity: SessionIdentity, settings: Settings | None = None) -> Caller:
    allowance = timedelta(days=settings.offline_days if settings else 30)
    return Caller(device_id=identity.device.id, street_code=identity.device.street_code,
                  district=identity.device.district, username=identity.user.username,
                  roles=identity.user.roles, offline_allowance=allowance)
