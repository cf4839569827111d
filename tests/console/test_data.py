"""The console's 数据导入 (issue 14): upload, a preview that writes nothing, the import in the
background with its progress, the report, and who may do what."""

from __future__ import annotations

import csv
import io
import random
import re
import time
import uuid
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from openpyxl import Workbook
from sqlalchemy import func, select

from desktop.domain.id_number import generate_id_number
from district import models
from district.imports.files import FEE_HEADER, PERSON_HEADER, fee_cells, person_cells
from district.services import console_imports
from district.services.audit import verify_audit_trail
from district.values import utcnow
from tests.console.conftest import Browser, ConsoleDistrict
from tests.district.harness import CHANGNING_STREET

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
STATUS = re.compile(r'id="status" data-status="([a-z]+)"')
UPLOAD_ID = re.compile(r"/console/data/([0-9a-f-]{36})")


def csv_bytes(header: tuple[str, ...], rows: list[list[str]]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue().encode("utf-8")


def xlsx_bytes(header: tuple[str, ...], rows: list[list[str]]) -> bytes:
    book = Workbook(write_only=True)
    sheet = book.create_sheet()
    sheet.append(list(header))
    for row in rows:
        sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def fee_rows(district: ConsoleDistrict, count: int) -> list[list[str]]:
    """`count` new fee rows (fresh receipt numbers) of seeded Changning persons (the admin's
    district: an upload touches no other), at a known hospital."""
    with district.db.read() as session:
        people = session.execute(select(models.Person.id_number, models.Person.name)
                                 .join(models.Street,
                                       models.Street.code == models.Person.street_code)
                                 .where(models.Street.district == "changning")
                                 .order_by(models.Person.id).limit(count)).all()
        hospital = session.scalars(select(models.Institution)
                                   .where(models.Institution.in_shanghai)).first()
    assert hospital is not None and len(people) == count
    tag = uuid.uuid4().hex[:10].upper()
    rows = []
    for i, (number, name) in enumerate(people):
        row: dict[str, Any] = {
            "institution_code": hospital.code, "hospital_level": hospital.level,
            "receipt_no": f"T{tag}{i:03d}", "issuer_code": None, "check_code": None,
            "receipt_qr": None, "receipt_date": date.today() - timedelta(days=10 + i),
            "kind": "outpatient", "total_fen": 100_00 + i, "out_of_scope_fen": 10_00,
            "self_pay_fen": 30_00, "deductible_part_fen": 0, "external_deductible_fen": 0,
            "external_reimbursed_fen": 0, "out_of_province_filed": False,
            "one_stop_settled": False, "already_claimed": False, "clearing_pending": False,
            "major_illness": False, "major_illness_doc": False, "means_test_included": False}
        rows.append(fee_cells(row, (number, name), (hospital.name, True)))
    return rows


def person_rows(count: int) -> list[list[str]]:
    rnd = random.Random(uuid.uuid4().int)
    rows: list[list[str]] = []
    for i in range(count):
        number = generate_id_number(rnd, "310105", date(1950 + i, 3, 1 + i), "F")
        person = {"id_number": number, "name": f"测试{'甲乙丙丁戊'[i % 5]}{i}",
                  "street_code": CHANGNING_STREET, "phone": "13800000000",
                  "address": "华阳路 1 号", "committee": "", "bank_account": "",
                  "resident_insurance": True, "mutual_aid_years": [],
                  "mutual_aid_benefits_from": None, "external_inpatient_insurance": False,
                  "allowance_balance_fen": 0}
        rows.extend(person_cells(person, [], {}))
    return rows


def counts(district: ConsoleDistrict) -> tuple[int, int, int, int]:
    with district.db.read() as session:
        return (session.scalar(select(func.count()).select_from(models.FeeRow)) or 0,
                session.scalar(select(func.count()).select_from(models.Person)) or 0,
                session.scalar(select(func.count()).select_from(models.Change)) or 0,
                session.scalar(select(func.max(models.Change.seq))) or 0)


def upload(browser: Browser, kind: str, name: str, content: bytes) -> str:
    """Upload a file; the id of its upload (its preview page is where it leads)."""
    browser.get("/console/data")
    mime = XLSX if name.endswith(".xlsx") else "text/csv"
    response = browser.client.post("/console/data/upload",
                                   data={"kind": kind, "csrf_token": browser.csrf},
                                   files={"file": (name, content, mime)})
    assert response.status_code == 303, response.text
    found = UPLOAD_ID.search(str(response.headers["location"]))
    assert found is not None
    return found.group(1)


def settled(browser: Browser, import_id: str, timeout: float = 60.0) -> str:
    """The upload's page once its preview or import has ended."""
    deadline = time.monotonic() + timeout
    while True:
        page = browser.get(f"/console/data/{import_id}")
        assert page.status_code == 200, page.text
        status = STATUS.search(page.text)
        assert status is not None
        if status.group(1) not in ("previewing", "running"):
            assert "Refresh" not in page.headers
            return str(page.text)
        assert page.headers.get("Refresh") == "1"
        assert 'id="progress"' in page.text
        assert time.monotonic() < deadline, "the upload's work did not end"
        time.sleep(0.1)


def audit_actions(district: ConsoleDistrict, import_id: str) -> list[dict[str, Any]]:
    with district.db.read() as session:
        events = session.scalars(select(models.AuditEvent)
                                 .where(models.AuditEvent.subject == import_id)
                                 .order_by(models.AuditEvent.chain_seq)).all()
        return [{"action": e.action, "detail": e.detail} for e in events]


def test_a_fee_file_with_a_bad_row_is_previewed_fixed_and_imported(
        console_district: ConsoleDistrict, admin: Browser) -> None:
    rows = fee_rows(console_district, 4)
    bad = [*rows[:2], list(rows[2]), rows[3]]
    bad[2][FEE_HEADER.index("自负金额")] = "95.00"  # more than 总额 − 自费 (90.02)
    before = counts(console_district)

    first = upload(admin, "fees", "费用明细.csv", csv_bytes(FEE_HEADER, bad))
    page = settled(admin, first)
    assert counts(console_district) == before  # the dry run wrote nothing
    rejected = re.search(r'<table id="rejections">.*?</table>', page, re.S)
    assert rejected is not None
    cells = re.findall(r"<td[^>]*>(.*?)</td>", rejected.group(0))
    assert cells[:2] == ["4", "自负金额"]  # the header is row 1: the third data row is row 4
    assert "超过医疗费用总额减自费金额" in cells[2]
    assert 'id="run-import"' not in page and 'id="discard"' in page
    assert rows[0][FEE_HEADER.index("票据号码")] in page  # the first rows, as read
    report = admin.get(f"/console/data/{first}/report.csv")
    assert report.content.startswith("\ufeff".encode())
    assert "自负金额" in report.content.decode("utf-8-sig")
    refused = admin.post(f"/console/data/{first}/import")
    assert refused.status_code == 409
    assert admin.post(f"/console/data/{first}/discard").status_code == 303
    assert 'data-status="discarded"' in admin.get("/console/data").text

    fixed = upload(admin, "fees", "费用明细.xlsx", xlsx_bytes(FEE_HEADER, rows))
    page = settled(admin, fixed)
    assert 'id="preview-clean"' in page and 'id="run-import"' in page
    assert "预览：可以导入，预计新增 4" in page
    assert counts(console_district) == before
    started = admin.post(f"/console/data/{fixed}/import")
    assert started.status_code == 303
    assert admin.post(f"/console/data/{fixed}/import").status_code == 409  # not twice
    page = settled(admin, fixed)
    assert 'data-status="imported"' in page
    assert "导入完成：新增 4" in page
    after = counts(console_district)
    assert after[0] == before[0] + 4 and after[1] == before[1]
    receipts = [r[FEE_HEADER.index("票据号码")] for r in rows]
    with console_district.db.read() as session:
        ids = session.scalars(select(models.FeeRow.id)
                              .where(models.FeeRow.receipt_no.in_(receipts))).all()
        fed = session.scalars(select(models.Change.key).where(
            models.Change.seq > before[3], models.Change.entity == "fee_row",
            models.Change.street_code.is_not(None))).all()
        kept = session.get(models.ConsoleImport, fixed)
    assert len(ids) == 4 and set(ids) <= set(fed)  # counters pull them
    assert kept is not None and kept.content is None and kept.rows_done == 4
    report = admin.get(f"/console/data/{fixed}/report.csv")
    assert report.status_code == 200 and report.content.startswith("\ufeff".encode())
    assert admin.post(f"/console/data/{fixed}/import").status_code == 409

    actions = audit_actions(console_district, fixed)
    assert [a["action"] for a in actions] == ["console.import_previewed", "console.import_run"]
    assert actions[1]["detail"]["new"] == 4 and actions[1]["detail"]["outcome"] == "imported"
    assert [a["action"] for a in audit_actions(console_district, first)] == [
        "console.import_previewed", "console.import_discarded"]
    listing = admin.get("/console/data").text
    assert f'id="upload-{fixed}" data-status="imported"' in listing
    with console_district.db.read() as session:
        assert verify_audit_trail(session).intact


def test_a_running_import_shows_its_progress_and_blocks_another_of_its_kind(
        console_district: ConsoleDistrict, admin: Browser) -> None:
    running = str(uuid.uuid4())
    with console_district.db.write() as session:
        session.add(models.ConsoleImport(
            id=running, kind="persons", filename="大名单.csv", uploaded_by="changning.admin",
            uploaded_at=utcnow(), status="running", rows_total=4000, rows_done=0,
            content=b"x"))
    assert console_imports.LIVE.start(running, "persons")
    try:
        console_imports.LIVE.working[running] = 1000
        page = admin.get(f"/console/data/{running}")
        assert page.headers.get("Refresh") == "1"
        assert '<progress id="progress" value="1000" max="4000">' in page.text
        waiting = upload(admin, "persons", "人员名单.csv",
                         csv_bytes(PERSON_HEADER, person_rows(1)))
        assert 'id="preview-clean"' in settled(admin, waiting)
        refused = admin.post(f"/console/data/{waiting}/import")
        assert refused.status_code == 409 and "正在导入" in refused.text
    finally:
        console_imports.LIVE.end(running, "persons")
    # the thread is gone (as after a restart): the import is marked failed, nothing kept
    page = admin.get(f"/console/data/{running}").text
    assert 'data-status="failed"' in page and "整个文件未写入任何数据" in page
    assert admin.post(f"/console/data/{waiting}/import").status_code == 303
    assert 'data-status="imported"' in settled(admin, waiting)


def test_a_persons_file_is_imported(console_district: ConsoleDistrict, admin: Browser) -> None:
    before = counts(console_district)
    import_id = upload(admin, "persons", "人员名单.csv", csv_bytes(PERSON_HEADER, person_rows(3)))
    page = settled(admin, import_id)
    assert 'id="preview-clean"' in page, page
    assert admin.post(f"/console/data/{import_id}/import").status_code == 303
    page = settled(admin, import_id)
    assert 'data-status="imported"' in page
    assert counts(console_district)[1] == before[1] + 3


def test_on_sqlite_an_upload_not_worked_on_here_is_settled_whatever_its_lease(
        console_district: ConsoleDistrict, admin: Browser) -> None:
    """SQLite has one process: the lease (PostgreSQL's, for several processes) is neither
    written nor trusted; a running upload this process is not importing was left by a process
    that ended, even with a fresh heartbeat in its row."""
    import_id = upload(admin, "persons", "人员名单.csv", csv_bytes(PERSON_HEADER, person_rows(1)))
    settled(admin, import_id)
    with console_district.db.read() as session:
        row = session.get(models.ConsoleImport, import_id)
        assert row is not None and row.worker is None and row.heartbeat_at is None
    running = str(uuid.uuid4())
    with console_district.db.write() as session:
        session.add(models.ConsoleImport(
            id=running, kind="fees", filename="费用.csv", uploaded_by="changning.admin",
            uploaded_at=utcnow(), status="running", rows_total=10, rows_done=0,
            content=b"x", worker="elsewhere:1", heartbeat_at=utcnow()))
    page = admin.get(f"/console/data/{running}").text
    assert 'data-status="failed"' in page


def test_a_file_the_importer_cannot_read_is_refused(admin: Browser) -> None:
    admin.get("/console/data")
    response = admin.client.post("/console/data/upload",
                                 data={"kind": "fees", "csrf_token": admin.csrf},
                                 files={"file": ("fees.pdf", b"%PDF", "application/pdf")})
    assert response.status_code == 400
    assert "不支持的文件类型" in response.text


def test_a_reviewer_reads_but_cannot_upload(console_district: ConsoleDistrict,
                                            tmp_path: Path) -> None:
    reviewer = console_district.browser().sign_in(console_district.user(None, "reviewer"))
    page = reviewer.get("/console/data")
    assert page.status_code == 200 and 'id="upload"' not in page.text
    response = reviewer.client.post(
        "/console/data/upload", data={"kind": "fees", "csrf_token": reviewer.csrf},
        files={"file": ("f.csv", csv_bytes(FEE_HEADER, []), "text/csv")})
    assert response.status_code == 403
    with console_district.db.read() as session:
        assert session.scalars(select(models.ConsoleImport).where(
            models.ConsoleImport.uploaded_by == reviewer_name(console_district))).first() is None


def reviewer_name(district: ConsoleDistrict) -> str:
    return district.user(None, "reviewer")


def test_an_upload_without_its_csrf_token_is_refused(console_district: ConsoleDistrict,
                                                     admin: Browser) -> None:
    with console_district.db.read() as session:
        before = session.scalar(select(func.count()).select_from(models.ConsoleImport))
    response = admin.client.post("/console/data/upload", data={"kind": "fees"},
                                 files={"file": ("f.csv", csv_bytes(FEE_HEADER, []), "text/csv")})
    assert response.status_code == 403
    with console_district.db.read() as session:
        assert session.scalar(select(func.count()).select_from(models.ConsoleImport)) == before


def test_import_and_discard_need_their_csrf_token(admin: Browser) -> None:
    import_id = upload(admin, "persons", "人员名单.csv", csv_bytes(PERSON_HEADER, person_rows(1)))
    settled(admin, import_id)
    for action in ("import", "discard"):
        response = admin.post(f"/console/data/{import_id}/{action}", csrf=False)
        assert response.status_code == 403
    assert 'id="preview-clean"' in admin.get(f"/console/data/{import_id}").text


def test_a_street_user_cannot_upload(console_district: ConsoleDistrict, admin: Browser) -> None:
    name = console_district.add_user("district_admin", CHANGNING_STREET,
                                     display_name="街镇管理员")
    street = console_district.browser().sign_in(name)
    page = street.get("/console/data")
    assert 'id="upload-refused"' in page.text and 'id="upload"' not in page.text
    assert 'id="upload-' not in page.text.replace('id="upload-refused"', "")  # no others'
    response = street.client.post(
        "/console/data/upload", data={"kind": "persons", "csrf_token": street.csrf},
        files={"file": ("p.csv", csv_bytes(PERSON_HEADER, person_rows(1)), "text/csv")})
    assert response.status_code == 403 and "街镇账号不能导入" in response.text
    shown = upload(admin, "persons", "人员名单.csv", csv_bytes(PERSON_HEADER, person_rows(1)))
    assert street.get(f"/console/data/{shown}").status_code == 404
    assert street.get(f"/console/data/{shown}/report.csv").status_code == 404


def test_anonymous_is_sent_to_sign_in(browser: Browser) -> None:
    assert browser.get("/console/data").status_code == 303
    assert browser.client.post("/console/data/upload", data={"kind": "fees"},
                               files={"file": ("f.csv", b"x", "text/csv")}).status_code == 401
