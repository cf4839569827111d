"""`seed`: 10,000 people in well under a minute, and a district that looks like one — valid ID
numbers, Chinese names, the streets and towns of 长宁 and 闵行, category histories, mutual-aid
members, fee rows that keep POLICY.md §2 with a realistic minority flagged, and receipts whose
QR text is the fiscal URL of RECEIPTS.md."""

from __future__ import annotations

import json
import re
import time
from collections import Counter as Tally
from collections import defaultdict
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from desktop.domain.id_number import parse_id_number
from desktop.domain.receipt_qr import ParsedReceipt, parse_receipt_text
from desktop.policy.contract import calculate_text, default_parameters, parse_case
from district import models
from district.db import Database
from district.reference import STREETS
from district.security import verify_password
from district.synthetic import case_fee
from tests.district.harness import PASSWORD, run_district, shanghai_today

PERSONS = 10_000
FLAGS = ("one_stop_settled", "already_claimed", "clearing_pending", "major_illness",
         "means_test_included")


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Database, dict[str, Any],
                                                                      float]]:
    path = tmp_path_factory.mktemp("seed") / "district.sqlite3"
    started = time.perf_counter()
    done = run_district("seed", "--persons", str(PERSONS), "--database-url", f"sqlite:///{path}",
                        "--password", PASSWORD, "--json")
    seconds = time.perf_counter() - started
    assert done.returncode == 0, done.stderr[-3000:]
    db = Database(f"sqlite:///{path}")
    yield db, json.loads(done.stdout), seconds
    db.dispose()


def _rows(db: Database, model: type[models.Base]) -> list[Any]:
    with db.read() as session:
        return list(session.scalars(select(model)))


def test_ten_thousand_people_in_well_under_a_minute(seeded: tuple[Database, dict[str, Any],
                                                                  float]) -> None:
    _, report, seconds = seeded
    assert report["counts"]["persons"] == PERSONS
    assert seconds < 45, f"seeding {PERSONS} persons took {seconds:.1f} s"


def test_people(seeded: tuple[Database, dict[str, Any], float]) -> None:
    db = seeded[0]
    persons = _rows(db, models.Person)
    assert len({p.id_number for p in persons}) == PERSONS
    today = shanghai_today()
    for p in persons:
        parsed = parse_id_number(p.id_number, today=today)
        assert parsed.value == p.id_number
        assert parsed.birth_date == p.birth_date and parsed.sex == p.sex
        assert date(1940, 1, 1) <= p.birth_date <= date(2015, 12, 31)
        assert re.fullmatch(r"[\u4e00-\u9fff]{2,4}", p.name), p.name
        assert p.phone is None or re.fullmatch(r"1[3-9][0-9]{9}|021-[0-9]{8}", p.phone)
        assert p.address and p.address.startswith("上海市")
    assert {p.street_code for p in persons} == {s.code for s in STREETS}
    assert {p.id_number[:6] for p in persons} >= {"310105", "310112"}
    members = [p for p in persons if p.mutual_aid_years]
    assert 0.1 < len(members) / PERSONS < 0.35
    assert any(p.external_inpatient_insurance for p in members)
    assert any(not p.external_inpatient_insurance for p in members)
    assert any(p.allowance_balance_fen > 0 for p in members)
    mid_year = [p for p in members
                if p.mutual_aid_benefits_from and p.mutual_aid_benefits_from.month != 1]
    assert mid_year  # enrolled mid-year: benefits from the month after payment
    assert any(today.year not in p.mutual_aid_years for p in members)  # lapsed members


def test_category_histories(seeded: tuple[Database, dict[str, Any], float]) -> None:
    db = seeded[0]
    spans = _rows(db, models.CategorySpan)
    persons = {p.id: p for p in _rows(db, models.Person)}
    codes = Tally(s.code for s in spans)
    assert set(codes) == set(default_parameters().categories)
    by_person: dict[str, list[models.CategorySpan]] = defaultdict(list)
    for s in spans:
        by_person[s.person_id].append(s)
        assert s.end_date is None or s.end_date >= s.start_date
        assert re.fullmatch(r"[长闵]民救〔20[0-9]{2}〕[0-9]{4}号", s.source)
    with_one = sum(1 for v in by_person.values() if len(v) == 1)
    changed = [v for v in by_person.values() if len({s.code for s in v}) > 1]
    assert with_one / len(by_person) > 0.75  # assistance applicants mostly hold one
    assert len(changed) > 50  # some change category in the window
    assert 0.3 < len(by_person) / PERSONS < 0.8  # and many people hold none
    for person_id, held in by_person.items():
        if any(s.code in ("orphan", "distressed_child") for s in held):
            assert persons[person_id].birth_date > date(1995, 1, 1)


