"""POST /devices/register: a counter PC registers once with a one-time enrolment code."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response, status

from desktop import wire
from district.api.deps import DbDep
from district.api.errors import documented
from district.services.auth import register_device

router = APIRouter(tags=["devices"])


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
