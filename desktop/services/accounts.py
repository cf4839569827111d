"""Signing in at the counter: against the district when it answers, from a local verifier when not.

Online, the district checks the password (`DistrictClient.login`) and says who the user is; the
counter then keeps the user's display name, roles and a *verifier* of the password: a salted
scrypt hash with its parameters, never the password. The verifier is in the database on
purpose, like the cached domain credentials a Windows PC keeps: it lets a user who signed in
online at this counter sign in again while the district cannot be reached (for at most
`DEFAULT_MAX_OFFLINE_AGE` after the last online sign-in), and lets a reviewer or approver prove
who they are by re-entering their password when they sign an application. It is not a secret
that opens anything elsewhere: the district never accepts it, and the device and session tokens
that do open the district's API stay in the OS keyring (desktop.sync.credentials).

A password an administrator set (a reset in the district console; LoggedIn.must_change_password)
opens nothing here: sign_in raises PasswordChangeRequired, the sign-in window asks for the
user's own password twice and sets it at the district, then signs in with it, so the verifier
holds the new password and never the one-time one.

A refusal by the district (wrong password, locked, another street) is final: it never falls back
to the verifier. Only an unreachable server does (or one that answers with a server error).
Neither the password nor anything derived from it but the verifier is stored or logged.

Offline, the counter guards the verifier itself, since the district cannot:
- `OFFLINE_LOCK_AFTER` wrong passwords in a row lock the user at this PC for `OFFLINE_LOCK_FOR`
  (kept in the user's row, so a restart does not lift it); after `OFFLINE_FAILURES_MAX` in a row
  only an online sign-in opens the account again (a clock moved forward past each lock must not
  buy unlimited guesses). A good sign-in, online or offline, starts the count again.
- The PC's clock decides a verifier's age and a lock's end, so a clock that reads earlier than
  the latest time this PC has seen (desktop.store.local_state: every sign-in and every good sync
  cycle records it, as does the last online sign-in of the user) refuses offline sign-in.
- Every refusal is audited.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import overload

from sqlalchemy import select
from sqlalchemy.orm import Session

from desktop import wire
from desktop.domain.clock import local_time
from desktop.services.numbering import learn_device_number
from desktop.services.signing import Signer, ensure_signing_key, open_key, remember
from desktop.services.verifiers import (  # re-exported: the verifier is part of signing in
    Opened as Opened,
)
from desktop.services.verifiers import check_verifier as check_verifier
from desktop.services.verifiers import make_verifier as make_verifier
from desktop.services.verifiers import new_verifier as new_verifier
from desktop.services.verifiers import open_verifier as open_verifier
from desktop.store import Store, append_audit
from desktop.store.local_state import latest_seen_at, note_time_seen
from desktop.store.models import SigningKeyRecord, UserRecord
from desktop.sync.client import CertificateRefused, DistrictClient, Offline, ServerRefused

# Issue silent: the PC may stay offline for a month (a district outage, a street's network
# work) before a user must confirm their password with the district again. A revoked account
# or a changed password is noticed at the next online sign-in, so the limit bounds how long a
# user the district has disabled can still work here offline.
DEFAULT_MAX_OFFLINE_AGE = timedelta(days=30)

# Issue 9 point 8: five wrong passwords offline lock the user at this PC for a quarter of an
# hour; twenty in a row (four locks) and only the district can open the account again.
OFFLINE_LOCK_AFTER = 5
OFFLINE_LOCK_FOR = timedelta(minutes=15)
OFFLINE_FAILURES_MAX = 4 * OFFLINE_LOCK_AFTER
# A clock corrected by a few minutes (time sync) is not a clock set back: within this much of
# the latest time seen, offline sign-in goes on. It can stretch a verifier's life by no more.
CLOCK_TOLERANCE = timedelta(minutes=10)

# The roles the district gives (desktop.wire.Role; district/services/users.py).
ROLE_CLERK = "clerk"  # 经办人
ROLE_REVIEWER = "reviewer"  # 审核人
ROLE_APPROVER = "approver"  # 审批人

WRONG_CREDENTIALS = "用户名或密码错误。"
OFFLINE_HINT = ("当前无法连接区服务器：只有曾在本机联网登录过的账号可以离线登录，"
                "首次登录本机须联网。")
MIN_PASSWORD = 10  # as the district's (district.console.signin.MIN_PASSWORD)
PASSWORD_CHANGE_TEXT = ("您的密码由管理员重置，是一次性密码：请先设置您自己的新密码"
                        f"（至少 {MIN_PASSWORD} 个字符），才能继续使用。")
UNKNOWN_ACTOR = "unknown"  # a refused name never known here: it may be a mistyped password


class SignInRefused(PermissionError):
    """The sign-in was refused; the text is the Chinese message to show."""

    def __init__(self, message: str, reason: str) -> None:
        super().__init__(message)
        self.message = message
        self.reason = reason  # a code for tests and the audit trail, e.g. "wrong_password"


class PasswordChangeRequired(SignInRefused):
    """The district accepted a one-time password an administrator set: the user must choose
    their own before signing in. `change(current, new)` sets it at the district (SignInRefused
    if it cannot); then sign in again with the new password, which the verifier will hold."""

    def __init__(self, username: str, change: Callable[[str, str], None]) -> None:
        super().__init__(PASSWORD_CHANGE_TEXT, "password_change_required")
        self.username = username
        self.change = change


@dataclass(frozen=True)
class SignedIn:
    username: str
    display_name: str
    roles: tuple[str, ...]
    offline: bool
    notice: str | None = None  # why the sign-in was offline, in Chinese, for the status bar
    signer: Signer | None = None  # the user's signing key on this PC, when unlocked


# -- roles ------------------------------------------------------------------------------------

def can_handle(roles: Iterable[str]) -> bool:
    """May act as 经办人 (receive and save applications)."""
    return ROLE_CLERK in set(roles)


def can_review(roles: Iterable[str]) -> bool:
    """May sign as 审核人."""
    return ROLE_REVIEWER in set(roles)


def can_approve(roles: Iterable[str]) -> bool:
    """May sign as 审批人."""
    return ROLE_APPROVER in set(roles)


# -- signing in -------------------------------------------------------------------------------

def sign_in(
    store: Store,
    client: DistrictClient | None,
    username: str,
    password: str,
    *,
    now: datetime | None = None,
    max_offline_age: timedelta = DEFAULT_MAX_OFFLINE_AGE,
) -> SignedIn:
    """Sign `username` in: online through `client`, or offline from the stored verifier when the
    district cannot be reached (or no server is configured, `client` None).

    Raises SignInRefused with the Chinese message to show. Every outcome is audited.
    """
    now = _utc(now or datetime.now(UTC))
    username = username.strip()
    if not username or not password:
        raise SignInRefused("请输入用户名和密码。", "empty")
    if len(username) > 64 or len(password) > 256:  # what wire.Login accepts
        _refused(store, username, "online" if client else "offline", "too_long", now)
        raise SignInRefused(WRONG_CREDENTIALS, "too_long")
    notice = "未设置区服务器，已离线登录。"
    if client is not None:
        try:
            logged = client.login(username, password)
        except CertificateRefused as exc:  # nothing was sent: as safe as a cut cable
            notice = f"{exc}。已离线登录。"
        except Offline:
            notice = "无法连接区服务器，已离线登录。"
        except ServerRefused as exc:
            if not _server_unavailable(exc):
                _refused_by_district(store, username, password, exc, now)
                raise SignInRefused(exc.message or WRONG_CREDENTIALS, exc.code) from None
            notice = f"区服务器暂时无法登录，已离线登录（{exc.message}）。"
        else:
            if logged.must_change_password:
                _password_change_required(store, client, logged, now)
            return _signed_in_online(store, client, logged, password, now)
    return _sign_in_offline(store, username, password, now, max_offline_age, notice)


def new_password_problem(new: str, again: str, current: str) -> str | None:
    """Why a new password will not do, in Chinese (the district's own rule, district.console.
    signin.password_problem, which has the last word); None when it will."""
    if new != again:
        return "两次输入的新密码不一致。"
    if len(new) < MIN_PASSWORD:
        return f"新密码至少 {MIN_PASSWORD} 个字符。"
    if len(new) > 256:
        return "新密码最多 256 个字符。"
    if new == current:
        return "新密码不能与当前密码相同。"
    if len(set(new)) < 4:
        return "新密码过于简单，请混用字母、数字和符号。"
    return None


def _password_change_required(store: Store, client: DistrictClient, logged: wire.LoggedIn,
                              now: datetime) -> None:
    """The district accepted a password an administrator set: nothing is kept of it here (no
    verifier, no key); the user chooses their own, then signs in with it."""
    with store.session() as session:
        append_audit(session, logged.username, "user.password_change_required",
                     f"user:{logged.username}", {"mode": "online"}, at=now)

    def change(current: str, new: str) -> None:
        try:
            client.change_password(current, new)
        except (Offline, CertificateRefused):
            raise SignInRefused("无法连接区服务器，未能修改密码，请稍后重试。", "offline") from None
        except ServerRefused as exc:
            raise SignInRefused(exc.message or "区服务器未接受新密码。", exc.code) from None
        with store.session() as session:
            append_audit(session, logged.username, "user.password_changed",
                         f"user:{logged.username}", {"mode": "online"}, at=_utc(
                             datetime.now(UTC)))

    raise PasswordChangeRequired(logged.username, change)


def verify_password(store: Store, username: str, password: str) -> bool:
    """Whether `password` is the one the district last confirmed for `username` here.

    For re-entering a password (to sign, to unlock the counter); an unknown user is False, in
    the time a known one takes.
    """
    with store.read_session() as session:
        user = session.get(UserRecord, username.strip())
        verifier = None if user is None else user.password_verifier
    return check_verifier(verifier, password)


def remember_user(
    store: Store,
    username: str,
    display_name: str,
    roles: Iterable[str],
    password: str,
    *,
    now: datetime | None = None,
) -> None:
    """Keep what an online sign-in established: the district's name and roles for the user and
    a fresh verifier of the password they used, confirmed at `now`."""
    now = now or datetime.now(UTC)
    verifier = make_verifier(password)  # slow on purpose: outside the write transaction
    with store.session() as session:
        _store_user(session, username, display_name, roles, verifier, now)


def stale(verified_at: datetime | None, now: datetime, max_age: timedelta) -> bool:
    """The password was not confirmed online within `max_age` before `now`. A time without zone
    (an old or hand-written row) is taken as UTC, as the store keeps its times."""
    return verified_at is None or _utc(now) - _utc(verified_at) > max_age


# -- the paths --------------------------------------------------------------------------------

def _server_unavailable(exc: ServerRefused) -> bool:
    """A server error or an answer that is not the district's (a proxy's page) says nothing
    about the password: as good as unreachable. A 4xx is the district's verdict."""
    return exc.status >= 500 or exc.code == "bad_response"


