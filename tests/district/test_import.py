"""`python -m district import`: the data contract of docs/data-import.md — the sample files,
every encoding and xlsx alike, a file imported whole or not at all with a report naming row and
reason, re-imports that change nothing, corrections that reach the counters, claimed rows and
card balances left alone. Test data is synthetic: generated ID numbers, made-up names."""

from __future__ import annotations

import csv
import io
import random
import re
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from openpyxl import Workbook
from sqlalchemy import func, select

from desktop.domain.id_number import generate_id_number
from desktop.policy.money import MoneyFormatError
from district import models
from district.changelog import PendingChange, fee_row_data, record_changes
from district.db import Database
from district.imports import ImportRejected, import_fees
from district.imports.columns import fee_columns, person_columns
from district.imports.command import run_import
from district.imports.fees import fee_row_wire
from district.imports.fields import fen, years, years_text
from district.imports.files import FEE_HEADER, PERSON_HEADER, write_fees, write_persons
from district.imports.store import record_changes_bulk
from district.reference import INSTITUTIONS, STREETS, STREETS_BY_CODE
from district.synthetic import DistrictGenerator
from district.values import from_fen, to_fen, utcnow
from tests.district.conftest import BACKENDS
from tests.district.harness import CHANGNING_STREET, MINHANG_STREET, ROOT, run_district

TODAY = date.today()
SAMPLES = ROOT / "docs" / "samples"
CONTRACT = ROOT / "docs" / "data-import.md"
INSTITUTION_NAMES = {i.code: (i.name, i.in_shanghai) for i in INSTITUTIONS}


# -- a district and its files -------------------------------------------------------------------

def fresh_district(url: str) -> Database:
    """An empty district with its streets and institutions (what the seed writes first)."""
    db = Database(url)
    db.migrate()
    with db.write() as session:
        session.execute(models.table_of(models.Street).insert(), [
            {"code": s.code, "name": s.name, "district": s.district, "kind": s.kind,
             "slug": s.slug} for s in STREETS])
        session.execute(models.table_of(models.Institution).insert(), [
            {"code": i.code, "name": i.name, "level": i.level, "in_shanghai": i.in_shanghai}
            for i in INSTITUTIONS])
    return db


@dataclass
class Drawn:
    """A small synthetic district's persons, spans and fee rows (table rows)."""

    persons: list[dict[str, Any]]
    spans: list[dict[str, Any]]
    fees: list[dict[str, Any]]

    def people(self) -> list[tuple[dict[str, Any], list[dict[str, Any]]]]:
        return [(p, [s for s in self.spans if s["person_id"] == p["id"]]) for p in self.persons]

    def write(self, folder: Path, suffix: str = ".csv", encoding: str = "utf-8"
              ) -> tuple[Path, Path]:
        folder.mkdir(parents=True, exist_ok=True)
        persons, fees = folder / f"persons{suffix}", folder / f"fees{suffix}"
        write_persons(persons, self.people(), encoding)
        write_fees(fees, self.fees, {p["id"]: (p["id_number"], p["name"]) for p in self.persons},
                   INSTITUTION_NAMES, encoding)
        return persons, fees


def draw(count: int = 40, seed: int = 7) -> Drawn:
    streets = [STREETS_BY_CODE[CHANGNING_STREET], STREETS_BY_CODE[MINHANG_STREET]]
    district = DistrictGenerator(seed, streets, TODAY).generate(count)
    return Drawn(district.persons, district.spans, district.fee_rows)


@pytest.fixture(scope="module")
def drawn() -> Drawn:
    return draw()


def run(db: Database, kind: str, path: Path, report: Path | None = None) -> tuple[int, str]:
    out = io.StringIO()
    code = run_import(db, kind, path, report, today=TODAY, out=out, err=io.StringIO())
    return code, out.getvalue()


def imported(db: Database, drawn: Drawn, folder: Path) -> tuple[Path, Path]:
    persons, fees = drawn.write(folder)
    assert run(db, "persons", persons)[0] == 0
    assert run(db, "fees", fees)[0] == 0
    return persons, fees


