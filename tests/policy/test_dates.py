"""The claim window's month-end rule (POLICY.md §3 overdue, CN-2026 4.3)."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from desktop.policy.dates import add_months, last_claim_day
from desktop.policy.eligibility import _earliest_claimable


@pytest.mark.parametrize(("receipt", "last"), [
    (date(2026, 2, 1), date(2026, 8, 1)),      # same day-of-month six months later
    (date(2026, 3, 31), date(2026, 9, 30)),    # September has no 31st: the month's last day
    (date(2026, 8, 31), date(2027, 2, 28)),
    (date(2027, 8, 31), date(2028, 2, 29)),    # leap year
    (date(2025, 12, 31), date(2026, 6, 30)),
    (date(2026, 8, 29), date(2027, 2, 28)),
])
def test_last_claim_day(receipt: date, last: date) -> None:
    assert last_claim_day(receipt, 6) == last


def test_add_months_backwards() -> None:
    assert add_months(date(2026, 8, 31), -6) == date(2026, 2, 28)


@given(st.dates(date(2023, 1, 1), date(2030, 12, 31)), st.integers(0, 400),
       st.integers(1, 12))
def test_earliest_claimable_splits_on_time_from_overdue(
    application: date, back: int, months: int
) -> None:
    receipt = application - timedelta(days=back)
    earliest = _earliest_claimable(application, months)
    overdue = application > last_claim_day(receipt, months)
    assert (receipt < earliest) is overdue