def test_institutions(seeded: tuple[Database, dict[str, Any], float]) -> None:
    institutions = _rows(seeded[0], models.Institution)
    assert 24 <= len(institutions) <= 80
    assert {i.level for i in institutions} == {1, 2, 3}
    assert 3 <= sum(not i.in_shanghai for i in institutions) < len(institutions) // 2


def test_fee_rows_keep_the_invariants_and_flag_a_minority(
        seeded: tuple[Database, dict[str, Any], float]) -> None:
    db = seeded[0]
    rows = _rows(db, models.FeeRow)
    institutions = {i.code: i for i in _rows(db, models.Institution)}
    today = shanghai_today()
    assert len(rows) > PERSONS * 3
    assert {r.kind for r in rows} == {"outpatient", "inpatient", "major_outpatient"}
    assert min(r.receipt_date for r in rows) >= today - timedelta(days=430)
    assert max(r.receipt_date for r in rows) < today
    for r in rows:
        assert 0 <= r.out_of_scope_fen <= r.total_fen
        assert 0 <= r.self_pay_fen <= r.total_fen - r.out_of_scope_fen
        assert 0 <= r.deductible_part_fen <= r.self_pay_fen
        assert (r.external_deductible_fen + r.external_reimbursed_fen
                <= r.total_fen - r.out_of_scope_fen)
        assert r.kind == "outpatient" or r.deductible_part_fen == 0
        institution = institutions[r.institution_code]
        assert r.hospital_level == institution.level
        assert r.in_shanghai == institution.in_shanghai
        assert not r.out_of_province_filed or not r.in_shanghai
        assert not r.major_illness_doc or r.major_illness
    for flag in FLAGS:
        share = sum(getattr(r, flag) for r in rows) / len(rows)
        assert 0.001 < share < 0.15, (flag, share)
    away = [r for r in rows if not r.in_shanghai]
    assert away and any(r.out_of_province_filed for r in away)
    assert any(not r.out_of_province_filed for r in away)
    illness = [r for r in rows if r.major_illness]
    assert any(r.major_illness_doc for r in illness) and any(not r.major_illness_doc
                                                             for r in illness)
    assert any(r.external_reimbursed_fen for r in rows)


def test_receipts(seeded: tuple[Database, dict[str, Any], float]) -> None:
    rows = _rows(seeded[0], models.FeeRow)
    assert len({(r.issuer_code, r.receipt_no) for r in rows}) == len(rows)
    for r in rows:
        assert re.fullmatch(r"[0-9]{8}", r.issuer_code or "")
        assert re.fullmatch(r"[0-9]{10}", r.receipt_no)
        assert re.fullmatch(r"[0-9a-f]{6}", r.check_code or "")
        parsed = parse_receipt_text(r.receipt_qr or "")
        assert isinstance(parsed, ParsedReceipt), parsed
        assert parsed.format == "fiscal_url"
        assert (parsed.issuer_code, parsed.receipt_no, parsed.check_code) == (
            r.issuer_code, r.receipt_no, r.check_code)
        assert parsed.issue_date == r.receipt_date
        assert parsed.amount is not None and int(parsed.amount * 100) == r.total_fen


