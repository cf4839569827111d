"""The console's own sign-in: cookie flags, CSRF, idle timeout, roles, audit (issue 14)."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select, update

from district import models
from district.console.web import COOKIE, IDLE
from district.services.audit import verify_audit_trail
from district.values import utcnow
from tests.console.conftest import Browser, ConsoleDistrict
from tests.district.harness import CHANGNING_STREET, PASSWORD


def test_the_cookie_is_secure_httponly_strict_and_scoped(browser: Browser,
                                                         console_district: ConsoleDistrict
                                                         ) -> None:
    response = browser.post("/console/login", {"username": console_district.user(None, "admin"),
                                               "password": PASSWORD}, csrf=False)
    assert response.status_code == 303
    cookie = response.headers["set-cookie"]
    assert cookie.startswith(f"{COOKIE}=")
    for flag in ("Secure", "HttpOnly", "SameSite=strict", "Path=/console"):
        assert flag.lower() in cookie.lower(), flag


def test_a_wrong_password_and_an_unknown_name_get_the_same_answer(
        browser: Browser, console_district: ConsoleDistrict) -> None:
    wrong = browser.post("/console/login", {"username": console_district.user(None, "admin"),
                                            "password": "nope"}, csrf=False)
    unknown = browser.post("/console/login", {"username": "nobody.at.all",
                                              "password": "nope"}, csrf=False)
    assert wrong.status_code == unknown.status_code == 401
    assert "用户名或密码错误" in wrong.text and "用户名或密码错误" in unknown.text
    assert COOKIE not in wrong.headers.get("set-cookie", "")


def test_a_counter_role_cannot_sign_in(browser: Browser,
                                       console_district: ConsoleDistrict) -> None:
    response = browser.post("/console/login", {
        "username": console_district.user(CHANGNING_STREET, "clerk1"), "password": PASSWORD},
        csrf=False)
    assert response.status_code == 403
    assert "柜台程序中登录" in response.text


def test_anonymous_pages_go_to_the_sign_in(browser: Browser) -> None:
    response = browser.get("/console/")
    assert response.status_code == 303
    assert response.headers["location"].endswith("/console/login")


def test_sign_out_needs_the_csrf_token_and_ends_the_session(admin: Browser) -> None:
    refused = admin.post("/console/logout", csrf=False)
    assert refused.status_code == 403
    assert admin.get("/console/").status_code == 200
    assert admin.post("/console/logout").status_code == 303
    assert admin.get("/console/").status_code == 303


def test_an_idle_session_ends(admin: Browser, console_district: ConsoleDistrict) -> None:
    assert admin.get("/console/").status_code == 200
    with console_district.db.write() as session:
        session.execute(update(models.ConsoleSession).values(
            last_seen_at=utcnow() - IDLE - timedelta(seconds=1)))
    response = admin.get("/console/")
    assert response.status_code == 303
    assert response.headers["location"].endswith("/console/login?reason=expired")
    assert "长时间未操作" in admin.get("/console/login?reason=expired").text


def test_sign_in_and_out_are_in_the_audit_chain(console_district: ConsoleDistrict) -> None:
    admin = console_district.browser().sign_in(console_district.user(None, "admin"))
    admin.post("/console/logout")
    with console_district.db.read() as session:
        actions = session.scalars(select(models.AuditEvent.action).where(
            models.AuditEvent.device_id.is_(None)).order_by(models.AuditEvent.chain_seq)).all()
        verdict = verify_audit_trail(session)
    assert "console.sign_in" in actions and "console.sign_out" in actions
    assert verdict.intact, verdict.problems
