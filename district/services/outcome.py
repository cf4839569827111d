"""What happened to one pushed item: accepted with its changes, or refused with a reason."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, Literal

from desktop import wire
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
    # the protocol the counter speaks (wire.PROTOCOL_HEADER): kinds it cannot send are refused
    protocol: int = wire.PROTOCOL_VERSION


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


# session.info keys a push request fills with what its items would otherwise look up one by
# one (district.services.push._prefetch); absent, each item looks it up itself
EXISTING_APPLICATIONS = "push_existing_applications"
EXISTING_EVENTS = "push_existing_events"
SIGNING_KEYS = "push_signing_keys"
# the applications a request's signatures, send-backs and withdrawals name that exist: locked
# in key order at its start and held by the session; and what they hold
# (district.changelog.held_by), kept true as the request's signatures add to it
LOCKED_APPLICATIONS = "push_locked_applications"
APPLICATIONS_HELD = "push_applications_held"


def known_absent(session: Any, key: str, value: str) -> bool | None:
    """True when the request's prefetch says `value` does not exist yet, False when it does,
    None when there was no prefetch (look it up)."""
    seen: set[str] | None = session.info.get(key)
    return None if seen is None else value not in seen


def note_added(session: Any, key: str, value: str) -> None:
    seen: set[str] | None = session.info.get(key)
    if seen is not None:
        seen.add(value)
