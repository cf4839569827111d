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
import hashlib
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
from desktop.store import Store, append_audit
from desktop.store.models import SigningKeyRecord
from desktop.sync.client import DistrictClient, Offline, ServerRefused

# scrypt at the level of the password verifier (desktop.services.accounts): ~0.15 s, 32 MiB
SCRYPT_N, SCRYPT_R, SCRYPT_P = 2**15, 8, 3
MAX_N, MAX_R, MAX_P = 2**20, 32, 16
SCHEME = "scrypt-aesgcm"
NO_KEY = ("{username} 尚未在本机联网登录过（或密码已更改），本机没有其签名密钥，不能在本机签名："
          "请先在区服务器可以连接时登录一次。")
NOT_REGISTERED = ("{username} 的签名密钥尚未在区里登记，签名无法被区里验证："
                  "请在区服务器可以连接时重新登录一次。")


class SigningUnavailable(PermissionError):
    """This user cannot sign at this PC; the text is the Chinese message."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


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

def seal(private: Ed25519PrivateKey, password: str) -> str:
    """"scrypt-aesgcm$n$r$p$salt$nonce$ciphertext": the raw private key under the password."""
    salt, nonce = os.urandom(16), os.urandom(12)
    key = _derive(password, salt, SCRYPT_N, SCRYPT_R, SCRYPT_P)
    raw = private.private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption())
    sealed = AESGCM(key).encrypt(nonce, raw, SCHEME.encode("ascii"))
    return "$".join((SCHEME, str(SCRYPT_N), str(SCRYPT_R), str(SCRYPT_P), _b64(salt),
                     _b64(nonce), _b64(sealed)))


def unseal(sealed: str, password: str) -> Ed25519PrivateKey | None:
    """The private key, or None when the password does not open it (or the text is malformed,
    or asks for more scrypt work than a real seal ever does)."""
    parts = sealed.split("$")
    if len(parts) != 7 or parts[0] != SCHEME:
        return None
    try:
        n, r, p = int(parts[1]), int(parts[2]), int(parts[3])
        salt, nonce, body = (base64.b64decode(x, validate=True) for x in parts[4:])
    except ValueError:
        return None
    if not (n > 1 and n & (n - 1) == 0 and n <= MAX_N and 0 < r <= MAX_R and 0 < p <= MAX_P
            and len(nonce) == 12 and salt):
        return None
    try:
        raw = AESGCM(_derive(password, salt, n, r, p)).decrypt(nonce, body,
                                                             SCHEME.encode("ascii"))
        return Ed25519PrivateKey.from_private_bytes(raw)
    except (InvalidTag, ValueError):
        return None


def _derive(password: str, salt: bytes, n: int, r: int, p: int) -> bytes:
    memory = 128 * r * (n + p + 2) + 1024 * 1024
    return hashlib.scrypt(password.encode("utf-8"), salt=salt, n=n, r=r, p=p, maxmem=memory,
                          dklen=32)


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


# -- the keys of this PC ---------------------------------------------------------------------

def ensure_signing_key(store: Store, client: DistrictClient, username: str, password: str,
                       *, now: datetime | None = None) -> Signer | None:
    """After an online sign-in: the user's key at this PC, registered with the district.

    A key this password opens and the district still holds is kept; otherwise (no key yet, the
    password changed, the district revoked it) a new pair is made, sealed and registered. When
    the district cannot be reached the new key waits unregistered, and signing with it is
    refused until the next online sign-in registers it. Returns the unsealed signer, or None.
    """
    now = now or datetime.now(UTC)
    for record in _keys(store, username):
        private = unseal(record.sealed_private_key, password)
        if private is None:
            continue
        try:
            registered = client.register_signing_key(record.public_key)
        except ServerRefused as exc:
            if exc.code == "signing_key_revoked":
                _mark_revoked(store, record.key_id, now)
                continue
            raise
        _mark_registered(store, record.key_id, registered)
        return Signer(username, record.key_id, registered.device_id, private)
    private = signing.new_private_key()
    public = signing.public_key_b64(private)
    record = SigningKeyRecord(key_id=signing.key_id_of(public), username=username,
                              public_key=public, sealed_private_key=seal(private, password),
                              created_at=now)
    with store.session() as session:
        session.add(record)
        append_audit(session, username, "signing_key.created", f"signing_key:{record.key_id}",
                     {"public_key": public}, at=now)
    try:
        registered = client.register_signing_key(public)
    except (Offline, ServerRefused):
        return None
    _mark_registered(store, record.key_id, registered)
    return Signer(username, record.key_id, registered.device_id, private)


def unlock(store: Store, username: str, password: str) -> Signer:
    """The user's registered key at this PC, opened with the password, to sign with.

    Raises SigningUnavailable when there is none (never signed in online here, the password
    changed since, the district revoked it) or the password does not open it.
    """
    registered_any = False
    for record in _keys(store, username):
        if record.registered_at is None or record.device_id is None:
            continue
        registered_any = True
        private = unseal(record.sealed_private_key, password)
        if private is not None:
            return Signer(username, record.key_id, record.device_id, private)
    unregistered = any(r.registered_at is None for r in _keys(store, username))
    if not registered_any and unregistered:
        raise SigningUnavailable(NOT_REGISTERED.format(username=username))
    raise SigningUnavailable(NO_KEY.format(username=username))


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