def snapshot(db: Database) -> dict[str, Any]:
    """Every row the imports write (ids included), and the change sequence."""
    tables = (models.Person, models.CategorySpan, models.FeeRow, models.Institution)
    with db.read() as session:
        state: dict[str, Any] = {
            m.__tablename__: sorted(tuple(r) for r in session.execute(
                models.table_of(m).select()).all()) for m in tables}
        state["last_seq"] = session.scalar(select(func.max(models.Change.seq))) or 0
    return state


def changes_after(db: Database, seq: int) -> list[models.Change]:
    with db.read() as session:
        return list(session.scalars(select(models.Change).where(models.Change.seq > seq)
                                    .order_by(models.Change.seq)))


def read_csv(path: Path, encoding: str = "utf-8-sig") -> list[list[str]]:
    with path.open(encoding=encoding, newline="") as stream:
        return list(csv.reader(stream))


def write_csv(path: Path, rows: list[list[str]], encoding: str = "utf-8") -> Path:
    with path.open("w", encoding=encoding, newline="") as stream:
        csv.writer(stream).writerows(rows)
    return path


def edited(source: Path, target: Path, line: int, column: str, value: str) -> Path:
    """`source` with the cell of row `line` (Excel numbering) in `column` set to `value`."""
    rows = read_csv(source)
    rows[line - 1][rows[0].index(column)] = value
    return write_csv(target, rows)


def report_rows(path: Path) -> list[dict[str, str]]:
    assert path.read_bytes().startswith(b"\xef\xbb\xbf")  # a BOM: Excel reads it as UTF-8
    rows = read_csv(path)
    assert rows[0] == ["行号", "列", "原因", "单元格内容"]
    return [dict(zip(rows[0], r, strict=True)) for r in rows[1:]]


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'district.sqlite3'}"


@pytest.fixture
def backend_db(request: pytest.FixtureRequest,
               database_url: Callable[[str], str]) -> Iterator[Database]:
    db = fresh_district(database_url(request.param))
    yield db
    db.dispose()


# -- the sample files and the formats ----------------------------------------------------------

def test_the_sample_files_import(sqlite_url: str) -> None:
    db = fresh_district(sqlite_url)
    code, out = run(db, "persons", SAMPLES / "persons-sample.csv")
    assert code == 0, out
    assert "户籍地址" in out  # the column the district has no field for is named
    code, out = run(db, "fees", SAMPLES / "fees-sample.csv")
    assert code == 0, out
    assert "新增医疗机构 1" in out
    persons = read_csv(SAMPLES / "persons-sample.csv")
    fees = read_csv(SAMPLES / "fees-sample.csv")
    state = snapshot(db)
    assert len(state["persons"]) == len({r[1] for r in persons[1:]})
    assert len(state["category_spans"]) == sum(1 for r in persons[1:] if r[9])
    assert len(state["fee_rows"]) == len(fees) - 1
    with db.read() as session:
        member = session.scalars(select(models.Person).where(
            models.Person.mutual_aid_years != [])).one()
        assert member.mutual_aid_years == list(range(2019, 2027))
        assert member.allowance_balance_fen == 15000
        codes = set(session.scalars(select(models.CategorySpan.code)))
        assert {"dibao", "low_income", "tekun", "distressed_child"} <= codes
        new = session.get(models.Institution, "H31010500099")
        assert new is not None and new.level == 2 and new.in_shanghai
    db.dispose()


def test_the_contract_documents_every_column() -> None:
    text = CONTRACT.read_text(encoding="utf-8")
    columns = person_columns(TODAY, set(), {}) + fee_columns()
    for column in columns:
        assert f"| {column.header}" in text or f", {column.header}" in text, column.header
    assert set(PERSON_HEADER) <= {c.header for c in columns}
    assert set(FEE_HEADER) <= {c.header for c in columns}


