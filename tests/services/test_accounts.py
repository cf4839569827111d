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
from sqlalchemy import select, text

from desktop.services.accounts import (
    CLOCK_TOLERANCE,
    DEFAULT_MAX_OFFLINE_AGE,
    OFFLINE_FAILURES_MAX,
    OFFLINE_HINT,
    OFFLINE_LOCK_AFTER,
    OFFLINE_LOCK_FOR,
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
    stale,
    verify_password,
)
from desktop.services.signing import signer_for
from desktop.services.verifiers import SCRYPT_N, SCRYPT_P, SCRYPT_R
from desktop.store import Store, open_store
from desktop.store.local_state import latest_seen_at, note_time_seen
from desktop.store.models import AuditEventRecord, OutboxRecord, SigningKeyRecord, UserRecord
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
    """The sign-in's events (the signing key's own are tested in test_signing_keys)."""
    with store.read_session() as session:
        return list(session.scalars(
            select(AuditEventRecord).where(AuditEventRecord.action.not_like("signing_key.%"))
            .order_by(AuditEventRecord.id)))


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
        items = [o.payload["action"] for o in session.scalars(select(OutboxRecord))]
        assert items == ["user.signed_in", "signing_key.created"]
    # the sign-in made the user's signing key here, registered it and left it open
    assert signed.signer is not None and signed.signer.username == clerk
    assert signer_for(clerk) == signed.signer
    with store.read_session() as session:
        (key,) = session.scalars(select(SigningKeyRecord)).all()
        assert (key.key_id, key.username, key.device_id) == (
            signed.signer.key_id, clerk, signed.signer.device_id)
        assert key.registered_at is not None and PASSWORD not in key.sealed_private_key


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


# -- offline lockout and the clock (issue 9 point 8) --------------------------------------------

def wrong_offline(store: Store, client: DistrictClient, username: str, at: datetime
                  ) -> SignInRefused:
    with pytest.raises(SignInRefused) as refused:
        sign_in(store, client, username, "wrong-password", now=at)
    return refused.value


def test_offline_sign_in_locks_after_five_failures_and_survives_a_restart(
        district: District, online: DistrictClient, unreachable: DistrictClient,
        tmp_path: Path) -> None:
    path = tmp_path / "counter.sqlite"
    clerk = district.user("clerk")
    at = T0 + timedelta(hours=1)
    with open_store(path) as store:
        sign_in(store, online, clerk, PASSWORD, now=T0)
        for n in range(1, OFFLINE_LOCK_AFTER):
            refused = wrong_offline(store, unreachable, clerk, at)
            assert (refused.reason, refused.message) == ("wrong_password",
                                                         WRONG_CREDENTIALS + OFFLINE_HINT)
            user = user_record(store, clerk)
            assert user is not None and user.failed_offline == n
            assert user.offline_locked_until is None
        fifth = wrong_offline(store, unreachable, clerk, at)
        assert fifth.reason == "offline_locked"
        # until when, in Shanghai time: 01:00 UTC + 1 h + 15 min
        assert "锁定至北京时间 2026-06-10 10:15" in fifth.message
        assert fifth.message.startswith(WRONG_CREDENTIALS)
    # the counter restarts: the lock is in the user's row, not in memory
    with open_store(path) as store:
        user = user_record(store, clerk)
        assert user is not None
        assert user.offline_locked_until == at + OFFLINE_LOCK_FOR
        with pytest.raises(SignInRefused) as locked:  # the right password, unheard
            sign_in(store, unreachable, clerk, PASSWORD, now=at + timedelta(minutes=14))
        assert locked.value.reason == "offline_locked"
        assert "2026-06-10 10:15" in locked.value.message
        # the quarter of an hour is over
        signed = sign_in(store, unreachable, clerk, PASSWORD, now=at + OFFLINE_LOCK_FOR)
        # signed in offline, the user's key (made at the online sign-in) is open to sign with
        assert signed.offline and signed.signer is not None
        assert signed.signer.username == clerk and signer_for(clerk) == signed.signer
        user = user_record(store, clerk)
        assert user is not None and user.failed_offline == 0
        assert user.offline_locked_until is None
        refusals = [e for e in audit(store) if e.action == "user.sign_in_refused"]
    assert [e.detail["reason"] for e in refusals] == (
        ["wrong_password"] * OFFLINE_LOCK_AFTER + ["offline_locked"])
    assert [e.detail.get("failures") for e in refusals[:OFFLINE_LOCK_AFTER]] == [1, 2, 3, 4, 5]
    assert refusals[OFFLINE_LOCK_AFTER - 1].detail["locked_until"] == \
        (at + OFFLINE_LOCK_FOR).isoformat()
    assert {e.actor for e in refusals} == {clerk}


