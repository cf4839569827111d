"""The human application number (issue 12): the district numbers the PCs of a street at
registration (migration 0006 numbers the ones before it), and checks the number each pushed
application carries: its street's short name, the year of its date, the pushing PC's own
number, unique district-wide. On SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta

import httpx
import pytest
import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from sqlalchemy import select

from desktop import wire
from desktop.domain.streets import application_number
from district import models
from district.db import MIGRATIONS, Database
from district.services.auth import issue_enrolment_code, register_device
from tests.district.conftest import BACKENDS, SeededDistrict
from tests.district.harness import (
    CHANGNING_STREET,
    MINHANG_STREET,
    Counter,
    claimable_rows,
    fresh_recipients,
    shanghai_today,
)


@contextmanager
def _database(url: str) -> Iterator[Database]:
    db = Database(url)
    try:
        yield db
    finally:
        db.dispose()


def _street(session: sa.orm.Session, code: str, name: str, slug: str) -> None:
    session.add(models.Street(code=code, name=name, district="changning", kind="street",
                              slug=slug))


@pytest.mark.parametrize("backend", BACKENDS)
def test_registration_numbers_the_pcs_of_each_street_1_2_3(
        backend: str, database_url: Callable[[str], str]) -> None:
    with _database(database_url(backend)) as db:
        db.migrate()
        with db.write() as session:
            _street(session, "310105001", "华阳路街道", "huayang")
            _street(session, "310105002", "江苏路街道", "jiangsu")
            session.flush()
            codes = [(street, issue_enrolment_code(session, street))
                     for street in ("310105001", "310105001", "310105002", "310105001")]
        numbers = []
        for street, code in codes:
            with db.write() as session:
                registered = register_device(session, wire.RegisterDevice(
                    enrolment_code=code, device_name="柜台"))
            assert registered.street_code == street
            numbers.append(registered.device_number)
        assert numbers == [1, 2, 1, 3]
        with db.write() as session:  # a revoked PC's number is not given again
            device = session.scalars(select(models.Device).where(
                models.Device.number == 3)).one()
            device.revoked_at = datetime.now(UTC)
            code = issue_enrolment_code(session, "310105001")
        with db.write() as session:
            assert register_device(session, wire.RegisterDevice(
                enrolment_code=code, device_name="柜台")).device_number == 4


@pytest.mark.parametrize("backend", BACKENDS)
def test_migration_0006_numbers_the_devices_registered_before_it(
        backend: str, database_url: Callable[[str], str]) -> None:
    with _database(database_url(backend)) as db:
        config = Config()
        config.set_main_option("script_location", str(MIGRATIONS))
        with db.engine.begin() as conn:
            config.attributes["connection"] = conn
            command.upgrade(config, "0005")
            streets = sa.table("streets", *(sa.column(c) for c in
                                            ("code", "name", "district", "kind", "slug")))
            conn.execute(sa.insert(streets), [
                {"code": "310105001", "name": "华阳路街道", "district": "changning",
                 "kind": "street", "slug": "huayang"},
                {"code": "310105002", "name": "江苏路街道", "district": "changning",
                 "kind": "street", "slug": "jiangsu"}])
            devices = sa.table("devices", *(sa.column(c) for c in (
                "id", "name", "street_code", "token_hash", "registered_at")))
            start = datetime(2026, 1, 1)
            # registered in this order: d3 (华阳) first, then j1 (江苏), d1, d2 (华阳)
            conn.execute(sa.insert(devices), [
                {"id": "d1", "name": "a", "street_code": "310105001", "token_hash": "h1",
                 "registered_at": start + timedelta(days=2)},
                {"id": "d2", "name": "b", "street_code": "310105001", "token_hash": "h2",
                 "registered_at": start + timedelta(days=3)},
                {"id": "d3", "name": "c", "street_code": "310105001", "token_hash": "h3",
                 "registered_at": start},
                {"id": "j1", "name": "d", "street_code": "310105002", "token_hash": "h4",
                 "registered_at": start + timedelta(days=1)}])
            command.upgrade(config, "head")
        with db.read() as session:
            numbers = dict(session.execute(select(models.Device.id, models.Device.number)).all())
        assert numbers == {"d3": 1, "d1": 2, "d2": 3, "j1": 1}
        with db.engine.begin() as conn:  # and the migration undoes cleanly
            config.attributes["connection"] = conn
            command.downgrade(config, "0005")
            assert "number" not in {c["name"] for c in sa.inspect(conn).get_columns("devices")}


# -- the number of a pushed application --------------------------------------------------------

def _number(counter: Counter, sequence: int, *, street: str = "华阳路街道",
            year: int | None = None, device: int | None = None) -> str:
    return application_number(street, year or shanghai_today().year,
                              device or counter.registered.device_number or 0, sequence)


def _refused(result: wire.ItemResult, reason: str) -> None:
    assert result.status == "refused" and result.reason == reason, result
    assert result.detail is not None and result.detail["field"] == "number", result
    assert result.message and "申请编号" in result.message


def _item(district: SeededDistrict, counter: Counter, number: str | None,
          person: str | None = None) -> wire.OutboxItem:
    person = person or district.take_person(fresh_recipients(counter))
    return counter.application(person, claimable_rows(counter, person), number=number)


def test_a_registered_counter_gets_its_number(district: SeededDistrict) -> None:
    first, second = district.counter(pull=False), district.counter(pull=False)
    assert first.registered.device_number is not None
    assert second.registered.device_number == first.registered.device_number + 1


def test_the_district_refuses_a_number_this_pc_may_not_give(district: SeededDistrict) -> None:
    counter = district.counter()
    mine = counter.registered.device_number
    assert mine is not None
    other = district.counter(pull=False).registered.device_number
    assert other is not None and other != mine
    year = shanghai_today().year
    person = district.take_person(fresh_recipients(counter))  # refused: nothing claimed
    for wrong in (
        "华阳-2026-3-42",  # not the form
        "42",
        _number(counter, 1, street="江川路街道"),  # another street's short name
        _number(counter, 1, device=other),  # another PC's number
        _number(counter, 1, year=year - 1),  # not the application's year
        f"华阳路-{year}-{mine:02d}-0001",  # the street's full name, not its short one
    ):
        _refused(counter.push_one(_item(district, counter, wrong, person)), "invalid_number")
    district.used_persons.discard(person)


def test_a_number_is_given_once(district: SeededDistrict) -> None:
    counter = district.counter()
    number = _number(counter, 9001)
    first = counter.push_one(_item(district, counter, number))
    assert first.status == "accepted", first
    person = district.take_person(fresh_recipients(counter))
    _refused(counter.push_one(_item(district, counter, number, person)), "number_exists")
    # two of one request with one number: the second is refused
    again = _number(counter, 9002)
    results = counter.push([_item(district, counter, again),
                            _item(district, counter, again, person)])
    assert [r.status for r in results] == ["accepted", "refused"], results
    _refused(results[1], "number_exists")
    district.used_persons.discard(person)


def test_a_counter_of_another_street_gives_its_own_street_s_numbers(
        district: SeededDistrict) -> None:
    counter = district.counter(MINHANG_STREET)
    mine = _number(counter, 1, street="江川路街道")
    assert mine.startswith("江川-")
    assert counter.push_one(_item(district, counter, mine)).status == "accepted"
    person = district.take_person(fresh_recipients(counter))
    _refused(counter.push_one(_item(district, counter, _number(counter, 2), person)),
             "invalid_number")
    district.used_persons.discard(person)


def test_the_number_reaches_the_street_through_the_feed(district: SeededDistrict) -> None:
    pusher = district.counter()
    number = _number(pusher, 9101)
    item = _item(district, pusher, number)
    app_id = str(item.payload["application_id"])
    assert pusher.push_one(item).status == "accepted"
    other = district.counter(pull=False)  # another PC of the street, from the start
    seen = [c for c in other.pull() if c.entity == "application" and c.key == app_id]
    assert seen and wire.ApplicationData.model_validate(seen[-1].data).number == number
    # the oldest protocol still served (3) knows the number too
    old = district.counter(pull=False)
    old.protocol = wire.OLDEST_PROTOCOL
    cursor, found = 0, []
    while True:
        page = old.page(cursor, 5000)
        found += [c for c in page.items if c.entity == "application" and c.key == app_id]
        cursor = page.next_cursor
        if not page.more:
            break
    assert found and all(c.data is not None and c.data["number"] == number for c in found)
    with _database(district.server.database_url) as db, db.read() as session:
        assert session.get_one(models.Application, app_id).number == number


def test_an_application_without_a_number_is_still_taken(district: SeededDistrict) -> None:
    """A counter registered before numbers (it learns its PC number at its next online
    sign-in, GET /devices/me) sends none meanwhile."""
    counter = district.counter()
    counter.protocol = wire.OLDEST_PROTOCOL
    assert counter.push_one(_item(district, counter, None)).status == "accepted"


def test_a_counter_of_protocol_2_is_told_to_upgrade_before_it_registers(
        district: SeededDistrict) -> None:
    """Protocol 2 (no PC numbers) is no longer served since protocol 4: its registration is
    answered 426 with what to do, and the enrolment code stays unused."""
    code = district.enrolment_code(CHANGNING_STREET)
    r = httpx.post(f"{district.base_url}/devices/register",
                   json={"enrolment_code": code, "device_name": "旧柜台"},
                   headers={wire.PROTOCOL_HEADER: "2"}, timeout=30)
    assert r.status_code == 426, r.text
    assert wire.ErrorBody.model_validate_json(r.content).code == "upgrade_required"
    r = httpx.post(f"{district.base_url}/devices/register",
                   json={"enrolment_code": code, "device_name": "新柜台"},
                   headers={wire.PROTOCOL_HEADER: str(wire.OLDEST_PROTOCOL)}, timeout=30)
    assert r.status_code == 201, r.text
    assert wire.DeviceRegistered.model_validate_json(r.content).device_number is not None
