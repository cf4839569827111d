"""POST /api/v1/password and the counter's session after a reset (protocol 4, issue 14)."""

from __future__ import annotations

import uuid

from sqlalchemy import select

from desktop import wire
from district import models
from district.security import hash_password
from tests.console.conftest import ConsoleDistrict
from tests.console.test_people import ApiCounter
from tests.district.harness import CHANGNING_STREET

ONE_TIME = "one-time-pass-9"


def _reset_clerk(district: ConsoleDistrict) -> str:
    """A clerk of 华阳路街道 whose password an administrator has just set."""
    name = f"p{uuid.uuid4().hex[:8]}"
    with district.db.write() as session:
        user = models.User(username=name, display_name="柜台改密", district="changning",
                           street_code=CHANGNING_STREET, password_hash=hash_password(ONE_TIME),
                           active=True, failed_logins=0, must_change_password=True)
        session.add(user)
        session.flush()
        session.add(models.UserRole(user_id=user.id, role="clerk"))
    return name


def test_a_pending_session_may_only_change_the_password_or_log_out(
        console_district: ConsoleDistrict) -> None:
    name = _reset_clerk(console_district)
    counter = ApiCounter(console_district, CHANGNING_STREET)
    assert counter.login(name, ONE_TIME).json()["must_change_password"] is True
    r = counter.http.get("/api/v1/changes", headers=counter.headers())
    assert r.status_code == 403 and r.json()["code"] == "password_change_required"
    assert "请先设置您自己的新密码" in r.json()["message"]
    r = counter.http.post("/api/v1/signing-keys", json={"public_key": "A" * 43 + "="},
                          headers=counter.headers())
    assert r.status_code == 403 and r.json()["code"] == "password_change_required"
    assert counter.http.post("/api/v1/logout", headers=counter.headers()).status_code == 204


def test_the_current_password_and_the_new_ones_rules_are_checked(
        console_district: ConsoleDistrict) -> None:
    name = _reset_clerk(console_district)
    counter = ApiCounter(console_district, CHANGNING_STREET)
    counter.login(name, ONE_TIME)
    wrong = counter.change_password("not-the-password", "a-good-new-one-1")
    assert wrong.status_code == 422 and wrong.json()["field"] == "current_password"
    same = counter.change_password(ONE_TIME, ONE_TIME)
    assert same.status_code == 422 and same.json()["field"] == "new_password"
    simple = counter.change_password(ONE_TIME, "aaaaaaaaaaaa")
    assert simple.status_code == 422 and "过于简单" in simple.json()["message"]
    short = counter.change_password(ONE_TIME, "short")
    assert short.status_code == 422
    old_session = counter.session
    done = counter.change_password(ONE_TIME, "a-good-new-one-1")
    assert done.status_code == 200, done.text
    answer = wire.LoggedIn.model_validate_json(done.content)
    assert answer.session_token != old_session and not answer.must_change_password
    assert answer.roles == ["clerk"]
    assert counter.http.get("/api/v1/changes", headers=counter.headers()).status_code == 200
    # the old session ended; the old password no longer opens one; the new one does
    counter.session = old_session
    assert counter.http.get("/api/v1/changes", headers=counter.headers()).status_code == 401
    assert counter.login(name, ONE_TIME).status_code == 401
    assert counter.login(name, "a-good-new-one-1").json()["must_change_password"] is False
    with console_district.db.read() as session:
        event = session.scalars(select(models.AuditEvent).where(
            models.AuditEvent.action == "account.password_changed",
            models.AuditEvent.subject == f"user:{name}")).one()
        assert event.detail["was_reset"] is True
        assert "a-good-new-one-1" not in str(event.detail)


def test_a_protocol_3_counter_is_not_sent_the_new_field(
        console_district: ConsoleDistrict) -> None:
    name = _reset_clerk(console_district)
    counter = ApiCounter(console_district, CHANGNING_STREET)
    r = counter.login(name, ONE_TIME, protocol=3)
    assert r.status_code == 200 and "must_change_password" not in r.json()
