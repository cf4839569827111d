"""POST /devices/register: a counter PC registers once with a one-time enrolment code."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request, Response, status

from desktop import wire
from district import models
from district.api.deps import DbDep, DeviceDep, require_device
from district.api.errors import documented
from district.services.auth import register_device

router = APIRouter(tags=["devices"])
# behind the device token: what the district knows of the PC asking
device_router = APIRouter(tags=["devices"], dependencies=[Depends(require_device)])


@router.post("/devices/register", response_model=wire.DeviceRegistered,
             status_code=status.HTTP_201_CREATED, responses=documented(413))
def register(body: wire.RegisterDevice, db: DbDep, request: Request) -> Response:
    with db.write() as session:
        registered = register_device(session, body)
    # a counter of an older protocol refuses the fields it does not know (wire.Strict)
    since = wire.ANSWER_FIELDS_SINCE["DeviceRegistered"]
    hidden = {f for f, v in since.items() if request.state.protocol < v}
    return Response(registered.model_dump_json(exclude=hidden or None),
                    status_code=status.HTTP_201_CREATED, media_type="application/json")


@device_router.get("/devices/me", response_model=wire.DeviceInfo)
def me(device: DeviceDep, db: DbDep) -> wire.DeviceInfo:
    """The PC's street and number. A PC registered before PC numbers existed (protocol 2)
    was never told its number: it asks here after signing in online."""
    with db.read() as session:
        record = session.get(models.Device, device.id)
        number = record.number if record is not None else None
    return wire.DeviceInfo(device_id=device.id, street_code=device.street_code,
                           street_name=device.street_name, device_number=number)
