"""Sealed data at rest: the cache is SQLCipher under a random key kept in the OS keyring.

A copy of the file is noise without the key; a plain cache from an earlier version is sealed in
place at the first start, and a start killed while sealing loses nothing; a missing or wrong
key, or no keyring at all, is said in words, never as a traceback.
"""

from __future__ import annotations

import os
import random
import shutil
import sqlite3
import subprocess
import sys
import textwrap
from datetime import date
from pathlib import Path

import keyring
import pytest
from faker import Faker
from keyring.backends import fail, null
from sqlalchemy import func, select

from desktop.domain.id_number import generate_id_number
from desktop.store import Store, apply_changes, open_store
from desktop.store.database import (
    SEALING_SUFFIX,
    StoreKeyError,
    cache_format,
    create_store_engine,
    seal_plain_cache,
)
from desktop.store.models import FeeRowRecord, PersonRecord
from desktop.sync.credentials import (
    CredentialsUnavailable,
    MemoryKeyring,
    forget_cache_key,
    load_or_create_cache_key,
)
from tests.store.conftest import fee_row_data, person_data, upsert

ROOT = Path(__file__).resolve().parents[2]
KILL_TIMEOUT_S = 60


def synthetic_person(seed: int = 9) -> dict[str, str]:
    """A name from Faker zh_CN and a generated ID number: never a real person's."""
    rnd = random.Random(seed)
    faker = Faker("zh_CN")
    faker.seed_instance(seed)
    name = faker.name()
    data = person_data(rnd, "P-SEALED", name)
    data["id_number"] = generate_id_number(rnd, "310105", date(1961, 7, 19), "F")
    data["sex"] = "F"
    data["birth_date"] = "1961-07-19"
    return data


def fill(store: Store, person: dict[str, str], rows: int = 30) -> None:
    """The person and their fee rows, as a first pull brings them (the bulk executemany path
    on the driver's own connection)."""
    changes = [upsert("person", person["id"], person)]
    changes += [upsert("fee_row", f"F{n:03d}", fee_row_data(f"F{n:03d}", person["id"],
                                                             f"2026-03-{1 + n % 28:02d}",
                                                             f"{100 + n}.50"))
                for n in range(rows)]
    with store.session() as session:
        assert apply_changes(session, changes) == len(changes)


def count_rows(store: Store) -> tuple[int, int]:
    with store.read_session() as session:
        return (session.scalar(select(func.count()).select_from(PersonRecord)) or 0,
                session.scalar(select(func.count()).select_from(FeeRowRecord)) or 0)


def file_bytes(path: Path) -> bytes:
    """The file and its WAL, if any: what a copy of the folder would hold."""
    return b"".join(p.read_bytes() for p in (path, Path(f"{path}-wal")) if p.exists())


def assert_sealed(path: Path, person: dict[str, str]) -> None:
    data = file_bytes(path)
    assert cache_format(path) == "encrypted"
    for secret in (person["name"], person["id_number"], person["phone"], "新华居委",
                   "SQLite format 3"):
        assert secret.encode("utf-8") not in data, secret


# -- a copy is noise ----------------------------------------------------------------------------

def test_a_copied_cache_reads_as_noise_without_its_key(tmp_path: Path) -> None:
    person = synthetic_person()
    path = tmp_path / "store.sqlite"
    key = load_or_create_cache_key(path)
    with open_store(path, key=key) as store:
        fill(store, person)
        # while it is open, the WAL (where the last writes are) is sealed too
        assert Path(f"{path}-wal").exists()
        assert_sealed(path, person)
    copy = tmp_path / "copied.sqlite"
    shutil.copyfile(path, copy)
    assert_sealed(copy, person)
    raw = sqlite3.connect(copy)
    try:
        with pytest.raises(sqlite3.DatabaseError, match="file is not a database"):
            raw.execute("select * from sqlite_master")
    finally:
        raw.close()
    with pytest.raises(StoreKeyError, match="已加密"):
        open_store(copy)
    with open_store(copy, key=key) as reopened:  # the same bytes, with the key: all there
        assert count_rows(reopened) == (1, 30)
        with reopened.read_session() as session:
            found = session.get(PersonRecord, person["id"])
            assert found is not None and found.name == person["name"]


