"""Signing in at the counter: online against a real district server, offline from the verifier.

The district runs as a real process on loopback (tests/sync/conftest.py); "offline" is that
server stopped, or a client pointed at a port nobody listens on.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select

from desktop.services.accounts import (
    DEFAULT_MAX_OFFLINE_AGE,
    OFFLINE_HINT,
    SCRYPT_N,
    SCRYPT_P,
    SCRYPT_R,
    UNKNOWN_ACTOR,
    WRONG_CREDENTIALS,
    SignedIn,
    SignInRefused,
    can_approve,
    can_handle,
    can_review,
    check_verifier,
    make_verifier,
    sign_in,
    verify_password,
)
from desktop.store import Store, open_store
from desktop.store.models import AuditEventRecord, OutboxRecord, UserRecord
from desktop.sync.client import DistrictClient
from tests.sync.conftest import PASSWORD, DistrictServer, free_port, seed_and_serve

T0 = datetime(2026, 6, 10, 1, 0, tzinfo=UTC)


@dataclass
class District:
    server: DistrictServer
    token: str

    def client(self) -> DistrictClient:
        return DistrictClient(self.server.url, lambda: self.token, timeout=5)

    def user(self, role: str, nth: int = 0) -> str:
        return self.server.user(role, nth)


@pytest.fixture(scope="module")
def district(tmp_path_factory: pytest.TempPathFactory) -> Iterator[District]:
    server = seed_and_serve(tmp_path_factory.mktemp("district"), persons=5)
    with DistrictClient(server.url) as client:
        registered = client.register(server.codes()[0], "accounts tests")
    yield District(server, registered.token)
    server.kill()


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    with open_store(tmp_path / "counter.sqlite") as opened:
        yield opened


@pytest.fixture
def online(district: District) -> Iterator[DistrictClient]:
    with district.client() as client:
        yield client


@pytest.fixture
def unreachable() -> Iterator[DistrictClient]:
    """A client whose server is not there: nothing listens on the port."""
    with DistrictClient(f"http://127.0.0.1:{free_port()}", lambda: "token", timeout=2) as c:
        yield c


def user_record(store: Store, username: str) -> UserRecord | None:
    with store.read_session() as session:
        return session.get(UserRecord, username)


def audit(store: Store) -> list[AuditEventRecord]:
    with store.read_session() as session:
        return list(session.scalars(select(AuditEventRecord).order_by(AuditEventRecord.id)))


# -- online -------------------------------------------------------------------------------------

def test_online_sign_in_keeps_the_user_and_a_verifier(store: Store, district: District,
                                                       online: DistrictClient) -> None:
    clerk = district.user("clerk")
    signed = sign_in(store, online, clerk, PASSWORD, now=T0)
    assert isinstance(signed, SignedIn)
    assert (signed.username, signed.roles, signed.offline) == (clerk, ("clerk",), False)
    assert signed.display_name and signed.notice is None
    user = user_record(store, clerk)
    assert user is not None
    assert (user.display_name, user.roles) == (signed.display_name, ["clerk"])
    assert user.verified_at == T0
    assert user.password_verifier is not None
    assert user.password_verifier.startswith(f"scrypt${SCRYPT_N}${SCRYPT_R}${SCRYPT_P}$")
    assert PASSWORD not in user.password_verifier
    assert verify_password(store, clerk, PASSWORD)
    assert not verify_password(store, clerk, PASSWORD + "x")
    assert not verify_password(store, "nobody", PASSWORD)
    (event,) = audit(store)
    assert (event.actor, event.action, event.subject) == (clerk, "user.signed_in", f"user:{clerk}")
    assert event.detail == {"mode": "online", "roles": ["clerk"]}
    with store.read_session() as session:  # pushed to the district with the rest
        (item,) = session.scalars(select(OutboxRecord)).all()
        assert item.kind == "audit_event" and item.payload["action"] == "user.signed_in"


def test_every_online_sign_in_refreshes_the_user_with_a_new_salt(
        store: Store, district: District, online: DistrictClient) -> None:
    reviewer = district.user("reviewer")
    with store.session() as session:  # what an older sign-in had left: roles since changed
        session.add(UserRecord(username=reviewer, display_name="旧名字", roles=["clerk"]))
    sign_in(store, online, reviewer, PASSWORD, now=T0)
    first = user_record(store, reviewer)
    sign_in(store, online, reviewer, PASSWORD, now=T0 + timedelta(days=3))
    second = user_record(store, reviewer)
    assert first is not None and second is not None
    assert second.display_name != "旧名字" and "reviewer" in second.roles
    assert second.verified_at == T0 + timedelta(days=3)
    assert first.password_verifier != second.password_verifier  # a fresh random salt
    assert check_verifier(first.password_verifier, PASSWORD)
    assert check_verifier(second.password_verifier, PASSWORD)


def test_the_districts_refusal_is_final_never_an_offline_sign_in(
        store: Store, district: District, online: DistrictClient) -> None:
    approver = district.user("approver")
    sign_in(store, online, approver, PASSWORD, now=T0)
    with pytest.raises(SignInRefused) as refused:
        sign_in(store, online, approver, "wrong-password", now=T0)
    assert refused.value.message == WRONG_CREDENTIALS
    assert refused.value.reason == "invalid_credentials"
    # a mistyped password does not cost the user their offline access
    assert verify_password(store, approver, PASSWORD)
    with pytest.raises(SignInRefused) as unknown:  # the same words for a user nobody knows
        sign_in(store, online, "huayang.nobody", "wrong-password", now=T0)
    assert unknown.value.message == refused.value.message
    events = audit(store)
    assert [(e.actor, e.action) for e in events] == [
        (approver, "user.signed_in"), (approver, "user.sign_in_refused"),
        (UNKNOWN_ACTOR, "user.sign_in_refused")]
    assert events[1].detail == {"mode": "online", "reason": "invalid_credentials",
                                "status": 401}
    assert "huayang.nobody" not in str([(e.actor, e.subject, e.detail) for e in events])


def test_a_user_the_district_disabled_loses_offline_access(
        store: Store, district: District, online: DistrictClient,
        unreachable: DistrictClient) -> None:
    clerk2 = district.user("clerk", 1)
    sign_in(store, online, clerk2, PASSWORD, now=T0)
    database = district.server.database_url.removeprefix("sqlite:///")
    with sqlite3.connect(database) as connection:
        connection.execute("UPDATE users SET active = 0 WHERE username = ?", (clerk2,))
    try:
        with pytest.raises(SignInRefused, match=WRONG_CREDENTIALS):
            sign_in(store, online, clerk2, PASSWORD, now=T0 + timedelta(hours=1))
        user = user_record(store, clerk2)
        assert user is not None and user.password_verifier is None and user.verified_at is None
        assert audit(store)[-1].detail["offline_access_revoked"] is True
        with pytest.raises(SignInRefused) as refused:  # and the old password no longer opens
            sign_in(store, unreachable, clerk2, PASSWORD, now=T0 + timedelta(hours=2))
        assert refused.value.message == WRONG_CREDENTIALS + OFFLINE_HINT
        assert not verify_password(store, clerk2, PASSWORD)
    finally:
        with sqlite3.connect(database) as connection:
            connection.execute("UPDATE users SET active = 1 WHERE username = ?", (clerk2,))


# -- offline ------------------------------------------------------------------------------------

def test_offline_after_an_online_sign_in_here(store: Store, district: District,
                                              online: DistrictClient,
                                              unreachable: DistrictClient) -> None:
    clerk = district.user("clerk")
    online_user = sign_in(store, online, clerk, PASSWORD, now=T0)
    signed = sign_in(store, unreachable, clerk, PASSWORD, now=T0 + timedelta(days=2))
    assert signed.offline
    assert (signed.username, signed.display_name, signed.roles) == (
        clerk, online_user.display_name, online_user.roles)
    assert signed.notice is not None and "无法连接区服务器" in signed.notice
    event = audit(store)[-1]
    assert (event.actor, event.action) == (clerk, "user.signed_in")
    assert event.detail["mode"] == "offline"
    assert event.detail["verified_at"] == T0.isoformat()


def test_offline_when_the_server_was_killed(store: Store, district: District,
                                            tmp_path: Path) -> None:
    """The same client, the server gone between two sign-ins (a second server process on the
    district's database, killed)."""
    port = free_port()
    second = DistrictServer(f"http://127.0.0.1:{port}", district.server.database_url, port,
                            district.server.seed)
    second.start()
    clerk = district.user("clerk")
    try:
        with DistrictClient(second.url, lambda: district.token, timeout=2) as client:
            assert not sign_in(store, client, clerk, PASSWORD, now=T0).offline
            second.kill()
            assert sign_in(store, client, clerk, PASSWORD, now=T0 + timedelta(hours=1)).offline
            with pytest.raises(SignInRefused):
                sign_in(store, client, clerk, "wrong-password", now=T0 + timedelta(hours=1))
    finally:
        second.kill()


def test_without_a_configured_server_only_offline(store: Store, district: District,
                                                  online: DistrictClient) -> None:
    clerk = district.user("clerk")
    sign_in(store, online, clerk, PASSWORD, now=T0)
    signed = sign_in(store, None, clerk, PASSWORD, now=T0)
    assert signed.offline and signed.notice is not None and "未设置区服务器" in signed.notice


def test_offline_refusals_do_not_tell_an_unknown_user_from_a_wrong_password(
        store: Store, district: District, online: DistrictClient,
        unreachable: DistrictClient) -> None:
    clerk = district.user("clerk")
    sign_in(store, online, clerk, PASSWORD, now=T0)
    messages = []
    for username, password in [(clerk, "wrong-password"), ("huayang.reviewer", PASSWORD),
                               ("nobody-at-all", "whatever")]:
        with pytest.raises(SignInRefused) as refused:
            sign_in(store, unreachable, username, password, now=T0)
        messages.append(refused.value.message)
    assert set(messages) == {WRONG_CREDENTIALS + OFFLINE_HINT}
    assert "首次登录本机须联网" in messages[0]
    actors = [e.actor for e in audit(store) if e.action == "user.sign_in_refused"]
    assert actors == [clerk, UNKNOWN_ACTOR, UNKNOWN_ACTOR]


@pytest.mark.parametrize(("age", "limit", "allowed"), [
    (timedelta(0), DEFAULT_MAX_OFFLINE_AGE, True),
    (timedelta(days=29, hours=23), DEFAULT_MAX_OFFLINE_AGE, True),
    (timedelta(days=30), DEFAULT_MAX_OFFLINE_AGE, True),  # the last moment still counts
    (timedelta(days=30, seconds=1), DEFAULT_MAX_OFFLINE_AGE, False),
    (timedelta(days=90), DEFAULT_MAX_OFFLINE_AGE, False),
    (timedelta(days=2), timedelta(days=1), False),  # a district that wants it shorter
    (timedelta(days=40), timedelta(days=60), True),
])
def test_the_verifier_is_good_offline_for_a_limited_time(
        store: Store, district: District, online: DistrictClient,
        unreachable: DistrictClient, age: timedelta, limit: timedelta, allowed: bool) -> None:
    clerk = district.user("clerk")
    sign_in(store, online, clerk, PASSWORD, now=T0)
    if allowed:
        assert sign_in(store, unreachable, clerk, PASSWORD, now=T0 + age,
                       max_offline_age=limit).offline
        return
    with pytest.raises(SignInRefused) as refused:
        sign_in(store, unreachable, clerk, PASSWORD, now=T0 + age, max_offline_age=limit)
    assert refused.value.reason == "verifier_too_old"
    assert f"超过 {limit.days} 天" in refused.value.message
    # back online, the user signs in and the clock starts again
    sign_in(store, online, clerk, PASSWORD, now=T0 + age)
    assert sign_in(store, unreachable, clerk, PASSWORD, now=T0 + age,
                   max_offline_age=limit).offline


@pytest.mark.parametrize(("status", "code", "offline", "revoked"), [
    (503, "http_503", True, False),  # the gateway in front of a stopped district server
    (500, "internal_error", True, False),
    (401, "account_locked", False, False),
    (401, "invalid_credentials", False, True),  # this very password: changed at the district
    (403, "forbidden", False, True),  # the user no longer works at this street
    (401, "device_unknown", False, False),
    (429, "too_many_requests", False, False),
])
def test_a_server_error_is_unreachable_a_refusal_is_not(
        store: Store, district: District, online: DistrictClient, status: int, code: str,
        offline: bool, revoked: bool) -> None:
    clerk = district.user("clerk")
    sign_in(store, online, clerk, PASSWORD, now=T0)

    def answer(_request: httpx.Request) -> httpx.Response:
        return httpx.Response(status, json={"code": code, "message": "区服务器的答复。"})

    with DistrictClient("http://district.test", lambda: "token",
                        transport=httpx.MockTransport(answer)) as client:
        if offline:
            assert sign_in(store, client, clerk, PASSWORD, now=T0).offline
            return
        with pytest.raises(SignInRefused) as refused:
            sign_in(store, client, clerk, PASSWORD, now=T0)
    assert (refused.value.message, refused.value.reason) == ("区服务器的答复。", code)
    assert verify_password(store, clerk, PASSWORD) is not revoked


@pytest.mark.parametrize(("username", "password", "message"), [
    ("", PASSWORD, "请输入用户名和密码。"),
    ("   ", PASSWORD, "请输入用户名和密码。"),
    ("huayang.clerk1", "", "请输入用户名和密码。"),
    ("x" * 65, PASSWORD, WRONG_CREDENTIALS),
    ("huayang.clerk1", "p" * 257, WRONG_CREDENTIALS),
])
def test_malformed_input_is_refused_before_the_network(
        store: Store, unreachable: DistrictClient, username: str, password: str,
        message: str) -> None:
    with pytest.raises(SignInRefused) as refused:
        sign_in(store, unreachable, username, password, now=T0)
    assert refused.value.message == message


# -- the password is never stored -----------------------------------------------------------------

def test_no_password_anywhere_in_the_database_file(district: District, online: DistrictClient,
                                                   unreachable: DistrictClient,
                                                   tmp_path: Path) -> None:
    path = tmp_path / "counter.sqlite"
    clerk = district.user("clerk")
    wrong = "Wrong-Secret-7731"
    with open_store(path) as store:
        sign_in(store, online, clerk, PASSWORD, now=T0)
        sign_in(store, unreachable, clerk, PASSWORD, now=T0)
        verify_password(store, clerk, PASSWORD)
        for client in (online, unreachable):
            with pytest.raises(SignInRefused):
                sign_in(store, client, clerk, wrong, now=T0)
            with pytest.raises(SignInRefused):  # the password typed in the user name field
                sign_in(store, client, PASSWORD, PASSWORD, now=T0)
        session_token = online.session_token
        assert len(audit(store)) == 6
    files = list(tmp_path.glob("counter.sqlite*"))
    assert files
    for file in files:
        raw = file.read_bytes()
        for secret in (PASSWORD, wrong):
            assert secret.encode("utf-8") not in raw, file
            assert secret.encode("utf-16-le") not in raw, file
        assert session_token is not None and session_token.encode() not in raw


# -- verifiers and roles ---------------------------------------------------------------------------

@pytest.mark.parametrize("verifier", [
    None,
    "",
    "plain-text-password",
    "bcrypt$32768$8$3$c2FsdHNhbHRzYWx0c2FsdA==$aGFzaGhhc2hoYXNoaGFzaA==",
    "scrypt$32768$8$3$not-base64!$aGFzaGhhc2hoYXNoaGFzaA==",
    "scrypt$1073741824$8$3$c2FsdHNhbHRzYWx0c2FsdA==$aGFzaGhhc2hoYXNoaGFzaA==",  # 2^30: refused
    "scrypt$30000$8$3$c2FsdHNhbHRzYWx0c2FsdA==$aGFzaGhhc2hoYXNoaGFzaA==",  # not a power of 2
    "scrypt$32768$8$3$c2FsdHNhbHRzYWx0c2FsdA==",
])
def test_a_missing_or_malformed_verifier_never_matches(verifier: str | None) -> None:
    assert not check_verifier(verifier, PASSWORD)


def test_a_verifier_matches_its_password_only() -> None:
    verifier = make_verifier("口令-2026")
    assert check_verifier(verifier, "口令-2026")
    assert not check_verifier(verifier, "口令-2025")
    assert not check_verifier(verifier, "")
    assert make_verifier("口令-2026") != verifier


@pytest.mark.parametrize(("roles", "handle", "review", "approve"), [
    ((), False, False, False),
    (("clerk",), True, False, False),
    (("clerk", "reviewer"), True, True, False),
    (("reviewer",), False, True, False),
    (("approver", "reviewer"), False, True, True),
    (("approver",), False, False, True),
    (("district_admin",), False, False, False),
])
def test_role_helpers_use_the_districts_role_names(roles: tuple[str, ...], handle: bool,
                                                   review: bool, approve: bool) -> None:
    assert (can_handle(roles), can_review(roles), can_approve(roles)) == (handle, review, approve)
    assert can_review(list(roles)) == review  # any iterable
