"""Service tests use the store helpers and, where a server is needed, a real one on loopback."""

from collections.abc import Iterator

import pytest

from desktop.services.signing import forget
from tests.signers import open_signer
from tests.sync.conftest import district  # noqa: F401  (the fixture, for the service tests)


@pytest.fixture(autouse=True)
def handlers_signed_in() -> Iterator[None]:
    """The 经办人 these tests save as hold an open signing key, as a sign-in leaves it; tests
    that sign in (against a real district) replace it with the registered one."""
    for username in ("li", "clerk1", "clerk2", "clerk7"):
        open_signer(username)
    yield
    forget()
