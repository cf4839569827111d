"""The bank card an application is paid to (the payout list, CN-2026 3.5).

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-24

Nullable: applications saved before this revision were paid to the card the person's record
carries, which the district holds.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("application", sa.Column("bank_account", sa.String(length=32), nullable=True))


def downgrade() -> None:
    # a plain DROP COLUMN (SQLite 3.35+, PostgreSQL): a batch copy of the table would trip
    # the foreign keys that point at it
    op.execute('ALTER TABLE "application" DROP COLUMN bank_account')
