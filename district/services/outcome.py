"""What happened to one pushed item: accepted with its changes, or refused with a reason."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, Literal

from district.changelog import PendingChange


@dataclass(frozen=True)
class Caller:
    """Who pushes: the device (and so the street) and the clerk logged in on it."""

    device_id: str
    street_code: str
    district: str
    username: str
    roles: frozenset[str]
    # how far back a counter's moments may lie (the offline allowance, a district setting)
    offline_allowance: timedelta = timedelta(days=30)


@dataclass
class Outcome:
    status: Literal["accepted", "refused"]
    reason: str | None = None
    message: str | None = None
    detail: dict[str, Any] | None = None
    changes: list[PendingChange] = field(default_factory=list)


class Refusal(Exception):
    """Raised by a check: the item is refused with this reason and changes nothing."""

    def __init__(self, reason: str, message: str, detail: dict[str, Any] | None = None) -> None:
        super().__init__(f"{reason}: {message}")
        self.reason = reason
        self.message = message
        self.detail = detail

    def outcome(self) -> Outcome:
        return Outcome("refused", self.reason, self.message, self.detail)
