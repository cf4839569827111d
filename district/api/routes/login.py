"""POST /login (on a registered device) and POST /logout."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Header, status

from desktop import wire
from district.api.deps import DbDep, DeviceDep, SettingsDep, require_device, require_session
from district.api.errors import documented
from district.services.auth import log_in, log_out

router = APIRouter(tags=["login"], dependencies=[Depends(require_device)])
session_router = APIRouter(tags=["login"], dependencies=[Depends(require_session)])


@router.post("/login", response_model=wire.LoggedIn, responses=documented(413))
def login(body: wire.Login, device: DeviceDep, db: DbDep,
          settings: SettingsDep) -> wire.LoggedIn:
    return log_in(db, device, body, settings.session_hours)


@session_router.post("/logout", status_code=status.HTTP_204_NO_CONTENT)
def logout(db: DbDep, x_session_token: str = Header()) -> None:
    with db.write() as session:
        log_out(session, x_session_token)
