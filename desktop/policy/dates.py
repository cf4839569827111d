"""Calendar rules of the policy: the month-end rule of the claim window (CN-2026 4.3)."""

from __future__ import annotations

import calendar
from datetime import date


def add_months(day: date, months: int) -> date:
    """The same day-of-month `months` later; the month's last day when that day does not exist."""
    index = day.year * 12 + (day.month - 1) + months
    year, month0 = divmod(index, 12)
    last = calendar.monthrange(year, month0 + 1)[1]
    return date(year, month0 + 1, min(day.day, last))


def last_claim_day(receipt_date: date, window_months: int) -> date:
    """Last day on which a receipt may still be claimed (CN-2026 4.3: within 6 months)."""
    return add_months(receipt_date, window_months)
