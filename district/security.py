"""Secrets: device and session tokens, enrolment codes and passwords, and how they are kept.

Tokens and enrolment codes are random and long, so a SHA-256 of each is enough to find it and
useless to a thief of the database. Passwords are people's, so they get a salted scrypt.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import hmac
import secrets

_SCRYPT_N, _SCRYPT_R, _SCRYPT_P, _SCRYPT_LEN = 2**14, 8, 1, 32
# Enrolment codes are read aloud and typed: no 0/O, 1/I/L.
_CODE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"


def new_token() -> str:
    return secrets.token_urlsafe(32)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def new_enrolment_code() -> str:
    """Like "K7QP-3MZX-TW9R": 60 bits, grouped for reading."""
    chars = "".join(secrets.choice(_CODE_ALPHABET) for _ in range(12))
    return f"{chars[:4]}-{chars[4:8]}-{chars[8:]}"


def enrolment_code_hash(code: str) -> str:
    """The hash of a code as typed: case, spaces and dashes do not matter."""
    normalized = "".join(c for c in code.upper() if c.isalnum())
    return token_hash(f"enrolment:{normalized}")


def new_password() -> str:
    return secrets.token_urlsafe(9)


def hash_password(password: str) -> str:
    salt = secrets.token_bytes(16)
    digest = _scrypt(password, salt, _SCRYPT_N, _SCRYPT_R, _SCRYPT_P)
    return "$".join(("scrypt", str(_SCRYPT_N), str(_SCRYPT_R), str(_SCRYPT_P),
                     _b64(salt), _b64(digest)))


def verify_password(password: str, stored: str) -> bool:
    try:
        scheme, n, r, p, salt, digest = stored.split("$")
        if scheme != "scrypt":
            return False
        expected = base64.b64decode(digest)
        actual = _scrypt(password, base64.b64decode(salt), int(n), int(r), int(p))
    except ValueError:
        return False
    return hmac.compare_digest(actual, expected)


@functools.cache
def dummy_password_hash() -> str:
    """Verified against when the user does not exist, so both answers take the same time."""
    return hash_password(secrets.token_urlsafe(16))


def _scrypt(password: str, salt: bytes, n: int, r: int, p: int) -> bytes:
    return hashlib.scrypt(password.encode("utf-8"), salt=salt, n=n, r=r, p=p,
                          maxmem=2 * 128 * n * r * p, dklen=_SCRYPT_LEN)


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")