def _signed_in_online(store: Store, client: DistrictClient, logged: wire.LoggedIn,
                      password: str, now: datetime) -> SignedIn:
    roles = tuple(sorted(logged.roles))
    with store.read_session() as session:
        user = session.get(UserRecord, logged.username)
        old_verifier = None if user is None else user.password_verifier
        has_keys = session.scalars(select(SigningKeyRecord.key_id).where(
            SigningKeyRecord.username == logged.username)).first() is not None
    # slow on purpose, outside the write transaction; the previous verifier is opened only to
    # seal the user's signing key again under the new one
    verifier, opened = new_verifier(password)
    previous = open_verifier(old_verifier, password) if old_verifier and has_keys else None
    with store.session() as session:
        _store_user(session, logged.username, logged.display_name, roles, verifier, now)
        append_audit(session, logged.username, "user.signed_in", f"user:{logged.username}",
                     {"mode": "online", "roles": list(roles)}, at=now)
    signer = ensure_signing_key(store, client, logged.username, opened, previous, now=now)
    if signer is not None:
        remember(signer)
    learn_device_number(store, client)  # a PC registered before PC numbers learns its own
    notice = None if signer is not None else (
        "签名密钥未能在区里登记：本次登录不能保存或签署申请，请稍后重新登录。")
    return SignedIn(logged.username, logged.display_name, roles, offline=False, notice=notice,
                    signer=signer)


