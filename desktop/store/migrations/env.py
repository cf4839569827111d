"""Alembic environment of the cache, run by desktop.store.database.run_migrations.

The connection (already in a transaction, foreign keys off) comes in through
`config.attributes["connection"]`. For a developer's `alembic revision --autogenerate`, a
`sqlalchemy.url` main option is used instead.
"""

from __future__ import annotations

from pathlib import Path

from alembic import context
from sqlalchemy import Connection

from desktop.store.models import Base

config = context.config


def run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        render_as_batch=True,  # SQLite alters most things by rebuilding the table
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    raise SystemExit("the cache's migrations run online only")

given = config.attributes.get("connection")
if given is not None:
    run(given)
else:
    from desktop.store.database import create_store_engine

    url = config.get_main_option("sqlalchemy.url")
    if not url or not url.startswith("sqlite:///"):
        raise SystemExit("set sqlalchemy.url to sqlite:///PATH to run Alembic by hand")
    engine = create_store_engine(Path(url.removeprefix("sqlite:///")))
    with engine.connect() as connection, connection.begin():
        run(connection)
    engine.dispose()