def test_every_person_is_a_valid_case(seeded: tuple[Database, dict[str, Any], float]) -> None:
    """All of a person's rows, as the counter would send them, pass the calc contract's
    validation: the seed never produces data the engine refuses."""
    db = seeded[0]
    rows: dict[str, list[dict[str, Any]]] = defaultdict(list)
    table = models.table_of(models.FeeRow)
    with db.read() as session:
        for row in session.execute(table.select()).mappings():
            rows[row["person_id"]].append(dict(row))
        spans: dict[str, list[Any]] = defaultdict(list)
        for s in session.scalars(select(models.CategorySpan)):
            spans[s.person_id].append(s)
        persons = list(session.scalars(select(models.Person)))
    params = default_parameters()
    today = shanghai_today().isoformat()
    for p in persons:
        person: dict[str, Any] = {
            "categories": [{"code": s.code, "from": s.start_date.isoformat(),
                            "to": s.end_date.isoformat() if s.end_date else None}
                           for s in spans[p.id]],
            "resident_insurance": p.resident_insurance}
        program = "assistance" if spans[p.id] else "mutual_aid"
        if p.mutual_aid_years:
            person["mutual_aid"] = {
                "member_years": p.mutual_aid_years,
                "benefits_from": p.mutual_aid_benefits_from.isoformat()
                if p.mutual_aid_benefits_from else None,
                "external_inpatient_insurance": p.external_inpatient_insurance,
                "allowance_balance": _yuan(p.allowance_balance_fen)}
        elif program == "mutual_aid":
            continue  # neither program: nothing to apply for
        case = {"schema": "counter-calc/1", "program": program,
                "district": "changning" if p.street_code.startswith("310105") else "minhang",
                "application_date": today, "person": person,
                "fees": [case_fee(r) for r in rows[p.id]]}
        parse_case(json.loads(json.dumps(case)), params)


def test_settled_applications_recompute_to_their_amounts(
        seeded: tuple[Database, dict[str, Any], float]) -> None:
    db = seeded[0]
    with db.read() as session:
        applications = list(session.scalars(select(models.Application)
                                            .order_by(models.Application.id).limit(400)))
        claims = session.scalar(select(func.count()).select_from(models.Claim))
        signatures = Tally(session.scalars(select(models.Signature.role)))
    assert applications and claims and claims >= len(applications)
    assert {a.program for a in applications} == {"assistance", "mutual_aid"}
    for app in applications:
        result = calculate_text(json.dumps(app.case_json))
        assert _fen(result["payable"]) == app.payable_fen > 0
    assert signatures["handler"] >= signatures["reviewer"] >= signatures["approver"] > 0


def test_staff_and_enrolment_codes(seeded: tuple[Database, dict[str, Any], float]) -> None:
    db, report, _ = seeded
    users = _rows(db, models.User)
    assert len(users) == 4 * len(STREETS) + 2 * 2  # per district: an admin and a reviewer
    assert all(verify_password(PASSWORD, u.password_hash) for u in users[:3])
    assert not any(PASSWORD in u.password_hash for u in users)
    assert {u["username"] for u in report["users"]} == {u.username for u in users}
    codes = _rows(db, models.EnrolmentCode)
    shown = [c for s in report["streets"] for c in s["enrolment_codes"]]
    assert len(codes) == len(shown) == 2 * len(STREETS)
    assert not any(c.code_hash in shown for c in codes)


def test_changes_cover_every_entity(seeded: tuple[Database, dict[str, Any], float]) -> None:
    db, report, _ = seeded
    counts = report["counts"]
    with db.read() as session:
        seqs = list(session.scalars(select(models.Change.seq).order_by(models.Change.seq)))
        entities = Tally(session.scalars(select(models.Change.entity)))
    assert seqs == list(range(1, len(seqs) + 1))
    assert entities["person"] == counts["persons"]
    assert entities["fee_row"] == counts["fee_rows"]
    assert entities["category_span"] == counts["category_spans"]
    assert entities["claim"] == counts["claims"]
    assert entities["institution"] == counts["institutions"]
    assert entities["parameter_version"] == len(list(default_parameters().all_values()))


def test_a_second_seed_needs_reset(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'd.sqlite3'}"
    first = run_district("seed", "--persons", "5", "--database-url", url, "--streets",
                         "310105001")
    assert first.returncode == 0, first.stderr
    assert "华阳路街道" in first.stdout and "huayang.clerk1" in first.stdout
    again = run_district("seed", "--persons", "5", "--database-url", url)
    assert again.returncode == 2 and "--reset" in again.stderr
    reset = run_district("seed", "--persons", "7", "--database-url", url, "--reset", "--json")
    assert reset.returncode == 0, reset.stderr
    assert json.loads(reset.stdout)["counts"]["persons"] == 7
    unknown = run_district("seed", "--persons", "5", "--database-url", url, "--streets", "999")
    assert unknown.returncode == 2 and "unknown street" in unknown.stderr


def _fen(text: str) -> int:
    whole, _, cents = text.partition(".")
    return int(whole) * 100 + int(cents)


def _yuan(fen: int) -> str:
    return f"{fen // 100}.{fen % 100:02d}"
