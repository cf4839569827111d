"""Trust (issue 9): users' signing keys sealed by their password, signatures with their proof,
the offline sign-in lockout, the latest time this PC has seen, the audit trail's hash chain and
the payout card's change.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-05
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "signing_key",
        sa.Column("key_id", sa.String(length=64), nullable=False),
        sa.Column("username", sa.String(length=64), nullable=False),
        sa.Column("public_key", sa.String(length=64), nullable=False),
        sa.Column("sealed_private_key", sa.Text(), nullable=False),
        sa.Column("created_at", sa.String(length=32), nullable=False),  # UtcDateTime
        sa.Column("device_id", sa.String(length=36), nullable=True),
        sa.Column("registered_at", sa.String(length=32), nullable=True),
        sa.Column("revoked_at", sa.String(length=32), nullable=True),
        sa.PrimaryKeyConstraint("key_id", name=op.f("pk_signing_key")),
    )
    op.create_index(op.f("ix_signing_key_username"), "signing_key", ["username"])
    op.create_table(
        "local_state",
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("value", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_local_state")),
    )
    with op.batch_alter_table("user") as batch:
        batch.add_column(sa.Column("failed_offline", sa.Integer(), nullable=False,
                                   server_default="0"))
        batch.add_column(sa.Column("offline_locked_until", sa.String(length=32), nullable=True))
    # ADD COLUMN, not a batch rebuild: the audit trail's triggers stay as they are
    op.add_column("audit_event", sa.Column("prev_hash", sa.String(length=64), nullable=True))
    op.add_column("audit_event", sa.Column("row_hash", sa.String(length=64), nullable=True))
    op.add_column("signature", sa.Column("key_id", sa.String(length=64), nullable=True))
    op.add_column("signature", sa.Column("proof", sa.String(length=128), nullable=True))
    op.add_column("signature", sa.Column("card_confirmed", sa.Boolean(), nullable=False,
                                         server_default=sa.false()))
    op.add_column("application", sa.Column("card_on_file", sa.String(length=32), nullable=True))
    # the card on file at saving was kept with the applicant's snapshot (migration 0006)
    op.execute("UPDATE application SET card_on_file = json_extract(applicant, '$.bank_account')"
               " WHERE applicant IS NOT NULL")


def downgrade() -> None:
    op.execute('ALTER TABLE "application" DROP COLUMN card_on_file')
    for column in ("card_confirmed", "proof", "key_id"):
        op.execute(f'ALTER TABLE "signature" DROP COLUMN {column}')
    for column in ("row_hash", "prev_hash"):
        op.execute(f'ALTER TABLE "audit_event" DROP COLUMN {column}')
    with op.batch_alter_table("user") as batch:
        batch.drop_column("offline_locked_until")
        batch.drop_column("failed_offline")
    op.drop_table("local_state")
    op.drop_index(op.f("ix_signing_key_username"), table_name="signing_key")
    op.drop_table("signing_key")
