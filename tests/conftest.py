"""Fixtures every layer's tests share."""

from __future__ import annotations

from collections.abc import Iterator

import keyring
import pytest

from desktop.services.signing import forget
from desktop.sync.credentials import MemoryKeyring
from tests.signers import open_signer


@pytest.fixture(autouse=True)
def memory_keyring() -> Iterator[MemoryKeyring]:
    """A fresh in-memory keyring for every test, so no test touches the machine's own (device
    tokens, and the cache keys that open_sealed_store and the demo create)."""
    previous = keyring.get_keyring()
    backend = MemoryKeyring()
    keyring.set_keyring(backend)
    yield backend
    keyring.set_keyring(previous)


@pytest.fixture(autouse=True)
def handlers_signed_in() -> Iterator[None]:
    """The 经办人 these tests save as hold an open signing key, as a sign-in leaves it; tests
    that sign in (against a real district) replace it with the registered one."""
    for username in ("li", "clerk1", "clerk2", "clerk7"):
        open_signer(username)
    yield
    forget()
