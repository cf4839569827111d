"""The audit trail's hash chains over the rows written before them (issue 9).

Rows written before this revision have no hashes: they are hashed here in id order, each into
the chain it belongs to (sent when the event was queued for the district, local otherwise), so
that the chains cover the whole table. The table refuses UPDATE (migration 0001): the trigger
is dropped around the backfill and put back as it was, in the migration's transaction.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-06
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from datetime import datetime

import sqlalchemy as sa
from alembic import op

from desktop.domain.audit_chain import LOCAL, SENT, AuditContent, Chain, audit_row_hash

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_NO_UPDATE = ("CREATE TRIGGER audit_event_no_update BEFORE UPDATE ON audit_event "
              "BEGIN SELECT RAISE(ABORT, 'audit_event is append-only'); END")


def upgrade() -> None:
    bind = op.get_bind()
    rows = bind.execute(sa.text(
        "SELECT a.id, a.event_id, a.at, a.actor, a.action, a.subject, a.detail, a.row_hash, "
        "EXISTS (SELECT 1 FROM outbox o WHERE o.idempotency_key = a.event_id "
        "AND o.kind = 'audit_event') AS sent "
        "FROM audit_event a ORDER BY a.id")).all()
    heads: dict[Chain, str | None] = {SENT: None, LOCAL: None}
    updates: list[dict[str, object]] = []
    for row_id, event_id, at, actor, action, subject, detail, row_hash, sent in rows:
        chain: Chain = SENT if sent else LOCAL
        if row_hash is not None:  # already hashed when written
            heads[chain] = row_hash
            continue
        content = AuditContent(str(uuid.UUID(str(event_id))), datetime.fromisoformat(at), actor,
                               action, subject,
                               json.loads(detail) if isinstance(detail, str) else detail)
        new_hash = audit_row_hash(content, heads[chain], chain)
        updates.append({"id": row_id, "prev_hash": heads[chain], "row_hash": new_hash})
        heads[chain] = new_hash
    if not updates:
        return
    op.execute("DROP TRIGGER audit_event_no_update")
    bind.execute(sa.text("UPDATE audit_event SET prev_hash = :prev_hash, row_hash = :row_hash "
                         "WHERE id = :id"), updates)
    op.execute(_NO_UPDATE)


def downgrade() -> None:
    op.execute("DROP TRIGGER audit_event_no_update")
    op.execute("UPDATE audit_event SET prev_hash = NULL, row_hash = NULL")
    op.execute(_NO_UPDATE)
