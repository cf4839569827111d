"""The users' signing keys at this PC (签名密钥): made at an online sign-in, sealed by the
password, registered with the district; and the proofs they give every act on an application.

At a user's online sign-in the counter makes an Ed25519 key pair for that user on this PC, keeps
the private key sealed (AES-GCM under a key derived from the password with scrypt) and registers
the public key with the district over the user's own session. Every 经办/审核/审批 signature,
waiver, send-back and withdrawal then carries a detached signature over the act's canonical bytes
(desktop.domain.signing), which the district verifies against the registered key. Signing works
offline with the local key; a user who never signed in online at this PC has no key here and
cannot sign. The district's proof does not rest on anything in this cache: a made-up user row or
key is simply not registered there.
"""

from __future__ import annotations

import base64
import os
from dataclasses import dataclass, field
from datetime import UTC, datetime

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    NoEncryption,
    PrivateFormat,
)
from sqlalchemy import select

from desktop import wire
from desktop.domain import signing
from desktop.services.verifiers import Opened, open_verifier
from desktop.store import Store, append_audit
from desktop.store.models import SigningKeyRecord, UserRecord
from desktop.sync.client import DistrictClient, Offline, ServerRefused

SCHEME = "aesgcm"
NO_KEY = ("{name} 尚未在本机联网登录过（或密码已更改），本机没有其签名密钥，不能在本机签名："
          "请先在区服务器可以连接时登录一次。")
NOT_REGISTERED = ("{name} 的签名密钥尚未在区里登记，签名无法被区里验证："
                  "请在区服务器可以连接时重新登录一次。")
WRONG_PASSWORD = "用户名或密码错误，未能确认签名人身份。"


class SigningUnavailable(PermissionError):
    """This user cannot sign at this PC; the text is the Chinese message, `reason` a code:
    "password" (the password is not the one confirmed here) or "no_key"."""

    def __init__(self, message: str, reason: str = "no_key") -> None:
        super().__init__(message)
        self.message = message
        self.reason = reason


@dataclass(frozen=True)
class Signer:
    """A user's unsealed key, held in memory for as long as it is needed (never stored)."""

    username: str
    key_id: str
    device_id: str
    private: Ed25519PrivateKey = field(repr=False, compare=False)

    def prove(self, act: signing.SignedAct) -> wire.Proof:
        if act.username != self.username or act.device_id != self.device_id:
            raise ValueError("an act is signed by its own actor's key at this PC")
        return wire.Proof(key_id=self.key_id, signature=signing.sign(self.private, act))

    def act(self, act: signing.ActKind, *, application_id: str, role: str, case_sha256: str,
            payable: str, card: str | None, signed_at: datetime, card_confirmed: bool = False,
            extra: str = "") -> signing.SignedAct:
        """The act this signer performs, ready for `prove`."""
        return signing.SignedAct(
            act=act, application_id=application_id, role=role, username=self.username,
            device_id=self.device_id, case_sha256=case_sha256, payable=payable,
            card_sha256=signing.card_digest(card), card_confirmed=card_confirmed,
            signed_at=signed_at, extra=extra)


# -- sealing --------------------------------------------------------------------------------

def seal(private: Ed25519PrivateKey, opened: Opened) -> str:
    """"aesgcm$salt$nonce$ciphertext": the raw private key under the key the password opened
    from the verifier whose salt is `salt` (desktop.services.accounts.Opened)."""
    nonce = os.urandom(12)
    raw = private.private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption())
    body = AESGCM(opened.sealing_key).encrypt(nonce, raw, SCHEME.encode("ascii") + opened.salt)
    return "$".join((SCHEME, _b64(opened.salt), _b64(nonce), _b64(body)))


def unseal(sealed: str, opened: Opened) -> Ed25519PrivateKey | None:
    """The private key, or None when it was sealed under another verifier, the password did not
    open this one, or the text is malformed."""
    parts = sealed.split("$")
    if len(parts) != 4 or parts[0] != SCHEME:
        return None
    try:
        salt, nonce, body = (base64.b64decode(x, validate=True) for x in parts[1:])
    except ValueError:
        return None
    if salt != opened.salt or len(nonce) != 12:
        return None
    try:
        raw = AESGCM(opened.sealing_key).decrypt(nonce, body, SCHEME.encode("ascii") + salt)
        return Ed25519PrivateKey.from_private_bytes(raw)
    except (InvalidTag, ValueError):
        return None


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


# -- the keys of this PC ---------------------------------------------------------------------

