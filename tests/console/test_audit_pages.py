"""审计 in the console (issue 14 point 6): search by person, user, application and date, 50 a
page newest first, where each event came from, and the chain check's result (kept, re-run by a
POST with its CSRF token, audited). Uses test_month's district of its own."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select, update

from district import models
from district.console.audit_pages import PAGE_SIZE
from tests.console import test_month
from tests.console.conftest import Browser, ConsoleDistrict
from tests.console.test_month import (
    FIRST_VIEWER,
    SECOND_STREET,
    SECOND_VIEWER,
    counter_role_browser,
    month_application_ids,
)
from tests.district.harness import CHANGNING_STREET

# test_month's district of its own, and its administrator (fixtures)
month_district = test_month.month_district
month_admin = test_month.month_admin

ROW = re.compile(r"<tr>\s*<td class=\"num\">.*?</tr>", re.S)
NUMBER = "长宁-华阳-2026-000777"


def _rows(html: str) -> list[str]:
    table = html.split('id="audit-events"', 1)[1].split("</table>", 1)[0]
    return ROW.findall(table)


def _device(district: ConsoleDistrict, street: str = CHANGNING_STREET) -> str:
    with district.db.read() as session:
        found = session.scalars(select(models.Device.id).where(
            models.Device.street_code == street)).first()
    assert found is not None
    return found


def _counter_event(district: ConsoleDistrict, subject: str, *, actor: str = "huayang.clerk1",
                   street: str = CHANGNING_STREET, at: datetime | None = None,
                   action: str = "application.saved", proven: bool = True) -> str:
    """An event as a counter's push leaves it (a PC, its street), outside the district's chain
    (chain_seq NULL: as rows from before the chain, so the chain check is not disturbed)."""
    event_id = str(uuid.uuid4())
    moment = at or datetime.now(UTC)
    with district.db.write() as session:
        session.add(models.AuditEvent(
            event_id=event_id, at=moment, actor=actor, action=action, subject=subject,
            detail={"note": "测试"}, device_id=_device(district), street_code=street,
            received_at=moment, reported_by=actor, actor_proven=proven))
    return event_id


@pytest.fixture(scope="module")
def application(month_district: ConsoleDistrict) -> tuple[str, str]:
    """An application of 华阳路 with a human number, and the ID number of its person; one
    counter event about it."""
    app_id = month_application_ids(month_district.db, CHANGNING_STREET)[0]
    with month_district.db.write() as session:
        session.execute(update(models.Application).where(models.Application.id == app_id)
                        .values(number=NUMBER))
        app = session.get(models.Application, app_id)
        assert app is not None
        person = session.get(models.Person, app.person_id)
        assert person is not None
        id_number = person.id_number
    _counter_event(month_district, f"application:{app_id}")
    return app_id, id_number


# -- search -----------------------------------------------------------------------------------

def test_search_by_actor_finds_only_their_events(month_admin: Browser,
                                                 month_district: ConsoleDistrict) -> None:
    month_district.browser().sign_in(FIRST_VIEWER)
    page = month_admin.get("/console/audit", params={"actor": FIRST_VIEWER})
    assert page.status_code == 200
    assert 'id="audit-search"' in page.text and 'id="chain-status"' in page.text
    rows = _rows(page.text)
    # each row names the person, with their login beside it
    assert rows and all(f'<span class="muted key">{FIRST_VIEWER}</span>' in row for row in rows)
    assert all("区管理台" in row for row in rows)  # the console's own sign-ins


@pytest.mark.parametrize("how", ["id", "number"])
def test_search_by_application(month_admin: Browser, application: tuple[str, str],
                               how: str) -> None:
    app_id, _ = application
    page = month_admin.get("/console/audit",
                           params={"application": app_id if how == "id" else NUMBER})
    rows = [row for row in _rows(page.text) if f"application:{app_id}" in row]
    assert len(rows) == 1  # (besides earlier console searches that name it in their detail)
    assert "电脑 " in rows[0]  # it came from a PC, named
    assert "<td>是</td>" in rows[0]  # actor proven


def test_search_by_person_id_number(month_admin: Browser, application: tuple[str, str]) -> None:
    app_id, id_number = application
    rows = _rows(month_admin.get("/console/audit", params={"person": id_number}).text)
    assert any(f"application:{app_id}" in row for row in rows)
    assert not _rows(month_admin.get("/console/audit",
                                     params={"person": "无此人"}).text)


def test_searching_someone_is_audited(month_admin: Browser, month_district: ConsoleDistrict,
                                      application: tuple[str, str]) -> None:
    month_admin.get("/console/audit", params={"application": NUMBER})
    with month_district.db.read() as session:
        event = session.scalars(select(models.AuditEvent).where(
            models.AuditEvent.action == "console.audit.searched")
            .order_by(models.AuditEvent.chain_seq.desc())).first()
    assert event is not None and event.detail["application"] == NUMBER
    assert event.detail["found"] >= 1


def test_date_range_paging_and_newest_first(month_admin: Browser,
                                            month_district: ConsoleDistrict) -> None:
    actor = "paging.clerk"
    start = datetime(2026, 3, 1, 2, tzinfo=UTC)  # 10:00 in Shanghai
    for n in range(PAGE_SIZE + 10):
        _counter_event(month_district, f"fee_row:F{n}", actor=actor,
                       at=start + timedelta(hours=n))
    first = month_admin.get("/console/audit", params={"actor": actor})
    rows = _rows(first.text)
    assert len(rows) == PAGE_SIZE and "第 1 / 2 页" in first.text
    assert f"fee_row:F{PAGE_SIZE + 9}" in rows[0]  # newest first
    assert 'id="page-next"' in first.text
    second = _rows(month_admin.get("/console/audit", params={"actor": actor, "page": "2"}).text)
    assert len(second) == 10 and "fee_row:F0<" in second[-1]
    # 1 March in Shanghai: the first 14 hours of events (10:00 to 23:00)
    day = _rows(month_admin.get("/console/audit", params={
        "actor": actor, "since": "2026-03-01", "until": "2026-03-01"}).text)
    assert len(day) == 14


@pytest.mark.parametrize(("params", "field"), [({"since": "2026-13-01"}, "since"),
                                                ({"until": "yesterday"}, "until"),
                                                ({"page": "0"}, "page")])
def test_bad_search_values_are_a_422_naming_the_field(month_admin: Browser,
                                                      params: dict[str, str],
                                                      field: str) -> None:
    page = month_admin.get("/console/audit", params=params)
    assert page.status_code == 422 and field in page.text


# -- who sees what ----------------------------------------------------------------------------

def test_a_street_user_sees_only_their_streets_events(month_admin: Browser,
                                                      month_district: ConsoleDistrict) -> None:
    subject = f"person:SCOPE-{uuid.uuid4().hex[:6]}"
    _counter_event(month_district, subject, actor="scope.clerk")
    _counter_event(month_district, subject, actor="scope.clerk", street=SECOND_STREET)
    params = {"actor": "scope.clerk"}
    assert len(_rows(month_admin.get("/console/audit", params=params).text)) == 2
    first = month_district.browser().sign_in(FIRST_VIEWER)
    second = month_district.browser().sign_in(SECOND_VIEWER)
    mine = _rows(first.get("/console/audit", params=params).text)
    theirs = _rows(second.get("/console/audit", params=params).text)
    assert len(mine) == 1 and "华阳路街道" in mine[0]
    assert len(theirs) == 1 and "新华路街道" in theirs[0]
    # and a district user's console events are not a street user's to read
    assert not _rows(second.get("/console/audit", params={
        "actor": month_district.user(None, "admin")}).text)


def test_anonymous_and_counter_roles_are_refused(month_district: ConsoleDistrict) -> None:
    anonymous = month_district.browser()
    response = anonymous.get("/console/audit")
    assert response.status_code == 303
    assert response.headers["location"].endswith("/console/login")
    assert anonymous.post("/console/audit/verify", csrf=False).status_code in (401, 403)
    clerk = counter_role_browser(month_district, month_district.user(CHANGNING_STREET,
                                                                     "clerk2"))
    assert clerk.get("/console/audit").status_code == 403


# -- the chain check --------------------------------------------------------------------------

def _status(html: str) -> str:
    return html.split('id="chain-status"', 1)[1].split("</section>", 1)[0]


def test_the_chain_check_shows_intact_then_names_a_tampered_row(
        month_admin: Browser, month_district: ConsoleDistrict) -> None:
    page = month_admin.get("/console/audit")
    assert "审计链完整" in _status(page.text)
    # a form without its token changes nothing
    assert month_admin.post("/console/audit/verify", csrf=False).status_code == 403
    with month_district.db.read() as session:
        row = session.scalars(select(models.AuditEvent).where(
            models.AuditEvent.chain_seq.is_not(None))
            .order_by(models.AuditEvent.chain_seq.desc())).first()
        assert row is not None
        event_id, seq, detail = row.event_id, row.chain_seq, dict(row.detail)
    try:
        with month_district.db.write() as session:
            session.execute(update(models.AuditEvent)
                            .where(models.AuditEvent.event_id == event_id)
                            .values(detail={**detail, "tampered": True}))
        # the kept result stands until someone checks again
        assert "审计链完整" in _status(month_admin.get("/console/audit").text)
        answer = month_admin.post("/console/audit/verify")
        assert answer.status_code == 303
        status = _status(month_admin.get("/console/audit?notice=verified").text)
        assert "审计链断裂" in status
        assert event_id in status and f"第 {seq} 号事件" in status
        assert "这一行在区里被改过" in status
    finally:
        with month_district.db.write() as session:
            session.execute(update(models.AuditEvent)
                            .where(models.AuditEvent.event_id == event_id)
                            .values(detail=detail))
    month_admin.post("/console/audit/verify")
    assert "审计链完整" in _status(month_admin.get("/console/audit").text)
    with month_district.db.read() as session:
        verified = list(session.scalars(select(models.AuditEvent).where(
            models.AuditEvent.action == "console.audit.verified")
            .order_by(models.AuditEvent.chain_seq)))
    assert [e.detail["intact"] for e in verified][-2:] == [False, True]


def test_every_action_the_district_records_has_a_name_for_people() -> None:
    """The audit page names each action in the office's words (desktop.domain.audit_words):
    every action string the district and the counter write is listed there."""
    import re
    from pathlib import Path

    from desktop.domain.audit_words import AUDIT_ACTION_LABELS

    root = Path(__file__).resolve().parents[2]
    written: set[str] = set()
    for path in [*root.joinpath("district").rglob("*.py"), *root.joinpath("desktop").rglob("*.py")]:
        text = path.read_text("utf-8")
        written |= set(re.findall(
            r'(?:record_console_event|append_audit|audit)\([^)]*?"((?:console|device|account|'
            r'user|application|commitment|signing_key|enrolment|report|form|receipt|fee_row|'
            r'signature|sync)\.[a-z_.]+)"', text, flags=re.S))
    assert written, "the scan found no action at all"
    assert sorted(written - set(AUDIT_ACTION_LABELS)) == []
