"""Opening the cache: the SQLite file, its encryption, its pragmas, its transactions and its
migrations.

`open_store()` is the only way in: it finds (or takes) the file, seals a plain one under the key
it is given (SQLCipher, in place, once), brings the schema to the newest migration and hands out
sessions, one transaction each. The key comes from the caller: the store knows nothing of the
keyring (desktop/sync/credentials.py keeps it).
"""

from __future__ import annotations

import json
import os
import re
import sqlite3
import sys
from collections.abc import Iterator
from contextlib import closing, contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, cast

import platformdirs
import sqlcipher3.dbapi2 as sqlcipher
from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session
from sqlalchemy.pool import ConnectionPoolEntry

if TYPE_CHECKING:
    from alembic.config import Config

APP_NAME = "counter-desk"
FILE_NAME = "store.sqlite"
# Next to this module, so the migrations are found from a checkout, an installed wheel and a
# PyInstaller bundle alike (the bundle must ship desktop/store/migrations/ as data files).
MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
BUSY_TIMEOUT_MS = 5000
# FULL: a committed application and its outbox item survive a power cut, not only a crash.
SYNCHRONOUS = "FULL"
# A raw 256-bit key (`x'…'`): SQLCipher uses it as the AES key itself, so no PBKDF2 (256,000
# rounds by default) runs at each connection. It is random, never a password, so nothing is
# lost by skipping the stretching.
KEY_BYTES = 32
# The first 16 bytes of every plain SQLite file; a SQLCipher file starts with its random salt.
PLAIN_HEADER = b"SQLite format 3\x00"
# While a plain cache is sealed, the encrypted copy grows here, next to it (same volume, so
# the final rename is atomic); a leftover one is from an interrupted run and is started over.
SEALING_SUFFIX = ".sealing"
IN_USE = "本机缓存正被另一个程序使用，暂时无法加密。请关闭其他柜台程序后重新启动。"

# SQLCipher's driver is a build of sqlite3's (pysqlite): the same API, another class (untyped).
DRIVER_CONNECTIONS = (sqlite3.Connection, sqlcipher.Connection)
CacheFormat = Literal["missing", "plain", "encrypted"]


class MigrationError(RuntimeError):
    """The schema could not be brought to the expected revision."""


class StoreKeyError(RuntimeError):
    """The cache cannot be opened with the key given (or without one); the message is for the
    clerk (Chinese)."""


class StoreSealError(RuntimeError):
    """A plain cache could not be sealed; it is left as it was. The message is for the clerk."""


def default_path() -> Path:
    """The cache file in the per-user data folder (%LOCALAPPDATA%\\counter-desk on Windows)."""
    return Path(platformdirs.user_data_dir(APP_NAME, APP_NAME)) / FILE_NAME


def cache_format(path: Path) -> CacheFormat:
    """What the file at `path` is: absent (or empty), plain SQLite, or anything else, which is
    taken to be SQLCipher (its header is random bytes)."""
    try:
        with open(path, "rb") as file:
            header = file.read(len(PLAIN_HEADER))
    except FileNotFoundError:
        return "missing"
    if not header:
        return "missing"  # SQLite treats an empty file as an empty database
    return "plain" if header == PLAIN_HEADER else "encrypted"


def _key_pragma(key: bytes) -> str:
    if len(key) != KEY_BYTES:
        raise ValueError(f"a cache key is {KEY_BYTES} bytes, not {len(key)}")
    return f"x'{key.hex()}'"


def _connect_encrypted(path: Path, key: bytes) -> sqlcipher.Connection:
    """A SQLCipher connection, keyed before anything reads the file, and checked."""
    connection = sqlcipher.connect(str(path), check_same_thread=False)
    try:
        connection.execute(f'PRAGMA key = "{_key_pragma(key)}"')
        connection.execute("SELECT count(*) FROM sqlite_master").fetchone()
    except sqlcipher.DatabaseError as exc:
        connection.close()
        if "not a database" in str(exc):
            raise StoreKeyError(
                "本机缓存无法用系统密钥库中的密钥打开（密钥不符，或缓存文件已损坏）。"
                "请联系管理员：不要删除缓存文件，其中可能有尚未上传的申请。") from None
        raise
    return connection


