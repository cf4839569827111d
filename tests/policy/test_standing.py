"""`standing`: what the settled rows of a year already used, shown on the person card.

POLICY.md §0.4: E(H) is the entitlement of the settled rows; the card shows it per bucket with
the cap (POLICY.md §1 caps), and it must be the very `before` an application then starts from.
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from desktop.policy.contract import default_parameters, parse_case, result_to_json
from desktop.policy.engine import calculate, standing
from tests.policy.builders import assistance, fee
from tests.policy.test_properties import SETTINGS, cases


def _case(data: dict[str, Any]) -> Any:
    return parse_case(json.loads(json.dumps(data)), default_parameters())


def test_a_dibao_year_used_against_its_cap() -> None:
    """POLICY.md §1: dibao outpatient 60 %, cap 2,800; 1,000 + 2,550 settled → 2,130 used."""
    fees = [fee("A", "2026-02-03", "1000.00", settled=True),
            fee("B", "2026-03-04", "2550.00", settled=True),
            fee("C", "2026-04-05", "500.00")]  # not settled: not in the standing
    case = _case(assistance(fees, [("dibao", "2024-01-01", None)],
                            application_date="2026-06-01"))
    (line,) = standing(case, default_parameters(), 2026)
    assert line.bucket.value == "outpatient"
    assert line.before == line.after == Decimal("2130.00")
    cap = next(lim for lim in line.limits if lim.name == "年度救助限额")
    assert cap.amount == Decimal("2800.00") and not cap.reached
    assert standing(case, default_parameters(), 2025) == ()


@SETTINGS
@given(cases(), st.data())
def test_standing_is_where_the_next_application_starts(case: dict[str, Any],
                                                      data: st.DataObject) -> None:
    """Settle any subset of the rows: the card's E(H) per bucket equals the `before` of an
    application of the remaining rows, for every bucket the application touches."""
    settled = data.draw(st.lists(st.booleans(), min_size=len(case["fees"]),
                                 max_size=len(case["fees"])))
    fees = [{**f, "settled": True} if s else f for f, s in zip(case["fees"], settled,
                                                                 strict=True)]
    if all(settled) or not any(settled):
        return
    parsed = _case({**case, "fees": fees})
    params = default_parameters()
    card = {(line.bucket.value): line.after for line in standing(parsed, params, 2026)}
    out = result_to_json(calculate(parsed, params), params)
    for year in out["years"]:
        assert Decimal(year["before"]) == card.get(year["bucket"], Decimal("0.00"))
