"""What every console page shares: templates, the session cookie, CSRF, roles, the audit.

The console (issue 14) is served by the district server under /console/, server-rendered with
Jinja2 and no script. Its sign-in is its own (a browser is no counter PC): a random token in a
cookie that is `Secure`, `HttpOnly` and `SameSite=Strict`, scoped to /console, of which only the
SHA-256 is kept (models.ConsoleSession). A session ends after IDLE without a request, at
ABSOLUTE after sign-in, at sign-out, and when the user is deactivated or changes password.

Every form carries a CSRF token derived from the session's own token (HMAC-SHA256), so it needs
no storage, differs per session and cannot be computed without the cookie; a POST without it,
or with another session's, is refused before anything is read or written. A POST whose Origin
is another site's is refused too.

Who may see what:
- `district_admin`: every page and every action, in their district.
- `district_reviewer`: reads every page (the month, the audit, PCs, people, policy values), acts
  on nothing.
- A console user who belongs to a street (`users.street_code`) sees that street only.
- Anyone else (the counters' roles) is refused, even with a session.
Every action is recorded in the district's audit chain (district.services.audit).
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from markupsafe import Markup, escape
from sqlalchemy import select
from sqlalchemy.orm import Session

from desktop.domain.audit_words import action_label
from desktop.policy.contract import default_parameters
from desktop.policy.money import percent
from desktop.policy.sources import parameter_name
from district import models
from district.db import Database
from district.security import token_hash
from district.services.audit import record_console_event
from district.services.users import staff_of
from district.values import SHANGHAI, utcnow

PREFIX = "/console"
COOKIE = "console_session"
IDLE = timedelta(minutes=15)
ABSOLUTE = timedelta(hours=8)
# last_seen_at is written at most this often: a page of requests is one write, not ten
TOUCH_EVERY = timedelta(seconds=30)
CONSOLE_ROLES = frozenset({"district_admin", "district_reviewer"})
ROLE_LABELS = {"clerk": "经办人", "reviewer": "审核人", "approver": "审批人",
               "district_admin": "区管理员", "district_reviewer": "区审核人"}
DISTRICT_NAMES = {"changning": "长宁区", "minhang": "闵行区"}

templates = Jinja2Templates(directory=str(Path(__file__).parent / "templates"))


def _shanghai(moment: datetime | None) -> str:
    return "" if moment is None else moment.astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M")


def _yuan(fen: int | None) -> str:
    if fen is None:
        return ""
    sign = "-" if fen < 0 else ""
    whole, cents = divmod(abs(fen), 100)
    return f"{sign}{whole:,}.{cents:02d}"


def _parameter_name(key: str) -> str:
    """"assistance:category.dibao.outpatient_rate" → its name in the office's words."""
    categories = {code: c.label for code, c in default_parameters().categories.items()}
    return parameter_name(key, categories)[0]


def _parameter_value(text: object, key: str) -> str:
    """A parameter's value as people read it: rates as %, amounts in 元, null as 不设限额."""
    if text is None or str(text) in ("null", "None", ""):
        return "不设限额" if key.endswith("_cap") else "（无）"
    unit = parameter_name(key)[1]
    try:
        number = Decimal(str(text))
    except (ArithmeticError, ValueError):
        return str(text)
    if unit == "" and ("rate" in key or "ratio" in key or "share" in key) and number <= 1:
        return percent(number)
    return f"{text} {unit}".strip()


templates.env.filters["shanghai"] = _shanghai
templates.env.filters["yuan"] = _yuan
templates.env.filters["param_name"] = _parameter_name
templates.env.filters["param_value"] = _parameter_value
templates.env.filters["action_label"] = action_label
templates.env.globals["ROLE_LABELS"] = ROLE_LABELS
templates.env.globals["PREFIX"] = PREFIX


# -- errors -------------------------------------------------------------------------------------

