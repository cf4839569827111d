"""The human application number (issue 12): each device's number within its street, and the
number a counter gives each application (华阳-2026-03-0042).

Existing devices are numbered per street in registration order (1, 2, 3, ...).

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-05
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("devices", sa.Column("number", sa.Integer(), nullable=True))
    devices = sa.table("devices", sa.column("id", sa.String()),
                       sa.column("street_code", sa.String()),
                       sa.column("registered_at", sa.DateTime()),
                       sa.column("number", sa.Integer()))
    conn = op.get_bind()
    rows = conn.execute(sa.select(devices.c.id, devices.c.street_code).order_by(
        devices.c.street_code, devices.c.registered_at, devices.c.id)).all()
    numbers: dict[str, int] = {}
    for device_id, street_code in rows:
        numbers[street_code] = numbers.get(street_code, 0) + 1
        conn.execute(devices.update().where(devices.c.id == device_id)
                     .values(number=numbers[street_code]))
    op.create_index("uq_devices_street_code_number", "devices", ["street_code", "number"],
                    unique=True)
    op.add_column("applications", sa.Column("number", sa.String(length=32), nullable=True))
    op.create_index("ix_applications_number", "applications", ["number"], unique=True)


def downgrade() -> None:
    op.drop_index("ix_applications_number", table_name="applications")
    op.drop_index("uq_devices_street_code_number", table_name="devices")
    # a plain DROP COLUMN (SQLite 3.35+, PostgreSQL): a batch copy of the table would trip
    # the foreign keys that point at it
    op.execute('ALTER TABLE "applications" DROP COLUMN number')
    op.execute('ALTER TABLE "devices" DROP COLUMN number')
