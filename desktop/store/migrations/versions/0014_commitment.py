"""The 免申即享 commitment as its own record (issue 15, protocol 4): made here with an
application that carries the flag, or pulled from the district (the `commitment` entity).

Before it, a person was committed while one of this counter's applications with the flag was
live: each such person (and program) gets a commitment from the earliest of them, kept here
only (`status` refused, `server_reason` inferred: the district never held it, and nothing can
sign it now), so nobody leaves the monthly run; the next application with the flag gives it
to the district (desktop.services.commitments).

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-05
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from datetime import datetime

import sqlalchemy as sa
from alembic import op

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "commitment",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("person_id", sa.String(length=64), nullable=False),
        sa.Column("program", sa.String(length=16), nullable=False),
        sa.Column("street_code", sa.String(length=32), nullable=False),
        sa.Column("application_id", sa.String(length=64), nullable=False),
        sa.Column("given_on", sa.Date(), nullable=False),
        sa.Column("given_by", sa.String(length=64), nullable=False),
        sa.Column("given_at", sa.String(length=32), nullable=False),
        sa.Column("revoked_on", sa.Date(), nullable=True),
        sa.Column("revoked_by", sa.String(length=64), nullable=True),
        sa.Column("revoked_at", sa.String(length=32), nullable=True),
        sa.Column("revoke_reason", sa.Text(), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False, server_default="accepted"),
        sa.Column("server_reason", sa.String(length=64), nullable=True),
        sa.Column("server_message", sa.Text(), nullable=True),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_commitment")),
    )
    op.create_index(op.f("ix_commitment_person_id"), "commitment", ["person_id"])
    _inferred(op.get_bind())


# the application statuses that were live (desktop.services.applications.LIVE, as of 0013)
_LIVE = ("saved", "accepted", "reviewed", "approved", "paid", "returned")


def _inferred(bind: sa.engine.Connection) -> None:
    rows = bind.execute(sa.text(
        "SELECT a.id, a.person_id, a.program, a.created_at, a.created_by, a.\"case\", "
        "p.street_code FROM application a LEFT JOIN person p ON p.id = a.person_id "
        "WHERE a.auto_enrolled = 1 AND a.status IN ("
        + ", ".join(f"'{status}'" for status in _LIVE) + ") ORDER BY a.created_at")).all()
    first: dict[tuple[str, str], tuple[object, ...]] = {}
    for row in rows:
        first.setdefault((str(row[1]), str(row[2])), tuple(row))
    for app_id, person_id, program, created_at, created_by, case, street in first.values():
        given_at = str(created_at)
        day = given_at[:10]
        try:
            raw = json.loads(str(case)).get("application_date") if case else None
            if isinstance(raw, str):
                day = datetime.fromisoformat(raw).date().isoformat()
        except (ValueError, AttributeError):
            pass
        bind.execute(sa.text(
            "INSERT INTO commitment (id, person_id, program, street_code, application_id, "
            "given_on, given_by, given_at, status, server_reason, server_message, seq) VALUES "
            "(:id, :person, :program, :street, :app, :day, :by, :at, 'refused', 'inferred', "
            "NULL, 0)"), {"id": str(uuid.uuid4()), "person": person_id, "program": program,
                          "street": street or "", "app": str(uuid.UUID(str(app_id))),
                          "day": day, "by": created_by, "at": given_at})


def downgrade() -> None:
    op.drop_index(op.f("ix_commitment_person_id"), table_name="commitment")
    op.drop_table("commitment")
