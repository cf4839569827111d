"""The migrations build exactly the schema the models describe, on SQLite and PostgreSQL, and
undo cleanly."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect

from district.db import Database
from district.models import Base
from tests.district.conftest import BACKENDS


@pytest.mark.parametrize("backend", BACKENDS)
def test_migrations_match_the_models(backend: str, database_url: Callable[[str], str]) -> None:
    db = Database(database_url(backend))
    try:
        db.migrate()
        with db.engine.connect() as conn:
            context = MigrationContext.configure(conn, opts={"compare_type": True})
            assert compare_metadata(context, Base.metadata) == []
        db.migrate()  # running again at the next start does nothing
        db.drop_everything()
        tables = set(inspect(db.engine).get_table_names()) - {"alembic_version"}
        assert tables == set()
        db.migrate()
        assert set(inspect(db.engine).get_table_names()) >= set(Base.metadata.tables)
    finally:
        db.dispose()