def ensure_signing_key(store: Store, client: DistrictClient, username: str, opened: Opened,
                       previous: Opened | None = None, *,
                       now: datetime | None = None) -> Signer | None:
    """After an online sign-in (which wrote a new verifier, `opened`): the user's key at this
    PC, sealed under the new verifier and registered with the district.

    A key the password opens (under the new verifier, or the previous one: `previous`) and the
    district still holds is kept and sealed again under the new verifier. Otherwise (no key yet,
    the password changed, the district revoked it) a new pair is made, sealed and registered.
    When the district cannot be reached the new key waits unregistered, and signing with it is
    refused until the next online sign-in registers it. Returns the open signer, or None.
    """
    now = now or datetime.now(UTC)
    for record in _keys(store, username):
        private = unseal(record.sealed_private_key, opened)
        if private is None and previous is not None:
            private = unseal(record.sealed_private_key, previous)
        if private is None:
            continue
        try:
            registered = client.register_signing_key(record.public_key)
        except ServerRefused as exc:
            if exc.code in ("signing_key_revoked", "signing_key_taken"):
                _mark_revoked(store, record.key_id, now)
                continue
            registered = None  # the district could not say: as if unreachable
        except Offline:
            registered = None
        with store.session() as session:
            kept = session.get_one(SigningKeyRecord, record.key_id)
            kept.sealed_private_key = seal(private, opened)
            if registered is not None:
                kept.registered_at = kept.registered_at or registered.registered_at
                kept.device_id = registered.device_id
            device_id = kept.device_id
        if device_id is None or (registered is None and record.registered_at is None):
            return None
        return Signer(username, record.key_id, device_id, private)
    private = signing.new_private_key()
    record = key_record(username, private, opened, now)
    with store.session() as session:
        session.add(record)
        append_audit(session, username, "signing_key.created", f"signing_key:{record.key_id}",
                     {"public_key": record.public_key}, at=now)
    try:
        registered = client.register_signing_key(record.public_key)
    except (Offline, ServerRefused):
        return None
    _mark_registered(store, record.key_id, registered)
    return Signer(username, record.key_id, registered.device_id, private)


def key_record(username: str, private: Ed25519PrivateKey, opened: Opened, now: datetime, *,
               registered_at: datetime | None = None,
               device_id: str | None = None) -> SigningKeyRecord:
    """A user's key as the cache keeps it: the public half, the private half sealed."""
    public = signing.public_key_b64(private)
    return SigningKeyRecord(key_id=signing.key_id_of(public), username=username,
                            public_key=public, sealed_private_key=seal(private, opened),
                            created_at=now, registered_at=registered_at, device_id=device_id)


def open_key(store: Store, username: str, opened: Opened) -> Signer | None:
    """The user's registered key at this PC that `opened` unseals (an offline sign-in)."""
    for record in _keys(store, username):
        if record.registered_at is None or record.device_id is None:
            continue
        private = unseal(record.sealed_private_key, opened)
        if private is not None:
            return Signer(username, record.key_id, record.device_id, private)
    return None


def unlock(store: Store, username: str, password: str) -> Signer:
    """The user's registered key at this PC, opened with the password, to sign one act (one
    scrypt: the password's check and the key's opening are one derivation).

    Raises SigningUnavailable: reason "password" when the password is not the one the district
    last confirmed here, "no_key" when there is no key it opens (never signed in online here,
    the password changed since, the district revoked it, not yet registered).
    """
    with store.read_session() as session:
        user = session.get(UserRecord, username.strip())
        verifier = None if user is None else user.password_verifier
    opened = open_verifier(verifier, password)
    if opened is None or user is None:
        raise SigningUnavailable(WRONG_PASSWORD, "password")
    signer = open_key(store, username, opened)
    if signer is not None:
        return signer
    if any(r.registered_at is None for r in _keys(store, username)):
        raise SigningUnavailable(NOT_REGISTERED.format(name=user.display_name))
    raise SigningUnavailable(NO_KEY.format(name=user.display_name))


def _keys(store: Store, username: str) -> list[SigningKeyRecord]:
    """The user's keys the district has not revoked, newest first."""
    with store.read_session() as session:
        return list(session.scalars(
            select(SigningKeyRecord)
            .where(SigningKeyRecord.username == username, SigningKeyRecord.revoked_at.is_(None))
            .order_by(SigningKeyRecord.created_at.desc())))


def _mark_registered(store: Store, key_id: str, registered: wire.SigningKeyRegistered) -> None:
    with store.session() as session:
        record = session.get_one(SigningKeyRecord, key_id)
        if record.registered_at is None:
            record.registered_at = registered.registered_at
        record.device_id = registered.device_id


def _mark_revoked(store: Store, key_id: str, now: datetime) -> None:
    with store.session() as session:
        record = session.get_one(SigningKeyRecord, key_id)
        record.revoked_at = now
        append_audit(session, record.username, "signing_key.revoked_by_district",
                     f"signing_key:{key_id}", {}, at=now)


# -- the signed-in users' open keys ------------------------------------------------------------
# Like an ssh-agent: the key of a user signed in at this counter stays open in this process's
# memory (never written anywhere) so that the 经办人's acts (saving, enrolling) are signed without
# asking for the password each time; the lock and the sign-out forget it. A supervisor signing at
# someone else's counter opens their own key with their password for that one act (`unlock`).

_open: dict[str, Signer] = {}


def remember(signer: Signer) -> None:
    _open[signer.username] = signer


def signer_for(username: str) -> Signer | None:
    return _open.get(username)


def forget(username: str | None = None) -> None:
    """Forget one user's open key, or every one."""
    if username is None:
        _open.clear()
    else:
        _open.pop(username, None)


def handler_signer(username: str) -> Signer:
    """The signed-in 经办人's open key, or SigningUnavailable."""
    signer = _open.get(username)
    if signer is None:
        raise SigningUnavailable(
            "经办人的签名密钥未打开：请重新登录本机（联网登录过的账号才能签名）。")
    return signer
