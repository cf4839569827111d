"""Opening the store: file location, pragmas, transactions, column types, migrations."""

from __future__ import annotations

import json
import sqlite3
import uuid
import warnings
from contextlib import closing
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path

import platformdirs
import pytest
import sqlcipher3.dbapi2 as sqlcipher
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import event, select, text

from desktop.store import Store, default_path, open_store
from desktop.store.database import (
    MIGRATIONS_DIR,
    create_store_engine,
    current_revision,
    head_revision,
    run_migrations,
)
from desktop.store.models import (
    AuditEventRecord,
    Base,
    InstitutionRecord,
    PersonRecord,
    UserRecord,
)
from desktop.store.search_keys import name_keys
from desktop.sync.credentials import load_or_create_cache_key


def test_default_file_is_in_the_per_user_data_folder() -> None:
    path = default_path()
    assert path.parent == Path(platformdirs.user_data_dir("counter-desk", "counter-desk"))
    assert path.name == "store.sqlite"


@pytest.fixture(params=["plain", "sealed"])
def either_store(request: pytest.FixtureRequest) -> Store:
    """The behaviour that must not change with SQLCipher, checked on both kinds of file."""
    return request.getfixturevalue("store" if request.param == "plain" else "sealed_store")


def test_pragmas_are_set_on_every_connection(either_store: Store) -> None:
    store = either_store
    with store.session() as session:
        pragma = {name: session.execute(text(f"PRAGMA {name}")).scalar()
                  for name in ("journal_mode", "foreign_keys", "synchronous", "busy_timeout")}
    assert pragma == {"journal_mode": "wal", "foreign_keys": 1, "synchronous": 2,
                      "busy_timeout": 5000}
    if store.encrypted:
        other = sqlcipher.connect(str(store.path))
        other.execute(f"PRAGMA key = \"x'{load_or_create_cache_key(store.path).hex()}'\"")
    else:
        other = sqlite3.connect(store.path)
    with closing(other):  # WAL is a property of the file itself
        assert other.execute("PRAGMA journal_mode").fetchone() == ("wal",)


def test_every_statement_runs_in_an_explicit_transaction(either_store: Store) -> None:
    seen: list[str] = []
    event.listen(either_store.engine, "before_cursor_execute",
                 lambda *args: seen.append(args[2]))
    with either_store.session() as session:
        session.add(UserRecord(username="a", display_name="甲", roles=[]))
    with either_store.read_session() as session:
        session.scalars(select(UserRecord)).all()
    begins = [s for s in seen if s.startswith("BEGIN")]
    assert begins == ["BEGIN IMMEDIATE", "BEGIN DEFERRED"]


def test_the_migrations_ship_next_to_the_module() -> None:
    assert (MIGRATIONS_DIR / "env.py").is_file()
    assert sorted(p.name for p in (MIGRATIONS_DIR / "versions").glob("0*.py")) == [
        "0001_initial_schema.py", "0002_person_search_keys.py",
        "0003_user_password_verifier.py", "0004_application_bank_account.py",
        "0005_enrolment.py", "0006_application_applicant.py",
        "0007_application_accepted_at.py", "0008_trust.py", "0009_audit_chain.py",
        "0010_application_feed.py", "0011_application_number_documents.py",
        "0012_person_partial_search_indexes.py", "0013_parameter_assumption.py",
        "0014_commitment.py", "0015_compact_fee_rows.py"]
    assert not list(MIGRATIONS_DIR.parent.glob("alembic.ini"))


def test_an_empty_file_is_migrated_to_head(tmp_path: Path) -> None:
    path = tmp_path / "sub" / "folder" / "store.sqlite"
    with open_store(path) as store:
        assert path.is_file()
        assert current_revision(store.engine) == head_revision() == "0015"
        with store.session() as session:
            tables = set(session.execute(text(
                "SELECT name FROM sqlite_master WHERE type = 'table'")).scalars())
            triggers = set(session.execute(text(
                "SELECT name FROM sqlite_master WHERE type = 'trigger'")).scalars())
    assert set(Base.metadata.tables) <= tables
    assert triggers == {"audit_event_no_update", "audit_event_no_delete"}


def test_the_models_match_the_migrated_schema(store: Store) -> None:
    with store.engine.connect() as connection, warnings.catch_warnings():
        warnings.simplefilter("ignore")  # autogenerate skips the expression indexes, noisily
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        assert compare_metadata(context, Base.metadata) == []


def test_opening_again_keeps_the_data(tmp_path: Path) -> None:
    path = tmp_path / "store.sqlite"
    with open_store(path) as store, store.session() as session:
        session.add(UserRecord(username="li", display_name="李经办", roles=["clerk"]))
    with open_store(path) as store, store.session() as session:
        assert session.get(UserRecord, "li") is not None


