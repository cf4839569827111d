"""月度汇总 in the console (issue 14 point 5): each street's 结算汇总表 and 发放清单 for a month,
the district's workbook and PDF on the counters' forms, and who has not sent theirs by the
20th (CN-2026 3.5).

The module seeds a district of its own (the shared console_district is left as it is): a
second 长宁 street, 新华路街道, with two of 华阳路街道's applications of MONTH, and one
street-scoped console reviewer per street.
"""

from __future__ import annotations

import io
import tempfile
import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import openpyxl
import pdfplumber
import pytest
from sqlalchemy import select, update

from desktop.policy.contract import default_parameters, parse_case, result_to_json
from desktop.policy.engine import calculate
from desktop.services import reports as counter_reports
from desktop.store import open_store
from desktop.store.models import ApplicationRecord
from district import models
from district.config import Settings
from district.console.web import ABSOLUTE, COOKIE
from district.db import Database
from district.security import new_token, token_hash
from district.seed import SeedOptions, seed_district
from district.services.month_report import (
    LATE,
    NOTHING,
    SENT,
    WAITING,
    report_deadline,
    sending,
)
from district.services.summary import month_bounds, monthly_summary
from district.values import SHANGHAI, from_fen, utcnow
from tests.console.conftest import Browser, ConsoleDistrict
from tests.district.harness import CHANGNING_STREET, MINHANG_STREET, PASSWORD

MONTH = "2026-06"  # a month the seed settles applications in, long past its 20th
SECOND_STREET = "310105002"  # 新华路街道, made here
SECOND_NAME = "新华路街道"
FIRST_VIEWER = "huayang.viewer"
SECOND_VIEWER = "xinhua.viewer"
CHANGNING = [CHANGNING_STREET, SECOND_STREET]


def month_application_ids(db: Database, street: str, month: str = MONTH) -> list[str]:
    start, end = month_bounds(month)
    with db.read() as session:
        return sorted(session.scalars(
            select(models.Application.id).join(
                models.Signature, models.Signature.application_id == models.Application.id)
            .where(models.Signature.role == "approver", models.Signature.received_at >= start,
                   models.Signature.received_at < end,
                   models.Application.street_code == street,
                   models.Application.status.in_(("approved", "paid")))))


@pytest.fixture(scope="module")
def month_district(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ConsoleDistrict]:
    folder: Path = tmp_path_factory.mktemp("console-month")
    url = f"sqlite:///{folder / 'district.sqlite'}"
    db = Database(url)
    report = seed_district(db, SeedOptions(persons=60, password=PASSWORD,
                                           streets=[CHANGNING_STREET, MINHANG_STREET]))
    moved = month_application_ids(db, CHANGNING_STREET)[:2]
    assert len(moved) == 2
    with db.write() as session:
        session.add(models.Street(code=SECOND_STREET, name=SECOND_NAME, district="changning",
                                  kind="street", slug="xinhualu"))
        session.flush()
        session.execute(update(models.Application).where(models.Application.id.in_(moved))
                        .values(street_code=SECOND_STREET))
    district = ConsoleDistrict(db, Settings(database_url=url), report)
    for name, street in ((FIRST_VIEWER, CHANGNING_STREET), (SECOND_VIEWER, SECOND_STREET)):
        district.add_user("district_reviewer", street, username=name, display_name=name)
    try:
        yield district
    finally:
        db.dispose()


@pytest.fixture
def month_admin(month_district: ConsoleDistrict) -> Browser:
    return month_district.browser().sign_in(month_district.user(None, "admin"))


def _district_summary(district: ConsoleDistrict, streets: list[str]):  # type: ignore[no-untyped-def]
    with district.db.read() as session:
        return monthly_summary(session, MONTH, streets)


def _workbook(response_content: bytes) -> openpyxl.Workbook:
    return openpyxl.load_workbook(io.BytesIO(response_content))


def _by_street(sheet) -> dict[str, tuple[int, Decimal]]:  # type: ignore[no-untyped-def]
    """区汇总's street lines: code -> (applications, total)."""
    out = {}
    for row in sheet.iter_rows(min_row=4, values_only=True):
        if row[1] and str(row[1]).isdigit():
            out[str(row[1])] = (int(row[2]), Decimal(str(row[4])).quantize(Decimal("0.01")))
    return out


# -- the page ---------------------------------------------------------------------------------

