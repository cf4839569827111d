"""The console's 人员 pages: add, roles, reset, deactivate, the street's sign-off rule, who may
see and do what, and the audit of it all (issue 14)."""

from __future__ import annotations

import re
import uuid
from typing import Any

import httpx
from sqlalchemy import func, select

from desktop import wire
from district import models
from district.services import staff_admin
from district.services.audit import verify_audit_trail
from district.services.auth import issue_enrolment_code
from district.values import utcnow
from tests.console.conftest import Browser, ConsoleDistrict
from tests.district.harness import CHANGNING_STREET, MINHANG_STREET, audit_event

SECRET = re.compile(r'id="one-time-password">([^<]+)<')


def _new_name(prefix: str = "t") -> str:
    return f"{prefix}{uuid.uuid4().hex[:8]}"


def _add(admin: Browser, username: str, street: str, *roles: str,
         display_name: str = "测试人员") -> tuple[Any, str]:
    admin.get("/console/people/new")
    response = admin.post("/console/people/new", {
        "username": username, "display_name": display_name, "street_code": street,
        "roles": list(roles)})  # type: ignore[dict-item]
    found = SECRET.search(response.text)
    return response, found.group(1) if found else ""


def _audit(district: ConsoleDistrict, action: str, username: str) -> list[models.AuditEvent]:
    with district.db.read() as session:
        return list(session.scalars(select(models.AuditEvent).where(
            models.AuditEvent.action == action,
            models.AuditEvent.subject == f"user:{username}")))


def _roles(district: ConsoleDistrict, username: str) -> set[str]:
    with district.db.read() as session:
        user = session.scalars(select(models.User).where(
            models.User.username == username)).one()
        assert user.active
        return set(session.scalars(select(models.UserRole.role).where(
            models.UserRole.user_id == user.id)))


class ApiCounter:
    """A counter PC speaking the wire protocol to the same application, in process."""

    def __init__(self, district: ConsoleDistrict, street: str) -> None:
        with district.db.write() as session:
            code = issue_enrolment_code(session, street)
        self.http = district.browser().client
        r = self.http.post("/api/v1/devices/register",
                           json={"enrolment_code": code, "device_name": "测试柜台"},
                           headers={wire.PROTOCOL_HEADER: str(wire.PROTOCOL_VERSION)})
        assert r.status_code == 201, r.text
        self.token = r.json()["token"]
        self.session = ""

    def headers(self, protocol: int = wire.PROTOCOL_VERSION) -> dict[str, str]:
        h = {"Authorization": f"Bearer {self.token}", wire.PROTOCOL_HEADER: str(protocol)}
        if self.session:
            h["X-Session-Token"] = self.session
        return h

    def login(self, username: str, password: str, protocol: int = wire.PROTOCOL_VERSION
              ) -> httpx.Response:
        r = self.http.post("/api/v1/login", json={"username": username, "password": password},
                           headers=self.headers(protocol))
        if r.status_code == 200:
            self.session = r.json()["session_token"]
        return r

    def push(self, actor: str) -> httpx.Response:
        return self.http.post("/api/v1/push", content=wire.Push(
            items=[audit_event(actor, 1)]).model_dump_json(),
            headers={**self.headers(), "Content-Type": "application/json"})

    def change_password(self, current: str, new: str) -> httpx.Response:
        r = self.http.post("/api/v1/password", json={"current_password": current,
                                                     "new_password": new},
                           headers=self.headers())
        if r.status_code == 200:
            self.session = r.json()["session_token"]
        return r


def test_add_a_clerk_shows_the_password_once_and_audits_without_it(
        admin: Browser, console_district: ConsoleDistrict) -> None:
    name = _new_name()
    response, one_time = _add(admin, name, CHANGNING_STREET, "clerk", display_name="王小明")
    assert response.status_code == 200, response.text
    assert "请当面交给本人，首次登录须修改" in response.text
    assert len(one_time) >= 10
    listed = admin.get(f"/console/people?street={CHANGNING_STREET}")
    assert f'id="person-{name}"' in listed.text and "王小明" in listed.text
    assert one_time not in listed.text
    (event,) = _audit(console_district, "console.user_added", name)
    assert event.actor == console_district.user(None, "admin")
    assert one_time not in str(event.detail)
    assert event.detail["roles"] == ["clerk"]
    # the new clerk signs in at a counter, must change the password first
    counter = ApiCounter(console_district, CHANGNING_STREET)
    logged = counter.login(name, one_time)
    assert logged.status_code == 200 and logged.json()["must_change_password"] is True