def test_upgrading_from_0001_keeps_rows_and_fills_the_search_keys(tmp_path: Path) -> None:
    path = tmp_path / "store.sqlite"
    engine = create_store_engine(path)
    run_migrations(engine, "0001")
    assert current_revision(engine) == "0001"
    people = [("P1", "310105195001010016", "张三", "13912345678"),
              ("P2", "31010519600202002X", "曾国藩", None),
              ("P3", "310105197003030030", "欧阳娜娜", "021-62345678")]
    with engine.begin() as connection:
        for person_id, id_number, name, phone in people:
            connection.execute(text(
                "INSERT INTO person (id, id_number, name, sex, birth_date, phone, street_code,"
                " resident_insurance, mutual_aid_years, external_inpatient_insurance,"
                " allowance_balance, seq) VALUES (:id, :idn, :name, 'M', '1950-01-01', :phone,"
                " '310105001', 1, '[2026]', 0, '12.50', 7)"),
                {"id": person_id, "idn": id_number, "name": name, "phone": phone})
        connection.execute(text(
            "INSERT INTO fee_row (id, person_id, receipt_no, date, kind, hospital_level,"
            " in_shanghai, out_of_province_filed, total, out_of_scope, self_pay,"
            " deductible_part, external_deductible, external_reimbursed, one_stop_settled,"
            " already_claimed, clearing_pending, major_illness, major_illness_doc,"
            " means_test_included, seq) VALUES ('F1', 'P1', 'R1', '2026-03-01', 'outpatient',"
            " 2, 1, 0, '100.00', '0.00', '80.00', '0.00', '0.00', '0.00', 0, 0, 0, 0, 0, 0, 8)"))
    engine.dispose()

    with open_store(path) as store, store.session() as session:
        assert current_revision(store.engine) == head_revision()
        rows = {p.id: p for p in session.scalars(select(PersonRecord))}
        assert set(rows) == {"P1", "P2", "P3"}
        for person_id, id_number, name, phone in people:
            row = rows[person_id]
            assert (row.name, row.id_number, row.phone) == (name, id_number, phone)
            assert (row.name_pinyin, row.name_initials) == name_keys(name)
            assert row.id_reversed == id_number[::-1]
            assert row.phone_reversed == (phone[::-1] if phone else None)
        assert rows["P2"].name_pinyin == "zengguofan"  # the surname reading
        assert rows["P1"].allowance_balance == Decimal("12.50")
        assert rows["P1"].mutual_aid_years == [2026]
        assert session.execute(text("SELECT count(*) FROM fee_row")).scalar() == 1


def test_a_session_commits_on_success_and_rolls_back_on_error(either_store: Store) -> None:
    store = either_store
    with store.session() as session:
        session.add(UserRecord(username="a", display_name="甲", roles=[]))
    with pytest.raises(RuntimeError), store.session() as session:
        session.add(UserRecord(username="b", display_name="乙", roles=[]))
        session.flush()
        raise RuntimeError("the clerk's action failed")
    with store.read_session() as session:
        assert sorted(session.scalars(select(UserRecord.username))) == ["a"]


def test_a_read_session_sees_a_snapshot_and_keeps_nothing_it_writes(either_store: Store) -> None:
    store = either_store
    with store.session() as session:
        session.add(InstitutionRecord(code="H1", name="华山医院", level=3))
    with store.read_session() as reader:
        assert reader.get(InstitutionRecord, "H1") is not None
        with store.session() as writer:  # WAL: a writer commits while the reader reads
            writer.add(InstitutionRecord(code="H2", name="中山医院", level=3))
        assert reader.scalar(select(InstitutionRecord).where(
            InstitutionRecord.code == "H2")) is None
        reader.add(InstitutionRecord(code="H3", name="瑞金医院", level=3))
    with store.read_session() as reader:
        assert sorted(reader.scalars(select(InstitutionRecord.code))) == ["H1", "H2"]


def test_money_is_stored_as_exact_text(either_store: Store) -> None:
    store = either_store
    with store.session() as session:
        session.add(PersonRecord(id="P1", id_number="310105195001010016", name="张三", sex="M",
                                 birth_date=date(1950, 1, 1), street_code="310105001",
                                 allowance_balance=Decimal("0.10")))
    with store.session() as session:
        stored = session.execute(text(
            "SELECT allowance_balance, typeof(allowance_balance) FROM person")).one()
        assert tuple(stored) == ("0.10", "text")
        person = session.get(PersonRecord, "P1")
        assert person is not None
        assert person.allowance_balance == Decimal("0.10")
        assert str(person.allowance_balance) == "0.10"
        person.allowance_balance = 0.1  # type: ignore[assignment]
        with pytest.raises(Exception, match="Decimal or a string"):
            session.flush()


