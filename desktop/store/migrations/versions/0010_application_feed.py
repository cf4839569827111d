"""Applications as the district holds them come back with the pull (issue 10): the seq of the
district change an application was last written from, and when the district accepted its
审批人's signature, which places it in a month (desktop.domain.clock.settlement_month).

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-05

Applications approved before this revision take, as the acceptance time, the moment this counter
received the district's acceptance of the approver's signature (the outbox answer's time); the
district's next change for them replaces it with the district's own.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("application") as batch:
        batch.add_column(sa.Column("district_seq", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("approval_accepted_at", sa.String(length=32), nullable=True))
    op.execute("""
        UPDATE application SET approval_accepted_at = (
            SELECT o.delivered_at FROM outbox o
            WHERE o.kind = 'signature'
              AND json_extract(o.payload, '$.role') = 'approver'
              AND replace(json_extract(o.payload, '$.application_id'), '-', '') = application.id
              AND (json_extract(o.result, '$.status') = 'accepted'
                   OR json_extract(o.result, '$.detail.original_status') = 'accepted'))
        WHERE status IN ('approved', 'paid')
        """)


def downgrade() -> None:
    with op.batch_alter_table("application") as batch:
        batch.drop_column("approval_accepted_at")
        batch.drop_column("district_seq")
