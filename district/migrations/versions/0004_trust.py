"""Trust (issue 9): users' signing keys, signatures with their proof, each application's signed
transitions (returned, withdrawn), the payout card's change, login failures per user and PC,
the idempotency key's body hash and the audit trail's hash chain.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-05
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "signing_keys",
        sa.Column("key_id", sa.String(64), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("device_id", sa.String(36), nullable=False),
        sa.Column("public_key", sa.String(64), nullable=False),
        sa.Column("registered_at", sa.DateTime(), nullable=False),
        sa.Column("revoked_at", sa.DateTime(), nullable=True),
        sa.Column("revoked_reason", sa.String(32), nullable=True),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"],
                                name="fk_signing_keys_user_id_users"),
        sa.ForeignKeyConstraint(["device_id"], ["devices.id"],
                                name="fk_signing_keys_device_id_devices"),
        sa.PrimaryKeyConstraint("key_id", name="pk_signing_keys"),
    )
    op.create_index("ix_signing_keys_user_id", "signing_keys", ["user_id"])
    op.create_table(
        "application_transitions",
        sa.Column("id", sa.Integer(), nullable=False, autoincrement=True),
        sa.Column("application_id", sa.String(36), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("from_status", sa.String(16), nullable=False),
        sa.Column("to_status", sa.String(16), nullable=False),
        sa.Column("username", sa.String(64), nullable=False),
        sa.Column("key_id", sa.String(64), nullable=True),
        sa.Column("proof", sa.String(128), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("signed_at", sa.DateTime(), nullable=False),
        sa.Column("received_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["application_id"], ["applications.id"],
                                name="fk_application_transitions_application_id_applications"),
        sa.PrimaryKeyConstraint("id", name="pk_application_transitions"),
    )
    op.create_index("ix_application_transitions_application_id", "application_transitions",
                    ["application_id"])
    op.create_table(
        "login_failures",
        sa.Column("username", sa.String(64), nullable=False),  # known or not: no oracle
        sa.Column("device_id", sa.String(36), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("locked_until", sa.DateTime(), nullable=True),
        sa.Column("last_failure_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["device_id"], ["devices.id"],
                                name="fk_login_failures_device_id_devices"),
        sa.PrimaryKeyConstraint("username", "device_id", name="pk_login_failures"),
    )
    # plain ADD / DROP COLUMN (SQLite 3.35+, PostgreSQL): a batch copy of a table would trip
    # the foreign keys that point at it
    op.add_column("users", sa.Column("password_changed_at", sa.DateTime(), nullable=True))
    op.add_column("signatures", sa.Column("key_id", sa.String(64), nullable=True))
    op.add_column("signatures", sa.Column("proof", sa.String(128), nullable=True))
    op.add_column("signatures", sa.Column("card_confirmed", sa.Boolean(), nullable=False,
                                          server_default=sa.false()))
    op.add_column("applications", sa.Column("card_on_file", sa.String(32), nullable=True))
    op.add_column("applications", sa.Column("handler_key_id", sa.String(64), nullable=True))
    op.add_column("applications", sa.Column("handler_proof", sa.String(128), nullable=True))
    op.add_column("applications", sa.Column("waivers", sa.JSON(), nullable=True))
    op.add_column("push_items", sa.Column("body_sha256", sa.String(64), nullable=True))
    op.add_column("audit_events", sa.Column("chain_seq", sa.BigInteger(), nullable=True))
    for column in ("prev_hash", "row_hash", "counter_prev_hash", "counter_row_hash"):
        op.add_column("audit_events", sa.Column(column, sa.String(64), nullable=True))
    op.add_column("audit_events", sa.Column("reported_by", sa.String(64), nullable=True))
    op.add_column("audit_events", sa.Column("actor_proven", sa.Boolean(), nullable=True))
    op.create_index("uq_audit_events_chain_seq", "audit_events", ["chain_seq"], unique=True)
    # a device's latest chained event, read at every event it pushes, in O(log n)
    op.create_index("ix_audit_events_device_id_chain_seq", "audit_events",
                    ["device_id", "chain_seq"])


def downgrade() -> None:
    op.drop_index("ix_audit_events_device_id_chain_seq", table_name="audit_events")
    op.drop_index("uq_audit_events_chain_seq", table_name="audit_events")
    dropped = {
        "audit_events": ("actor_proven", "reported_by", "counter_row_hash", "counter_prev_hash",
                         "row_hash", "prev_hash", "chain_seq"),
        "push_items": ("body_sha256",),
        "applications": ("waivers", "handler_proof", "handler_key_id", "card_on_file"),
        "signatures": ("card_confirmed", "proof", "key_id"),
        "users": ("password_changed_at",),
    }
    for table, columns in dropped.items():
        for column in columns:
            op.execute(f'ALTER TABLE "{table}" DROP COLUMN {column}')
    op.drop_table("login_failures")
    op.drop_index("ix_application_transitions_application_id",
                  table_name="application_transitions")
    op.drop_table("application_transitions")
    op.drop_index("ix_signing_keys_user_id", table_name="signing_keys")
    op.drop_table("signing_keys")