def test_each_field_is_checked_and_nothing_is_half_written(
        admin: Browser, console_district: ConsoleDistrict) -> None:
    existing = console_district.user(CHANGNING_STREET, "clerk1")
    cases = [
        ({"username": existing}, "用户名"),
        ({"username": "坏 名字"}, "用户名"),
        ({"username": "new"}, "系统保留"),
        ({"display_name": "  "}, "姓名"),
        ({"street_code": MINHANG_STREET}, "所属"),
        ({"roles": ["district_admin"]}, "街镇人员只能担任"),
        ({"roles": []}, "请至少选择一个角色"),
        ({"street_code": "district", "roles": ["clerk"]}, "区级人员只能担任"),
    ]
    with console_district.db.read() as session:
        before = session.scalar(select(func.count()).select_from(models.User))
    for change, words in cases:
        form: dict[str, Any] = {"username": _new_name(), "display_name": "李四",
                                "street_code": CHANGNING_STREET, "roles": ["clerk"], **change}
        admin.get("/console/people/new")
        response = admin.post("/console/people/new", form)
        assert response.status_code == 422, (change, response.text)
        assert words in response.text, change
        assert 'id="one-time-password"' not in response.text
    with console_district.db.read() as session:
        assert session.scalar(select(func.count()).select_from(models.User)) == before


def test_change_roles_and_the_approver_rule(admin: Browser,
                                            console_district: ConsoleDistrict) -> None:
    name = _new_name()
    _add(admin, name, CHANGNING_STREET, "clerk")
    admin.get(f"/console/people/{name}")
    changed = admin.post(f"/console/people/{name}/roles", {"roles": ["clerk", "reviewer"]})  # type: ignore[dict-item]
    assert changed.status_code == 303
    (event,) = _audit(console_district, "console.roles_changed", name)
    assert event.detail == {"before": ["clerk"], "after": ["clerk", "reviewer"]}
    # the street's only approver may neither lose the role nor be deactivated
    approver = console_district.user(CHANGNING_STREET, "approver")
    held = _roles(console_district, approver)
    admin.get(f"/console/people/{approver}")
    refused = admin.post(f"/console/people/{approver}/roles", {"roles": ["reviewer"]})  # type: ignore[dict-item]
    assert refused.status_code == 422
    assert "须至少保留一名在岗的审批人" in refused.text
    refused = admin.post(f"/console/people/{approver}/deactivate", {"confirm": "yes"})
    assert refused.status_code == 422
    assert "须至少保留一名在岗的审批人" in refused.text
    assert _roles(console_district, approver) == held and "approver" in held
    assert not _audit(console_district, "console.user_deactivated", approver)
    # a street user cannot be given a console role
    refused = admin.post(f"/console/people/{name}/roles", {"roles": ["district_admin"]})  # type: ignore[dict-item]
    assert refused.status_code == 422 and "街镇人员只能担任" in refused.text


class _RolledBack(Exception):
    pass


def test_the_approver_may_not_be_the_streets_only_reviewer(
        console_district: ConsoleDistrict) -> None:
    """A street of its own, in a transaction rolled back: approver A (also a reviewer) and
    reviewer B; B losing the role leaves A the only reviewer, refused; a street still being
    staffed (never met the rule) is not held to it."""
    refused: list[str] = []
    try:
        with console_district.db.write() as session:
            session.add(models.Street(code="310105098", name="试验街道", district="changning",
                                      kind="street", slug="test-street-98"))
            session.flush()
            a, _ = staff_admin.add_user(session, district="changning", username=_new_name(),
                                        display_name="甲", street_code="310105098",
                                        roles=["approver", "reviewer"])
            b, _ = staff_admin.add_user(session, district="changning", username=_new_name(),
                                        display_name="乙", street_code="310105098",
                                        roles=["clerk"])
            staff_admin.change_roles(session, district="changning", username=b.username,
                                     roles=["reviewer"], by="changning.admin")
            assert staff_admin.street_problem(session, "310105098") is None
            try:
                staff_admin.change_roles(session, district="changning", username=b.username,
                                         roles=["clerk"], by="changning.admin")
            except staff_admin.StaffRefused as refusal:
                refused.append(refusal.message)
            try:
                staff_admin.deactivate(session, district="changning", username=a.username,
                                       by="changning.admin", now=utcnow())
            except staff_admin.StaffRefused as refusal:
                refused.append(refusal.message)
            raise _RolledBack
    except _RolledBack:
        pass
    assert len(refused) == 2
    assert "审批人不能是本街镇唯一的审核人" in refused[0]
    assert "须至少保留一名在岗的审批人" in refused[1]


