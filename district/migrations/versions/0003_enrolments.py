"""Mutual-aid enrolments taken at the counters (MA-2021 二), with the form 附件1's fields.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-24
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "enrolments",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("person_id", sa.String(16), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("benefits_from", sa.Date(), nullable=False),
        sa.Column("fee_fen", sa.BigInteger(), nullable=False),
        sa.Column("paid_on", sa.Date(), nullable=False),
        sa.Column("mid_year_reason", sa.String(200), nullable=True),
        sa.Column("form", sa.JSON(), nullable=False),
        sa.Column("street_code", sa.String(12), nullable=False),
        sa.Column("device_id", sa.String(36), nullable=False),
        sa.Column("handler", sa.String(64), nullable=False),
        sa.Column("received_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["person_id"], ["persons.id"],
                                name="fk_enrolments_person_id_persons"),
        sa.ForeignKeyConstraint(["street_code"], ["streets.code"],
                                name="fk_enrolments_street_code_streets"),
        sa.ForeignKeyConstraint(["device_id"], ["devices.id"],
                                name="fk_enrolments_device_id_devices"),
        sa.PrimaryKeyConstraint("id", name="pk_enrolments"),
        sa.UniqueConstraint("person_id", "year", name="uq_enrolments_person_id_year"),
    )
    op.create_index("ix_enrolments_person_id", "enrolments", ["person_id"])


def downgrade() -> None:
    op.drop_index("ix_enrolments_person_id", table_name="enrolments")
    op.drop_table("enrolments")
