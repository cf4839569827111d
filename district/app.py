"""The FastAPI application: routers under desktop.wire.API_PREFIX, OpenAPI published there too.

Every request body is read through a limit before anything else looks at it (BodyLimit): a
counter PC may be in hostile hands, and the district reads no more than a route can need.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from fastapi import FastAPI, Request, Response
from sqlalchemy import update
from starlette.concurrency import run_in_threadpool
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from desktop.wire import (
    API_PREFIX,
    OLDEST_PROTOCOL,
    PROTOCOL_HEADER,
    PROTOCOL_VERSION,
    VERSION_HEADER,
    WAITING_HEADER,
)
from district import models
from district.api.errors import error_response, install_error_handlers
from district.api.main import api_router
from district.config import Settings
from district.console import install_console
from district.db import Database
from district.security import token_hash
from district.values import utcnow

log = logging.getLogger("district.requests")
# /push carries up to 500 outbox items (desktop.wire.Push); a counter sends 200 at a time, an
# application with its case being a few kilobytes. Every other body is a small form.
PUSH_BODY_LIMIT = 8 * 1024 * 1024
BODY_LIMIT = 64 * 1024
# /push/known asks about up to 5,000 keys (desktop.wire.KnownItems), about 40 bytes each
KNOWN_BODY_LIMIT = 512 * 1024
_LARGE_BODIES = {f"{API_PREFIX}/push": PUSH_BODY_LIMIT,
                 f"{API_PREFIX}/push/known": KNOWN_BODY_LIMIT}
# the console's data upload (district/console/data.py): a district's persons or fee file
UPLOAD_PATH = "/console/data/upload"
UPLOAD_BODY_LIMIT = 200 * 1024 * 1024


def body_limit(path: str) -> int:
    if path.rstrip("/") == UPLOAD_PATH:  # that one form only: its import, discard are small
        return UPLOAD_BODY_LIMIT
    return _LARGE_BODIES.get(path.rstrip("/"), BODY_LIMIT)


def _size(limit: int) -> str:
    return f"{limit // (1024 * 1024)} MB" if limit >= 1024 * 1024 else f"{limit // 1024} KB"


class BodyLimit:
    """Answer 413 to a body over its route's limit, counted on the bytes as they arrive.

    The declared Content-Length is checked first (nothing is read then), and the streamed body
    is counted too, so a chunked upload (no Content-Length) or a lying header cannot get past
    it. The body is read here, at most the limit of it, and handed on whole.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = body_limit(scope["path"])
        declared = dict(scope["headers"]).get(b"content-length", b"")
        if declared.isdigit() and int(declared) > limit:
            await self._refuse(scope, receive, send, limit)
            return
        if limit == UPLOAD_BODY_LIMIT and not await run_in_threadpool(_may_upload, scope):
            # the one large body is read for signed-in console users only (200 MB held in
            # memory for an anonymous request, a few at once, would starve the server)
            await _refuse_upload(scope, receive, send)
            return
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":  # the client went away
                return
            chunk: bytes = message.get("body", b"")
            size += len(chunk)
            if size > limit:
                await self._refuse(scope, receive, send, limit)
                return
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if replayed:
                return await receive()
            replayed = True
            return {"type": "http.request", "body": body, "more_body": False}

        await self.app(scope, replay, send)

    @staticmethod
    async def _refuse(scope: Scope, receive: Receive, send: Send, limit: int) -> None:
        log.warning("request body over the limit", extra={
            "method": scope["method"], "path": scope["path"], "status": 413, "limit": limit})
        response = error_response(
            413, "body_too_large",
            f"请求内容过大：此接口最多接受 {_size(limit)}，请分批提交。")
        response.headers["Connection"] = "close"
        await response(scope, receive, send)


def _may_upload(scope: Scope) -> bool:
    """Whether the request comes with a live console session (only read here: nothing is
    touched or ended). Anonymous and expired ones are refused before the body is read; a
    signed-in user without the right (a reviewer) is refused by the route in its own words,
    as is a missing CSRF token."""
    from district.console.web import COOKIE, IDLE

    token = Request(scope).cookies.get(COOKIE)
    if not token:
        return False
    db: Database = scope["app"].state.db
    now = utcnow()
    with db.read() as session:
        row = session.get(models.ConsoleSession, token_hash(token))
        return (row is not None and row.expires_at > now and row.last_seen_at + IDLE > now)


async def _refuse_upload(scope: Scope, receive: Receive, send: Send) -> None:
    from district.console.web import render

    log.warning("upload refused before its body was read", extra={
        "method": scope["method"], "path": scope["path"], "status": 401})
    response = render(Request(scope, receive), "error.html", None, status=401,
                      message="登录已过期或未登录：请先登录区管理台，再上传文件。")
    response.headers["Connection"] = "close"
    await response(scope, receive, send)


# -- each PC's last contact (the console's list of PCs) ---------------------------------------

CONTACT_EVERY = timedelta(minutes=1)  # last_seen_at is written at most this often per PC
VERSION_MAX = 32  # devices.app_version
WAITING_MAX = 10_000_000
_CONTACTS_KEPT = 20_000  # the cache is forgotten past this many PCs (it only saves writes)


