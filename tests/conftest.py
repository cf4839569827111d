"""Fixtures every layer's tests share."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator

import keyring
import pytest

from desktop.services.signing import forget
from desktop.sync.credentials import MemoryKeyring
from tests.signers import open_signer

# The tests run in Shanghai time, as the counters do: a counter PC's local date (date.today(),
# the application date, 今日受理) is Shanghai's, and so are the district's dates
# (district.values.shanghai_today, the seed's fee rows and categories). On a build machine in
# UTC the two dates differ from 16:00 to midnight UTC, and tests that saved an application
# "today" against a district a day ahead failed then. Servers started by the tests inherit it.
os.environ["TZ"] = "CST-8"  # UTC+8 all year (POSIX form: no time zone database needed)
time.tzset()


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
