"""The FastAPI application: routers under desktop.wire.API_PREFIX, OpenAPI published there too."""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable

from fastapi import FastAPI, Request, Response

from desktop.wire import API_PREFIX
from district.api.errors import error_response, install_error_handlers
from district.api.main import api_router
from district.config import Settings
from district.db import Database

log = logging.getLogger("district.requests")


def create_app(settings: Settings, db: Database) -> FastAPI:
    app = FastAPI(
        title="医疗救助柜台 — 区服务器",
        description="The district server counters sync with (ARCHITECTURE.md `district/`).",
        version="1",
        openapi_url=f"{API_PREFIX}/openapi.json",
        docs_url=f"{API_PREFIX}/docs",
        redoc_url=None,
    )
    app.state.settings = settings
    app.state.db = db
    install_error_handlers(app)
    app.include_router(api_router, prefix=API_PREFIX)

    @app.middleware("http")
    async def log_request(request: Request,
                          call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        started = time.perf_counter()
        try:
            response = await call_next(request)
        except Exception as exc:  # reported as ErrorBody by the handler; logged here too
            log.error("request failed", exc_info=exc,
                      extra={"method": request.method, "path": request.url.path})
            return error_response(500, "server_error", "区服务器内部错误，请稍后重试。")
        log.info("request", extra={
            "method": request.method, "path": request.url.path,
            "status": response.status_code,
            "ms": round((time.perf_counter() - started) * 1000, 1),
            "device_id": getattr(request.state, "device_id", None),
            "user": getattr(request.state, "user", None),
        })
        return response

    return app