@pytest.mark.parametrize(("suffix", "encoding"), [
    (".csv", "utf-8"), (".csv", "utf-8-sig"), (".csv", "gbk"), (".xlsx", "utf-8")])
def test_each_format_imports_the_same_data(tmp_path: Path, drawn: Drawn, suffix: str,
                                           encoding: str) -> None:
    reference = fresh_district(f"sqlite:///{tmp_path / 'reference.sqlite3'}")
    imported(reference, drawn, tmp_path / "utf8")
    db = fresh_district(f"sqlite:///{tmp_path / 'other.sqlite3'}")
    persons, fees = drawn.write(tmp_path / "other", suffix, encoding)
    if suffix == ".csv" and encoding == "gbk":
        assert persons.read_bytes().decode("gbk")  # really GBK: not UTF-8
        with pytest.raises(UnicodeDecodeError):
            persons.read_bytes().decode("utf-8")
    code, out = run(db, "persons", persons)
    assert code == 0, out
    code, out = run(db, "fees", fees)
    assert code == 0, out
    assert snapshot(db) == snapshot(reference)
    db.dispose()
    reference.dispose()


def test_an_excel_number_cell_that_lost_digits_is_refused(tmp_path: Path, sqlite_url: str) -> None:
    rows = read_csv(SAMPLES / "persons-sample.csv")
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(rows[0])
    for row in rows[1:]:
        sheet.append(row)
    sheet.cell(row=2, column=2).value = float(rows[1][1][:17] + "0")  # typed as a number
    member = next(i for i, r in enumerate(rows, 1) if r[16] == "150.00")
    sheet.cell(row=member, column=17).value = 150.0  # an amount as a number cell is fine
    path = tmp_path / "persons.xlsx"
    book.save(path)
    db = fresh_district(sqlite_url)
    code, _ = run(db, "persons", path, tmp_path / "report.csv")
    assert code == 1
    [problem] = report_rows(tmp_path / "report.csv")
    assert problem["行号"] == "2" and problem["列"] == "身份证号码"
    assert "文本格式" in problem["原因"]
    sheet.cell(row=2, column=2).value = rows[1][1]
    book.save(path)
    assert run(db, "persons", path)[0] == 0
    with db.read() as session:
        balances = set(session.scalars(select(models.Person.allowance_balance_fen)))
    assert balances == {0, 15000}
    db.dispose()


# -- whole or nothing ----------------------------------------------------------------------------

def _bad_id(number: str) -> str:
    last = number[-1]
    return number[:-1] + ("0" if last != "0" else "1")


PERSON_FAULTS = [
    ("身份证号码", _bad_id, "校验码应为"),
    ("街镇代码", lambda _: "310105999", "不是本区的街镇代码"),
    ("对象类别", lambda _: "贫困户", "未知的对象类别"),
    ("认定日期", lambda _: "2025-02-30", "不是有效日期"),
    ("互助卡补贴余额", lambda _: "12.345", "最多两位小数"),
]
FEE_FAULTS = [
    ("开票日期", lambda _: "2025-13-01", "不是有效日期"),
    ("自负金额", lambda _: "1.005", "最多两位小数"),
    ("医疗费用总额", lambda _: "1234567890123.00", "金额过大"),
    ("身份证号码", _bad_id, "校验码应为"),
    ("费用类别", lambda _: "体检", "费用类别应为"),
]


@pytest.mark.parametrize("backend_db", BACKENDS, indirect=True)
@pytest.mark.parametrize(("column", "corrupt", "reason"), PERSON_FAULTS + FEE_FAULTS,
                         ids=[f[0] + "-" + f[2] for f in PERSON_FAULTS + FEE_FAULTS])
