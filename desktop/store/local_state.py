"""Values this PC keeps for itself: the latest time it has seen, so a clock set back shows.

The offline sign-in trusts the PC's clock to tell how old a password verifier is and when a lock
ends. Every sign-in and every good sync cycle moves `latest_seen_at` forward (never back); a clock
that reads earlier than it has been set back (desktop.services.accounts refuses to sign in
offline then).
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy.orm import Session

from desktop.store.models import LocalStateRecord
from desktop.store.types import utc_text

LATEST_SEEN_AT = "latest_seen_at"


def state_value(session: Session, name: str) -> str | None:
    """A named value this PC keeps (None: never set)."""
    row = session.get(LocalStateRecord, name)
    return None if row is None else row.value


def set_state_value(session: Session, name: str, value: str) -> None:
    """Set a named value, in the session's transaction."""
    row = session.get(LocalStateRecord, name)
    if row is None:
        session.add(LocalStateRecord(name=name, value=value))
    else:
        row.value = value


def latest_seen_at(session: Session) -> datetime | None:
    """The latest time this PC has recorded (UTC), or None before the first record.

    A value that is not a time (a hand-edited row) reads as None rather than failing the
    sign-in that asks; a time without zone is taken as UTC, as the store keeps its times.
    """
    value = state_value(session, LATEST_SEEN_AT)
    if value is None:
        return None
    try:
        seen = datetime.fromisoformat(value)
    except ValueError:
        return None
    return seen.replace(tzinfo=UTC) if seen.tzinfo is None else seen.astimezone(UTC)


def note_time_seen(session: Session, now: datetime) -> datetime:
    """Record that the PC's clock read `now`, in the session's transaction; the record only
    moves forward. Returns the latest time seen, after this one."""
    if now.tzinfo is None:
        now = now.replace(tzinfo=UTC)
    seen = latest_seen_at(session)
    if seen is not None and seen >= now:
        return seen
    set_state_value(session, LATEST_SEEN_AT, utc_text(now))
    return now.astimezone(UTC)