def test_reset_makes_the_user_change_in_the_console_and_at_the_counter(
        admin: Browser, console_district: ConsoleDistrict) -> None:
    # a district-level reviewer, reset: the console asks for a new password first
    name = _new_name("r")
    _add(admin, name, "district", "district_reviewer")
    admin.get(f"/console/people/{name}")
    reset = admin.post(f"/console/people/{name}/reset")
    assert reset.status_code == 200 and "请当面交给本人，首次登录须修改" in reset.text
    one_time = SECRET.search(reset.text).group(1)  # type: ignore[union-attr]
    events = _audit(console_district, "console.password_reset", name)
    assert len(events) == 1 and one_time not in str(events[0].detail)
    person = console_district.browser()
    signed = person.post("/console/login", {"username": name, "password": one_time},
                         csrf=False)
    assert signed.headers["location"].endswith("/console/password")
    assert person.get("/console/people").status_code == 303  # to /password
    # a clerk, signed in at a counter: the reset ends the session; the next sign-in must change
    clerk = _new_name("c")
    _, first = _add(admin, clerk, CHANGNING_STREET, "clerk")
    counter = ApiCounter(console_district, CHANGNING_STREET)
    assert counter.login(clerk, first).status_code == 200
    assert counter.change_password(first, "clerk-own-pass-1").status_code == 200
    assert counter.push(clerk).status_code == 200
    admin.get(f"/console/people/{clerk}")
    reset = admin.post(f"/console/people/{clerk}/reset")
    one_time = SECRET.search(reset.text).group(1)  # type: ignore[union-attr]
    gone = counter.push(clerk)
    assert gone.status_code == 401 and gone.json()["code"] == "session_invalid"
    assert counter.login(clerk, "clerk-own-pass-1").status_code == 401
    logged = counter.login(clerk, one_time)
    assert logged.json()["must_change_password"] is True
    held = counter.push(clerk)
    assert held.status_code == 403 and held.json()["code"] == "password_change_required"
    assert "请先设置您自己的新密码" in held.json()["message"]
    assert counter.change_password(one_time, "clerk-new-pass-2").status_code == 200
    assert counter.push(clerk).status_code == 200


def test_deactivate_ends_sessions_and_the_next_push_is_refused(
        admin: Browser, console_district: ConsoleDistrict) -> None:
    clerk = _new_name("d")
    _, first = _add(admin, clerk, CHANGNING_STREET, "clerk")
    counter = ApiCounter(console_district, CHANGNING_STREET)
    counter.login(clerk, first)
    counter.change_password(first, "leaving-soon-1")
    assert counter.push(clerk).status_code == 200
    admin.get(f"/console/people/{clerk}")
    confirm = admin.get(f"/console/people/{clerk}/deactivate")
    assert 'id="confirm-deactivate"' in confirm.text
    unconfirmed = admin.post(f"/console/people/{clerk}/deactivate")
    assert unconfirmed.status_code == 422
    done = admin.post(f"/console/people/{clerk}/deactivate", {"confirm": "yes"})
    assert done.status_code == 303
    refused = counter.push(clerk)
    assert refused.status_code == 401 and refused.json()["code"] == "session_invalid"
    assert counter.login(clerk, "leaving-soon-1").status_code == 401
    with console_district.db.read() as session:
        user = session.scalars(select(models.User).where(models.User.username == clerk)).one()
        assert not user.active
        assert not session.scalar(select(func.count()).select_from(models.LoginSession).where(
            models.LoginSession.user_id == user.id))
        assert not session.scalar(select(func.count()).select_from(models.SigningKey).where(
            models.SigningKey.user_id == user.id, models.SigningKey.revoked_at.is_(None)))
    listed = admin.get(f"/console/people?street={CHANGNING_STREET}")
    assert f'<tr id="person-{clerk}" class="inactive">' in listed.text
    assert len(_audit(console_district, "console.user_deactivated", clerk)) == 1


