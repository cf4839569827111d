"""Shanghai wall-clock time: what clerks, forms and reports read. Instants are stored in UTC."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

SHANGHAI = ZoneInfo("Asia/Shanghai")


def _aware(moment: datetime) -> datetime:
    """A naive moment is taken as UTC, as the stores keep them."""
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def shanghai_day(moment: datetime) -> date:
    """The calendar day in Shanghai of an instant."""
    return _aware(moment).astimezone(SHANGHAI).date()


def local_time(moment: datetime) -> str:
    """An instant as Shanghai wall-clock time, "YYYY-MM-DD HH:MM"."""
    return _aware(moment).astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M")


# -- the settlement month (POLICY.md §6.6; issue 10) ---------------------------------------------
#
# One rule, imported by the counter's month report and the district's monthly summary: an
# application belongs to the month in which the district accepted its 审批人's signature, on
# Shanghai's calendar. Not the application date (the 经办人's day), not the moment the approver
# signed at an offline counter (its clock is the counter's): the district's acceptance is one
# instant both sides know, and a signature the district refused places nothing.


def settlement_month(approval_accepted_at: datetime) -> tuple[int, int]:
    """(year, month) an application approved by a signature the district accepted then is
    reported and paid in."""
    day = shanghai_day(approval_accepted_at)
    return day.year, day.month


def month_range(year: int, month: int) -> tuple[datetime, datetime]:
    """The instants [start, end) of a month on Shanghai's calendar, in UTC: what
    `settlement_month` places in (year, month). ValueError for a month outside 2000–2099."""
    if not 2000 <= year <= 2099:
        raise ValueError(f"年份 {year} 不在 2000–2099 之内")
    if not 1 <= month <= 12:
        raise ValueError(f"月份 {month} 应为 1–12")
    start = datetime(year, month, 1, tzinfo=SHANGHAI)
    end = datetime(year + month // 12, month % 12 + 1, 1, tzinfo=SHANGHAI)
    return start.astimezone(UTC), end.astimezone(UTC)
