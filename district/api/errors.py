"""Every error answer is an ErrorBody (a code, a Chinese message, the field) — never a trace."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from desktop.wire import ErrorBody
from district.services.auth import AuthError

log = logging.getLogger(__name__)


def documented(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI entries saying these statuses answer with an ErrorBody."""
    what = {401: "not authenticated (device token or session missing or invalid), or the "
                 "user name and password do not match",
            403: "authenticated, but not allowed", 404: "not found",
            409: "an idempotency key already used with a different body",
            413: "the body is over the route's limit (8 MB for /push, 64 KB otherwise)",
            422: "the request does not match the schema", 500: "server error",
            503: "the database cannot be reached"}
    return {status: {"model": ErrorBody, "description": what[status]} for status in statuses}


class ApiError(Exception):
    def __init__(self, status: int, code: str, message: str, field: str | None = None) -> None:
        super().__init__(f"{status} {code}")
        self.status = status
        self.code = code
        self.message = message
        self.field = field


def error_response(status: int, code: str, message: str,
                   field: str | None = None) -> JSONResponse:
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    body = ErrorBody(code=code, message=message, field=field)
    return JSONResponse(body.model_dump(), status_code=status, headers=headers)


_NOT_JSON = "请求内容不是合法的 JSON（UTF-8）。"
_HTTP_CODES = {
    404: ("not_found", "没有这个接口。"),
    405: ("method_not_allowed", "接口不支持该请求方法。"),
}


def _console(request: Request) -> bool:
    return request.url.path == "/console" or request.url.path.startswith("/console/")


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(ApiError)
    async def _api_error(_request: Request, exc: ApiError) -> JSONResponse:
        return error_response(exc.status, exc.code, exc.message, exc.field)

    @app.exception_handler(AuthError)
    async def _auth_error(_request: Request, exc: AuthError) -> JSONResponse:
        return error_response(exc.status, exc.code, exc.message)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> Response:
        first = exc.errors()[0] if exc.errors() else {"loc": (), "msg": "invalid"}
        if first.get("type") == "json_invalid":  # its loc is a character position
            return error_response(422, "invalid_json", _NOT_JSON)
        loc = [str(p) for p in first.get("loc", ()) if p not in ("body", "query", "header")]
        field = ".".join(loc) or None
        if _console(request):  # the console's forms: a page naming the field
            from district.console import console_invalid
            return console_invalid(request, field)
        where = f"{field}：" if field else ""
        return error_response(422, "invalid_request",
                              f"请求内容不符合要求：{where}{first.get('msg', '')}", field)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> Response:
        if _console(request):
            from district.console import console_http_error
            return console_http_error(request, exc)
        if exc.status_code == 400:  # FastAPI could not read the body (not UTF-8, too deep)
            return error_response(422, "invalid_json", _NOT_JSON)
        code, message = _HTTP_CODES.get(exc.status_code,
                                        (f"http_{exc.status_code}", "请求无法处理。"))
        return error_response(exc.status_code, code, message)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> Response:
        log.error("unexpected error", exc_info=exc,
                  extra={"method": request.method, "path": request.url.path})
        if _console(request):
            from district.console import console_http_error
            return console_http_error(request, StarletteHTTPException(500))
        return error_response(500, "server_error",
                              "区服务器内部错误，请稍后重试；已提交的内容不会丢失。")
