"""The district's generation: an id that is new whenever the database stops being the
continuation of what counters synced with — at initialisation, and after a restore from a
backup (`python -m district restored`, which the operator runs before starting the servers).

It lives in the database, not in a process (several server processes share one PostgreSQL). A
page reads it in the page's own transaction; a push answer reads it just after the push's
transaction (the servers are stopped while a backup is restored, so the two cannot differ).
"""

from __future__ import annotations

import logging
import uuid

from sqlalchemy import select
from sqlalchemy.orm import Session

from district import models
from district.db import Database
from district.values import utcnow

log = logging.getLogger(__name__)


def current_generation(session: Session) -> str:
    generation = session.scalar(select(models.DistrictGeneration.generation)
                                .where(models.DistrictGeneration.id == 1))
    if generation is None:  # a database from before migration 0005 that lost its row
        raise RuntimeError("the district database has no generation; run migrate")
    return generation


def mark_restored(db: Database) -> str:
    """A new generation: counters that synced with the database before the restore notice,
    pull everything again, and push again what the restored database lost."""
    new = str(uuid.uuid4())
    with db.write() as session:
        row = session.get(models.DistrictGeneration, 1)
        if row is None:
            session.add(models.DistrictGeneration(id=1, generation=new, since=utcnow(),
                                                  reason="restored"))
        else:
            old = row.generation
            row.generation, row.since, row.reason = new, utcnow(), "restored"
            log.warning("district marked as restored from a backup: a new generation",
                        extra={"old_generation": old, "generation": new})
    return new
