"""Mutual-aid enrolment at the counter (MA-2021 二), saved offline and confirmed by a real
district server, which sends the person's new membership year back."""

from __future__ import annotations

import random
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import select

from desktop.policy.contract import default_parameters
from desktop.policy.enrolment import EnrolmentClosed, enrolment_terms
from desktop.services.applications import record_push_result
from desktop.services.enrolment import EnrolmentForm, EnrolmentRefused, enrol
from desktop.store import Store, apply_changes, open_store
from desktop.store.models import (
    AuditEventRecord,
    EnrolmentRecord,
    OutboxRecord,
    PersonRecord,
)
from desktop.sync.client import DistrictClient
from desktop.sync.credentials import MemoryKeyring
from desktop.sync.pull import pull
from desktop.sync.push import push
from tests.store.conftest import person_data, upsert
from tests.sync.conftest import PASSWORD, DistrictServer

IN_WINDOW = date(2026, 11, 24)
FORM = EnrolmentForm(person_attribute="zhinei", hukou_district="长宁区",
                     hukou_street="华阳路街道", contact_district="长宁区",
                     contact_street="华阳路街道", external_inpatient_insurance=True,
                     phone="13912345678", postcode="200050",
                     original_employer="上海第三钢铁厂", other_province_employer="贵州某机械厂")


@pytest.fixture
def store(tmp_path: Path) -> Store:
    opened = open_store(tmp_path / "s.sqlite")
    with opened.session() as session:
        apply_changes(session, [upsert("person", "P1", person_data(
            random.Random(2), "P1", "陈建国", mutual_aid_years=[2026]))])
    return opened


def test_an_enrolment_is_saved_with_its_outbox_item_and_audit(store: Store) -> None:
    saved = enrol(store, "P1", FORM, handler="li", paid_on=IN_WINDOW)
    assert (saved.terms.year, saved.terms.fee) == (2027, Decimal("130.00"))
    with store.read_session() as session:
        record = session.get(EnrolmentRecord, saved.enrolment_id)
        assert record is not None and record.status == "saved" and record.year == 2027
        assert record.form["original_employer"] == "上海第三钢铁厂"
        item = session.scalar(select(OutboxRecord).where(OutboxRecord.kind == "enrolment"))
        assert item is not None and item.payload["fee"] == "130.00"
        assert session.scalar(select(AuditEventRecord.action).where(
            AuditEventRecord.action == "enrolment.saved")) is not None
    with pytest.raises(EnrolmentRefused, match="已为"):  # paid twice at this counter
        enrol(store, "P1", FORM, handler="li", paid_on=IN_WINDOW)


@pytest.mark.parametrize(("change", "field"), [
    ({"person_attribute": "other"}, "person_attribute"),
    ({"hukou_street": " "}, "hukou_street"),
    ({"contact_district": ""}, "contact_district"),
    ({"postcode": "2000"}, "postcode"),
])
def test_bad_forms_are_refused_naming_the_field(store: Store, change: dict[str, str],
                                                field: str) -> None:
    form = EnrolmentForm(**{**FORM.__dict__, **change})
    with pytest.raises(EnrolmentRefused) as info:
        enrol(store, "P1", form, handler="li", paid_on=IN_WINDOW)
    assert info.value.field == field
    with store.read_session() as session:  # nothing half-written
        assert session.scalar(select(EnrolmentRecord)) is None


def test_outside_the_window_a_reason_is_required(store: Store) -> None:
    with pytest.raises(EnrolmentRefused, match="特殊情况") as info:
        enrol(store, "P1", FORM, handler="li", paid_on=date(2026, 5, 10))
    assert info.value.field == "mid_year_reason"
    mid = EnrolmentForm(**{**FORM.__dict__, "mid_year_reason": "外省市退休证明迟到"})
    with pytest.raises(EnrolmentRefused, match="已参加 2026"):  # already a 2026 member
        enrol(store, "P1", mid, handler="li", paid_on=date(2026, 5, 10))


def test_the_district_confirms_one_and_refuses_the_other_counters(
        district: DistrictServer, memory_keyring: MemoryKeyring, tmp_path: Path) -> None:
    """Two counters take the same person's enrolment offline: the district keeps the first,
    refuses the second with its reason, and sends the new membership year back."""
    today = date.today()
    try:
        enrolment_terms(default_parameters(), "changning", today)
        reason = None
    except EnrolmentClosed:
        reason = "测试：期外特殊情况"  # the suite runs all year round
    year = enrolment_terms(default_parameters(), "changning", today,
                           mid_year_reason=reason).year
    counters = []
    for n, code in enumerate(district.codes()[:2]):
        with DistrictClient(district.url) as anonymous:
            token = anonymous.register(code, f"enrolment test {n}").token
        client = DistrictClient(district.url, lambda token=token: token)
        client.login(district.user("clerk"), PASSWORD)
        store = open_store(tmp_path / f"counter{n}.sqlite")
        pull(store, client)
        counters.append((store, client))
    with counters[0][0].read_session() as session:
        person = next(p for p in session.scalars(select(PersonRecord).order_by(PersonRecord.id))
                      if year not in p.mutual_aid_years)
    flag_before = person.external_inpatient_insurance
    form = EnrolmentForm(**{**FORM.__dict__, "mid_year_reason": reason})
    saved = [enrol(store, person.id, form, handler=district.user("clerk"), paid_on=today)
             for store, _client in counters]
    first = push(counters[0][0], counters[0][1], on_result=record_push_result)
    second = push(counters[1][0], counters[1][1], on_result=record_push_result)
    assert (first.accepted, first.refused) == (2, 0)  # the enrolment and its audit event
    assert (second.accepted, second.refused) == (1, 1)
    for (store, client), mine, status in zip(counters, saved, ("accepted", "review"),
                                             strict=True):
        pull(store, client)
        with store.read_session() as session:
            record = session.get(EnrolmentRecord, mine.enrolment_id)
            assert record is not None and record.status == status
            refreshed = session.get(PersonRecord, person.id)
            assert refreshed is not None and year in refreshed.mutual_aid_years
            # the declared flag applies to a running year at once; for next year it must not
            # change how this year's stays are paid
            assert refreshed.external_inpatient_insurance is (
                True if year == today.year else flag_before)
            if status == "review":  # refused, kept with the district's reason
                assert record.server_reason == "already_enrolled"
                assert record.server_message and str(year) in record.server_message
        client.close()
        store.close()