def test_instants_are_stored_in_utc_and_naive_ones_refused(store: Store) -> None:
    shanghai = timezone(timedelta(hours=8))
    with store.session() as session:
        session.add(AuditEventRecord(at=datetime(2026, 3, 1, 9, 30, tzinfo=shanghai),
                                     actor="li", action="login", subject="user:li"))
    with store.session() as session:
        assert session.execute(text("SELECT at FROM audit_event")).scalar() == \
            "2026-03-01T01:30:00.000000+00:00"
        event = session.scalars(select(AuditEventRecord)).one()
        assert event.at == datetime(2026, 3, 1, 1, 30, tzinfo=UTC)
    with pytest.raises(Exception, match="naive"), store.session() as session:
        session.add(AuditEventRecord(at=datetime(2026, 3, 1, 9, 30), actor="li",
                                     action="login", subject="user:li"))


def test_upgrading_from_0002_keeps_users_and_adds_their_password_verifier(
        tmp_path: Path) -> None:
    path = tmp_path / "store.sqlite"
    engine = create_store_engine(path)
    run_migrations(engine, "0002")
    assert current_revision(engine) == "0002"
    with engine.begin() as connection:
        connection.execute(text(
            "INSERT INTO user (username, display_name, roles) VALUES"
            " ('li', '李经办', '[\"clerk\"]'), ('wang', '王审核', '[\"reviewer\", \"clerk\"]')"))
        connection.execute(text(
            "INSERT INTO audit_event (event_id, at, actor, action, subject, detail) VALUES"
            " ('6f1c1f0e4a8b4c1d9a3e2b7c5d4e3f21', '2026-03-01T01:30:00.000000+00:00', 'li',"
            " 'user.signed_in', 'user:li', '{}')"))
    engine.dispose()

    with open_store(path) as store, store.session() as session:
        assert current_revision(store.engine) == head_revision()
        columns = {row[1]: row for row in session.execute(text("PRAGMA table_info(user)"))}
        assert {"password_verifier", "verified_at"} <= set(columns)
        assert columns["password_verifier"][3] == 0 and columns["verified_at"][3] == 0  # NULL ok
        users = {u.username: u for u in session.scalars(select(UserRecord))}
        assert set(users) == {"li", "wang"}
        assert (users["li"].display_name, users["li"].roles) == ("李经办", ["clerk"])
        assert users["wang"].roles == ["reviewer", "clerk"]
        # cached before 0003: no verifier until the next online sign-in
        assert users["li"].password_verifier is None and users["li"].verified_at is None
        assert session.scalars(select(AuditEventRecord)).one().actor == "li"
        users["li"].password_verifier = "scrypt$32768$8$3$c2FsdA==$aGFzaGhhc2hoYXNoaGFzaA=="
        users["li"].verified_at = datetime(2026, 3, 1, 1, 30, tzinfo=UTC)
    with open_store(path) as store, store.session() as session:
        li = session.get(UserRecord, "li")
        assert li is not None and li.verified_at == datetime(2026, 3, 1, 1, 30, tzinfo=UTC)
        assert li.password_verifier is not None and li.password_verifier.startswith("scrypt$")


def test_migration_0010_places_approvals_made_before_it_by_the_districts_answer(
        tmp_path: Path) -> None:
    """An application approved before 0010 takes, as the moment the district accepted its
    审批人's signature, the moment this counter received that acceptance: the month report
    places it (desktop.domain.clock.settlement_month)."""
    engine = create_store_engine(tmp_path / "old.sqlite")
    run_migrations(engine, "0009")
    app_id = uuid.uuid4()
    with engine.begin() as conn:
        conn.exec_driver_sql(
            "INSERT INTO application (id, program, district, person_id, auto_enrolled, status,"
            " payable, buckets, parameter_versions, created_at, created_by, updated_at) VALUES"
            " (?, 'assistance', 'changning', 'P1', 0, 'approved', '10.00', '{}', '[]',"
            " '2026-06-01T01:00:00+00:00', 'li', '2026-06-01T01:00:00+00:00')", (app_id.hex,))
        for kind, role, at, status in (
                ("signature", "reviewer", "2026-06-30T15:00:00+00:00", "accepted"),
                ("signature", "approver", "2026-06-30T16:30:00+00:00", "accepted")):
            payload = json.dumps({"application_id": str(app_id), "role": role})
            conn.exec_driver_sql(
                "INSERT INTO outbox (idempotency_key, kind, payload, created_at, attempts,"
                " delivered_at, result) VALUES (?, ?, ?, ?, 0, ?, ?)",
                (uuid.uuid4().hex, kind, payload, at, at, json.dumps({"status": status})))
    run_migrations(engine)
    with engine.connect() as conn:
        (value,) = conn.exec_driver_sql(
            "SELECT approval_accepted_at FROM application").one()
    assert value == "2026-06-30T16:30:00+00:00"  # 00:30 on 1 July in Shanghai: July's
    engine.dispose()