def _sign_in_offline(store: Store, username: str, password: str, now: datetime,
                     max_age: timedelta, notice: str) -> SignedIn:
    with store.read_session() as session:
        user = session.get(UserRecord, username)
        seen = latest_seen_at(session)
    known = username if user is not None else None
    verified_at = None if user is None else _utc(user.verified_at)
    latest = max((t for t in (seen, verified_at) if t is not None), default=None)
    if latest is not None and now < latest - CLOCK_TOLERANCE:
        # the clock was set back: the verifier's age and the lock's end cannot be told
        _refused(store, known, "offline", "clock_set_back", now, {"latest_seen_at":
                                                                   latest.isoformat()})
        raise SignInRefused(
            f"本机时间（{local_time(now)}）早于本机曾记录的时间（{local_time(latest)}），"
            "系统时间可能被调回，不能离线登录：请校正系统时间，或在区服务器可以连接时联网登录。",
            "clock_set_back")
    if user is not None:
        _refuse_if_locked(store, user, now)
    verifier = None if user is None else user.password_verifier
    opened = open_verifier(verifier, password)  # the password's check opens the key too
    if opened is None:
        # unknown here and wrong password read the same: the hint serves both
        reason = "wrong_password" if verifier else "unknown_here"
        failures, locked_until = _failed_offline(store, known, reason, now)
        if failures >= OFFLINE_FAILURES_MAX:
            raise SignInRefused(f"{WRONG_CREDENTIALS}{_disabled_message(failures)}",
                                "offline_disabled")
        if locked_until is not None:
            raise SignInRefused(f"{WRONG_CREDENTIALS}{_locked_message(locked_until)}",
                                "offline_locked")
        raise SignInRefused(f"{WRONG_CREDENTIALS}{OFFLINE_HINT}", reason)
    assert user is not None
    if stale(verified_at, now, max_age):
        _refused(store, username, "offline", "verifier_too_old", now)
        days = max_age.days
        raise SignInRefused(
            f"距上次联网登录已超过 {days} 天，不能离线登录：请在区服务器可以连接时再登录。",
            "verifier_too_old")
    roles = tuple(user.roles)
    with store.session() as session:
        _offline_success(session, username, now)
        append_audit(session, username, "user.signed_in", f"user:{username}",
                     {"mode": "offline", "roles": list(roles),
                      "verified_at": verified_at.isoformat() if verified_at else None},
                     at=now)
    signer = open_key(store, username, opened)
    if signer is not None:
        remember(signer)
    else:
        notice += "本机没有该账号已登记的签名密钥，暂不能保存或签署申请。"
    return SignedIn(username, user.display_name, roles, offline=True, notice=notice,
                    signer=signer)


