"""Mutual-aid enrolment terms (POLICY.md §1 "Enrolment"; MA-2021 二(一)(三); MH-2026 §七)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from desktop.policy.contract import default_parameters
from desktop.policy.enrolment import EnrolmentClosed, enrolment_terms


@pytest.mark.parametrize(("district", "paid_on", "reason", "year", "benefits_from"), [
    # POLICY.md §1: 10-01..12-31 for the next year, benefits from 1 January
    ("changning", date(2026, 10, 1), None, 2027, date(2027, 1, 1)),
    ("changning", date(2026, 12, 31), None, 2027, date(2027, 1, 1)),
    ("shanghai", date(2026, 11, 24), None, 2027, date(2027, 1, 1)),
    # 闵行 overlay: 10-08..12-20 (MH-2026 §七.四)
    ("minhang", date(2026, 10, 8), None, 2027, date(2027, 1, 1)),
    ("minhang", date(2026, 12, 20), None, 2027, date(2027, 1, 1)),
    # mid-year with a special reason: benefits from the month after payment (二(三))
    ("changning", date(2026, 5, 10), "原单位证明迟到", 2026, date(2026, 6, 1)),
    ("minhang", date(2026, 12, 27), "户口迁入", 2027, date(2027, 1, 1)),
    ("minhang", date(2026, 10, 3), "户口迁入", 2026, date(2026, 11, 1)),
])
def test_terms(district: str, paid_on: date, reason: str | None, year: int,
               benefits_from: date) -> None:
    terms = enrolment_terms(default_parameters(), district, paid_on, mid_year_reason=reason)
    assert (terms.year, terms.benefits_from) == (year, benefits_from)
    assert terms.fee == Decimal("130.00")  # MH-2026 §七.二
    assert terms.in_window is (reason is None)


@pytest.mark.parametrize(("district", "paid_on"), [
    ("changning", date(2026, 9, 30)),
    ("minhang", date(2026, 10, 7)),
    ("minhang", date(2026, 12, 21)),
])
def test_outside_the_window_needs_a_reason(district: str, paid_on: date) -> None:
    for reason in (None, "  "):
        with pytest.raises(EnrolmentClosed) as info:
            enrolment_terms(default_parameters(), district, paid_on, mid_year_reason=reason)
        assert info.value.field == "mid_year_reason" and "特殊情况" in info.value.message_zh


def test_the_expired_city_window_still_applies_with_a_warning() -> None:
    """POLICY.md D5: MA-2021 ran to 2026-08-17; its window stays in force and says so."""
    terms = enrolment_terms(default_parameters(), "changning", date(2026, 11, 24))
    assert any("MA-2021" in w and "到期" in w for w in terms.warnings)
    assert "MA-2021 二(一)" in terms.sources


def test_a_late_renewal_starts_mid_year_and_keeps_earlier_years_whole() -> None:
    """MA-2021 二(三): a 2025 member renewing mid-2026 (paid 2026-05-10) has benefits from
    2026-06-01 in 2026 only; 2025 stays a whole year of membership."""
    import json

    from desktop.policy.contract import calculate_text
    from tests.policy.builders import fee, mutual_aid

    case = mutual_aid([fee("Y25", "2025-12-20", "3000.00", "inpatient"),
                       fee("FEB", "2026-02-03", "3000.00", "inpatient"),
                       fee("JUL", "2026-07-03", "3000.00", "inpatient")],
                      member_years=[2025, 2026], benefits_from="2026-06-01",
                      application_date="2026-07-20")
    rows = {r["id"]: r for r in calculate_text(json.dumps(case))["rows"]}
    assert rows["Y25"]["counts"] and rows["JUL"]["counts"]
    assert not rows["FEB"]["counts"] and rows["FEB"]["reason"] == "not_enrolled"
