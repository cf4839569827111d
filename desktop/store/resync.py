"""What the counter keeps of the district, forgotten so that it can be pulled again from zero
(after the district was restored from a backup, or a pull found changes missing), and the outbox
items the district no longer holds, queued again. The counter's own work (applications,
signatures, enrolments, scans, audit) is kept.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from desktop.store.local_state import set_state_value, state_value
from desktop.store.models import (
    ApplicationRecord,
    CategorySpanRecord,
    ClaimRecord,
    CommitmentRecord,
    FeeRowRecord,
    InstitutionRecord,
    LocalStateRecord,
    OutboxRecord,
    ParameterVersionRecord,
    ParkedChangeRecord,
    PersonRecord,
    SyncCursorRecord,
    TombstoneRecord,
)

GENERATION = "district_generation"
# a pull found changes missing after its pages were written: the next one starts again
RESYNC_NEEDED = "district_resync_needed"


def district_generation(session: Session) -> str | None:
    """The generation of the district this counter last synced with (None: not known yet)."""
    return state_value(session, GENERATION)


def set_district_generation(session: Session, generation: str) -> None:
    set_state_value(session, GENERATION, generation)


def resync_needed(session: Session) -> str | None:
    """Why the cache must be pulled again from zero, if a pull found it must."""
    return state_value(session, RESYNC_NEEDED)


def mark_resync_needed(session: Session, reason: str) -> None:
    set_state_value(session, RESYNC_NEEDED, reason)


def forget_district_data(session: Session) -> None:
    """Every row pulled from the district, the tombstones and parked changes, the cursors and
    the generation: the next pull starts from zero. Applications stay, without the seq of the
    district change they were last written from."""
    for model in (ClaimRecord, FeeRowRecord, CategorySpanRecord, PersonRecord,
                  InstitutionRecord, ParameterVersionRecord, TombstoneRecord,
                  ParkedChangeRecord, SyncCursorRecord):
        session.execute(delete(model))
    # commitments the district holds come back with the pull; one made here and not yet
    # answered (saved) or refused stays
    session.execute(delete(CommitmentRecord).where(CommitmentRecord.status == "accepted"))
    session.execute(delete(LocalStateRecord).where(
        LocalStateRecord.name.in_((GENERATION, RESYNC_NEEDED))))
    session.execute(update(ApplicationRecord).values(district_seq=None))
    session.expire_all()


def delivered_keys(session: Session) -> list[uuid.UUID]:
    """Every outbox item the district once answered, in push order."""
    return list(session.scalars(select(OutboxRecord.idempotency_key)
                                .where(OutboxRecord.delivered_at.is_not(None))
                                .order_by(OutboxRecord.id)))


def requeue(session: Session, keys: Iterable[uuid.UUID]) -> list[OutboxRecord]:
    """Put these delivered items back in the outbox, in their first order; an application
    among them waits again for the district's acceptance (its claims were lost with it)."""
    wanted = set(keys)
    if not wanted:
        return []
    items = [row for row in session.scalars(select(OutboxRecord).order_by(OutboxRecord.id))
             if row.idempotency_key in wanted]
    for row in items:
        row.delivered_at = None
        row.result = None
        row.attempts = 0
        row.last_error = None
        if row.kind == "application":
            application = session.get(ApplicationRecord,
                                      uuid.UUID(str(row.payload["application_id"])))
            if application is not None:
                application.accepted_at = None
                application.approval_accepted_at = None
                if application.status == "accepted":
                    application.status = "saved"  # it waits for the district's answer again
    return items
