"""The 免申即享 commitment as its own record (issue 15): given with an application that carries
the flag, by its 经办人, signed; revoked with a reason, signed; one live per person and program.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-05
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

LIVE = sa.text("revoked_at IS NULL")


def upgrade() -> None:
    op.create_table(
        "commitments",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("person_id", sa.String(length=16), nullable=False),
        sa.Column("program", sa.String(length=16), nullable=False),
        sa.Column("street_code", sa.String(length=12), nullable=False),
        sa.Column("device_id", sa.String(length=36), nullable=False),
        sa.Column("application_id", sa.String(length=36), nullable=False),
        sa.Column("given_on", sa.Date(), nullable=False),
        sa.Column("given_by", sa.String(length=64), nullable=False),
        sa.Column("given_at", sa.DateTime(), nullable=False),
        sa.Column("given_key_id", sa.String(length=64), nullable=False),
        sa.Column("given_proof", sa.String(length=128), nullable=False),
        sa.Column("received_at", sa.DateTime(), nullable=False),
        sa.Column("revoked_on", sa.Date(), nullable=True),
        sa.Column("revoked_by", sa.String(length=64), nullable=True),
        sa.Column("revoked_at", sa.DateTime(), nullable=True),
        sa.Column("revoke_reason", sa.Text(), nullable=True),
        sa.Column("revoked_key_id", sa.String(length=64), nullable=True),
        sa.Column("revoked_proof", sa.String(length=128), nullable=True),
        sa.Column("revoked_received_at", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(["person_id"], ["persons.id"],
                                name=op.f("fk_commitments_person_id_persons")),
        sa.ForeignKeyConstraint(["street_code"], ["streets.code"],
                                name=op.f("fk_commitments_street_code_streets")),
        sa.ForeignKeyConstraint(["device_id"], ["devices.id"],
                                name=op.f("fk_commitments_device_id_devices")),
        sa.ForeignKeyConstraint(["application_id"], ["applications.id"],
                                name=op.f("fk_commitments_application_id_applications")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_commitments")),
    )
    op.create_index(op.f("ix_commitments_person_id"), "commitments", ["person_id"])
    op.create_index("ix_commitments_live", "commitments", ["person_id", "program"],
                    unique=True, postgresql_where=LIVE, sqlite_where=LIVE)


def downgrade() -> None:
    op.drop_index("ix_commitments_live", table_name="commitments")
    op.drop_index(op.f("ix_commitments_person_id"), table_name="commitments")
    op.drop_table("commitments")