def create_store_engine(path: Path, key: bytes | None = None) -> Engine:
    """An engine on the cache file with its pragmas and real transactions: SQLCipher under
    `key`, or plain SQLite without one (tests and tools; the counter always has a key)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    options: dict[str, Any] = {}
    if key is not None:
        _key_pragma(key)  # a wrong length fails here, not at the first connection
        # The sqlite dialect with SQLCipher's driver (same DB-API, same SQL) and a creator
        # that sets the key first; the file URL keeps the file database's pool (QueuePool).
        # Not the sqlite+pysqlcipher dialect: it sends the URL's password as a passphrase,
        # through the KDF.
        options = {"module": sqlcipher, "creator": lambda: _connect_encrypted(path, key)}
    engine = create_engine(
        f"sqlite:///{path}",
        json_serializer=lambda value: json.dumps(value, ensure_ascii=False),
        **options,
    )
    event.listen(engine, "connect", _on_connect)
    event.listen(engine, "begin", _on_begin)
    return engine


def driver_connection(connection: Connection) -> sqlite3.Connection:
    """The DB-API connection under a SQLAlchemy one: sqlite3's or SQLCipher's, which has the
    same API and is typed as sqlite3's here."""
    raw = connection.connection.driver_connection
    assert isinstance(raw, DRIVER_CONNECTIONS)
    return cast(sqlite3.Connection, raw)


def _on_connect(dbapi_connection: Any, _record: ConnectionPoolEntry) -> None:
    assert isinstance(dbapi_connection, DRIVER_CONNECTIONS)
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


# -- sealing a plain cache -----------------------------------------------------------------------

def _sqlite_files(path: Path) -> list[Path]:
    return [Path(f"{path}{suffix}") for suffix in ("", "-journal", "-wal", "-shm")]


def _fsync(path: Path) -> None:
    with open(path, "rb+") as file:  # Windows flushes only a handle open for writing
        os.fsync(file.fileno())


def _fsync_folder(folder: Path) -> None:
    if sys.platform == "win32":
        return  # a rename there is durable once MoveFileEx returns; folders cannot be opened
    descriptor = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def _table_counts(connection: sqlcipher.Connection, schema: str) -> dict[str, int]:
    names = [name for (name,) in connection.execute(
        f"SELECT name FROM {schema}.sqlite_master WHERE type = 'table' "
        "AND name NOT LIKE 'sqlite_%' ORDER BY name")]
    return {name: connection.execute(f'SELECT count(*) FROM {schema}."{name}"').fetchone()[0]
            for name in names}


def seal_plain_cache(path: Path, key: bytes) -> None:
    """Encrypt the plain cache at `path` under `key`, in place.

    The plain file stays the cache until the encrypted copy is complete, checked and on disk;
    then one atomic rename puts the copy in its place. Killed at any point before the rename,
    the plain cache is whole (its WAL folded in first) and the next start seals it again;
    after it, the cache is sealed.
    """
    sealing = Path(f"{path}{SEALING_SUFFIX}")
    for leftover in _sqlite_files(sealing):
        leftover.unlink(missing_ok=True)
    try:
        with closing(sqlcipher.connect(str(path), isolation_level=None)) as plain:
            plain.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            # Fold the WAL into the file and leave WAL mode, so that the file alone is the
            # whole cache and no plain -wal is left beside the sealed file after the rename.
            busy, _log, _done = plain.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
            mode = plain.execute("PRAGMA journal_mode = DELETE").fetchone()[0]
            if busy or str(mode).lower() != "delete":
                raise StoreSealError(IN_USE)
            version = plain.execute("PRAGMA user_version").fetchone()[0]
            plain.execute("ATTACH DATABASE ? AS sealed KEY ?", (str(sealing), _key_pragma(key)))
            plain.execute("SELECT sqlcipher_export('sealed')")
            plain.execute(f"PRAGMA sealed.user_version = {int(version)}")
            copied = _table_counts(plain, "sealed") == _table_counts(plain, "main")
            plain.execute("DETACH DATABASE sealed")
        if not copied:
            raise StoreSealError("本机缓存加密时复制不完整，原文件未改动。请联系管理员。")
        with closing(_connect_encrypted(sealing, key)) as sealed:
            checked = sealed.execute("PRAGMA quick_check").fetchall()  # reads every page
        if checked != [("ok",)]:
            raise StoreSealError("本机缓存加密后的副本未通过检查，原文件未改动。请联系管理员。")
        _fsync(sealing)
        if Path(f"{path}-wal").exists():
            raise StoreSealError(IN_USE)
        try:
            os.replace(sealing, path)
        except OSError:  # Windows: the file is held open (another counter, an antivirus scan)
            raise StoreSealError(IN_USE) from None
        _fsync_folder(path.parent)
    except BaseException:
        for leftover in _sqlite_files(sealing):
            leftover.unlink(missing_ok=True)
        raise
    Path(f"{path}-shm").unlink(missing_ok=True)  # the plain file's, if any: SQLite remakes it


