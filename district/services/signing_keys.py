"""Users' public signing keys (签名密钥) and the verification of every signed act a counter pushes.

A key is registered over the user's own session at one PC (POST /signing-keys), so it belongs to
the person who knew the password then. Every 经办/审核/审批 signature, waiver, send-back,
withdrawal and enrolment carries a detached Ed25519 signature (desktop.domain.signing) that is
verified here against the signer's registered key. Refused, with the reason in Chinese:

- no signature at all (an act nobody can be held to);
- a key that is not the signer's, not of the pushing PC, unknown, or not valid over these bytes;
- a key revoked (the user deactivated, the password changed);
- a key registered after the moment the act claims (a back-dated act).

Nothing a counter stores can make a key: a made-up user row in the cache is not registered here.
"""

from __future__ import annotations

import logging
from datetime import datetime

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from desktop import wire
from desktop.domain import signing
from district import models
from district.services.outcome import SIGNING_KEYS, Caller, Refusal
from district.services.states import CLOCK_SLACK
from district.services.users import Staff, find_staff
from district.values import as_aware

log = logging.getLogger(__name__)


class KeyRefused(Exception):
    """A key cannot be registered: an HTTP status, a code and a Chinese message."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(f"{status} {code}")
        self.status = status
        self.code = code
        self.message = message


def register_key(session: Session, user: Staff, device_id: str, public_key: str,
                 now: datetime) -> wire.SigningKeyRegistered:
    """Register `public_key` for the session's user at the session's PC (idempotent). A key
    revoked earlier stays revoked: the counter must make a new one."""
    try:
        key_id = signing.key_id_of(public_key)
    except ValueError:
        raise KeyRefused(422, "invalid_key", "签名公钥格式不正确。") from None
    existing = session.get(models.SigningKey, key_id)
    if existing is not None:
        if existing.user_id != user.id or existing.device_id != device_id:
            raise KeyRefused(409, "signing_key_taken", "该签名公钥已登记给其他账号或其他电脑。")
        if existing.revoked_at is not None:
            raise KeyRefused(409, "signing_key_revoked",
                             "该签名密钥已失效（账号停用或密码已更改），请生成新的密钥。")
        return wire.SigningKeyRegistered(key_id=key_id, device_id=device_id,
                                         registered_at=existing.registered_at)
    session.add(models.SigningKey(key_id=key_id, user_id=user.id, device_id=device_id,
                                  public_key=public_key, registered_at=now))
    log.info("signing key registered", extra={"user": user.username, "device_id": device_id,
                                             "key_id": key_id})
    return wire.SigningKeyRegistered(key_id=key_id, device_id=device_id, registered_at=now)


def revoke_user_keys(session: Session, user_id: int, reason: str, now: datetime) -> int:
    """Revoke every key of a user (deactivated, password changed); returns how many."""
    result = session.execute(
        update(models.SigningKey)
        .where(models.SigningKey.user_id == user_id, models.SigningKey.revoked_at.is_(None))
        .values(revoked_at=now, revoked_reason=reason))
    return int(result.rowcount)  # type: ignore[attr-defined]


def deactivate_user(session: Session, username: str, now: datetime) -> None:
    """Stop a user: no login, no session, and none of their keys proves anything any more."""
    user = session.scalars(select(models.User).where(models.User.username == username)).one()
    user.active = False
    revoke_user_keys(session, user.id, "deactivated", now)
    _end_sessions(session, user.id)


def set_password(session: Session, username: str, password_hash: str, now: datetime) -> None:
    """A new password: the keys sealed by the old one are revoked."""
    user = session.scalars(select(models.User).where(models.User.username == username)).one()
    user.password_hash = password_hash
    user.password_changed_at = now
    revoke_user_keys(session, user.id, "password_changed", now)
    _end_sessions(session, user.id)  # or a session opened with the old password registers a key


def _end_sessions(session: Session, user_id: int) -> None:
    session.execute(delete(models.LoginSession).where(models.LoginSession.user_id == user_id))


_WHO = {"handler": "经办人", "reviewer": "审核人", "approver": "审批人"}


def verify_act(session: Session, caller: Caller, act: signing.SignedAct | None,
               proof: wire.Proof | None, what: str) -> models.SigningKey:
    """The act is proven by its actor's registered key at the pushing PC; or a Refusal naming
    why not. `act` is built from what the district itself holds (the case it recomputes, the
    amount, the card), with the actor, moment and act-specific text of the payload; its
    device_id is filled in from the key."""
    if proof is None or act is None:
        raise Refusal("unsigned", f"{what}没有电子签名，区里无法确认是本人所为，不予受理。",
                      {"rule": "signature_required"})
    # a request's items are mostly signed with a few keys: each is read once per transaction
    keys: dict[str, models.SigningKey | None] = session.info.setdefault(SIGNING_KEYS, {})
    if proof.key_id not in keys:
        keys[proof.key_id] = session.get(models.SigningKey, proof.key_id)
    key = keys[proof.key_id]
    staff = find_staff(session, act.username)
    if key is None or staff is None or key.user_id != staff.id:
        raise Refusal("bad_signature",
                      f"{what}的签名密钥不是{_who(staff)}在区里登记的密钥。",
                      {"rule": "unknown_key", "key_id": proof.key_id, "username": act.username})
    if key.device_id != caller.device_id:
        raise Refusal("bad_signature", f"{what}的签名密钥不属于本机。",
                      {"rule": "other_device", "key_id": proof.key_id})
    if key.revoked_at is not None or not staff.active:
        raise Refusal("key_revoked",
                      f"{_who(staff).strip()}的签名密钥已失效（账号已停用或密码已更改），"
                      f"{what}不予受理。",
                      {"rule": "key_revoked", "key_id": key.key_id,
                       "reason": key.revoked_reason or "deactivated"})
    # a counter's clock a little behind the server's must not make a fresh key look late
    if as_aware(key.registered_at) - CLOCK_SLACK > as_aware(act.signed_at):
        raise Refusal("key_after_signature",
                      f"{what}的时间早于签名密钥的登记时间，不予受理（疑似倒签）。",
                      {"rule": "key_after_signature", "key_id": key.key_id})
    bound = signing.SignedAct(**{**act.__dict__, "device_id": key.device_id})
    if not signing.verify(key.public_key, bound, proof.signature):
        raise Refusal("bad_signature",
                      f"{what}的电子签名与内容不符（内容被改动，或不是{_who(staff)}签署）。",
                      {"rule": "signature_mismatch", "key_id": key.key_id})
    return key


def _who(staff: Staff | None) -> str:
    """The signer as the office knows them (their name), never the login."""
    return f" {staff.display_name} " if staff is not None else "所署名的人员"


def role_label(role: str) -> str:
    return _WHO.get(role, role)
