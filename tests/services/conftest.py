"""Service tests use the store helpers and, where a server is needed, a real one on loopback."""

from tests.sync.conftest import district  # noqa: F401  (the fixture, for the service tests)

