"""政策参数 in the console (issue 14 point 4, M18): the values in force, the preview of a new
one with the open applications it affects, its publication (kept, in the change feed for every
counter, audited); a value the loader's rules refuse is refused naming its field; a
district_reviewer reads and cannot publish; the sync at server start keeps published values."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import select

from district import models
from district.config import Settings
from district.db import Database
from district.seed import SeedOptions, seed_district
from district.services.audit import verify_audit_trail
from district.services.parameters import (
    current_parameters,
    sync_parameter_versions,
)
from tests.console.conftest import Browser, ConsoleDistrict
from tests.district.harness import CHANGNING_STREET, MINHANG_STREET, PASSWORD

KEY = "assistance:category.dibao.outpatient_rate"


@pytest.fixture(scope="module")
def district(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ConsoleDistrict]:
    """A district of its own: the values published here change what its counters compute."""
    folder: Path = tmp_path_factory.mktemp("console-policy")
    url = f"sqlite:///{folder / 'district.sqlite'}"
    db = Database(url)
    report = seed_district(db, SeedOptions(persons=20, password=PASSWORD,
                                           streets=[CHANGNING_STREET, MINHANG_STREET]))
    try:
        yield ConsoleDistrict(db, Settings(database_url=url), report)
    finally:
        db.dispose()


def _admin(district: ConsoleDistrict) -> Browser:
    return district.browser().sign_in(district.user(None, "admin"))


def _form(**override: str) -> dict[str, str]:
    form = {"key": KEY, "value": "0.95", "effective_from": "2027-01-01",
            "source": "CN-2026 3.3", "assumption": "yes"}
    form.update(override)
    return form


def test_the_page_lists_the_values_in_force_with_their_source(district: ConsoleDistrict) -> None:
    admin = _admin(district)
    page = admin.get("/console/policy")
    assert page.status_code == 200
    text = page.text
    assert 'id="publish"' in text and 'name="key"' in text and 'name="value"' in text
    assert 'name="effective_from"' in text and 'name="source"' in text
    assert f'id="value-{KEY}"' in text
    assert 'id="value-changning:procedure.report_by_day"' in text  # its district's overlay
    assert "minhang:district_round.rate" not in text  # not another district's
    assert "随软件发布" in text
    history = admin.get("/console/policy/history", params={"key": KEY})
    assert history.status_code == 200 and "现行" in history.text
    assert admin.get("/console/policy/history", params={"key": "nope"}).status_code == 404
    assert admin.get("/console/policy/history",
                     params={"key": "minhang:district_round.rate"}).status_code == 404
    minhang = district.browser().sign_in(district.user(None, "admin", "minhang"))
    assert 'id="value-minhang:district_round.rate"' in minhang.get("/console/policy").text


def test_preview_then_publish_keeps_the_value_feeds_counters_and_audits(
        district: ConsoleDistrict) -> None:
    admin = _admin(district)
    admin.get("/console/policy")
    preview = admin.post("/console/policy/preview", _form())
    assert preview.status_code == 200, preview.text
    assert 'id="confirm-publish"' in preview.text
    assert re.search(r'id="affected-count">\d+<', preview.text)
    assert "将影响" in preview.text
    with district.db.read() as session:  # a preview writes nothing
        assert session.get(models.ParameterVersion, (KEY, date(2027, 1, 1))) is None
        last_seq = session.scalar(select(models.ChangeCounter.last_seq))
    done = admin.post("/console/policy/publish", {**_form(), "confirm": "yes"})
    assert done.status_code == 303, done.text
    assert done.headers["location"].endswith("/console/policy?notice=published")
    with district.db.read() as session:
        row = session.get_one(models.ParameterVersion, (KEY, date(2027, 1, 1)))
        assert (row.value, row.source, row.assumption) == ("0.95", "CN-2026 3.3", True)
        assert row.published_by == "changning.admin" and row.published_at is not None
        change = session.scalars(select(models.Change).where(
            models.Change.entity == "parameter_version", models.Change.seq > last_seq)).one()
        assert change.key == f"{KEY}@2027-01-01" and change.street_code is None
        assert change.data == {"key": KEY, "effective_from": "2027-01-01", "value": "0.95",
                               "source": "CN-2026 3.3", "assumption": True}
        event = session.scalars(select(models.AuditEvent).where(
            models.AuditEvent.action == "console.parameter_published")).one()
        assert event.subject == f"parameter:{KEY}@2027-01-01"
        assert verify_audit_trail(session).intact
        view = current_parameters(session).for_program("assistance", "changning")
        assert view.require("category.dibao.outpatient_rate", date(2027, 1, 1)).value == \
            Decimal("0.95")
        assert view.require("category.dibao.outpatient_rate", date(2026, 12, 31)).value != \
            Decimal("0.95")
    page = admin.get("/console/policy/history", params={"key": KEY}).text
    assert "changning.admin" in page and "政策未明确，按本区口径" in page and "待生效" in page


@pytest.mark.parametrize(("override", "field", "words"), [
    ({"value": "1.5"}, "value", "数值"),
    ({"value": "九成"}, "value", "数值"),
    ({"key": "assistance:category.dibao.dental_rate"}, "key", "参数"),
    ({"key": "nowhere:rate"}, "key", "参数"),
    ({"effective_from": "2027-02-30"}, "effective_from", "生效日期"),
    ({"effective_from": "next year"}, "effective_from", "生效日期"),
    ({"source": "区里说的"}, "source", "依据/来源"),
    ({"source": "CN-2026 " + "条" * 120}, "source", "依据/来源"),
])
def test_a_value_the_rules_refuse_is_refused_naming_its_field(
        district: ConsoleDistrict, override: dict[str, str], field: str, words: str) -> None:
    admin = _admin(district)
    admin.get("/console/policy")
    for path, extra in (("/console/policy/preview", {}),
                        ("/console/policy/publish", {"confirm": "yes"})):
        page = admin.post(path, {**_form(**{"effective_from": "2027-03-01", **override}),
                                 **extra})
        assert page.status_code == 422, page.text
        assert f"未发布：{words}：" in page.text
        assert f'id="error-{field.replace("_", "-")}"' in page.text
    with district.db.read() as session:
        assert session.get(models.ParameterVersion, (KEY, date(2027, 3, 1))) is None


def test_a_district_reviewer_reads_but_cannot_publish(district: ConsoleDistrict) -> None:
    reviewer = district.browser().sign_in(district.user(None, "reviewer"))
    page = reviewer.get("/console/policy")
    assert page.status_code == 200 and 'id="publish"' not in page.text
    for path in ("/console/policy/preview", "/console/policy/publish"):
        answer = reviewer.post(path, {**_form(effective_from="2027-04-01"), "confirm": "yes"})
        assert answer.status_code == 403
    with district.db.read() as session:
        assert session.get(models.ParameterVersion, (KEY, date(2027, 4, 1))) is None


def test_publishing_without_the_preview_confirmation_or_csrf_is_refused(
        district: ConsoleDistrict) -> None:
    admin = _admin(district)
    admin.get("/console/policy")
    assert admin.post("/console/policy/publish", _form(effective_from="2027-05-01")
                      ).status_code == 422
    assert admin.post("/console/policy/publish", {**_form(effective_from="2027-05-01"),
                                                  "confirm": "yes"}, csrf=False
                      ).status_code == 403


def test_an_admin_publishes_city_values_and_their_own_districts_only(
        district: ConsoleDistrict) -> None:
    admin = _admin(district)
    page = admin.get("/console/policy").text
    assert '<option value="changning:category.dibao.outpatient_rate"' in page  # its overlay
    assert '<option value="minhang:' not in page
    for path in ("/console/policy/preview", "/console/policy/publish"):
        answer = admin.post(path, {**_form(key="minhang:district_round.rate", value="0.6",
                                           source="MH-2026 §八.六"), "confirm": "yes"})
        assert answer.status_code == 403


def test_the_sync_at_server_start_keeps_published_values(district: ConsoleDistrict) -> None:
    admin = district.browser().sign_in(district.user(None, "admin", "minhang"))
    admin.get("/console/policy")
    admin.post("/console/policy/publish", {**_form(key="minhang:district_round.cap",
                                                   value="40000", effective_from="2027-06-01",
                                                   source="MH-2026 §八.六", assumption=""),
                                           "confirm": "yes"})
    with district.db.write() as session:
        changes = sync_parameter_versions(session)
    assert all(not c.key.startswith(("minhang:district_round.cap@2027", f"{KEY}@2027"))
               for c in changes)
    with district.db.read() as session:
        row = session.get_one(models.ParameterVersion,
                              ("minhang:district_round.cap", date(2027, 6, 1)))
        assert row.value == "40000.00" and not row.assumption
        assert session.get(models.ParameterVersion, (KEY, date(2027, 1, 1))) is not None
        view = current_parameters(session).for_program("assistance", "minhang")
        assert str(view.require("district_round.cap", date(2027, 6, 1)).value) == "40000.00"