def test_failed_offline_attempts_are_audited_at_the_time_they_happen(
        store: Store, district: District, online: DistrictClient,
        unreachable: DistrictClient) -> None:
    clerk = district.user("clerk")
    sign_in(store, online, clerk, PASSWORD, now=T0)
    times = [T0 + timedelta(minutes=m) for m in (1, 2, 3)]
    for at in times:
        wrong_offline(store, unreachable, clerk, at)
    refusals = [e for e in audit(store) if e.action == "user.sign_in_refused"]
    assert [e.at for e in refusals] == times
    assert [e.detail for e in refusals] == [
        {"mode": "offline", "reason": "wrong_password", "failures": n} for n in (1, 2, 3)]


def test_a_good_online_sign_in_resets_the_offline_failures_and_lifts_the_lock(
        store: Store, district: District, online: DistrictClient,
        unreachable: DistrictClient) -> None:
    reviewer = district.user("reviewer")
    sign_in(store, online, reviewer, PASSWORD, now=T0)
    for _ in range(OFFLINE_LOCK_AFTER):
        wrong_offline(store, unreachable, reviewer, T0)
    with pytest.raises(SignInRefused, match="锁定"):
        sign_in(store, unreachable, reviewer, PASSWORD, now=T0 + timedelta(minutes=1))
    sign_in(store, online, reviewer, PASSWORD, now=T0 + timedelta(minutes=2))
    user = user_record(store, reviewer)
    assert user is not None and (user.failed_offline, user.offline_locked_until) == (0, None)
    assert sign_in(store, unreachable, reviewer, PASSWORD, now=T0 + timedelta(minutes=3)).offline
    # and the count starts from nothing: four more wrong passwords do not lock
    for _ in range(OFFLINE_LOCK_AFTER - 1):
        assert wrong_offline(store, unreachable, reviewer, T0 + timedelta(minutes=4)).reason \
            == "wrong_password"


def test_a_good_offline_sign_in_resets_the_count(
        store: Store, district: District, online: DistrictClient,
        unreachable: DistrictClient) -> None:
    clerk = district.user("clerk")
    sign_in(store, online, clerk, PASSWORD, now=T0)
    for _ in range(OFFLINE_LOCK_AFTER - 1):
        wrong_offline(store, unreachable, clerk, T0)
    assert sign_in(store, unreachable, clerk, PASSWORD, now=T0).offline
    assert wrong_offline(store, unreachable, clerk, T0).reason == "wrong_password"
    user = user_record(store, clerk)
    assert user is not None and user.failed_offline == 1


def test_moving_the_clock_past_each_lock_buys_twenty_guesses_then_only_online(
        store: Store, district: District, online: DistrictClient,
        unreachable: DistrictClient) -> None:
    clerk = district.user("clerk")
    sign_in(store, online, clerk, PASSWORD, now=T0)
    at = T0
    reasons = []
    for _ in range(OFFLINE_FAILURES_MAX):
        reasons.append(wrong_offline(store, unreachable, clerk, at).reason)
        if reasons[-1] == "offline_locked":
            at += OFFLINE_LOCK_FOR  # the clock pushed forward past the lock
    assert reasons.count("offline_locked") == OFFLINE_FAILURES_MAX // OFFLINE_LOCK_AFTER - 1
    assert reasons[-1] == "offline_disabled"
    with pytest.raises(SignInRefused) as refused:
        sign_in(store, unreachable, clerk, PASSWORD, now=at + timedelta(days=1))
    assert refused.value.reason == "offline_disabled"
    assert "联网登录" in refused.value.message
    sign_in(store, online, clerk, PASSWORD, now=at + timedelta(days=1))
    assert sign_in(store, unreachable, clerk, PASSWORD, now=at + timedelta(days=1)).offline