def test_one_bad_row_writes_nothing_and_the_report_says_where(
        tmp_path: Path, backend_db: Database, drawn: Drawn, column: str,
        corrupt: Callable[[str], str], reason: str) -> None:
    db = backend_db
    persons, fees = drawn.write(tmp_path / "files")
    kind = "persons" if (column, corrupt, reason) in PERSON_FAULTS else "fees"
    if kind == "fees":
        assert run(db, "persons", persons)[0] == 0
    source = persons if kind == "persons" else fees
    rows = read_csv(source)
    line = len(rows) - 2  # late in the file: rows before it were fine
    if column == "认定日期":  # a row that has a category
        line = max(i for i, r in enumerate(rows, 1) if r[rows[0].index("对象类别")])
    if column == "互助卡补贴余额":
        line = next(i for i, r in enumerate(rows, 1) if i > 1 and r[rows[0].index(column)])
    value = corrupt(rows[line - 1][rows[0].index(column)])
    bad = edited(source, tmp_path / f"bad-{kind}.csv", line, column, value)
    before = snapshot(db)
    report = tmp_path / "report.csv"
    code, out = run(db, kind, bad, report)
    assert code == 1, out
    assert "整个文件未写入任何数据" in out and str(report.resolve()) in out
    assert snapshot(db) == before  # nothing written, no change recorded
    problems = report_rows(report)
    assert any(p["行号"] == str(line) and p["列"] == column and reason in p["原因"]
               for p in problems), problems
    assert {p["行号"] for p in problems} == {str(line)}


@pytest.mark.parametrize("backend_db", BACKENDS, indirect=True)
def test_a_bad_row_after_written_chunks_rolls_them_back(tmp_path: Path, backend_db: Database,
                                                        drawn: Drawn) -> None:
    """The fees import writes in chunks as it reads: a bad last row undoes them all."""
    db = backend_db
    persons, fees = drawn.write(tmp_path / "files")
    assert run(db, "persons", persons)[0] == 0
    rows = read_csv(fees)
    bad = edited(fees, tmp_path / "bad.csv", len(rows), "自费金额", "-1.00")
    before = snapshot(db)
    with pytest.raises(ImportRejected) as caught, db.write() as session:
        import_fees(session, bad, today=TODAY, chunk=10)
    assert caught.value.result.rejected_rows == 1
    assert caught.value.result.rows_read == len(rows) - 1
    assert snapshot(db) == before


def test_every_problem_of_a_file_is_reported(tmp_path: Path, sqlite_url: str) -> None:
    db = fresh_district(sqlite_url)
    rows = read_csv(SAMPLES / "persons-sample.csv")
    header = rows[0]
    rows[1][header.index("联系电话")] = "12345"
    rows[2][header.index("终止日期")] = "2018-01-01"  # before its 认定日期
    rows[4][header.index("认定文号")] = ""
    rows[5][header.index("姓名")] = ""
    rows.append(list(rows[1]))  # the same person and span again
    rows[-1][header.index("联系电话")] = rows[1][header.index("联系电话")]
    code, _ = run(db, "persons", write_csv(tmp_path / "p.csv", rows), tmp_path / "r.csv")
    assert code == 1
    found = {(p["行号"], p["列"]) for p in report_rows(tmp_path / "r.csv")}
    assert {("2", "联系电话"), ("3", "终止日期"), ("5", "认定文号"), ("6", "姓名")} <= found
    assert any(line == str(len(rows)) for line, _ in found)
    assert snapshot(db)["persons"] == []
    db.dispose()


def test_a_missing_column_is_reported_on_the_header_row(tmp_path: Path, sqlite_url: str) -> None:
    db = fresh_district(sqlite_url)
    rows = [r[:5] + r[6:] for r in read_csv(SAMPLES / "fees-sample.csv")]  # no 本市定点: fine
    rows = [[c for i, c in enumerate(r) if i != rows[0].index("自负金额")] for r in rows]
    code, _ = run(db, "fees", write_csv(tmp_path / "f.csv", rows), tmp_path / "r.csv")
    assert code == 1
    [problem] = report_rows(tmp_path / "r.csv")
    assert problem["行号"] == "1" and "缺少必需的列" in problem["原因"]
    db.dispose()


