"""The district console (issue 14): people, PCs, data, policy values, the month and the audit,
in a browser, under /console/ (district.console.web says who may do what)."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.responses import Response
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException

from district.console import audit_pages, data, devices, month, people, policy, signin
from district.console.web import (
    PREFIX,
    ConsoleError,
    PasswordChangeNeeded,
    SignInNeeded,
    clear_session_cookie,
    render,
    see_other,
)

PAGES = (signin, people, devices, data, policy, month, audit_pages)
_HTTP_WORDS = {404: "没有这个页面。", 405: "不支持这种请求方式。"}


def install_console(app: FastAPI) -> None:
    """Serve the console under /console/ on the district's application."""
    for module in PAGES:
        app.include_router(module.router, prefix=PREFIX, include_in_schema=False)
    app.mount(f"{PREFIX}/static", StaticFiles(directory=Path(__file__).parent / "static"),
              name="console-static")

    @app.exception_handler(ConsoleError)
    async def _refused(request: Request, exc: ConsoleError) -> Response:
        return render(request, "error.html", None, status=exc.status, message=exc.message)

    @app.exception_handler(SignInNeeded)
    async def _sign_in(request: Request, exc: SignInNeeded) -> Response:
        if request.method == "GET":
            response: Response = see_other("/login" + ("?reason=expired" if exc.reason else ""))
        else:
            response = render(request, "error.html", None, status=401,
                              message="登录已过期或未登录，请重新登录后再提交。")
        clear_session_cookie(response)
        return response

    @app.exception_handler(PasswordChangeNeeded)
    async def _password(request: Request, exc: PasswordChangeNeeded) -> Response:
        if request.method == "GET":
            return see_other("/password")
        return render(request, "error.html", None, status=403,
                      message="管理员重置了您的密码：请先修改密码。")


def console_http_error(request: Request, exc: StarletteHTTPException) -> Response:
    """A 404/405/500 under /console/ is a page, not the API's JSON (never a trace)."""
    message = _HTTP_WORDS.get(exc.status_code, "区服务器未能完成这个请求，请稍后重试；"
                                               "没有写入一半的内容。")
    return render(request, "error.html", None, status=exc.status_code, message=message)


def console_invalid(request: Request, field: str | None) -> Response:
    """A form the console cannot read: the field it is about, in a page."""
    where = f"（字段：{field}）" if field else ""
    return render(request, "error.html", None, status=422,
                  message=f"提交的内容不完整或格式不对{where}，请返回检查后重新提交。")