def test_an_unknown_name_is_never_locked_and_never_written(
        store: Store, district: District, online: DistrictClient,
        unreachable: DistrictClient) -> None:
    sign_in(store, online, district.user("clerk"), PASSWORD, now=T0)
    for _ in range(OFFLINE_LOCK_AFTER + 2):
        refused = wrong_offline(store, unreachable, "nobody-at-all", T0)
        assert refused.message == WRONG_CREDENTIALS + OFFLINE_HINT
    assert user_record(store, "nobody-at-all") is None
    assert "nobody-at-all" not in str([(e.actor, e.subject, e.detail) for e in audit(store)])


def test_a_clock_set_back_cannot_revive_an_old_verifier(
        store: Store, district: District, online: DistrictClient,
        unreachable: DistrictClient) -> None:
    clerk = district.user("clerk")
    sign_in(store, online, clerk, PASSWORD, now=T0)
    sixty_days_on = T0 + timedelta(days=60)
    with pytest.raises(SignInRefused) as old:
        sign_in(store, unreachable, clerk, PASSWORD, now=sixty_days_on)
    assert old.value.reason == "verifier_too_old"
    # the clock set back 50 days: the verifier would look 10 days old
    with pytest.raises(SignInRefused) as back:
        sign_in(store, unreachable, clerk, PASSWORD, now=sixty_days_on - timedelta(days=50))
    assert back.value.reason == "clock_set_back"
    assert back.value.message == (
        "本机时间（2026-06-20 09:00）早于本机曾记录的时间（2026-08-09 09:00），系统时间可能被调回，"
        "不能离线登录：请校正系统时间，或在区服务器可以连接时联网登录。")
    event = audit(store)[-1]
    assert (event.actor, event.detail) == (clerk, {
        "mode": "offline", "reason": "clock_set_back",
        "latest_seen_at": sixty_days_on.isoformat()})
    with store.read_session() as session:  # a set-back clock does not move the record back
        assert latest_seen_at(session) == sixty_days_on
    # online, the district confirms the password: offline works again from the real time
    sign_in(store, online, clerk, PASSWORD, now=sixty_days_on)
    assert sign_in(store, unreachable, clerk, PASSWORD, now=sixty_days_on).offline


def test_a_clock_set_back_is_caught_from_what_a_sync_cycle_saw(
        store: Store, district: District, online: DistrictClient,
        unreachable: DistrictClient) -> None:
    """No sign-in at the later time, only the sync worker's record of it."""
    clerk = district.user("clerk")
    sign_in(store, online, clerk, PASSWORD, now=T0)
    with store.session() as session:  # what SyncWorker does after a good cycle
        note_time_seen(session, T0 + timedelta(days=60))
    with pytest.raises(SignInRefused) as back:
        sign_in(store, unreachable, clerk, PASSWORD, now=T0 + timedelta(days=10))
    assert back.value.reason == "clock_set_back"


def test_the_clock_cannot_be_set_back_to_escape_a_lock(
        store: Store, district: District, online: DistrictClient,
        unreachable: DistrictClient) -> None:
    clerk = district.user("clerk")
    sign_in(store, online, clerk, PASSWORD, now=T0)
    at = T0 + timedelta(days=1)
    for _ in range(OFFLINE_LOCK_AFTER):
        wrong_offline(store, unreachable, clerk, at)
    with pytest.raises(SignInRefused) as back:
        sign_in(store, unreachable, clerk, PASSWORD, now=at - timedelta(hours=1))
    assert back.value.reason == "clock_set_back"


