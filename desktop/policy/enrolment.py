"""Mutual-aid enrolment (MA-2021 二): which year a payment buys, from when, and at what fee.

- In the registration window (10-01..12-31; 闵行 10-08..12-20, MH-2026 §七.四), the fee pays for
  the next year, whose benefits run from 1 January (二(三)).
- Outside it, only "因特殊情况年度中途参加" with a stated reason: same fee, benefits from the
  month after payment (二(三)), for the year that month falls in.
The counter and the district both call this; neither decides on its own.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from desktop.policy.caveats import parameter_warnings
from desktop.policy.parameters import ParameterValue, PolicyParameters


class EnrolmentClosed(ValueError):
    """Outside the registration window with no special reason given; names the field."""

    def __init__(self, field: str, message: str, message_zh: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message_zh = message_zh


@dataclass(frozen=True)
class EnrolmentTerms:
    year: int  # the membership year the payment buys
    benefits_from: date
    fee: Decimal
    window_opens: date  # this year's registration window
    window_closes: date
    in_window: bool
    sources: tuple[str, ...]
    warnings: tuple[str, ...]  # expired or assumed sources (POLICY.md D5), in Chinese


def enrolment_terms(parameters: PolicyParameters, district: str, paid_on: date, *,
                    mid_year_reason: str | None = None) -> EnrolmentTerms:
    """The terms of an enrolment paid on `paid_on`; raises EnrolmentClosed outside the window
    unless a special reason is given."""
    view = parameters.for_program("mutual_aid", district)
    opens_at, closes_at, fee = (view.require(f"enrolment.{key}", paid_on)
                                for key in ("from", "to", "fee"))
    opens = _on(paid_on.year, opens_at)
    closes = _on(paid_on.year, closes_at)
    used = (opens_at, closes_at, fee)
    warnings = tuple(w.message for w in parameter_warnings(used, paid_on))
    sources = tuple(dict.fromkeys(v.source for v in used))
    amount = fee.value
    assert isinstance(amount, Decimal)
    if opens <= paid_on <= closes:
        return EnrolmentTerms(paid_on.year + 1, date(paid_on.year + 1, 1, 1), amount, opens,
                              closes, True, sources, warnings)
    if mid_year_reason is None or not mid_year_reason.strip():
        raise EnrolmentClosed(
            "mid_year_reason",
            f"outside the enrolment window {opens.isoformat()}..{closes.isoformat()}",
            f"互助帮困登记缴费期为 {opens:%m月%d日} 至 {closes:%m月%d日}；期外参加须填写特殊情况"
            "（MA-2021 二(三)，待遇从缴费次月起享受）。")
    following = date(paid_on.year + (paid_on.month == 12), paid_on.month % 12 + 1, 1)
    return EnrolmentTerms(following.year, following, amount, opens, closes, False, sources,
                          warnings)


def _on(year: int, month_day: ParameterValue) -> date:
    month, day = str(month_day.value).split("-")
    return date(year, int(month), int(day))
