"""POST /devices/register: a counter PC registers once with a one-time enrolment code."""

from __future__ import annotations

from fastapi import APIRouter, status

from desktop import wire
from district.api.deps import DbDep
from district.api.errors import documented
from district.services.auth import register_device

router = APIRouter(tags=["devices"])


@router.post("/devices/register", response_model=wire.DeviceRegistered,
             status_code=status.HTTP_201_CREATED, responses=documented(413))
def register(body: wire.RegisterDevice, db: DbDep) -> wire.DeviceRegistered:
    with db.write() as session:
        return register_device(session, body)