@dataclass(frozen=True)
class Contact:
    """What a PC's request said of it: the version and waiting count None when not (well) told."""

    version: str | None
    waiting: int | None


def contact_of(request: Request) -> Contact:
    """The counter's program version (printable ASCII, at most VERSION_MAX characters) and the
    outbox items it says are waiting (0 to WAITING_MAX); anything else is ignored."""
    text = request.headers.get(VERSION_HEADER, "")
    version = "".join(c for c in text if " " <= c <= "~").strip()[:VERSION_MAX].strip()
    waiting_text = request.headers.get(WAITING_HEADER, "").strip()
    waiting = None
    if waiting_text.isascii() and waiting_text.isdigit() and len(waiting_text) <= 8:
        number = int(waiting_text)
        waiting = number if number <= WAITING_MAX else None
    return Contact(version or None, waiting)


class ContactRecorder:
    """Store a PC's last contact on its own row: at most once per CONTACT_EVERY, unless the
    version or the waiting count changed. The PC is the
    one its token proved (request.state.device_id), so a PC can only write its own row, and only
    while it is not revoked. A failed write is logged; the request is answered all the same."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self._written: dict[str, tuple[datetime, Contact]] = {}

    def due(self, device_id: str, contact: Contact, now: datetime) -> bool:
        last = self._written.get(device_id)
        if last is None:
            return True
        at, told = last
        return (now - at >= CONTACT_EVERY
                or (contact.version is not None and contact.version != told.version)
                or (contact.waiting is not None and contact.waiting != told.waiting))

    async def record(self, device_id: str, contact: Contact) -> None:
        now = utcnow()
        if not self.due(device_id, contact, now):
            return
        if len(self._written) >= _CONTACTS_KEPT:
            self._written.clear()
        self._written[device_id] = (now, contact)
        try:
            await run_in_threadpool(self._write, device_id, contact, now)
        except Exception:  # the answer is already made; the console shows an older contact
            self._written.pop(device_id, None)
            log.warning("could not record a PC's last contact", exc_info=True,
                        extra={"device_id": device_id})

    def _write(self, device_id: str, contact: Contact, now: datetime) -> None:
        values: dict[str, object] = {"last_seen_at": now}
        if contact.version is not None:
            values["app_version"] = contact.version
        if contact.waiting is not None:
            values["waiting_items"] = contact.waiting
        with self.db.write() as session:
            session.execute(update(models.Device)
                            .where(models.Device.id == device_id,
                                   models.Device.revoked_at.is_(None))
                            .values(**values))


# what a request without the protocol header may still ask: it is no counter's
_UNVERSIONED = ("/health", "/openapi.json", "/docs", "/docs/oauth2-redirect")


def _protocol_of(request: Request) -> int | Response:
    """The request's protocol version, or the 426 answer to one this server does not serve."""
    if not request.url.path.startswith(API_PREFIX):
        return PROTOCOL_VERSION
    text = request.headers.get(PROTOCOL_HEADER)
    if text is None and request.url.path.removeprefix(API_PREFIX) in _UNVERSIONED:
        return PROTOCOL_VERSION  # a monitor's probe, a browser reading the API's documents
    if text is None:
        return OLDEST_PROTOCOL if OLDEST_PROTOCOL <= 1 else _too_old(1)
    try:
        version = int(text)
    except ValueError:
        return error_response(400, "invalid_protocol",
                              f"请求头 {PROTOCOL_HEADER} 应为协议版本号（整数）。",
                              PROTOCOL_HEADER)
    if version < OLDEST_PROTOCOL:
        return _too_old(version)
    if version > PROTOCOL_VERSION:
        return error_response(
            426, "server_outdated",
            f"区服务器的版本比柜台程序旧（服务器支持通信协议 {OLDEST_PROTOCOL}–"
            f"{PROTOCOL_VERSION}，柜台为 {version}），请联系区医保事务中心升级区服务器。",
            PROTOCOL_HEADER)
    return version


def _too_old(version: int) -> Response:
    return error_response(
        426, "upgrade_required",
        f"请升级柜台程序：它使用的通信协议 {version} 区服务器已不再支持（支持 "
        f"{OLDEST_PROTOCOL}–{PROTOCOL_VERSION}）。升级前本机数据保留，不会丢失。",
        PROTOCOL_HEADER)


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
    install_console(app)
    contacts = ContactRecorder(db)
    app.state.contacts = contacts

    @app.middleware("http")
    async def last_contact(request: Request,
                           call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        """After a PC's request (its token proved which): its last contact, version and
        waiting items, for the console (district.services.devices_admin)."""
        response = await call_next(request)
        device_id = getattr(request.state, "device_id", None)
        if isinstance(device_id, str) and request.url.path.startswith(API_PREFIX):
            await contacts.record(device_id, contact_of(request))
        return response

    @app.middleware("http")
    async def protocol(request: Request,
                       call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        """The counter's protocol version: this one or the one before it is served (a request
        without it is version 1); any other is answered 426 with what to upgrade."""
        version = _protocol_of(request)
        if isinstance(version, Response):
            return version
        request.state.protocol = version
        response = await call_next(request)
        response.headers[PROTOCOL_HEADER] = str(PROTOCOL_VERSION)
        return response

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

    app.add_middleware(BodyLimit)  # added last: the outermost, before anything reads the body
    return app