def test_the_month_shows_every_street_with_its_totals_and_payout_list(
        month_admin: Browser, month_district: ConsoleDistrict) -> None:
    page = month_admin.get(f"/console/month?month={MONTH}")
    assert page.status_code == 200, page.text
    html = page.text
    for needle in ('id="month"', 'id="download-xlsx"', 'id="download-pdf"',
                   'id="late-streets"', "华阳路街道", SECOND_NAME, "发放清单", "结算汇总表",
                   "其中免申即享"):
        assert needle in html, needle
    assert "江川路街道" not in html  # another district's street
    expected = _district_summary(month_district, CHANGNING)
    assert f"{Decimal(expected.payable):,.2f}" in html
    # cards: the last 4 digits only
    with month_district.db.read() as session:
        accounts = [a for a in session.scalars(select(models.Person.bank_account)) if a]
    assert not any(account in html for account in accounts)
    assert "****" in html


def test_the_default_month_is_last_month(month_admin: Browser) -> None:
    today = datetime.now(SHANGHAI).date()
    last = date(today.year - (today.month == 1), (today.month - 2) % 12 + 1, 1)
    page = month_admin.get("/console/month")
    assert page.status_code == 200
    assert f'value="{last:%Y-%m}"' in page.text


@pytest.mark.parametrize("bad", ["2026-13", "2026-6", "june", "1999-12", "2026-06-01"])
def test_a_bad_month_is_a_422_page_naming_the_field(month_admin: Browser, bad: str) -> None:
    page = month_admin.get("/console/month", params={"month": bad})
    assert page.status_code == 422
    assert "month" in page.text and "月份" in page.text
    download = month_admin.get(f"/console/month/{bad}.xlsx")
    assert download.status_code in (404, 422)


# -- the downloads ----------------------------------------------------------------------------

