"""The database: engine, read and write transactions, and the migrations run at start.

SQLite (the default, embedded) and PostgreSQL behave alike for the callers:
- `read()` is one consistent transaction;
- `write()` is one transaction that commits at the end or rolls back on an exception. On SQLite
  writers are serialised (a process lock and BEGIN IMMEDIATE), so a write never fails half-way
  with "database is locked"; on PostgreSQL row locks and unique constraints do that work.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, create_engine, event, make_url, text
from sqlalchemy.orm import Session, sessionmaker

log = logging.getLogger(__name__)
MIGRATIONS = Path(__file__).resolve().parent / "migrations"
_WRITE = "district_write"
_MIGRATION_LOCK = 8470_0001  # the advisory lock the processes of one district migrate under


class Database:
    def __init__(self, url: str) -> None:
        self.url = make_url(url)
        if self.url.drivername == "postgresql":  # the driver this project ships: psycopg 3
            self.url = self.url.set(drivername="postgresql+psycopg")
        self.is_sqlite = self.url.get_backend_name() == "sqlite"
        if self.is_sqlite:
            path = self.url.database
            if path and path != ":memory:":
                Path(path).parent.mkdir(parents=True, exist_ok=True)
            self.engine: Engine = create_engine(
                self.url, connect_args={"timeout": 30, "check_same_thread": False})
            _sqlite_transactions(self.engine)
        else:
            self.engine = create_engine(self.url, pool_pre_ping=True, pool_size=10,
                                        max_overflow=20)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)
        self._write_lock: AbstractContextManager[Any] = (
            _SerialLock() if self.is_sqlite else nullcontext())

    @property
    def display_url(self) -> str:
        """The URL without its password, for logs and messages."""
        return self.url.render_as_string(hide_password=True)

    @contextmanager
    def read(self) -> Iterator[Session]:
        """Closing ends the transaction (rolled back) and leaves loaded objects usable."""
        with self._sessions() as session:
            yield session

    @contextmanager
    def write(self) -> Iterator[Session]:
        with self._write_lock, self.engine.connect() as conn:
            conn.execution_options(**{_WRITE: True})
            with Session(bind=conn, expire_on_commit=False) as session:
                try:
                    yield session
                    session.commit()
                except BaseException:
                    session.rollback()
                    raise

    def ping(self) -> None:
        with self.engine.connect() as conn:
            conn.execute(text("SELECT 1"))

    def migrate(self) -> None:
        """Bring the schema to the newest migration (Alembic, configured in code)."""
        config = Config()
        config.set_main_option("script_location", str(MIGRATIONS))
        with self._write_lock, self.engine.begin() as conn:
            self._one_migrator(conn)
            config.attributes["connection"] = conn
            command.upgrade(config, "head")

    def drop_everything(self) -> None:
        """Undo every migration: an empty database (seed --reset)."""
        config = Config()
        config.set_main_option("script_location", str(MIGRATIONS))
        with self._write_lock, self.engine.begin() as conn:
            self._one_migrator(conn)
            config.attributes["connection"] = conn
            command.downgrade(config, "base")

    def _one_migrator(self, conn: Any) -> None:
        """Several `serve` processes may start at once on one PostgreSQL: one migrates, the
        others wait for its commit and then find nothing to do (a transaction-scoped advisory
        lock; SQLite serves one process, whose own lock is enough)."""
        if not self.is_sqlite:
            conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _MIGRATION_LOCK})

    def dispose(self) -> None:
        self.engine.dispose()


class _SerialLock:
    """A process-wide lock per database, reentrant so a migration can run inside a write."""

    def __init__(self) -> None:
        self._lock = threading.RLock()

    def __enter__(self) -> None:
        self._lock.acquire()

    def __exit__(self, *exc: object) -> None:
        self._lock.release()


def _sqlite_transactions(engine: Engine) -> None:
    """Let SQLite transactions start where SQLAlchemy says (pysqlite would defer them), in WAL
    mode, with foreign keys on; a write transaction takes the write lock at once."""

    @event.listens_for(engine, "connect")
    def _connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=FULL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _begin(conn: Any) -> None:
        immediate = conn.get_execution_options().get(_WRITE, False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")
