"""The shared changes (street_code NULL) in seq order, for the pull's second range (issue 16).

A page reads its street's changes and the shared ones as two ranges. The (street_code, seq)
index serves the street's in seq order, but not the shared ones: `street_code IS NULL` is not
an equality, so PostgreSQL walked the primary key and filtered, through every other street's
changes after the cursor, on every page.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-05
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

WHERE = sa.text("street_code IS NULL")


def upgrade() -> None:
    op.create_index("ix_changes_shared_seq", "changes", ["seq"], postgresql_where=WHERE,
                    sqlite_where=WHERE)


def downgrade() -> None:
    op.drop_index("ix_changes_shared_seq", table_name="changes")
