"""Devices register once, clerks log in on them, and nothing else answers an anonymous call."""

from __future__ import annotations

from datetime import timedelta

import httpx
import pytest
from sqlalchemy import select, update

from desktop import wire
from district import models
from district.db import Database
from district.services import auth
from district.values import utcnow
from tests.district.conftest import SeededDistrict
from tests.district.harness import CHANGNING_STREET, MINHANG_STREET, PASSWORD, Counter

PUBLIC = {("get", "/health"), ("post", "/devices/register"), ("get", "/openapi.json"),
          ("get", "/docs")}


def _operations(base_url: str) -> list[tuple[str, str]]:
    spec = httpx.get(f"{base_url}/openapi.json").json()
    return sorted((method, path.removeprefix(wire.API_PREFIX))
                  for path, item in spec["paths"].items() for method in item)


def _error(response: httpx.Response) -> wire.ErrorBody:
    return wire.ErrorBody.model_validate_json(response.content)


def test_openapi_is_published_with_every_route(district: SeededDistrict) -> None:
    operations = _operations(district.base_url)
    for expected in [("get", "/health"), ("post", "/devices/register"), ("post", "/login"),
                     ("get", "/changes"), ("post", "/push"), ("get", "/monthly-summary")]:
        assert expected in operations


def test_every_protected_route_refuses_anonymous_and_bad_credentials(
        district: SeededDistrict) -> None:
    counter = district.counter(login=None)  # a registered device, nobody logged in
    protected = [op for op in _operations(district.base_url) if op not in PUBLIC]
    assert len(protected) >= 5
    attempts = {
        "anonymous": {},
        "unknown device token": {"Authorization": "Bearer not-a-real-token"},
        "wrong scheme": {"Authorization": f"Basic {counter.registered.token}"},
        "session without device": {"X-Session-Token": "whatever"},
    }
    for method, path in protected:
        url = district.base_url + path.replace("{", "").replace("}", "")
        for what, headers in attempts.items():
            version = {wire.PROTOCOL_HEADER: str(wire.PROTOCOL_VERSION)}
            r = httpx.request(method, url, headers={**version, **headers}, json={})
            assert r.status_code == 401, (method, path, what, r.text)
            assert r.headers["www-authenticate"] == "Bearer"
            assert _error(r).message  # an ErrorBody with a Chinese message
        # the device alone is enough only to sign in and to ask what the district knows of
        # it (its number, GET /devices/me); for everything else it is not
        if (method, path) not in {("post", "/login"), ("get", "/devices/me")}:
            r = httpx.request(method, url, headers=counter.headers(), json={})
            assert r.status_code == 401, (method, path, r.text)
            assert _error(r).code == "login_required"
            bad = {**counter.headers(), "X-Session-Token": "forged"}
            r = httpx.request(method, url, headers=bad, json={})
            assert r.status_code == 401 and _error(r).code == "session_invalid"


def test_health_and_openapi_need_no_credentials(district: SeededDistrict) -> None:
    assert httpx.get(f"{district.base_url}/health").json()["status"] == "ok"
    assert httpx.get(f"{district.base_url}/openapi.json").status_code == 200


def test_registration_uses_a_code_once(district: SeededDistrict) -> None:
    code = district.enrolment_code(CHANGNING_STREET)
    url = f"{district.base_url}/devices/register"
    version = {wire.PROTOCOL_HEADER: str(wire.PROTOCOL_VERSION)}
    r = httpx.post(url, json={"enrolment_code": code.lower(), "device_name": "受理窗口3"},
                   headers=version)
    assert r.status_code == 201, r.text
    registered = wire.DeviceRegistered.model_validate_json(r.content)
    assert registered.street_code == CHANGNING_STREET
    assert registered.street_name == "华阳路街道"
    assert len(registered.token) >= 40
    again = httpx.post(url, json={"enrolment_code": code, "device_name": "另一台"},
                       headers=version)
    assert again.status_code == 401 and _error(again).code == "invalid_enrolment_code"
    unknown = httpx.post(url, json={"enrolment_code": "ABCD-EFGH-JKMN", "device_name": "x"},
                         headers=version)
    assert unknown.status_code == 401 and _error(unknown).code == "invalid_enrolment_code"
    malformed = httpx.post(url, json={"enrolment_code": "x", "device_name": "x"},
                           headers=version)
    assert malformed.status_code == 422 and _error(malformed).field == "enrolment_code"
    # The token works: the device may log a clerk in.
    counter = Counter(district.base_url, registered)
    user = counter.login(district.user(CHANGNING_STREET, "clerk1"))
    assert user.roles == ["clerk"]
    counter.close()


