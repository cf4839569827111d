"""Offline sign-in: each user's password verifier and when the district last confirmed it.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-25

Both columns are nullable: users cached before this revision have no verifier until their next
online sign-in, and until then cannot sign in offline (desktop.services.accounts).
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

INSTANT = sa.String(length=32)  # ISO 8601 UTC (desktop.store.types.UtcDateTime)


def upgrade() -> None:
    with op.batch_alter_table("user") as batch:
        # "scrypt$n$r$p$salt$hash" (desktop.services.accounts): the parameters travel with it
        batch.add_column(sa.Column("password_verifier", sa.String(length=255), nullable=True))
        batch.add_column(sa.Column("verified_at", INSTANT, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("user") as batch:
        batch.drop_column("verified_at")
        batch.drop_column("password_verifier")
