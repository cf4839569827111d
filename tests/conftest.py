"""Fixtures every layer's tests share."""

from __future__ import annotations

from collections.abc import Iterator

import keyring
import pytest

from desktop.sync.credentials import MemoryKeyring


@pytest.fixture(autouse=True)
def memory_keyring() -> Iterator[MemoryKeyring]:
    """A fresh in-memory keyring for every test, so no test touches the machine's own (device
    tokens, and the cache keys that open_sealed_store and the demo create)."""
    previous = keyring.get_keyring()
    backend = MemoryKeyring()
    keyring.set_keyring(backend)
    yield backend
    keyring.set_keyring(previous)