def test_login_checks_password_street_and_device(district: SeededDistrict) -> None:
    counter = district.counter(login=None)
    login = f"{district.base_url}/login"
    clerk = district.user(CHANGNING_STREET, "clerk2")
    wrong = httpx.post(login, json={"username": clerk, "password": "nope"},
                       headers=counter.headers())
    assert wrong.status_code == 401 and _error(wrong).code == "invalid_credentials"
    nobody = httpx.post(login, json={"username": "nobody", "password": "nope"},
                        headers=counter.headers())
    assert nobody.status_code == 401 and _error(nobody) == _error(wrong)
    # The right password of another street's user answers exactly like a wrong one: the
    # answer must not confirm a password guessed on a PC where it cannot be used.
    elsewhere = district.user(MINHANG_STREET, "clerk1")
    other_street = httpx.post(login, json={"username": elsewhere, "password": PASSWORD},
                              headers=counter.headers())
    assert other_street.status_code == 401 and _error(other_street) == _error(wrong)
    user = counter.login(clerk)
    assert sorted(user.roles) == ["clerk", "reviewer"]
    assert user.display_name
    # A session belongs to the device it was opened on.
    other = district.counter(login=None)
    stolen = {**other.headers(), "X-Session-Token": user.session_token}
    r = httpx.get(f"{district.base_url}/changes", headers=stolen)
    assert r.status_code == 401 and _error(r).code == "session_invalid"
    # Logging out ends the session.
    assert httpx.post(f"{district.base_url}/logout", headers=counter.headers()).status_code == 204
    r = httpx.get(f"{district.base_url}/changes", headers=counter.headers())
    assert r.status_code == 401


def _try(counter: Counter, username: str, password: str) -> httpx.Response:
    return httpx.post(f"{counter.base_url}/login", headers=counter.headers(),
                      json={"username": username, "password": password})


def test_repeated_wrong_passwords_lock_the_name_on_that_pc_only(
        district: SeededDistrict) -> None:
    victim = district.user(MINHANG_STREET, "reviewer")
    hostile = district.counter(MINHANG_STREET, login=None)
    for _ in range(auth.FREE_FAILURES):
        r = _try(hostile, victim, "guess")
        assert r.status_code == 401 and _error(r).code == "invalid_credentials"
    r = _try(hostile, victim, PASSWORD)  # even the right password, on this PC
    assert r.status_code == 401 and _error(r).code == "account_locked"
    assert "1 分钟" in _error(r).message
    # Another PC of the street is not affected: the victim logs in there.
    elsewhere = district.counter(MINHANG_STREET, login=None)
    assert elsewhere.login(victim).username == victim
    # Another name on the hostile PC is not affected either.
    assert hostile.login(district.user(MINHANG_STREET, "clerk1")).username


def test_unknown_names_lock_exactly_like_known_ones(district: SeededDistrict) -> None:
    """Counting only real users would tell which names exist (the lock would show it)."""
    counter = district.counter(login=None)
    known, unknown = district.user(CHANGNING_STREET, "approver"), "changning.nobody"
    answers: dict[str, list[tuple[int, str, str]]] = {known: [], unknown: []}
    for name in (known, unknown):
        for _ in range(auth.FREE_FAILURES + 1):
            r = _try(counter, name, "guess")
            error = _error(r)
            answers[name].append((r.status_code, error.code, error.message))
    assert answers[known] == answers[unknown]
    assert [code for _, code, _ in answers[known]] == (
        ["invalid_credentials"] * auth.FREE_FAILURES + ["account_locked"])