# -- idempotency and corrections ---------------------------------------------------------------

@pytest.mark.parametrize("backend_db", BACKENDS, indirect=True)
def test_a_reimport_changes_nothing(tmp_path: Path, backend_db: Database, drawn: Drawn) -> None:
    db = backend_db
    persons, fees = imported(db, drawn, tmp_path / "files")
    before = snapshot(db)
    assert before["last_seq"] > len(drawn.fees)
    for kind, path, count in (("persons", persons, len(drawn.persons)),
                              ("fees", fees, len(drawn.fees))):
        code, out = run(db, kind, path)
        assert code == 0, out
        assert f"导入完成：新增 0，更新 0，未变 {count:,}，拒绝 0；记录变更 0 条。" in out
    assert snapshot(db) == before


@pytest.mark.parametrize("backend_db", BACKENDS, indirect=True)
def test_a_corrected_row_is_updated_and_sent_to_its_street(
        tmp_path: Path, backend_db: Database, drawn: Drawn) -> None:
    db = backend_db
    persons, fees = imported(db, drawn, tmp_path / "files")
    before = snapshot(db)
    person = drawn.persons[3]
    rows = read_csv(persons)
    phone_rows = [i for i, r in enumerate(rows, 1) if r[0] == person["id_number"]]
    for i in phone_rows:
        rows[i - 1][rows[0].index("联系电话")] = "13700001111"
    write_csv(persons, rows)
    row = drawn.fees[5]
    fee_line = 7  # header, then the fee rows in order
    new_total = row["total_fen"] + 100
    edited(fees, fees, fee_line, "医疗费用总额", from_fen(new_total))

    code, out = run(db, "persons", persons)
    assert code == 0 and "新增 0，更新 1，未变" in out, out
    code, out = run(db, "fees", fees)
    assert code == 0 and "新增 0，更新 1，未变" in out, out
    changes = changes_after(db, before["last_seq"])
    assert [(c.entity, c.key, c.op, c.street_code) for c in changes] == [
        ("person", person["id"], "upsert", person["street_code"]),
        ("fee_row", row["id"], "upsert", row["street_code"])]
    assert changes[0].data is not None and changes[0].data["phone"] == "13700001111"
    with db.read() as session:
        stored = session.get(models.FeeRow, row["id"])
        assert stored is not None and stored.total_fen == new_total
        assert changes[1].data == fee_row_data(stored)  # the shape the seed sends


@pytest.mark.parametrize("backend_db", BACKENDS, indirect=True)
def test_a_claimed_fee_row_is_not_changed(tmp_path: Path, backend_db: Database,
                                          drawn: Drawn) -> None:
    db = backend_db
    _, fees = imported(db, drawn, tmp_path / "files")
    row = drawn.fees[2]
    application = _claim(db, row, "assistance")
    code, out = run(db, "fees", fees)  # unchanged: a claimed row may be listed again
    assert code == 0, out
    before = snapshot(db)
    corrected = from_fen(row["total_fen"] + 1)
    bad = edited(fees, tmp_path / "corrected.csv", 4, "医疗费用总额", corrected)
    code, out = run(db, "fees", bad, tmp_path / "report.csv")
    assert code == 1, out
    [problem] = report_rows(tmp_path / "report.csv")
    assert problem["行号"] == "4" and "已被申请认领" in problem["原因"]
    assert application in problem["原因"]
    assert snapshot(db) == before


