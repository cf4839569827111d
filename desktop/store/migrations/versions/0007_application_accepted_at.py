"""When the district accepted the application (its claims registered), apart from the local
status, which the signatures move on: the month's payout list holds accepted applications only.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-24

Applications the district had already accepted before this revision are marked from the
outbox answers kept for them.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("application", sa.Column("accepted_at", sa.String(length=32), nullable=True))
    # an application whose outbox item the district answered "accepted" (or "duplicate" of an
    # acceptance): the answer's time is when this counter learnt it
    op.execute("""
        UPDATE application SET accepted_at = (
            SELECT o.delivered_at FROM outbox o
            WHERE o.kind = 'application'
              AND replace(json_extract(o.payload, '$.application_id'), '-', '') = application.id
              AND (json_extract(o.result, '$.status') = 'accepted'
                   OR json_extract(o.result, '$.detail.original_status') = 'accepted'))
        """)


def downgrade() -> None:
    op.execute('ALTER TABLE "application" DROP COLUMN accepted_at')