def _refuse_if_locked(store: Store, user: UserRecord, now: datetime) -> None:
    """Refuse, unheard, a user locked at this PC: their password is not even checked."""
    if user.failed_offline >= OFFLINE_FAILURES_MAX:
        _refused(store, user.username, "offline", "offline_disabled", now)
        raise SignInRefused(_disabled_message(user.failed_offline), "offline_disabled")
    locked_until = _utc(user.offline_locked_until)
    if locked_until is not None and now < locked_until:
        _refused(store, user.username, "offline", "offline_locked", now,
                 {"locked_until": locked_until.isoformat()})
        raise SignInRefused(_locked_message(locked_until), "offline_locked")


def _disabled_message(failures: int) -> str:
    return (f"该账号在本机离线登录已连续失败 {failures} 次，不能再离线登录："
            "请在区服务器可以连接时联网登录。")


def _locked_message(until: datetime) -> str:
    return (f"该账号在本机离线登录连续失败 {OFFLINE_LOCK_AFTER} 次，已锁定至北京时间 "
            f"{local_time(until)}：请到时再试，或在区服务器可以连接时联网登录。")


def _failed_offline(store: Store, username: str | None, reason: str, now: datetime
                    ) -> tuple[int, datetime | None]:
    """Count a wrong password against a user known here and audit it, in one transaction;
    every OFFLINE_LOCK_AFTER-th in a row locks the user. Returns the failures in a row (0 for
    a name not known here) and the lock's end if this one set it."""
    with store.session() as session:
        note_time_seen(session, now)
        user = None if username is None else session.get(UserRecord, username)
        if user is None:
            append_audit(session, UNKNOWN_ACTOR, "user.sign_in_refused", f"user:{UNKNOWN_ACTOR}",
                         {"mode": "offline", "reason": reason}, at=now)
            return 0, None
        user.failed_offline = (user.failed_offline or 0) + 1
        detail: dict[str, object] = {"mode": "offline", "reason": reason,
                                     "failures": user.failed_offline}
        locked_until = None
        if user.failed_offline % OFFLINE_LOCK_AFTER == 0:
            locked_until = now + OFFLINE_LOCK_FOR
            user.offline_locked_until = locked_until
            detail["locked_until"] = locked_until.isoformat()
        append_audit(session, user.username, "user.sign_in_refused", f"user:{user.username}",
                     detail, at=now)
        return user.failed_offline, locked_until