class ConsoleError(Exception):
    """An answer that is a page: refused (403), not found (404), bad input (400/422)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


class SignInNeeded(Exception):
    """No valid console session: a GET goes to the sign-in page, anything else gets 401."""

    def __init__(self, reason: str = "") -> None:
        super().__init__(reason)
        self.reason = reason


class PasswordChangeNeeded(Exception):
    """The user signed in with a password an administrator set: they choose their own first."""


# -- the identity of a request ------------------------------------------------------------------

@dataclass(frozen=True)
class Street:
    code: str
    name: str
    district: str
    kind: str


@dataclass(frozen=True)
class ConsoleIdentity:
    user_id: int
    username: str
    display_name: str
    district: str
    street_code: str | None
    roles: frozenset[str]
    token: str = field(repr=False)
    streets: tuple[Street, ...] = ()  # the streets this user may see, by code
    must_change: bool = False  # signed in with a password an administrator set

    @property
    def csrf(self) -> str:
        return csrf_token(self.token)

    @property
    def is_admin(self) -> bool:
        return "district_admin" in self.roles

    @property
    def street_codes(self) -> list[str]:
        return [s.code for s in self.streets]

    def sees(self, street_code: str | None) -> bool:
        return street_code is not None and street_code in self.street_codes

    def street(self, street_code: str) -> Street:
        """The street, if this user may see it; 404 otherwise (another district's or street's
        is not told apart from one that does not exist)."""
        for street in self.streets:
            if street.code == street_code:
                return street
        raise ConsoleError(404, "没有这个街镇，或您无权查看。")

    def require_admin(self) -> None:
        if not self.is_admin:
            raise ConsoleError(403, "此操作需要区管理员角色；区审核人只能查看。")

    @property
    def role_text(self) -> str:
        return "、".join(ROLE_LABELS.get(r, r) for r in sorted(self.roles & CONSOLE_ROLES))

    @property
    def scope_text(self) -> str:
        if self.street_code is not None and self.streets:
            return self.streets[0].name
        return DISTRICT_NAMES.get(self.district, self.district)


def csrf_token(session_token: str) -> str:
    return hmac.new(session_token.encode(), b"console-csrf", hashlib.sha256).hexdigest()


def get_db(request: Request) -> Database:
    db: Database = request.app.state.db
    return db


DbDep = Annotated[Database, Depends(get_db)]


def _visible_streets(session: Session, user: models.User) -> tuple[Street, ...]:
    query = select(models.Street).where(models.Street.district == user.district)
    if user.street_code is not None:
        query = query.where(models.Street.code == user.street_code)
    return tuple(Street(s.code, s.name, s.district, s.kind)
                 for s in session.scalars(query.order_by(models.Street.code)))


def identity_for(db: Database, token: str | None, *, touch: bool = True,
                 allow_pending: bool = False) -> ConsoleIdentity:
    """The signed-in user of a console cookie, or SignInNeeded; ConsoleError(403) for a user
    without a console role (their session is ended); PasswordChangeNeeded for one who must
    choose a password first, unless `allow_pending` (the page where they do)."""
    if not token:
        raise SignInNeeded()
    now = utcnow()
    key = token_hash(token)
    with db.read() as session:
        row = session.get(models.ConsoleSession, key)
        user = session.get(models.User, row.user_id) if row is not None else None
        if row is None or user is None:
            raise SignInNeeded()
        expired = row.expires_at <= now or row.last_seen_at + IDLE <= now
        roles = staff_of(session, user).roles
        streets = _visible_streets(session, user)
        must_change = user.must_change_password
        stale = now - row.last_seen_at >= TOUCH_EVERY
    if expired or not user.active:
        end_session(db, token)
        raise SignInNeeded("expired" if expired else "")
    if not roles & CONSOLE_ROLES:
        end_session(db, token)
        raise ConsoleError(403, "此账号没有区管理台权限（需要区管理员或区审核人角色）。")
    if touch and stale:
        with db.write() as session:
            live = session.get(models.ConsoleSession, key)
            if live is not None:
                live.last_seen_at = now
    identity = ConsoleIdentity(user.id, user.username, user.display_name, user.district,
                               user.street_code, frozenset(roles), token, streets, must_change)
    if must_change and not allow_pending:
        raise PasswordChangeNeeded()
    return identity


def end_session(db: Database, token: str) -> None:
    with db.write() as session:
        row = session.get(models.ConsoleSession, token_hash(token))
        if row is not None:
            session.delete(row)


async def check_form(request: Request) -> None:
    """Refuse a state-changing request without this session's CSRF token, or from another
    site (Origin), before anything is read or written."""
    if request.method in ("GET", "HEAD", "OPTIONS"):
        return
    check_origin(request)
    token = request.cookies.get(COOKIE)
    form = await request.form()
    sent = form.get("csrf_token")
    if not token or not isinstance(sent, str) or not hmac.compare_digest(
            sent, csrf_token(token)):
        raise ConsoleError(403, "表单已失效（缺少或不符的安全校验码），请刷新页面后重新提交。")


def check_origin(request: Request) -> None:
    """Refuse a POST another site's page made (its Origin says so): also the sign-in's, which
    has no session to derive a CSRF token from (a forged sign-in would put the victim in the
    attacker's account)."""
    origin = request.headers.get("origin")
    if origin not in (None, "null") and origin.rstrip("/") != _own_origin(request):
        raise ConsoleError(403, "请求来自其他网站，已拒绝。")


def _own_origin(request: Request) -> str:
    host = request.headers.get("host", "")
    return f"{request.url.scheme}://{host}"


def console_identity(request: Request, db: DbDep) -> ConsoleIdentity:
    identity = identity_for(db, request.cookies.get(COOKIE))
    request.state.user = identity.username
    return identity


async def checked_identity(request: Request, db: DbDep) -> ConsoleIdentity:
    """The signed-in user, with the CSRF check on any request that is not a read."""
    identity = console_identity(request, db)
    await check_form(request)
    return identity


Console = Annotated[ConsoleIdentity, Depends(checked_identity)]


def admin_identity(identity: Console) -> ConsoleIdentity:
    identity.require_admin()
    return identity


Admin = Annotated[ConsoleIdentity, Depends(admin_identity)]


# -- answers -------------------------------------------------------------------------------------

SECURITY_HEADERS = {
    "Content-Security-Policy": ("default-src 'none'; style-src 'self'; img-src 'self' data:; "
                                "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"),
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}


def render(request: Request, template: str, identity: ConsoleIdentity | None,
           status: int = 200, **context: Any) -> HTMLResponse:
    """A page: the template with the user, their CSRF token and the page's values, and
    `who(username)`: the person's name (people are named, not their logins; the login is in
    the name's tooltip), read once per page when the page names someone."""
    response = templates.TemplateResponse(
        request, template, {"me": identity, "csrf": identity.csrf if identity else "",
                            "who": _names(request, identity), **context},
        status_code=status)
    response.headers.update(SECURITY_HEADERS)
    return response


def _names(request: Request, identity: ConsoleIdentity | None) -> Any:
    """who(username) → Markup of the display name with the login as its tooltip."""
    loaded: dict[str, str] = {}

    def who(username: str | None) -> Markup:
        if not username:
            return Markup("")
        if not loaded and identity is not None:
            db: Database = request.app.state.db
            with db.read() as session:
                for username_, name_ in session.execute(
                        select(models.User.username, models.User.display_name)
                        .where(models.User.district == identity.district)):
                    loaded[username_] = name_
            loaded.setdefault("", "")
        name = loaded.get(username)
        if name is None:
            return Markup(escape(username))
        return Markup('<span title="{}">{}</span>').format(username, name)

    return who


def see_other(path: str, notice: str | None = None) -> RedirectResponse:
    """After a POST: back to a page (303), with a notice key the page turns into words."""
    url = PREFIX + path
    if notice:
        url += ("&" if "?" in url else "?") + "notice=" + quote(notice)
    response = RedirectResponse(url, status_code=303)
    response.headers.update(SECURITY_HEADERS)
    return response


def audit(session: Session, identity: ConsoleIdentity, action: str, subject: str,
          detail: dict[str, Any] | None = None, street_code: str | None = None,
          now: datetime | None = None) -> None:
    """One console action in the district's audit chain, in the transaction that does it."""
    record_console_event(session, identity.username, action, subject, detail or {},
                         now or utcnow(), street_code)


def set_session_cookie(response: Response, token: str) -> None:
    response.set_cookie(COOKIE, token, max_age=int(ABSOLUTE.total_seconds()), path=PREFIX,
                        secure=True, httponly=True, samesite="strict")


def clear_session_cookie(response: Response) -> None:
    response.delete_cookie(COOKIE, path=PREFIX, secure=True, httponly=True, samesite="strict")
