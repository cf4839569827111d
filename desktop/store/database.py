"""Opening the cache: the SQLite file, its pragmas, its transactions and its migrations.

`open_store()` is the only way in: it finds (or takes) the file, brings the schema to the newest
migration and hands out sessions, one transaction each.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import platformdirs
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session
from sqlalchemy.pool import ConnectionPoolEntry

APP_NAME = "counter-desk"
FILE_NAME = "store.sqlite"
# Next to this module, so the migrations are found from a checkout, an installed wheel and a
# PyInstaller bundle alike (the bundle must ship desktop/store/migrations/ as data files).
MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
BUSY_TIMEOUT_MS = 5000
# FULL: a committed application and its outbox item survive a power cut, not only a crash.
SYNCHRONOUS = "FULL"


class MigrationError(RuntimeError):
    """The schema could not be brought to the expected revision."""


def default_path() -> Path:
    """The cache file in the per-user data folder (%LOCALAPPDATA%\\counter-desk on Windows)."""
    return Path(platformdirs.user_data_dir(APP_NAME, APP_NAME)) / FILE_NAME


def create_store_engine(path: Path) -> Engine:
    """An engine on the SQLite file with the cache's pragmas and real transactions."""
    path.parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(
        f"sqlite:///{path}",
        json_serializer=lambda value: json.dumps(value, ensure_ascii=False),
    )
    event.listen(engine, "connect", _on_connect)
    event.listen(engine, "begin", _on_begin)
    return engine


def _on_connect(dbapi_connection: Any, _record: ConnectionPoolEntry) -> None:
    assert isinstance(dbapi_connection, sqlite3.Connection)
    # The driver's own transaction handling skips BEGIN before SELECT and SAVEPOINT; turn it
    # off and emit BEGIN in _on_begin instead (SQLAlchemy's documented recipe for pysqlite).
    dbapi_connection.isolation_level = None
    for pragma in (
        "journal_mode = WAL",  # readers (the UI) never block the writer (sync) and vice versa
        "foreign_keys = ON",
        f"synchronous = {SYNCHRONOUS}",
        f"busy_timeout = {BUSY_TIMEOUT_MS}",
    ):
        dbapi_connection.execute(f"PRAGMA {pragma}")


def _on_begin(connection: Connection) -> None:
    # IMMEDIATE takes the write lock up front: a writer that started as a reader could
    # otherwise fail with "database is locked" at its first write, busy_timeout or not.
    mode = connection.get_execution_options().get("sqlite_begin", "DEFERRED")
    connection.exec_driver_sql(f"BEGIN {mode}")


def alembic_config(connection: Connection | None = None) -> Config:
    """Alembic's configuration, built in code: no alembic.ini is needed or read."""
    config = Config()
    # ConfigParser interpolates %: a user folder with a % in its name must not break the path.
    config.set_main_option("script_location", str(MIGRATIONS_DIR).replace("%", "%%"))
    config.attributes["connection"] = connection
    return config


def head_revision() -> str:
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert head is not None
    return head


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def run_migrations(engine: Engine, revision: str = "head") -> None:
    """Upgrade the schema to `revision`, all in one transaction: it moves fully or not at all.

    Foreign keys are off while migrating (SQLite's table rebuilds would otherwise cascade
    deletes) and checked before the commit.
    """
    with engine.connect() as connection:
        raw = connection.connection.driver_connection
        assert isinstance(raw, sqlite3.Connection)
        raw.execute("PRAGMA foreign_keys = OFF")  # not possible inside a transaction
        try:
            with connection.begin():
                command.upgrade(alembic_config(connection), revision)
                broken = connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
                if broken:
                    raise MigrationError(f"foreign keys broken by the migration: {broken[:5]}")
        finally:
            raw.execute("PRAGMA foreign_keys = ON")


class Store:
    """The open cache: sessions over one SQLite file."""

    def __init__(self, engine: Engine, path: Path) -> None:
        self.engine = engine
        self.path = path
        self._writer = engine.execution_options(sqlite_begin="IMMEDIATE")

    @contextmanager
    def session(self) -> Iterator[Session]:
        """One write transaction: committed when the block ends, rolled back if it raises."""
        with Session(self._writer, expire_on_commit=False) as session, session.begin():
            yield session

    @contextmanager
    def read_session(self) -> Iterator[Session]:
        """One read transaction (a consistent snapshot) that does not take the write lock.

        Whatever is written in it is rolled back.
        """
        with Session(self.engine, expire_on_commit=False) as session:
            yield session  # closing the session rolls its transaction back

    def close(self) -> None:
        """Close the connections, first letting SQLite refresh its planner statistics."""
        try:
            with self.engine.begin() as connection:
                connection.exec_driver_sql("PRAGMA optimize")
        except OperationalError:
            pass  # busy or read-only: the statistics wait for the next close
        self.engine.dispose()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()


def open_store(path: Path | None = None) -> Store:
    """Open the cache at `path` (default: the per-user data folder) and migrate it to head."""
    path = default_path() if path is None else Path(path)
    engine = create_store_engine(path)
    try:
        run_migrations(engine)
    except BaseException:
        engine.dispose()
        raise
    return Store(engine, path)