def _offline_success(session: Session, username: str, now: datetime) -> None:
    note_time_seen(session, now)
    user = session.get(UserRecord, username)
    if user is not None:
        user.failed_offline = 0
        user.offline_locked_until = None


def _refused_by_district(store: Store, username: str, password: str, exc: ServerRefused,
                         now: datetime) -> None:
    """Audit the district's refusal. When the password the district refused (or refused at
    this street) is the one the verifier holds, the district has changed or revoked it: the
    verifier goes, so the old password no longer opens this counter offline."""
    with store.read_session() as session:
        user = session.get(UserRecord, username)
        verifier = None if user is None else user.password_verifier
    revoke = (exc.code in ("invalid_credentials", "forbidden") and verifier is not None
              and check_verifier(verifier, password))
    with store.session() as session:
        user = session.get(UserRecord, username)
        if revoke and user is not None:
            user.password_verifier = None
            user.verified_at = None
        detail: dict[str, object] = {"mode": "online", "reason": exc.code,
                                     "status": exc.status}
        if revoke:
            detail["offline_access_revoked"] = True
        actor = username if user is not None else UNKNOWN_ACTOR
        append_audit(session, actor, "user.sign_in_refused", f"user:{actor}", detail, at=now)


def _refused(store: Store, username: str | None, mode: str, reason: str, now: datetime,
             extra: dict[str, object] | None = None) -> None:
    """Audit a refusal. A name never seen here is not written: people type their password in
    the user name field, and the audit trail must never hold a password. An offline attempt
    also records the time the PC's clock read (unless it is the clock that is refused)."""
    known = False
    if username:
        with store.read_session() as session:
            known = session.get(UserRecord, username) is not None
    actor = username if known and username else UNKNOWN_ACTOR
    with store.session() as session:
        if mode == "offline" and reason != "clock_set_back":
            note_time_seen(session, now)
        append_audit(session, actor, "user.sign_in_refused", f"user:{actor}",
                     {"mode": mode, "reason": reason, **(extra or {})}, at=now)


def _store_user(session: Session, username: str, display_name: str, roles: Iterable[str],
                verifier: str, now: datetime) -> None:
    user = session.get(UserRecord, username)
    if user is None:
        user = UserRecord(username=username, display_name=display_name)
        session.add(user)
    user.display_name = display_name
    user.roles = sorted(set(roles))
    user.password_verifier = verifier
    user.verified_at = now
    user.failed_offline = 0  # the district has just confirmed the password
    user.offline_locked_until = None
    note_time_seen(session, now)


@overload
def _utc(moment: datetime) -> datetime: ...
@overload
def _utc(moment: datetime | None) -> datetime | None: ...
def _utc(moment: datetime | None) -> datetime | None:
    """An instant as an aware UTC datetime; one without zone is taken as UTC, as stored."""
    if moment is None:
        return None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