def test_the_xlsx_totals_are_the_district_summary_and_the_counters_report(
        month_admin: Browser, month_district: ConsoleDistrict, tmp_path: Path) -> None:
    response = month_admin.get(f"/console/month/{MONTH}.xlsx")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith(
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
    assert "attachment" in response.headers["content-disposition"]
    book = _workbook(response.content)
    assert book.sheetnames[0] == "区汇总"
    lines = _by_street(book["区汇总"])
    expected = _district_summary(month_district, CHANGNING)  # what GET /monthly-summary serves
    assert set(lines) == set(CHANGNING)
    for street in expected.streets:
        assert lines[street.street_code] == (street.applications, Decimal(street.payable)), \
            street.street_code
    assert sum(n for n, _ in lines.values()) == expected.applications > 0
    assert sum(t for _, t in lines.values()) == Decimal(expected.payable)

    # each street's sheets are the counter's forms, computed by the counter's report code on
    # a counter store holding the district's applications as the counter has them (pulled:
    # status, approval accepted at, applicant snapshot, case and its result)
    with open_store(tmp_path / "counter.sqlite") as store:
        _mirror_applications(month_district, store)
        for code, name in ((CHANGNING_STREET, "华阳路街道"), (SECOND_STREET, SECOND_NAME)):
            counter = counter_reports.monthly_summary(store, street_code=code, year=2026,
                                                      month=6)
            payout = counter_reports.payout_list(store, street_code=code, year=2026, month=6)
            sheet = book[f"{name}结算汇总表"]
            assert _sheet_total(sheet) == counter.total == lines[code][1]
            assert _category_amounts(sheet) == {
                c.label: c.amount for c in counter.categories}
            payout_sheet = book[f"{name}发放清单"]
            assert _sheet_total(payout_sheet, column=8) == payout.total == counter.total
            assert [r[1] for r in payout_sheet.iter_rows(min_row=4, values_only=True)
                    if isinstance(r[0], int)] == [line.name for line in payout.lines]


def _sheet_total(sheet, column: int = 4) -> Decimal:  # type: ignore[no-untyped-def]
    """The first 合计 line's amount (the summary's programs, or the payout list's)."""
    for row in sheet.iter_rows(min_row=4, values_only=True):
        if row[0] == "合计":
            return Decimal(str(row[column])).quantize(Decimal("0.01"))
    raise AssertionError("no 合计 line")


def _category_amounts(sheet) -> dict[str, Decimal]:  # type: ignore[no-untyped-def]
    out: dict[str, Decimal] = {}
    section = ""
    for row in sheet.iter_rows(min_row=4, values_only=True):
        if row[0] and str(row[0]).startswith(("一、", "二、", "三、", "四、")):
            section = str(row[0])
        elif section.startswith("二、") and row[0] != "合计" and row[1]:
            out[str(row[1])] = Decimal(str(row[4])).quantize(Decimal("0.01"))
    return out


def _mirror_applications(district: ConsoleDistrict, store) -> None:  # type: ignore[no-untyped-def]
    parameters = default_parameters()
    with district.db.read() as session:
        rows = session.execute(
            select(models.Application, models.Signature.received_at, models.Person)
            .join(models.Signature, models.Signature.application_id == models.Application.id)
            .join(models.Person, models.Person.id == models.Application.person_id)
            .where(models.Signature.role == "approver")).all()
        buckets: dict[str, dict[str, str]] = {}
        for b in session.scalars(select(models.ApplicationBucket)):
            buckets.setdefault(b.application_id, {})[b.bucket] = from_fen(b.amount_fen)
    with store.session() as counter:
        for app, approved_at, person in rows:
            result = result_to_json(calculate(parse_case(app.case_json, parameters),
                                              parameters), parameters)
            counter.add(ApplicationRecord(
                id=uuid.UUID(app.id), program=app.program, district=app.district,
                person_id=app.person_id, auto_enrolled=app.auto_enrolled,
                bank_account=app.bank_account, status=app.status,
                applicant={"street_code": app.street_code, "name": person.name,
                           "id_number": person.id_number, "committee": person.committee,
                           "bank_account": person.bank_account},
                accepted_at=app.received_at, approval_accepted_at=approved_at,
                payable=Decimal(from_fen(app.payable_fen)), buckets=buckets.get(app.id, {}),
                case=app.case_json, result=result, created_by=app.handler))


def test_the_pdf_is_the_counters_forms_for_every_street(
        month_admin: Browser, month_district: ConsoleDistrict) -> None:
    response = month_admin.get(f"/console/month/{MONTH}.pdf")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/pdf"
    assert response.content.startswith(b"%PDF")
    with tempfile.TemporaryFile() as handle:
        handle.write(response.content)
        handle.seek(0)
        with pdfplumber.open(handle) as pdf:
            text = "\n".join(page.extract_text() or "" for page in pdf.pages)
    assert "医疗救助帮困月度结算汇总表" in text and "医疗救助帮困发放清单" in text
    for street in _district_summary(month_district, CHANGNING).streets:
        assert street.street_name in text
        assert f"{Decimal(street.payable):,.2f}" in text, street.street_code
    assert "江川路街道" not in text


def test_downloads_are_audited(month_admin: Browser, month_district: ConsoleDistrict) -> None:
    month_admin.get(f"/console/month/{MONTH}.xlsx")
    with month_district.db.read() as session:
        event = session.scalars(select(models.AuditEvent).where(
            models.AuditEvent.action == "console.month.downloaded")
            .order_by(models.AuditEvent.chain_seq.desc())).first()
    assert event is not None and event.subject == f"month:{MONTH}"
    assert event.device_id is None and event.detail["format"] == "xlsx"


# -- who sees what ----------------------------------------------------------------------------

def test_a_street_user_sees_only_their_street(month_district: ConsoleDistrict) -> None:
    viewer = month_district.browser().sign_in(SECOND_VIEWER)
    page = viewer.get(f"/console/month?month={MONTH}")
    assert page.status_code == 200
    assert SECOND_NAME in page.text and "华阳路街道" not in page.text
    book = _workbook(viewer.get(f"/console/month/{MONTH}.xlsx").content)
    assert set(_by_street(book["区汇总"])) == {SECOND_STREET}
    expected = _district_summary(month_district, [SECOND_STREET])
    assert _by_street(book["区汇总"])[SECOND_STREET] == (
        expected.applications, Decimal(expected.payable))
    assert book.sheetnames == ["区汇总", f"{SECOND_NAME}结算汇总表", f"{SECOND_NAME}发放清单"]


def counter_role_browser(district: ConsoleDistrict, username: str) -> Browser:
    """A browser holding a console session of a user with counter roles only (as if their
    roles had been changed after signing in): the console refuses it on every page."""
    token = new_token()
    now = utcnow()
    with district.db.write() as session:
        user_id = session.scalar(select(models.User.id).where(models.User.username == username))
        assert user_id is not None
        session.add(models.ConsoleSession(token_hash=token_hash(token), user_id=user_id,
                                          created_at=now, last_seen_at=now,
                                          expires_at=now + ABSOLUTE))
    browser = district.browser()
    browser.client.cookies.set(COOKIE, token)
    return browser


@pytest.mark.parametrize("path", [f"/console/month?month={MONTH}",
                                  f"/console/month/{MONTH}.xlsx",
                                  f"/console/month/{MONTH}.pdf"])
def test_anonymous_and_counter_roles_are_refused(month_district: ConsoleDistrict,
                                                 path: str) -> None:
    response = month_district.browser().get(path)
    assert response.status_code == 303
    assert response.headers["location"].endswith("/console/login")
    clerk = counter_role_browser(month_district, month_district.user(CHANGNING_STREET,
                                                                     "clerk1"))
    refused = clerk.get(path)
    assert refused.status_code == 403
    assert "区管理台权限" in refused.text


# -- sent by the 20th ---------------------------------------------------------------------------

@pytest.mark.parametrize(("year", "month", "deadline"), [
    (2026, 6, date(2026, 7, 20)),  # a Monday
    (2026, 5, date(2026, 6, 22)),  # the 20th a Saturday: Monday
    (2026, 8, date(2026, 9, 21)),  # the 20th a Sunday: Monday
    (2026, 12, date(2027, 1, 20)),  # into the next year
])
def test_the_deadline_is_the_20th_of_the_next_month_past_a_weekend(
        year: int, month: int, deadline: date) -> None:
    assert report_deadline(year, month) == deadline


SENT_AT = datetime(2026, 7, 21, 2, 0, tzinfo=UTC)  # 10:00 on the 21st in Shanghai


@pytest.mark.parametrize(("expected", "sent_at", "today", "state", "days"), [
    (True, None, date(2026, 7, 10), WAITING, 0),
    (True, None, date(2026, 7, 20), WAITING, 0),  # the deadline itself is in time
    (True, None, date(2026, 7, 21), LATE, 1),
    (True, None, date(2026, 8, 5), LATE, 16),
    (False, None, date(2026, 8, 5), NOTHING, 0),  # nothing settled: nothing to send
    (True, datetime(2026, 7, 15, tzinfo=UTC), date(2026, 8, 5), SENT, 0),
    (True, SENT_AT, date(2026, 8, 5), SENT, 1),  # sent, a day after the deadline
    (False, SENT_AT, date(2026, 8, 5), SENT, 1),
])
def test_the_late_rule(expected: bool, sent_at: datetime | None, today: date, state: str,
                       days: int) -> None:
    found = sending(expected, sent_at, date(2026, 7, 20), today)
    assert (found.state, found.days_late) == (state, days)
    assert found.late == (state == LATE)


def test_unsent_streets_are_late_in_red_and_a_district_copy_counts_as_sent(
        month_admin: Browser, month_district: ConsoleDistrict) -> None:
    page = month_admin.get(f"/console/month?month={MONTH}").text
    late = page.split('id="late-streets"', 1)[1].split("</section>", 1)[0]
    assert 'class="late"' in late and "华阳路街道" in late and SECOND_NAME in late
    days = (datetime.now(SHANGHAI).date() - report_deadline(2026, 6)).days
    assert f"逾期 {days} 天" in late
    # 华阳路's PC exports the month's workbook for the district (an audit event it pushes)
    with month_district.db.write() as session:
        device = session.scalars(select(models.Device.id).where(
            models.Device.street_code == CHANGNING_STREET)).first()
        at = datetime(2026, 7, 18, 3, tzinfo=UTC)
        for street, dev, report in ((CHANGNING_STREET, device, "xlsx"),
                                    (SECOND_STREET, device, "summary")):  # not the copy
            session.add(models.AuditEvent(
                event_id=str(uuid.uuid4()), at=at, actor="huayang.clerk1",
                action="report.exported" if report == "xlsx" else "report.printed",
                subject=f"report:{street}:{MONTH}", detail={"report": report, "reason": None},
                device_id=dev, street_code=CHANGNING_STREET, received_at=at))
    page = month_admin.get(f"/console/month?month={MONTH}").text
    late = page.split('id="late-streets"', 1)[1].split("</section>", 1)[0]
    rows = {name: row for row in late.split("<tr")[1:]
            for name in ("华阳路街道", SECOND_NAME) if name in row}
    assert "已报送" in rows["华阳路街道"] and "late" not in rows["华阳路街道"]
    assert "逾期未报送" in rows[SECOND_NAME] and 'class="late"' in rows[SECOND_NAME]


def test_a_hostile_name_or_committee_is_text_in_the_xlsx_and_the_pdf(
        month_admin: Browser, month_district: ConsoleDistrict) -> None:
    """A person's name or committee comes from a counter or an imported file: in the workbook
    it is text (never a formula Excel runs), in the PDF it is text (never the PDF library's
    markup, which would break the download or add a link)."""
    application_id = month_application_ids(month_district.db, CHANGNING_STREET)[0]
    name = '=HYPERLINK("http://evil.example/","点此")'
    committee = '<a href="http://evil.example/">居委</a><font'
    with month_district.db.write() as session:
        application = session.get_one(models.Application, application_id)
        person = session.get_one(models.Person, application.person_id)
        was = (person.name, person.committee)
        person.name, person.committee = name, committee
    try:
        book = _workbook(month_admin.get(f"/console/month/{MONTH}.xlsx").content)
        found = [cell for sheet in book.worksheets for row in sheet.iter_rows()
                 for cell in row if cell.value == name]
        assert found and all(cell.data_type == "s" for cell in found)
        response = month_admin.get(f"/console/month/{MONTH}.pdf")
        assert response.status_code == 200 and response.content.startswith(b"%PDF")
        assert b"evil.example" not in response.content  # no link annotation
    finally:
        with month_district.db.write() as session:
            application = session.get_one(models.Application, application_id)
            person = session.get_one(models.Person, application.person_id)
            person.name, person.committee = was