# -- migrations ----------------------------------------------------------------------------------

def alembic_config(connection: Connection | None = None) -> Config:
    """Alembic's configuration, built in code: no alembic.ini is needed or read."""
    from alembic.config import Config

    config = Config()
    # ConfigParser interpolates %: a user folder with a % in its name must not break the path.
    config.set_main_option("script_location", str(MIGRATIONS_DIR).replace("%", "%%"))
    config.attributes["connection"] = connection
    return config


def head_revision() -> str:
    from alembic.script import ScriptDirectory

    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert head is not None
    return head


def current_revision(engine: Engine) -> str | None:
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


_REVISION_LINE = re.compile(
    r'^(down_revision|revision)\b[^=\n]*=\s*(?:"([^"\n]*)"|None)\s*$', re.MULTILINE)


def newest_migration() -> str | None:
    """The head, read from the migration files' `revision` and `down_revision` lines without
    importing Alembic (about 6 MiB and 150 ms at each start of the counter); None when they do
    not read as one line of revisions, and Alembic decides."""
    revisions: set[str] = set()
    downs: set[str] = set()
    for file in (MIGRATIONS_DIR / "versions").glob("*.py"):
        found = {m.group(1): m.group(2) for m in _REVISION_LINE.finditer(file.read_text("utf-8"))}
        if not found.get("revision"):
            return None
        revisions.add(found["revision"])
        if found.get("down_revision"):
            downs.add(found["down_revision"])
    heads = revisions - downs
    return heads.pop() if len(heads) == 1 and downs <= revisions else None


def _stored_revision(engine: Engine) -> str | None:
    """The revision the file says it is at; None for a new file (no version table yet)."""
    with engine.connect() as connection:
        try:
            rows = connection.exec_driver_sql("SELECT version_num FROM alembic_version").all()
        except OperationalError:
            return None
    return str(rows[0][0]) if len(rows) == 1 else None


def run_migrations(engine: Engine, revision: str = "head") -> None:
    """Upgrade the schema to `revision`, all in one transaction: it moves fully or not at all.

    Foreign keys are off while migrating (SQLite's table rebuilds would otherwise cascade
    deletes) and checked before the commit.
    """
    from alembic import command

    with engine.connect() as connection:
        raw = driver_connection(connection)
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
    """The open cache: sessions over one SQLite (SQLCipher) file."""

    def __init__(self, engine: Engine, path: Path, *, encrypted: bool = False) -> None:
        self.engine = engine
        self.path = path
        self.encrypted = encrypted
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


def open_store(path: Path | None = None, *, key: bytes | None = None) -> Store:
    """Open the cache at `path` (default: the per-user data folder) and migrate it to head.

    With `key` (32 random bytes from the keyring) the cache is SQLCipher: a new file is created
    encrypted and a plain one is sealed in place first. Without it the file is plain SQLite,
    for tests and tools only; the counter's own cache (the default path) always needs its key,
    and an encrypted file is never opened without one.
    """
    if path is None and key is None:
        raise ValueError("the counter's cache is opened with its key")
    path = default_path() if path is None else Path(path)
    found = cache_format(path)
    if key is None and found == "encrypted":
        raise StoreKeyError("本机缓存已加密，需要系统密钥库中的密钥才能打开。")
    if key is not None and found == "plain":
        seal_plain_cache(path, key)
    engine = create_store_engine(path, key)
    try:
        _restore_deferred_indexes(engine)  # a pull that did not end set them aside
        head = newest_migration()
        if head is None or _stored_revision(engine) != head:  # at head: Alembic not imported
            run_migrations(engine)
    except BaseException:
        engine.dispose()
        raise
    return Store(engine, path, encrypted=key is not None)


def _restore_deferred_indexes(engine: Engine) -> None:
    from desktop.store.deferred_indexes import STATE, restore_indexes

    with engine.begin() as connection:
        table = connection.exec_driver_sql(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'local_state'").first()
        if table is not None and connection.exec_driver_sql(
                "SELECT 1 FROM local_state WHERE name = ?", (STATE,)).first() is not None:
            restore_indexes(connection)