@pytest.mark.parametrize("backend_db", BACKENDS, indirect=True)
def test_a_members_card_balance_is_the_districts_once_they_applied(
        tmp_path: Path, backend_db: Database, drawn: Drawn) -> None:
    db = backend_db
    persons, _ = imported(db, drawn, tmp_path / "files")
    member = next(p for p in drawn.persons if p["mutual_aid_years"])
    column = "互助卡补贴余额"
    rows = read_csv(persons)
    lines = [i for i, r in enumerate(rows, 1) if r[0] == member["id_number"]]
    for i in lines:
        rows[i - 1][rows[0].index(column)] = from_fen(member["allowance_balance_fen"] + 5000)
    write_csv(persons, rows)
    _claim(db, next(f for f in drawn.fees if f["person_id"] == member["id"]), "mutual_aid")
    before = snapshot(db)
    code, out = run(db, "persons", persons, tmp_path / "report.csv")
    assert code == 1, out
    [problem] = report_rows(tmp_path / "report.csv")
    assert problem["行号"] == str(lines[0]) and problem["列"] == column
    assert "卡内余额由区里" in problem["原因"]
    assert snapshot(db) == before


def _claim(db: Database, row: dict[str, Any], program: str) -> str:
    """An application of `program` holding `row`, as a counter's push would leave it."""
    now = utcnow()
    device, application = str(uuid.uuid4()), str(uuid.uuid4())
    with db.write() as session:
        session.add(models.Device(id=device, name="测试柜台", street_code=row["street_code"],
                                  token_hash=uuid.uuid4().hex * 2, registered_at=now))
        session.flush()
        session.add(models.Application(
            id=application, program=program, district="changning", person_id=row["person_id"],
            street_code=row["street_code"], device_id=device, handler="clerk",
            application_date=TODAY, payable_fen=100, parameter_versions=[], case_json={},
            status="accepted", created_at=now, received_at=now))
        session.flush()
        session.add(models.Claim(fee_row_id=row["id"], application_id=application,
                                 street_code=row["street_code"], device_id=device,
                                 claimed_at=now, status="claimed"))
    return application


def test_spans_follow_the_file_and_a_move_reaches_both_streets(tmp_path: Path,
                                                               sqlite_url: str,
                                                               drawn: Drawn) -> None:
    db = fresh_district(sqlite_url)
    persons, _ = imported(db, drawn, tmp_path / "files")
    before = snapshot(db)
    with_two = next(p for p in drawn.persons
                    if sum(s["person_id"] == p["id"] for s in drawn.spans) == 2)
    mover = next(p for p in drawn.persons if p["street_code"] == CHANGNING_STREET
                 and any(f["person_id"] == p["id"] for f in drawn.fees) and p is not with_two)
    rows = read_csv(persons)
    header = rows[0]
    kept = [r for r in rows if r[0] != with_two["id_number"]]
    dropped = [r for r in rows if r[0] == with_two["id_number"]]
    dropped[0][header.index("终止日期")] = (TODAY - timedelta(days=3)).isoformat()
    for r in kept:
        if r[0] == mover["id_number"]:
            r[header.index("街镇代码")] = MINHANG_STREET
    write_csv(persons, [*kept, dropped[0]])  # the second span is no longer listed
    code, out = run(db, "persons", persons)
    assert code == 0, out
    assert "对象类别：新增 0，更新 1，删除 1" in out
    changes = changes_after(db, before["last_seq"])
    ops = [(c.entity, c.op, c.street_code) for c in changes]
    assert ("category_span", "delete", with_two["street_code"]) in ops
    assert ("person", "delete", CHANGNING_STREET) in ops
    moved = [c for c in changes if c.street_code == MINHANG_STREET]
    mover_rows = {f["id"] for f in drawn.fees if f["person_id"] == mover["id"]}
    assert {c.key for c in moved if c.entity == "fee_row"} == mover_rows
    assert any(c.entity == "person" and c.key == mover["id"] for c in moved)
    with db.read() as session:
        streets = set(session.scalars(select(models.FeeRow.street_code)
                                      .where(models.FeeRow.person_id == mover["id"])))
        assert streets == {MINHANG_STREET}
    db.dispose()