def test_deactivate_ends_the_users_console_sessions(admin: Browser,
                                                    console_district: ConsoleDistrict) -> None:
    name = _new_name("v")
    _, first = _add(admin, name, "district", "district_reviewer")
    person = console_district.browser()
    person.post("/console/login", {"username": name, "password": first}, csrf=False)
    person.get("/console/password")
    person.post("/console/password", {"current": first, "new": "reviewer-pass-1",
                                      "again": "reviewer-pass-1"})
    assert person.get("/console/people").status_code == 200
    admin.get(f"/console/people/{name}")
    admin.post(f"/console/people/{name}/deactivate", {"confirm": "yes"})
    assert person.get("/console/people").status_code == 303


def test_a_district_reviewer_reads_but_changes_nothing(console_district: ConsoleDistrict) -> None:
    reviewer = console_district.browser().sign_in(console_district.user(None, "reviewer"))
    listed = reviewer.get("/console/people")
    assert listed.status_code == 200
    assert console_district.user(CHANGNING_STREET, "approver") in listed.text
    assert 'id="new-user"' not in listed.text
    clerk = console_district.user(CHANGNING_STREET, "clerk1")
    assert reviewer.get("/console/people/new").status_code == 403
    assert reviewer.get(f"/console/people/{clerk}").status_code == 403
    for path, form in [("/console/people/new", {"username": _new_name(), "display_name": "x",
                                                "street_code": CHANGNING_STREET,
                                                "roles": "clerk"}),
                       (f"/console/people/{clerk}/roles", {"roles": "reviewer"}),
                       (f"/console/people/{clerk}/reset", {}),
                       (f"/console/people/{clerk}/deactivate", {"confirm": "yes"})]:
        response = reviewer.post(path, form)
        assert response.status_code == 403, path
        assert "区审核人只能查看" in response.text


def test_a_street_console_user_sees_only_their_street(admin: Browser,
                                                      console_district: ConsoleDistrict) -> None:
    # a district_reviewer who belongs to 华阳路街道 (made in the database: the console gives
    # street users counter roles only)
    name = console_district.add_user("district_reviewer", CHANGNING_STREET,
                                     username=_new_name("s"), display_name="街镇查看")
    street = console_district.browser().sign_in(name)
    listed = street.get("/console/people")
    assert console_district.user(CHANGNING_STREET, "approver") in listed.text
    assert "changning.admin" not in listed.text  # the district's own staff
    other_street = "310105002"
    with console_district.db.read() as session:
        others = list(session.scalars(select(models.User.username).where(
            models.User.district == "changning", models.User.street_code.is_not(None),
            models.User.street_code != CHANGNING_STREET)))
    for other in others:
        assert other not in listed.text
    assert street.get(f"/console/people?street={other_street}").status_code == 404
    assert street.get(f"/console/people?street={MINHANG_STREET}").status_code == 404


def test_the_admin_does_not_see_another_districts_people(admin: Browser,
                                                         console_district: ConsoleDistrict
                                                         ) -> None:
    other = console_district.user(MINHANG_STREET, "clerk1")
    assert other not in admin.get("/console/people").text
    assert admin.get(f"/console/people/{other}").status_code == 404
    admin.get("/console/people")
    assert admin.post(f"/console/people/{other}/reset").status_code == 404


def test_a_form_without_its_csrf_token_is_refused(admin: Browser,
                                                  console_district: ConsoleDistrict) -> None:
    clerk = console_district.user(CHANGNING_STREET, "clerk2")
    admin.get(f"/console/people/{clerk}")
    for path in (f"/console/people/{clerk}/reset", f"/console/people/{clerk}/roles",
                 "/console/people/new"):
        response = admin.post(path, {"roles": "clerk"}, csrf=False)
        assert response.status_code == 403, path
    assert not _audit(console_district, "console.password_reset", clerk)


def test_the_audit_chain_holds_after_all_of_it(admin: Browser,
                                               console_district: ConsoleDistrict) -> None:
    name = _new_name()
    _add(admin, name, CHANGNING_STREET, "clerk")
    admin.get(f"/console/people/{name}")
    admin.post(f"/console/people/{name}/reset")
    admin.post(f"/console/people/{name}/deactivate", {"confirm": "yes"})
    reactivated = admin.post(f"/console/people/{name}/reactivate")
    assert reactivated.status_code == 200 and 'id="one-time-password"' in reactivated.text
    for action in ("console.user_added", "console.password_reset",
                   "console.user_deactivated", "console.user_reactivated"):
        assert len(_audit(console_district, action, name)) == 1, action
    with console_district.db.read() as session:
        verdict = verify_audit_trail(session)
    assert verdict.intact, verdict.problems