def test_a_clock_corrected_by_a_few_minutes_still_signs_in(
        store: Store, district: District, online: DistrictClient,
        unreachable: DistrictClient) -> None:
    clerk = district.user("clerk")
    sign_in(store, online, clerk, PASSWORD, now=T0 + timedelta(minutes=5))
    # time sync moved the clock back five minutes: within CLOCK_TOLERANCE
    assert sign_in(store, unreachable, clerk, PASSWORD, now=T0).offline
    with store.read_session() as session:
        assert latest_seen_at(session) == T0 + timedelta(minutes=5)
    with pytest.raises(SignInRefused, match="系统时间可能被调回"):
        sign_in(store, unreachable, clerk, PASSWORD,
                now=T0 + timedelta(minutes=5) - CLOCK_TOLERANCE - timedelta(seconds=1))


def test_every_sign_in_records_the_latest_time_seen(
        store: Store, district: District, online: DistrictClient,
        unreachable: DistrictClient) -> None:
    clerk = district.user("clerk")

    def latest() -> datetime | None:
        with store.read_session() as session:
            return latest_seen_at(session)

    assert latest() is None
    sign_in(store, online, clerk, PASSWORD, now=T0)
    assert latest() == T0
    sign_in(store, unreachable, clerk, PASSWORD, now=T0 + timedelta(hours=1))
    assert latest() == T0 + timedelta(hours=1)
    wrong_offline(store, unreachable, clerk, T0 + timedelta(hours=2))
    assert latest() == T0 + timedelta(hours=2)
    wrong_offline(store, unreachable, "nobody-at-all", T0 + timedelta(hours=3))
    assert latest() == T0 + timedelta(hours=3)
    sign_in(store, online, clerk, PASSWORD, now=T0 + timedelta(hours=2, minutes=59))
    assert latest() == T0 + timedelta(hours=3)  # never moves back


@pytest.mark.parametrize(("age", "allowed"), [(timedelta(days=1), True),
                                              (timedelta(days=31), False)])
def test_a_verified_at_without_time_zone_is_taken_as_utc(
        store: Store, district: District, online: DistrictClient,
        unreachable: DistrictClient, age: timedelta, allowed: bool) -> None:
    """A row written without a zone (by hand, or by an old version) is read as UTC, the zone
    the store keeps; it never crashes the sign-in."""
    clerk = district.user("clerk")
    sign_in(store, online, clerk, PASSWORD, now=T0)
    with store.session() as session:
        session.execute(text('UPDATE "user" SET verified_at = :naive, '
                             'offline_locked_until = :naive WHERE username = :u'),
                        {"naive": "2026-06-10T01:00:00", "u": clerk})
    user = user_record(store, clerk)
    assert user is not None and user.verified_at is not None
    assert user.verified_at.tzinfo is None  # the case being tested
    if allowed:
        signed = sign_in(store, unreachable, clerk, PASSWORD, now=T0 + age)
        assert signed.offline
        assert audit(store)[-1].detail["verified_at"] == T0.isoformat()
        return
    with pytest.raises(SignInRefused) as refused:
        sign_in(store, unreachable, clerk, PASSWORD, now=T0 + age)
    assert refused.value.reason == "verifier_too_old"


def test_a_naive_now_is_taken_as_utc(store: Store, district: District, online: DistrictClient,
                                     unreachable: DistrictClient) -> None:
    clerk = district.user("clerk")
    sign_in(store, online, clerk, PASSWORD, now=T0)
    naive = (T0 + timedelta(days=1)).replace(tzinfo=None)
    assert sign_in(store, unreachable, clerk, PASSWORD, now=naive).offline
    assert not stale(T0.replace(tzinfo=None), T0 + timedelta(days=1), DEFAULT_MAX_OFFLINE_AGE)


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