def test_a_fee_row_given_to_a_person_of_another_street_leaves_the_old_one(
        tmp_path: Path, sqlite_url: str, drawn: Drawn) -> None:
    db = fresh_district(sqlite_url)
    _, fees = imported(db, drawn, tmp_path / "files")
    before = snapshot(db)
    index, row = next((i, f) for i, f in enumerate(drawn.fees)
                      if f["street_code"] == CHANGNING_STREET)
    other = next(p for p in drawn.persons if p["street_code"] == MINHANG_STREET)
    edited(fees, fees, index + 2, "身份证号码", other["id_number"])
    edited(fees, fees, index + 2, "姓名", other["name"])
    code, out = run(db, "fees", fees)
    assert code == 0 and "更新 1" in out, out
    assert [(c.entity, c.key, c.op, c.street_code) for c in changes_after(db, before["last_seq"])
            ] == [("fee_row", row["id"], "delete", CHANGNING_STREET),
                  ("fee_row", row["id"], "upsert", MINHANG_STREET)]
    db.dispose()


# -- the command ---------------------------------------------------------------------------------

def test_the_command_and_its_exit_codes(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'district.sqlite3'}"
    fresh_district(url).dispose()
    missing = run_district("import", "persons", str(tmp_path / "none.csv"), "--database-url", url)
    assert missing.returncode == 2 and "找不到文件" in missing.stderr
    done = run_district("import", "persons", str(SAMPLES / "persons-sample.csv"),
                        "--database-url", url)
    assert done.returncode == 0, done.stderr
    assert "导入完成：新增 7" in done.stdout
    bad = edited(SAMPLES / "fees-sample.csv", tmp_path / "fees.csv", 3, "开票日期", "明天")
    rejected = run_district("import", "fees", str(bad), "--database-url", url)
    assert rejected.returncode == 1
    report = tmp_path / "fees.错误报告.csv"
    assert f"错误报告：{report}" in rejected.stdout
    assert report_rows(report)[0]["行号"] == "3"
    elsewhere = tmp_path / "reports" / "r.csv"
    again = run_district("import", "fees", str(bad), "--database-url", url, "--report",
                         str(elsewhere))
    assert again.returncode == 1 and elsewhere.exists()
    not_fees = run_district("import", "fees", str(report), "--database-url", url)
    assert not_fees.returncode == 1 and "缺少必需的列" in not_fees.stdout
    done = run_district("import", "fees", str(SAMPLES / "fees-sample.csv"), "--database-url", url)
    assert done.returncode == 0, done.stderr
    assert re.search(r"导入完成：新增 13，更新 0，未变 0，拒绝 0", done.stdout)


def test_progress_is_reported_on_long_imports(tmp_path: Path, sqlite_url: str,
                                              monkeypatch: pytest.MonkeyPatch,
                                              drawn: Drawn) -> None:
    import district.imports.outcome as outcome

    monkeypatch.setattr(outcome, "PROGRESS_EVERY", 50)
    db = fresh_district(sqlite_url)
    persons, fees = drawn.write(tmp_path / "files")
    assert run_import(db, "persons", persons, today=TODAY, out=io.StringIO(),
                      err=io.StringIO()) == 0
    err = io.StringIO()
    assert run_import(db, "fees", fees, today=TODAY, out=io.StringIO(), err=err) == 0
    lines = err.getvalue().splitlines()
    assert len(lines) == len(drawn.fees) // 50
    assert re.fullmatch(r"已读取 50 行（[0-9,]+ 行/秒）", lines[0])
    db.dispose()


# -- the fast paths agree with the slow ones ----------------------------------------------------

@given(st.from_regex(r"-?[0-9]{0,14}(\.[0-9]{0,4})?|[0-9]+[eE,][0-9]+| ?[0-9.]+ ?",
                     fullmatch=True))
def test_amounts_are_read_as_parse_amount_reads_them(text: str) -> None:
    try:
        expected: int | None = to_fen(text)
    except MoneyFormatError:
        expected = None
    try:
        got: int | None = fen(text)
    except ValueError:
        got = None
    assert got == expected


@given(st.sets(st.integers(2000, 2100), min_size=1, max_size=30))
def test_membership_years_read_back(values: set[int]) -> None:
    assert years(years_text(sorted(values))) == sorted(values)