def test_the_lockout_grows_with_each_failure_after_it(district: SeededDistrict) -> None:
    counter = district.counter(login=None)
    name = district.user(CHANGNING_STREET, "clerk1")
    db = Database(district.server.database_url)
    try:
        for _ in range(auth.FREE_FAILURES):
            assert _error(_try(counter, name, "guess")).code == "invalid_credentials"
        locked = []
        for _ in range(3):  # wait out each lock (by moving it to the past), then fail again
            with db.read() as session:
                row = session.get_one(models.LoginFailures,
                                      (auth.name_key(name), counter.device_id))
                assert row.locked_until is not None
                locked.append(row.locked_until - row.last_failure_at)
            with db.write() as session:
                session.execute(update(models.LoginFailures).where(
                    models.LoginFailures.device_id == counter.device_id).values(
                    locked_until=utcnow() - timedelta(seconds=1)))
            r = _try(counter, name, "guess")
            assert _error(r).code == "invalid_credentials"
        assert locked == [timedelta(minutes=1), timedelta(minutes=2), timedelta(minutes=4)]
        r = _try(counter, name, PASSWORD)
        assert _error(r).code == "account_locked" and "8 分钟" in _error(r).message
        # Once the lock is over, the right password clears the record.
        with db.write() as session:
            session.execute(update(models.LoginFailures).where(
                models.LoginFailures.device_id == counter.device_id).values(
                locked_until=utcnow() - timedelta(seconds=1)))
        counter.login(name)
        with db.read() as session:
            assert session.get(models.LoginFailures,
                               (auth.name_key(name), counter.device_id)) is None
            user = session.scalars(select(models.User)
                                   .where(models.User.username == name)).one()
            assert user.locked_until is None  # the old district-wide lock is not used
    finally:
        db.dispose()


def test_the_lockout_schedule() -> None:
    assert [auth.lockout_for(n) for n in range(auth.FREE_FAILURES)] == [None] * 5
    minutes = [auth.lockout_for(n) for n in range(5, 13)]
    assert minutes == [timedelta(minutes=m) for m in (1, 2, 4, 8, 16, 32, 60, 60)]
    assert auth.lockout_for(10_000) == timedelta(hours=1)


def test_admin_routes_need_the_admin_role(district: SeededDistrict) -> None:
    counter = district.counter(login="clerk1", pull=False)
    r = httpx.post(f"{district.base_url}/enrolment-codes", headers=counter.headers(),
                   json={"street_code": CHANGNING_STREET})
    assert r.status_code == 403 and _error(r).code == "forbidden"
    admin = district.counter(login=None)
    admin.login("changning.admin")
    r = httpx.post(f"{district.base_url}/enrolment-codes", headers=admin.headers(),
                   json={"street_code": "310105002"})
    assert r.status_code == 404  # not a street of this (seeded) district
    r = httpx.post(f"{district.base_url}/enrolment-codes", headers=admin.headers(),
                   json={"street_code": CHANGNING_STREET})
    assert r.status_code == 201, r.text
    fresh = Counter.register(district.base_url, r.json()["enrolment_code"], "新柜台")
    assert fresh.street_code == CHANGNING_STREET
    fresh.close()
    r = httpx.post(f"{district.base_url}/enrolment-codes", headers=admin.headers(),
                   json={"street_code": MINHANG_STREET})
    assert r.status_code == 404  # another district's street


@pytest.mark.parametrize("path", ["/nope", "/changes/extra"])
def test_unknown_routes_answer_an_error_body(district: SeededDistrict, path: str) -> None:
    r = httpx.get(f"{district.base_url}{path}",
                  headers={wire.PROTOCOL_HEADER: str(wire.PROTOCOL_VERSION)})
    assert r.status_code == 404 and _error(r).code == "not_found"


def test_logs_hold_no_secret(district: SeededDistrict) -> None:
    counter = district.counter()
    log = district.server.log()
    assert '"logger": "district.requests"' in log  # structured request lines are written
    assert counter.registered.token not in log
    assert counter.session_token and counter.session_token not in log
    assert PASSWORD not in log
    for street in district.report["streets"]:
        for code in street["enrolment_codes"]:
            assert code not in log


def test_a_password_typed_as_the_user_name_is_not_kept(district: SeededDistrict) -> None:
    """People type their password in the user name field: the failure is counted under the
    name's hash, and neither the database nor the server's log holds the text."""
    counter = district.counter(login=None)
    typed = "Mima-2026-zhenshi-mimi"
    for _ in range(auth.FREE_FAILURES):
        assert _error(_try(counter, typed, "whatever")).code == "invalid_credentials"
    db = Database(district.server.database_url)
    try:
        with db.read() as session:
            rows = session.scalars(select(models.LoginFailures).where(
                models.LoginFailures.device_id == counter.device_id)).all()
    finally:
        db.dispose()
    assert [r.username for r in rows] == [auth.name_key(typed)]
    assert rows[0].locked_until is not None  # counted and locked like any name
    assert typed not in district.server.log()
