"""The district's generation (issue 10): an id that is new at every initialisation and every
restore from a backup (`python -m district restored`), sent with every page and push answer, so
a counter can tell that the district it talks to is not the one it last synced with.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-05
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    table = op.create_table(
        "district_generation",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("generation", sa.String(36), nullable=False),
        sa.Column("since", sa.DateTime(), nullable=False),
        sa.Column("reason", sa.String(32), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_district_generation"),
    )
    op.bulk_insert(table, [{"id": 1, "generation": str(uuid.uuid4()),
                            "since": datetime.now(UTC).replace(tzinfo=None),
                            "reason": "initialised"}])


def downgrade() -> None:
    op.drop_table("district_generation")
