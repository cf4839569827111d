"""Every console page, found from the application's routes (so a new page is covered the day it
is added): refused to anonymous browsers, refused to a session of a counter role, and every
form refused without its CSRF token or from another site (issue 14)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta

import pytest
from fastapi.routing import APIRoute

from district import models
from district.console import PAGES
from district.console.web import ABSOLUTE, COOKIE, PREFIX
from district.security import new_token, token_hash
from district.values import utcnow
from tests.console.conftest import Browser, ConsoleDistrict
from tests.district.harness import CHANGNING_STREET, MINHANG_STREET, PASSWORD

# pages anyone may open: the sign-in form itself
PUBLIC = {("GET", f"{PREFIX}/login"), ("POST", f"{PREFIX}/login")}
# the password page of a user who must change it is reached with a session; it is covered
# by the same refusals as any other page


def _console_routes() -> list[tuple[str, str]]:
    """Every route of every console page module (district.console.PAGES)."""
    found = []
    for module in PAGES:
        for route in module.router.routes:
            assert isinstance(route, APIRoute)
            for method in sorted(route.methods - {"HEAD"}):
                if (method, PREFIX + route.path) not in PUBLIC:
                    found.append((method, PREFIX + route.path))
    return sorted(found)


ROUTES = _console_routes()


def _concrete(path: str) -> str:
    """A path template with made-up parameters: {month} a month, anything else a word."""
    path = path.replace("{month}", "2026-05")
    return re.sub(r"\{[^}]+\}", "x1", path)


def _send(browser: Browser, method: str, path: str, csrf: bool = True):  # type: ignore[no-untyped-def]
    if method == "GET":
        return browser.get(_concrete(path))
    return browser.post(_concrete(path), csrf=csrf)


def test_the_console_has_its_pages() -> None:
    paths = {p for _, p in ROUTES}
    assert f"{PREFIX}/" in paths and f"{PREFIX}/logout" in paths


@pytest.mark.parametrize(("method", "path"), ROUTES)
def test_anonymous_is_refused(browser: Browser, method: str, path: str) -> None:
    response = _send(browser, method, path, csrf=False)
    if method == "GET":
        assert response.status_code == 303, response.text
        assert response.headers["location"].startswith(f"{PREFIX}/login")
    else:
        assert response.status_code in (401, 403), response.text
    assert "csrf_token" not in response.text


@pytest.fixture
def clerk_session(console_district: ConsoleDistrict) -> Iterator[Browser]:
    """A console cookie for a counter clerk, made by hand: the sign-in refuses to make one,
    and every page must refuse it too (defence in depth)."""
    browser = console_district.browser()
    token = new_token()
    now = utcnow()
    username = console_district.user(CHANGNING_STREET, "clerk1")
    with console_district.db.write() as session:
        user = session.query(models.User).filter_by(username=username).one()
        session.add(models.ConsoleSession(token_hash=token_hash(token), user_id=user.id,
                                          created_at=now, last_seen_at=now,
                                          expires_at=now + ABSOLUTE))
    browser.client.cookies.set(COOKIE, token)
    yield browser


@pytest.mark.parametrize(("method", "path"), ROUTES)
def test_a_counter_role_session_is_refused(clerk_session: Browser, method: str,
                                           path: str) -> None:
    response = _send(clerk_session, method, path, csrf=False)
    assert response.status_code == 403, response.text
    assert "没有区管理台权限" in response.text
    # and the session is ended: the next request is an anonymous one
    assert clerk_session.get(f"{PREFIX}/").status_code == 303


@pytest.mark.parametrize(("method", "path"), [r for r in ROUTES if r[0] == "POST"])
def test_a_form_without_its_csrf_token_is_refused(admin: Browser, method: str,
                                                  path: str) -> None:
    response = _send(admin, method, path, csrf=False)
    assert response.status_code == 403, response.text
    assert "安全校验码" in response.text


@pytest.mark.parametrize(("method", "path"), [r for r in ROUTES if r[0] == "POST"])
def test_another_sessions_csrf_token_is_refused(console_district: ConsoleDistrict,
                                                method: str, path: str) -> None:
    first = console_district.browser().sign_in(console_district.user(None, "admin"))
    second = console_district.browser().sign_in(console_district.user(None, "admin"))
    assert first.csrf != second.csrf
    response = second.post(_concrete(path), {"csrf_token": first.csrf}, csrf=False)
    assert response.status_code == 403


def test_a_form_from_another_site_is_refused(admin: Browser) -> None:
    response = admin.post(f"{PREFIX}/logout", headers={"Origin": "https://evil.example"})
    assert response.status_code == 403
    assert "其他网站" in response.text
    assert admin.get(f"{PREFIX}/").status_code == 200  # still signed in


def test_pages_forbid_framing_and_caching(admin: Browser) -> None:
    response = admin.get(f"{PREFIX}/")
    assert response.headers["x-frame-options"] == "DENY"
    assert "frame-ancestors 'none'" in response.headers["content-security-policy"]
    assert "script-src" not in response.headers["content-security-policy"]  # none allowed
    assert response.headers["cache-control"] == "no-store"


def test_a_session_past_its_absolute_end_is_refused(console_district: ConsoleDistrict) -> None:
    browser = console_district.browser().sign_in(console_district.user(None, "admin"))
    token = browser.client.cookies.get(COOKIE)
    assert token
    with console_district.db.write() as session:
        row = session.get(models.ConsoleSession, token_hash(token))
        assert row is not None
        row.expires_at = utcnow() - timedelta(seconds=1)
    assert browser.get(f"{PREFIX}/").status_code == 303


def test_the_api_token_of_a_counter_opens_no_console_page(console_district: ConsoleDistrict
                                                          ) -> None:
    """A counter's device token and session header are not a console session."""
    browser = console_district.browser()
    response = browser.client.get(f"{PREFIX}/", headers={
        "Authorization": "Bearer x", "X-Session-Token": "y"})
    assert response.status_code == 303


@pytest.fixture
def street_reviewer(console_district: ConsoleDistrict) -> Browser:
    """A district reviewer who belongs to 华阳路街道 (310105001): sees that street only."""
    from district.security import hash_password

    username = "huayang.console"
    with console_district.db.write() as session:
        if session.query(models.User).filter_by(username=username).first() is None:
            user = models.User(username=username, display_name="街道审核", district="changning",
                               street_code=CHANGNING_STREET, active=True, failed_logins=0,
                               password_hash=hash_password(PASSWORD))
            session.add(user)
            session.flush()
            session.add(models.UserRole(user_id=user.id, role="district_reviewer"))
    return console_district.browser().sign_in(username)


OTHER_STREET = ("江川路街道", MINHANG_STREET)


@pytest.mark.parametrize("path", sorted({p for m, p in ROUTES if m == "GET" and "{" not in p}))
def test_a_street_user_sees_nothing_of_another_street(street_reviewer: Browser,
                                                      path: str) -> None:
    response = street_reviewer.get(path)
    assert response.status_code in (200, 303, 403), response.text
    for word in OTHER_STREET:
        assert word not in response.text, (path, word)