def test_a_wrong_key_is_refused_in_words(tmp_path: Path) -> None:
    path = tmp_path / "store.sqlite"
    with open_store(path, key=os.urandom(32)):
        pass
    with pytest.raises(StoreKeyError, match="密钥不符"):
        open_store(path, key=os.urandom(32))
    with pytest.raises(ValueError, match="32 bytes"):
        open_store(path, key=b"short")
    with pytest.raises(ValueError, match="with its key"):
        open_store()  # the counter's own cache (the per-user folder) is never opened plain


def test_the_bulk_pull_writes_through_the_sqlcipher_driver(sealed_store: Store) -> None:
    person = synthetic_person(11)
    fill(sealed_store, person, rows=200)
    assert count_rows(sealed_store) == (1, 200)
    with sealed_store.read_session() as session:
        row = session.get(FeeRowRecord, "F007")
        assert row is not None and str(row.self_pay) == "107.50"
    assert_sealed(sealed_store.path, person)


# -- sealing a plain cache in place ---------------------------------------------------------------

def plain_cache(path: Path, person: dict[str, str]) -> None:
    """A cache as an earlier version left it: plain SQLite, WAL mode, the last writes still
    in the WAL (the counter was not closed cleanly)."""
    store = open_store(path)
    fill(store, person)
    # no close(): the connections' WAL stays as a crash leaves it; copy it away as it is
    saved = {suffix: Path(f"{path}{suffix}").read_bytes()
             for suffix in ("", "-wal") if Path(f"{path}{suffix}").exists()}
    store.engine.dispose()
    for suffix, data in saved.items():
        Path(f"{path}{suffix}").write_bytes(data)
    assert cache_format(path) == "plain"


def test_a_plain_cache_is_sealed_in_place_at_the_first_start(tmp_path: Path) -> None:
    person = synthetic_person()
    path = tmp_path / "store.sqlite"
    plain_cache(path, person)
    assert person["name"].encode("utf-8") in file_bytes(path)
    key = load_or_create_cache_key(path)
    with open_store(path, key=key) as store:
        assert store.encrypted
        assert count_rows(store) == (1, 30)
    assert_sealed(path, person)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["store.sqlite"]  # nothing left over
    with open_store(path, key=key) as store:  # and later starts just open it
        assert count_rows(store) == (1, 30)


# The point where the sealing process is killed: with the copy written but not yet checked, or
# with the copy complete and checked but not yet renamed over the plain file.
KILL_POINTS = {
    "after the copy, before its check": "database._table_counts",
    "before the rename": "database.os.replace",
}


@pytest.mark.parametrize("point", list(KILL_POINTS))
def test_a_start_killed_while_sealing_loses_nothing(tmp_path: Path, point: str) -> None:
    person = synthetic_person()
    path = tmp_path / "store.sqlite"
    plain_cache(path, person)
    key = os.urandom(32)
    script = textwrap.dedent(f"""
        import sys, time
        from pathlib import Path
        from desktop.store import database

        def stop_here(*args, **kwargs):
            print("STOPPED", flush=True)
            time.sleep(600)

        {KILL_POINTS[point]} = stop_here
        database.seal_plain_cache(Path(sys.argv[1]), bytes.fromhex(sys.argv[2]))
    """)
    process = subprocess.Popen([sys.executable, "-c", script, str(path), key.hex()], cwd=ROOT,
                               stdout=subprocess.PIPE, text=True)
    try:
        assert process.stdout is not None
        assert process.stdout.readline().strip() == "STOPPED"
    finally:
        process.kill()  # SIGKILL: no cleanup of any kind runs
        process.wait(KILL_TIMEOUT_S)
    sealing = Path(f"{path}{SEALING_SUFFIX}")
    assert sealing.exists()  # the half- or wholly-written copy, left as a kill leaves it
    assert cache_format(path) == "plain"  # the cache itself is the plain file, whole
    with open_store(path) as store:
        assert count_rows(store) == (1, 30)
    # the next start seals it, starting the copy over
    with open_store(path, key=key) as store:
        assert count_rows(store) == (1, 30)
    assert_sealed(path, person)
    assert not sealing.exists()


