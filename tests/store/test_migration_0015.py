"""Migration 0015: a cache's fee rows and claims move to their compact stored forms with every
value kept; a value without one stops the upgrade and leaves the cache as it was; downgrading
gives the text forms back."""

from __future__ import annotations

import re
import sqlite3
import uuid
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import select, text

from desktop.store import open_store
from desktop.store.database import (
    alembic_config,
    create_store_engine,
    current_revision,
    run_migrations,
)
from desktop.store.models import ClaimRecord, FeeRowRecord, InstitutionRecord
from desktop.store.types import code_of

APPLICATION = uuid.UUID("0b8d6a4c-3f2e-4d5a-9c1b-7e6f5a4b3c2d")
DEVICE = uuid.UUID("f38b2ffc-80a4-4f5a-91c9-bc701e7ea419")
# (id, date, kind, total, out_of_scope, self_pay): amounts as 0.0014 and before stored them
FEE_ROWS = [("F1", "2026-06-01", "outpatient", "268.25", "0.00", "85.84"),
            ("F2", "2025-12-31", "inpatient", "12.5", "0", "12.50"),
            ("F3", "1999-01-01", "major_outpatient", "1234567.89", "1E+1", "-3.10")]


def _old_cache(path: Path, amounts: list[tuple[str, ...]] = FEE_ROWS) -> None:
    engine = create_store_engine(path)
    run_migrations(engine, "0014")
    with engine.begin() as connection:
        connection.execute(text(
            "INSERT INTO person (id, id_number, name, sex, birth_date, street_code,"
            " resident_insurance, mutual_aid_years, external_inpatient_insurance,"
            " allowance_balance, seq, name_pinyin, name_initials, id_reversed) VALUES"
            " ('P1', '310105195001010016', '张三', 'M', '1950-01-01', '310105001', 1, '[]', 0,"
            " '0.00', 1, 'zhangsan', 'zs', '610010105910501013')"))
        for n, (row_id, day, kind, total, scope, self_pay) in enumerate(amounts, start=2):
            connection.execute(text(
                "INSERT INTO fee_row (id, person_id, institution_code, issuer_code, receipt_no,"
                " check_code, date, kind, hospital_level, in_shanghai, out_of_province_filed,"
                " total, out_of_scope, self_pay, deductible_part, external_deductible,"
                " external_reimbursed, one_stop_settled, already_claimed, clearing_pending,"
                " major_illness, major_illness_doc, means_test_included, seq) VALUES"
                " (:id, 'P1', 'H1', '31062641', :receipt, NULL, :day, :kind, 2, 1, 0, :total,"
                " :scope, :self_pay, '0.00', '0.00', '0.00', 0, 1, 0, 1, 0, 0, :seq)"),
                {"id": row_id, "receipt": f"00{n}", "day": day, "kind": kind, "total": total,
                 "scope": scope, "self_pay": self_pay, "seq": n})
        connection.execute(text(
            "INSERT INTO claim (fee_row_id, application_id, street_code, device_id, claimed_at,"
            " status, program, seq) VALUES ('F1', :app, '310105001', 'D1',"
            " '2026-06-02T02:00:00.123456+00:00', 'paid', 'mutual_aid', 9),"
            " ('F9', :app, '310105001', :device, '2026-06-03T02:00:00.000000+00:00',"
            " 'released', NULL, 10)"), {"app": APPLICATION.hex, "device": str(DEVICE)})
        connection.execute(text(
            "INSERT INTO institution (code, name, level, in_shanghai, seq) VALUES"
            " ('H1', '华山医院', 3, 1, 11), ('H31010500041', '长宁区天山街道社区卫生服务中心', 1,"
            " 1, 12)"))
    engine.dispose()


def _sql(path: Path, query: str) -> list[tuple[object, ...]]:
    with sqlite3.connect(path) as raw:
        return raw.execute(query).fetchall()


