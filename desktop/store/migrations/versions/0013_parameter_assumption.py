"""A pulled policy value's assumption flag (protocol 4): "政策未明确，按本区口径", as the district
published it in its console (issue 14, M18).

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-05
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("parameter_version") as batch:
        batch.add_column(sa.Column("assumption", sa.Boolean(), nullable=False,
                                   server_default=sa.false()))


def downgrade() -> None:
    with op.batch_alter_table("parameter_version") as batch:
        batch.drop_column("assumption")
