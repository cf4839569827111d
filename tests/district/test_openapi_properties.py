"""A property-based run of the published OpenAPI document against a real server (schemathesis).

Every operation gets a bounded number of generated requests, valid ones and invalid ones, sent
with a registered device's token and a district administrator's session (so the admin routes are
reached too). No answer may be a server error, and every answer must be a documented status with
a body matching its documented schema. Derandomized: the same requests on every run.
"""

from __future__ import annotations

import time
from collections import Counter
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.district.conftest import SeededDistrict

# POST /logout would end the session the run uses; it is tested in test_auth.py.
SKIPPED = {("POST", "/api/v1/logout")}
EXAMPLES = {GenerationMode.POSITIVE: 20, GenerationMode.NEGATIVE: 20}
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance,
          response_schema_conformance]


def _run(operation: Any, mode: GenerationMode, headers: dict[str, str],
         statuses: Counter[tuple[str, int]]) -> None:
    @settings(max_examples=EXAMPLES[mode], derandomize=True, deadline=None, database=None,
              phases=[Phase.explicit, Phase.generate], suppress_health_check=list(HealthCheck))
    @given(case=operation.as_strategy(generation_mode=mode))
    def check(case: schemathesis.Case) -> None:
        response = case.call_and_validate(headers=headers, checks=CHECKS, timeout=30)
        statuses[(operation.label, response.status_code)] += 1

    check()


def test_every_operation_keeps_to_its_schema(district: SeededDistrict) -> None:
    admin = district.counter(login=None)
    admin.login("changning.admin")
    schema = schemathesis.openapi.from_url(f"{district.base_url}/openapi.json")
    operations = [result.ok() for result in schema.get_all_operations()]
    tested = [op for op in operations if (op.method.upper(), op.path) not in SKIPPED]
    assert len(tested) >= 7, [op.label for op in operations]
    started = time.monotonic()
    failures = []
    statuses: Counter[tuple[str, int]] = Counter()
    for operation in tested:
        for mode in EXAMPLES:
            try:
                _run(operation, mode, admin.headers(), statuses)
            except Unsatisfiable:  # nothing invalid to send (no parameter, no body)
                assert mode is GenerationMode.NEGATIVE, operation.label
            except Exception as exc:
                failures.append(f"{operation.label} ({mode.value}): {exc}")
    if failures:
        pytest.fail("\n\n".join(failures))
    # The credentials work: the generated requests reach the routes behind them.
    for label in ("GET /api/v1/changes", "GET /api/v1/monthly-summary", "POST /api/v1/push"):
        assert statuses[(label, 200)], sorted(statuses.items())
    assert not [key for key in statuses if key[1] >= 500]
    assert time.monotonic() - started < 120  # bounded: a few seconds per operation