def test_upgrading_keeps_every_value_in_its_compact_form(tmp_path: Path) -> None:
    path = tmp_path / "store.sqlite"
    _old_cache(path)
    with open_store(path) as store:
        assert current_revision(store.engine) == "0015"
        with store.read_session() as session:
            rows = session.scalars(select(FeeRowRecord).order_by(FeeRowRecord.id)).all()
            assert [(r.id, r.date, r.kind, r.total, r.out_of_scope, r.self_pay) for r in rows] == [
                ("F1", date(2026, 6, 1), "outpatient", Decimal("268.25"), Decimal("0"),
                 Decimal("85.84")),
                ("F2", date(2025, 12, 31), "inpatient", Decimal("12.50"), Decimal("0"),
                 Decimal("12.50")),
                ("F3", date(1999, 1, 1), "major_outpatient", Decimal("1234567.89"),
                 Decimal("10"), Decimal("-3.10"))]
            assert [(r.already_claimed, r.major_illness, r.receipt_no) for r in rows] == [
                (True, True, "002"), (True, True, "003"), (True, True, "004")]
            assert rows[0].claimed_by_application == APPLICATION
            claims = session.scalars(select(ClaimRecord).order_by(ClaimRecord.fee_row_id)).all()
            assert [(c.fee_row_id, c.application_id, c.claimed_at, c.status, c.program)
                    for c in claims] == [
                ("F1", APPLICATION, datetime(2026, 6, 2, 2, 0, 0, 123456, tzinfo=UTC), "paid",
                 "mutual_aid"),
                ("F9", APPLICATION, datetime(2026, 6, 3, 2, tzinfo=UTC), "released", None)]
            assert [c.device_id for c in claims] == ["D1", str(DEVICE)]
            # the institution's name still joins by its code (desktop.printing.documents)
            assert session.execute(select(InstitutionRecord.name).join(
                FeeRowRecord, FeeRowRecord.institution_code == InstitutionRecord.code)
                .where(FeeRowRecord.id == "F1")).scalar_one() == "华山医院"
            assert session.get(InstitutionRecord, "H31010500041") is not None
    assert _sql(path, "SELECT total, date, kind, flags, id, receipt_no, issuer_code FROM fee_row"
                " ORDER BY seq") == [
        (26825, 20605, 0, 1 | 8 | 32, code_of("F1"), 1002, 131062641),
        (1250, 20453, 1, 41, code_of("F2"), 1003, 131062641),
        (123456789, 10592, 2, 41, code_of("F3"), 1004, 131062641)]
    assert _sql(path, "SELECT code FROM institution ORDER BY seq") == [
        (code_of("H1"),), (code_of("H31010500041"),)]
    assert _sql(path, "SELECT typeof(application_id), status, program, device_id FROM claim"
                " ORDER BY seq") == [("blob", 1, 1, code_of("D1")), ("blob", 2, None, DEVICE.bytes)]
    (claim_sql,), = _sql(path, "SELECT sql FROM sqlite_master WHERE name = 'claim'")
    assert str(claim_sql).rstrip().endswith("WITHOUT ROWID")
    assert _sql(path, "SELECT name FROM sqlite_master WHERE type = 'index'"
                " AND tbl_name = 'fee_row' AND sql IS NOT NULL ORDER BY name") == [
        ("ix_fee_row_person_id_date",), ("ix_fee_row_receipt_no",)]
    assert _sql(path, "PRAGMA foreign_key_list(fee_row)")[0][2:5] == ("person", "person_id", "id")

    engine = create_store_engine(path)
    with engine.begin() as connection:
        command.downgrade(alembic_config(connection), "0014")
    engine.dispose()
    assert _sql(path, "SELECT in_shanghai, already_claimed, major_illness, means_test_included,"
                " id, receipt_no FROM fee_row ORDER BY id") == [
        (1, 1, 1, 0, "F1", "002"), (1, 1, 1, 0, "F2", "003"), (1, 1, 1, 0, "F3", "004")]
    assert _sql(path, "SELECT code FROM institution ORDER BY seq") == [
        ("H1",), ("H31010500041",)]
    assert _sql(path, "SELECT total, out_of_scope, date, kind FROM fee_row ORDER BY id") == [
        ("268.25", "0.00", "2026-06-01", "outpatient"), ("12.50", "0.00", "2025-12-31",
                                                           "inpatient"),
        ("1234567.89", "10.00", "1999-01-01", "major_outpatient")]
    assert _sql(path, "SELECT application_id, claimed_at, status, program, device_id FROM claim"
                " ORDER BY fee_row_id") == [
        (APPLICATION.hex, "2026-06-02T02:00:00.123456+00:00", "paid", "mutual_aid", "D1"),
        (APPLICATION.hex, "2026-06-03T02:00:00.000000+00:00", "released", None, str(DEVICE))]


@pytest.mark.parametrize(("amount", "says"), [
    ("1.005", "not a whole number of fen"),
    ("1.0000000000000000000000000001", "not a whole number of fen"),  # not rounded
    ("1E-40", "not a whole number of fen"), ("abc", "not an amount"),
    ("92233720368547758.08", "an amount too large"), ("1E+30", "an amount too large")])
def test_an_amount_without_whole_fen_stops_the_upgrade_and_keeps_the_cache(
        tmp_path: Path, amount: str, says: str) -> None:
    path = tmp_path / "store.sqlite"
    _old_cache(path, [*FEE_ROWS, ("F4", "2026-01-01", "outpatient", "10.00", "0.00", amount)])
    before = _sql(path, "SELECT * FROM fee_row ORDER BY id")
    with pytest.raises(Exception, match=rf"fee_row: fen\('{re.escape(amount)}'\): {says}"):
        open_store(path)
    assert _sql(path, "SELECT version_num FROM alembic_version") == [("0014",)]
    assert _sql(path, "SELECT * FROM fee_row ORDER BY id") == before
    assert _sql(path, "SELECT name FROM sqlite_master WHERE name LIKE '%0015%'") == []
