"""Console pages: 柜台电脑, the district's counter PCs (issue 14).

- GET  /devices                   the PCs per street (filter), last contact (flagged after 3
                                  days), version, waiting items, revoked ones with who/when/why;
                                  the enrolment codes still outstanding (never the code)
- POST /devices/codes             issue a one-time enrolment code: the answer is the page that
                                  shows it, once (no redirect, nothing kept but its hash)
- GET  /devices/{id}              one PC, and the form to revoke it
- POST /devices/{id}/revoke       revoke it (reason and confirmation required)

district_reviewer reads; only district_admin acts. A user of one street sees only its PCs; any
other PC is "not found". The work is district.services.devices_admin's, audited there.
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
    render,
    see_other,
)
from district.services.devices_admin import (
    DEFAULT_CODE_HOURS,
    MAX_CODE_HOURS,
    STALE_AFTER,
    DeviceAdminError,
    DeviceNotFound,
    check_hours,
    find_device,
    issue_code,
    list_devices,
    outstanding_codes,
    revoke_device,
)
from district.values import utcnow

router = APIRouter()
NOTICES = {"device_revoked": "已停用这台柜台电脑：它的下一次请求将被拒绝，其上的登录和签名密钥"
                             "已一并失效。"}
NOT_FOUND = "没有这台柜台电脑，或您无权查看。"


def _shown_streets(identity: ConsoleIdentity, street: str) -> list[str]:
    if street:
        return [identity.street(street).code]  # 404 for a street the user does not see
    return identity.street_codes


def _list_page(request: Request, identity: ConsoleIdentity, db: DbDep, street: str = "",
               status: int = 200, notice: str = "", error: str = "",
               hours: str = str(DEFAULT_CODE_HOURS)) -> HTMLResponse:
    codes = _shown_streets(identity, street)
    now = utcnow()
    with db.read() as session:
        devices = list_devices(session, codes)
        outstanding = outstanding_codes(session, codes, now)
    issued = [c for c in outstanding if c.issued_by is not None]
    unissued: dict[str, int] = {}
    for c in outstanding:
        if c.issued_by is None:
            unissued[c.street_code] = unissued.get(c.street_code, 0) + 1
    names = {s.code: s.name for s in identity.streets}
    return render(request, "devices.html", identity, status=status, devices=devices, now=now,
                  street=street, issued=issued, unissued=unissued, names=names,
                  stale_days=STALE_AFTER.days, hours=hours, max_hours=MAX_CODE_HOURS,
                  notice_text=NOTICES.get(notice, ""), error=error)


@router.get("/devices", response_class=HTMLResponse)
def devices_page(request: Request, identity: Console, db: DbDep, street: str = "",
                 notice: str = "") -> Response:
    return _list_page(request, identity, db, street, notice=notice)


@router.post("/devices/codes", response_class=HTMLResponse)
def issue(request: Request, identity: Admin, db: DbDep,
          street_code: Annotated[str, Form(max_length=16)] = "",
          hours: Annotated[str, Form(max_length=16)] = str(DEFAULT_CODE_HOURS)) -> Response:
    if not street_code:
        return _list_page(request, identity, db, status=422, hours=hours,
                          error="请选择发放注册码的街镇。")
    street = identity.street(street_code)
    try:
        with db.write() as session:
            issued = issue_code(session, street.code, check_hours(hours), identity.username,
                                    utcnow())
    except DeviceAdminError as exc:
        return _list_page(request, identity, db, street.code, status=422, hours=hours,
                          error=exc.message)
    return render(request, "devices_code.html", identity, issued=issued, street=street)


@router.get("/devices/{device_id}", response_class=HTMLResponse)
def device_page(request: Request, identity: Console, db: DbDep, device_id: str) -> Response:
    with db.read() as session:
        try:
            device = find_device(session, device_id, identity.street_codes)
        except DeviceNotFound:
            raise ConsoleError(404, NOT_FOUND) from None
    return render(request, "devices_one.html", identity, device=device, now=utcnow(),
                  stale_days=STALE_AFTER.days)


@router.post("/devices/{device_id}/revoke", response_class=HTMLResponse)
def revoke(request: Request, identity: Admin, db: DbDep, device_id: str,
           reason: Annotated[str, Form(max_length=400)] = "",
           confirm: Annotated[str, Form(max_length=8)] = "") -> Response:
    error = "" if confirm == "yes" else "请勾选“确认停用”后再提交。"
    if not error:
        try:
            with db.write() as session:
                done = revoke_device(session, device_id, identity.street_codes, reason,
                                     identity.username, utcnow())
        except DeviceNotFound:
            raise ConsoleError(404, NOT_FOUND) from None
        except DeviceAdminError as exc:
            error = exc.message
        else:
            return see_other(f"/devices?street={done.device.street_code}", "device_revoked")
    with db.read() as session:
        try:
            device = find_device(session, device_id, identity.street_codes)
        except DeviceNotFound:
            raise ConsoleError(404, NOT_FOUND) from None
    return render(request, "devices_one.html", identity, status=422, device=device,
                  now=utcnow(), stale_days=STALE_AFTER.days, error=error, reason=reason)
