"""The password verifier kept at the counter: a salted scrypt hash with its parameters, and what
the same derivation opens besides (the key sealing the user's signing key at this PC).

desktop.services.accounts says why the verifier is kept and how signing in uses it;
desktop.services.signing seals and opens the signing key with `Opened`. Both import this
module, which imports neither.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
from dataclasses import dataclass, field

# scrypt at OWASP's level for interactive logins (N=2^15, r=8, p=3: 32 MiB, ~0.15 s). The
# parameters are stored with each verifier, so raising them later needs no migration: a user's
# next online sign-in rewrites their verifier with the new ones.
SCRYPT_N = 2**15
SCRYPT_R = 8
SCRYPT_P = 3
SALT_BYTES = 16
HASH_BYTES = 32
SEALING_BYTES = 32
# A verifier read from the database is data: parameters beyond these are refused rather than
# run (a tampered row must not make the counter allocate gigabytes).
MAX_N, MAX_R, MAX_P = 2**20, 32, 16
SCHEME = "scrypt"

# -- the verifier -----------------------------------------------------------------------------

@dataclass(frozen=True)
class Opened:
    """What a password opens besides the verifier: scrypt's output beyond the verifier's hash.

    scrypt ends in PBKDF2, whose output blocks are independent: the first 32 bytes are the
    verifier's hash (stored), the next 32 the key that seals the user's signing key at this PC
    (desktop.services.signing; never stored). One derivation serves both, so signing in offline
    and opening the signing key cost one scrypt, not two. `salt` names the verifier it came
    from: a key sealed under another verifier is not opened by this one.
    """

    salt: bytes
    sealing_key: bytes = field(repr=False)


def make_verifier(password: str) -> str:
    """"scrypt$n$r$p$salt$hash", salt and hash base64: a new random salt every time."""
    return new_verifier(password)[0]


def new_verifier(password: str) -> tuple[str, Opened]:
    """A new verifier of `password` and what it opens."""
    salt = os.urandom(SALT_BYTES)
    out = _scrypt(password, salt, SCRYPT_N, SCRYPT_R, SCRYPT_P, HASH_BYTES + SEALING_BYTES)
    verifier = "$".join((SCHEME, str(SCRYPT_N), str(SCRYPT_R), str(SCRYPT_P), _b64(salt),
                         _b64(out[:HASH_BYTES])))
    return verifier, Opened(salt, out[HASH_BYTES:])


def open_verifier(verifier: str | None, password: str) -> Opened | None:
    """What `password` opens if it matches `verifier` (compared in constant time), else None.
    A missing or malformed verifier is None, after the same work as a real one (no timing tells
    them apart)."""
    parsed = _parse(verifier) if verifier else None
    if parsed is None:
        _scrypt(password, b"\0" * SALT_BYTES, SCRYPT_N, SCRYPT_R, SCRYPT_P,
                HASH_BYTES + SEALING_BYTES)
        return None
    n, r, p, salt, expected = parsed
    out = _scrypt(password, salt, n, r, p, len(expected) + SEALING_BYTES)
    if not hmac.compare_digest(out[:len(expected)], expected):
        return None
    return Opened(salt, out[len(expected):])


def check_verifier(verifier: str | None, password: str) -> bool:
    """Whether `password` matches `verifier` (see open_verifier)."""
    return open_verifier(verifier, password) is not None


def _parse(verifier: str) -> tuple[int, int, int, bytes, bytes] | None:
    parts = verifier.split("$")
    if len(parts) != 6 or parts[0] != SCHEME:
        return None
    try:
        n, r, p = int(parts[1]), int(parts[2]), int(parts[3])
        salt = base64.b64decode(parts[4], validate=True)
        expected = base64.b64decode(parts[5], validate=True)
    except ValueError:
        return None
    power_of_two = n > 1 and n & (n - 1) == 0
    if not (power_of_two and n <= MAX_N and 0 < r <= MAX_R and 0 < p <= MAX_P
            and salt and 16 <= len(expected) <= 64):
        return None
    return n, r, p, salt, expected


def _scrypt(password: str, salt: bytes, n: int, r: int, p: int, length: int) -> bytes:
    memory = 128 * r * (n + p + 2) + 1024 * 1024  # what OpenSSL needs, with room to spare
    return hashlib.scrypt(password.encode("utf-8"), salt=salt, n=n, r=r, p=p,
                          maxmem=memory, dklen=length)


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")
