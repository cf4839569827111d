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
