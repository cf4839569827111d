"""The lease of a console upload's preview or import (several processes on one PostgreSQL):
which process works on it (host and pid) and when it last said so. Another process leaves an
upload with a fresh heartbeat alone, and marks it failed (or previews it again) only once the
heartbeat is stale.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-05
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
    op.add_column("console_imports", sa.Column("heartbeat_at", sa.DateTime(), nullable=True))
    op.add_column("console_imports", sa.Column("worker", sa.String(length=64), nullable=True))


def downgrade() -> None:
    # a plain DROP COLUMN (SQLite 3.35+, PostgreSQL), as 0002 does
    op.execute('ALTER TABLE "console_imports" DROP COLUMN worker')
    op.execute('ALTER TABLE "console_imports" DROP COLUMN heartbeat_at')
