"""Migration 0012: the phone and "from the 3rd character" indexes become partial; search finds
the same persons through them."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from alembic import command
from sqlalchemy import text

from desktop.store import open_store, search_persons
from desktop.store.database import (
    alembic_config,
    create_store_engine,
    current_revision,
    head_revision,
    run_migrations,
)

PERSONS = [("P1", "310105195001010016", "张三", "13912345678"),
           ("P2", "31010519600202002X", "李张三", None),
           ("P3", "310105197003030030", "王五", "021-62345678")]


def index_sql(path: Path, name: str) -> str:
    with sqlite3.connect(path) as raw:
        (sql,) = raw.execute("SELECT sql FROM sqlite_master WHERE name = ?", (name,)).fetchone()
    return str(sql)


def test_upgrading_from_0011_makes_two_person_indexes_partial(tmp_path: Path) -> None:
    path = tmp_path / "store.sqlite"
    engine = create_store_engine(path)
    run_migrations(engine, "0011")
    with engine.begin() as connection:
        for person_id, id_number, name, phone in PERSONS:
            connection.execute(text(
                "INSERT INTO person (id, id_number, name, sex, birth_date, phone, street_code,"
                " resident_insurance, mutual_aid_years, external_inpatient_insurance,"
                " allowance_balance, seq, name_pinyin, name_initials, id_reversed,"
                " phone_reversed) VALUES (:id, :idn, :name, 'M', '1950-01-01', :phone,"
                " '310105001', 1, '[]', 0, '0.00', 1, '', '', :idr, :phr)"),
                {"id": person_id, "idn": id_number, "name": name, "phone": phone,
                 "idr": id_number[::-1], "phr": phone[::-1] if phone else None})
    engine.dispose()
    assert "WHERE" not in index_sql(path, "ix_person_phone_reversed")

    with open_store(path) as store:
        assert current_revision(store.engine) == head_revision()
        assert index_sql(path, "ix_person_phone_reversed").endswith(
            "WHERE phone_reversed IS NOT NULL")
        assert index_sql(path, "ix_person_name_from_3").endswith("WHERE length(name) > 2")
        with store.read_session() as session:
            assert [h.person_id for h in search_persons(session, "5678")] == ["P1", "P3"]  # by name
            assert [h.person_id for h in search_persons(session, "三")] == ["P1", "P2"]

    engine = create_store_engine(path)
    with engine.begin() as connection:
        command.downgrade(alembic_config(connection), "0011")
    engine.dispose()
    assert "WHERE" not in index_sql(path, "ix_person_phone_reversed")
    assert "WHERE" not in index_sql(path, "ix_person_name_from_3")

