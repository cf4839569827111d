"""The district console (issue 14): its sessions, the password an administrator reset, what it
shows of each PC, expiring enrolment codes, published policy values and its own audit events.

- console_sessions: a browser's sign-in (only the SHA-256 of its cookie).
- console_imports: a file uploaded in the console, from its preview to its report.
- users.must_change_password: set by a reset; the next sign-in must choose a new password.
- devices: last contact, program version, waiting items reported; who revoked it and why.
- enrolment_codes: expiry and issuer of a code issued in the console.
- parameter_versions: who published a value in the console, when, and its assumption flag.
- audit_events.device_id and street_code may be NULL: the console's events come from no PC.
- user_roles.role: 24 characters (district_reviewer).

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
        "console_sessions",
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("last_seen_at", sa.DateTime(), nullable=False),
        sa.Column("expires_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"],
                                name=op.f("fk_console_sessions_user_id_users")),
        sa.PrimaryKeyConstraint("token_hash", name=op.f("pk_console_sessions")),
    )
    op.create_index(op.f("ix_console_sessions_user_id"), "console_sessions", ["user_id"])
    op.create_table(
        "console_imports",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("filename", sa.String(length=200), nullable=False),
        sa.Column("uploaded_by", sa.String(length=64), nullable=False),
        sa.Column("uploaded_at", sa.DateTime(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("rows_total", sa.Integer(), nullable=True),
        sa.Column("rows_done", sa.Integer(), nullable=False),
        sa.Column("rows_rejected", sa.Integer(), nullable=True),
        sa.Column("summary", sa.Text(), nullable=True),
        sa.Column("report", sa.Text(), nullable=True),
        sa.Column("content", sa.LargeBinary(), nullable=True),
        sa.Column("finished_at", sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_console_imports")),
    )
    op.add_column("users", sa.Column("must_change_password", sa.Boolean(), nullable=False,
                                     server_default=sa.false()))
    for column in (sa.Column("last_seen_at", sa.DateTime(), nullable=True),
                   sa.Column("app_version", sa.String(length=32), nullable=True),
                   sa.Column("waiting_items", sa.Integer(), nullable=True),
                   sa.Column("revoked_by", sa.String(length=64), nullable=True),
                   sa.Column("revoked_reason", sa.String(length=200), nullable=True)):
        op.add_column("devices", column)
    op.add_column("enrolment_codes", sa.Column("expires_at", sa.DateTime(), nullable=True))
    op.add_column("enrolment_codes", sa.Column("issued_by", sa.String(length=64), nullable=True))
    op.add_column("parameter_versions",
                  sa.Column("published_by", sa.String(length=64), nullable=True))
    op.add_column("parameter_versions", sa.Column("published_at", sa.DateTime(), nullable=True))
    op.add_column("parameter_versions", sa.Column("assumption", sa.Boolean(), nullable=False,
                                                  server_default=sa.false()))
    with op.batch_alter_table("user_roles") as batch:  # district_reviewer is 17 characters
        batch.alter_column("role", existing_type=sa.String(length=16), type_=sa.String(24))
    with op.batch_alter_table("audit_events") as batch:
        batch.alter_column("device_id", existing_type=sa.String(length=36), nullable=True)
        batch.alter_column("street_code", existing_type=sa.String(length=12), nullable=True)


def downgrade() -> None:
    with op.batch_alter_table("audit_events") as batch:
        batch.alter_column("street_code", existing_type=sa.String(length=12), nullable=False)
        batch.alter_column("device_id", existing_type=sa.String(length=36), nullable=False)
    with op.batch_alter_table("user_roles") as batch:
        batch.alter_column("role", existing_type=sa.String(length=24), type_=sa.String(16))
    for table, column in (("parameter_versions", "assumption"),
                          ("parameter_versions", "published_at"),
                          ("parameter_versions", "published_by"),
                          ("enrolment_codes", "issued_by"), ("enrolment_codes", "expires_at"),
                          ("devices", "revoked_reason"), ("devices", "revoked_by"),
                          ("devices", "waiting_items"), ("devices", "app_version"),
                          ("devices", "last_seen_at"), ("users", "must_change_password")):
        op.execute(f'ALTER TABLE "{table}" DROP COLUMN {column}')
    op.drop_table("console_imports")
    op.drop_index(op.f("ix_console_sessions_user_id"), table_name="console_sessions")
    op.drop_table("console_sessions")
