"""Fixtures every layer's tests share."""

from __future__ import annotations

from collections.abc import Iterator

import keyring
import pytest

from desktop.sync.credentials import MemoryKeyring


@pytest.fixture
def memory_keyring() -> Iterator[MemoryKeyring]:
    """An in-memory keyring, so no test touches the machine's own."""
    previous = keyring.get_keyring()
    backend = MemoryKeyring()
    keyring.set_keyring(backend)
    yield backend
    keyring.set_keyring(previous)