def test_a_failed_check_leaves_the_plain_cache(tmp_path: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    person = synthetic_person()
    path = tmp_path / "store.sqlite"
    plain_cache(path, person)
    from desktop.store import database

    counts = iter([{"person": 1}, {"person": 2}])  # the copy and the original disagree
    monkeypatch.setattr(database, "_table_counts", lambda *_args: next(counts))
    with pytest.raises(database.StoreSealError, match="原文件未改动"):
        seal_plain_cache(path, os.urandom(32))
    assert cache_format(path) == "plain"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["store.sqlite"]
    with open_store(path) as store:
        assert count_rows(store) == (1, 30)


def test_a_plain_engine_on_a_sealed_file_fails_rather_than_reads(tmp_path: Path) -> None:
    path = tmp_path / "store.sqlite"
    with open_store(path, key=os.urandom(32)):
        pass
    engine = create_store_engine(path)  # no key: plain sqlite3
    try:
        with pytest.raises(Exception, match="not a database"), engine.connect():
            pass
    finally:
        engine.dispose()


# -- the key in the keyring ------------------------------------------------------------------------

def test_each_cache_has_its_own_key_kept_in_the_keyring(tmp_path: Path,
                                                        memory_keyring: MemoryKeyring) -> None:
    first = load_or_create_cache_key(tmp_path / "a" / "store.sqlite")
    assert len(first) == 32
    assert load_or_create_cache_key(tmp_path / "a" / "store.sqlite") == first
    assert load_or_create_cache_key(tmp_path / "a" / ".." / "a" / "store.sqlite") == first
    second = load_or_create_cache_key(tmp_path / "b" / "store.sqlite")
    assert second != first
    assert first.hex() in memory_keyring.secrets.values()
    forget_cache_key(tmp_path / "a" / "store.sqlite")
    assert load_or_create_cache_key(tmp_path / "a" / "store.sqlite") != first


def test_without_a_keyring_the_cache_key_is_refused_in_words(tmp_path: Path) -> None:
    for backend in (fail.Keyring(), null.Keyring()):  # none at all; one that keeps nothing
        keyring.set_keyring(backend)
        with pytest.raises(CredentialsUnavailable, match="密钥库"):
            load_or_create_cache_key(tmp_path / "store.sqlite")


def test_a_damaged_key_in_the_keyring_is_refused_in_words(tmp_path: Path,
                                                          memory_keyring: MemoryKeyring) -> None:
    path = tmp_path / "store.sqlite"
    load_or_create_cache_key(path)
    (account,) = memory_keyring.secrets
    memory_keyring.secrets[account] = "not hex"
    with pytest.raises(CredentialsUnavailable, match="已损坏"):
        load_or_create_cache_key(path)


def test_the_counter_without_a_keyring_says_so_and_leaves_the_cache(tmp_path: Path) -> None:
    """`python -m desktop` on a PC whose keyring cannot be used: a message in Chinese, exit 1,
    no traceback, and the plain cache of an earlier version untouched."""
    person = synthetic_person()
    path = tmp_path / "store.sqlite"
    plain_cache(path, person)
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen",
           "PYTHON_KEYRING_BACKEND": "keyring.backends.fail.Keyring",
           "XDG_CONFIG_HOME": str(tmp_path / "config")}
    done = subprocess.run([sys.executable, "-m", "desktop", "--store", str(path)], cwd=ROOT,
                          env=env, capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 1
    assert "柜台程序无法启动：本机没有可用的系统密钥库，无法打开加密的本机缓存" in done.stdout
    assert "Traceback" not in done.stderr + done.stdout
    assert cache_format(path) == "plain"
    with open_store(path) as store:
        assert count_rows(store) == (1, 30)


def test_the_counter_seals_its_cache_under_a_key_it_keeps_in_the_keyring(
        tmp_path: Path, memory_keyring: MemoryKeyring) -> None:
    from desktop.ui.app import open_sealed_store

    person = synthetic_person()
    path = tmp_path / "store.sqlite"
    plain_cache(path, person)  # left by the version before
    with open_sealed_store(path) as store:
        assert store.encrypted and count_rows(store) == (1, 30)
    (stored,) = memory_keyring.secrets.values()
    assert bytes.fromhex(stored) == load_or_create_cache_key(path)
    assert_sealed(path, person)
    with open_sealed_store(path) as store:  # the next start: the same key, from the keyring
        assert count_rows(store) == (1, 30)