def test_the_fast_change_data_is_the_seeds(drawn: Drawn) -> None:
    for row in drawn.fees:
        assert fee_row_wire(row) == fee_row_data(SimpleNamespace(**row))  # type: ignore[arg-type]


def test_bulk_changes_are_recorded_as_record_changes_records_them(tmp_path: Path) -> None:
    db = fresh_district(f"sqlite:///{tmp_path / 'd.sqlite3'}")
    moment = utcnow()
    changes = [PendingChange("person", "P1", CHANGNING_STREET, {"a": "甲", "n": 1}),
               PendingChange("institution", "H1", None, {"b": [1, 2]}),
               PendingChange("category_span", "C1", MINHANG_STREET, None, op="delete")]
    with db.write() as session:
        record_changes(session, changes, at=moment)
        record_changes_bulk(session, changes, at=moment)
    with db.read() as session:
        rows = [tuple(r)[1:] for r in session.execute(
            models.table_of(models.Change).select().order_by(models.Change.seq))]
    assert rows[:3] == rows[3:] and len(rows) == 6
    db.dispose()


# -- a property: generated rows, imported, import again as a no-op ------------------------------

_amounts = st.integers(0, 5_000_000)


@st.composite
def fee_rows(draw: st.DrawFn) -> list[list[str]]:
    rows = []
    for n in range(draw(st.integers(1, 12))):
        total = draw(_amounts)
        out_of_scope = draw(st.integers(0, total))
        self_pay = draw(st.integers(0, total - out_of_scope))
        deductible = draw(st.integers(0, self_pay))
        institution = draw(st.sampled_from(INSTITUTIONS))
        illness = draw(st.booleans())
        rows.append([
            PROPERTY_PERSON[0], PROPERTY_PERSON[1], institution.code, institution.name,
            str(draw(st.integers(1, 3))), "", f"{draw(st.integers(0, 10**8)):010d}-{n}",
            f"{institution.province}06{institution.code[-4:]}" if draw(st.booleans()) else "",
            "", "",
            (TODAY - timedelta(days=draw(st.integers(0, 800)))).isoformat(),
            draw(st.sampled_from(["门急诊", "住院", "门诊大病", "outpatient"])),
            from_fen(total), from_fen(out_of_scope), from_fen(self_pay), from_fen(deductible),
            "0.00", "0.00", "否", draw(st.sampled_from(["是", "否", ""])), "否",
            draw(st.sampled_from(["待清算", "已清算", ""])), "是" if illness else "否",
            "是" if illness and draw(st.booleans()) else "否", "否"])
    return rows


PROPERTY_PERSON = (generate_id_number(random.Random(3), "310105", date(1960, 5, 5), "F"),
                   "测试甲")


@pytest.fixture(scope="module")
def property_db(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Database, Path]]:
    folder = tmp_path_factory.mktemp("property")
    db = fresh_district(f"sqlite:///{folder / 'd.sqlite3'}")
    persons = write_csv(folder / "p.csv", [["身份证号码", "姓名", "街镇代码"],
                                           [*PROPERTY_PERSON, CHANGNING_STREET]])
    assert run(db, "persons", persons)[0] == 0
    yield db, folder
    db.dispose()


@settings(max_examples=25, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=fee_rows())
def test_generated_rows_import_then_import_again_as_a_no_op(
        property_db: tuple[Database, Path], rows: list[list[str]]) -> None:
    db, folder = property_db
    body = list({(r[2], r[6]): r for r in rows}.values())  # a file has each key once
    path = write_csv(folder / "f.csv", [[*FEE_HEADER], *body])
    with db.write() as session:
        first = import_fees(session, path, today=TODAY)
    with db.write() as session:
        again = import_fees(session, path, today=TODAY)
    assert again.counts == {"new": 0, "updated": 0, "unchanged": len(body),
                            "institutions_new": 0}
    assert again.changes == 0
    assert first.counts["new"] + first.counts["updated"] + first.counts["unchanged"] == len(body)
