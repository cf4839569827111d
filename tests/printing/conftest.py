"""The report tests' store template (staff remembered once: scrypt is slow on purpose)."""

from tests.services.test_reports import template  # noqa: F401  (the fixture)

