"""Mutual-aid enrolments paid at the counter (MA-2021 二), with the fields of the form 附件1.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-24
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "enrolment",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("person_id", sa.String(length=64), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("benefits_from", sa.Date(), nullable=False),
        sa.Column("fee", sa.String(length=32), nullable=False),  # Money: exact digits
        sa.Column("paid_on", sa.Date(), nullable=False),
        sa.Column("mid_year_reason", sa.String(length=200), nullable=True),
        sa.Column("form", sa.JSON(), nullable=False),
        sa.Column("handler", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("server_reason", sa.String(length=64), nullable=True),
        sa.Column("server_message", sa.Text(), nullable=True),
        sa.Column("created_at", sa.String(length=32), nullable=False),  # UtcDateTime
        sa.PrimaryKeyConstraint("id", name=op.f("pk_enrolment")),
    )
    op.create_index(op.f("ix_enrolment_person_id"), "enrolment", ["person_id"])


def downgrade() -> None:
    op.drop_index(op.f("ix_enrolment_person_id"), table_name="enrolment")
    op.drop_table("enrolment")
