"""What a signature signs: the canonical bytes of an act on an application, and Ed25519 over them.

Both sides import this module: the counter signs with the signer's private key (unsealed by their
password, desktop.services.signing), the district rebuilds the same bytes from what it stores and
verifies them against the signer's registered public key (district.services.signing_keys).

The bytes are UTF-8 JSON with sorted keys and no spaces, of these fields, all strings:

    act             sign | waive | withdraw | return | enrol | commit | revoke
    application_id  the application's UUID, lower-case with hyphens (commit, revoke: the
                    免申即享 commitment's UUID)
    role            handler | reviewer | approver (sign, waive), the actor's role otherwise
    username        who acts
    device_id       the PC the key belongs to (as the district registered it)
    case_sha256     SHA-256 of the canonical JSON of the exact case the district recomputes
    payable         the amount, "123.45"
    card_sha256     SHA-256 of the payout card's digits ("" when no card)
    card_confirmed  "1" when the 审批人 confirms a card other than the one on file, else "0"
    signed_at       the moment, UTC, ISO 8601 with microseconds
    extra           act-specific text: a waiver's row and reasons, a send-back's reason

Changing any of them changes the bytes, so a signature proves one act on one amount, case and
card by one person at one time.
"""

from __future__ import annotations

import base64
import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

ActKind = Literal["sign", "waive", "withdraw", "return", "enrol", "commit", "revoke"]
VERSION = "1"


def canonical_json(value: Any) -> bytes:
    """The one serialisation both sides hash: sorted keys, no spaces, UTF-8."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False,
                      allow_nan=False).encode("utf-8")


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def case_digest(case: dict[str, Any]) -> str:
    return sha256_hex(canonical_json(case))


def card_digest(card: str | None) -> str:
    return sha256_hex(card.encode("ascii")) if card else ""


def instant(at: datetime) -> str:
    """A moment as the signed bytes carry it: UTC, microseconds. Naive times are refused."""
    if at.tzinfo is None:
        raise ValueError("a signed moment needs its time zone")
    return at.astimezone(UTC).isoformat(timespec="microseconds")


@dataclass(frozen=True)
class SignedAct:
    """One act to sign or verify (see the module docstring for the fields)."""

    act: ActKind
    application_id: str
    role: str
    username: str
    device_id: str
    case_sha256: str
    payable: str
    card_sha256: str
    card_confirmed: bool
    signed_at: datetime
    extra: str = ""

    def message(self) -> bytes:
        return canonical_json({
            "v": VERSION, "act": self.act, "application_id": self.application_id.lower(),
            "role": self.role, "username": self.username, "device_id": self.device_id,
            "case_sha256": self.case_sha256, "payable": self.payable,
            "card_sha256": self.card_sha256, "card_confirmed": "1" if self.card_confirmed else "0",
            "signed_at": instant(self.signed_at), "extra": self.extra})


def waiver_extra(person_id: str, fee_row_id: str, reasons: list[str], reason: str) -> str:
    return canonical_json({"person_id": person_id, "fee_row_id": fee_row_id,
                           "reasons": sorted(reasons), "reason": reason}).decode("utf-8")


def commitment_act(act: Literal["commit", "revoke"], *, commitment_id: str, person_id: str,
                   program: str, application_id: str, given_on: str, username: str,
                   at: datetime, revoked_on: str = "", reason: str = "") -> SignedAct:
    """A 免申即享 commitment given (act "commit", by the 经办人) or revoked (act "revoke", with
    its day and reason): the commitment's person, program, application form and day are in
    case_sha256, so a signature proves one consent of one person; its device_id is filled in
    by the signer (counter) or from the key (district)."""
    given = {"person_id": person_id, "program": program,
             "application_id": application_id.lower(), "given_on": given_on}
    extra = canonical_json({"revoked_on": revoked_on, "reason": reason}).decode("utf-8") \
        if act == "revoke" else ""
    return SignedAct(act=act, application_id=commitment_id, role="handler", username=username,
                     device_id="", case_sha256=case_digest(given), payable="", card_sha256="",
                     card_confirmed=False, signed_at=at, extra=extra)


# -- keys -------------------------------------------------------------------------------------

def new_private_key() -> Ed25519PrivateKey:
    return Ed25519PrivateKey.generate()


def public_key_b64(private: Ed25519PrivateKey) -> str:
    raw = private.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    return base64.b64encode(raw).decode("ascii")


def key_id_of(public_b64: str) -> str:
    """A key's id: the SHA-256 of its 32 raw bytes, hex."""
    return sha256_hex(base64.b64decode(public_b64, validate=True))


def sign(private: Ed25519PrivateKey, act: SignedAct) -> str:
    return base64.b64encode(private.sign(act.message())).decode("ascii")


def verify(public_b64: str, act: SignedAct, signature_b64: str) -> bool:
    """Whether `signature_b64` is the key's signature of exactly this act."""
    try:
        public = Ed25519PublicKey.from_public_bytes(base64.b64decode(public_b64, validate=True))
        public.verify(base64.b64decode(signature_b64, validate=True), act.message())
    except (InvalidSignature, ValueError):
        return False
    return True
