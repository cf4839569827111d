"""Alembic environment: the connection comes from the caller (district.db), never from an ini."""

from __future__ import annotations

from alembic import context
from sqlalchemy.engine import Connection

from district.models import Base

connection: Connection | None = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("run migrations through district.db.Database.migrate()")

context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    render_as_batch=connection.dialect.name == "sqlite",
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
