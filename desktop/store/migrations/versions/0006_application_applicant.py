"""The applicant as they were when the application was saved, so that a form printed later
(a reprint, an audit next year) shows the same identity, address and card as the first print.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-24

Nullable: applications saved before it print from the person's current record.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("application", sa.Column("applicant", sa.JSON(), nullable=True))


def downgrade() -> None:
    op.execute('ALTER TABLE "application" DROP COLUMN applicant')
