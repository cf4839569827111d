"""The API router: public routes first, then those behind the device, then the clerk's session."""

from __future__ import annotations

from fastapi import APIRouter

from district.api.errors import documented
from district.api.routes import (
    admin,
    changes,
    devices,
    health,
    login,
    push,
    reports,
    signing_keys,
)

api_router = APIRouter(responses=documented(422, 500))
# Public: the health check and registration (which is how a device gets its token).
api_router.include_router(health.router, responses=documented(503))
api_router.include_router(devices.router, responses=documented(401))
# Behind the device token.
api_router.include_router(login.router, responses=documented(401, 403))
api_router.include_router(devices.device_router, responses=documented(401))
# Behind the device token and a clerk's session.
for router in (login.session_router, signing_keys.router, changes.router, push.router,
               reports.router, admin.router):
    api_router.include_router(router, responses=documented(401, 403))
