"""The application's human number (e.g. 华阳-2026-03-0042, printed instead of its UUID) and the
documents the clerk confirmed receiving with it (CN-2026 4.6: 病史资料 for 门诊大病 and 住院).

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-05

Both stay empty for applications saved before: the forms print the UUID's short form for them.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("application") as batch:
        batch.add_column(sa.Column("number", sa.String(length=32), nullable=True))
        batch.add_column(sa.Column("documents", sa.JSON(), nullable=True))
    op.create_index("ix_application_number", "application", ["number"], unique=True)


def downgrade() -> None:
    op.drop_index("ix_application_number", table_name="application")
    with op.batch_alter_table("application") as batch:
        batch.drop_column("documents")
        batch.drop_column("number")
