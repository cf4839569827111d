"""Each PC's last contact, version and waiting items, recorded by district.app from its own
requests: bounded, plain, at most once a minute unless something changed, never failing the
request, and only on the PC's own row."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from desktop import wire
from district import models
from district.app import CONTACT_EVERY, Contact, ContactRecorder, create_app
from district.config import Settings
from district.db import Database
from district.seed import SeedOptions, seed_district
from district.services.auth import issue_enrolment_code
from tests.district.harness import CHANGNING_STREET, PASSWORD


@dataclass
class Api:
    db: Database
    client: TestClient
    codes: list[str]

    @property
    def contacts(self) -> ContactRecorder:
        recorder: ContactRecorder = self.client.app.state.contacts  # type: ignore[attr-defined]
        return recorder

    def register(self, name: str) -> tuple[str, str]:
        answer = self.client.post(f"{wire.API_PREFIX}/devices/register", json={
            "enrolment_code": self.codes.pop(), "device_name": name},
            headers={wire.PROTOCOL_HEADER: str(wire.PROTOCOL_VERSION)})
        assert answer.status_code == 201, answer.text
        body = answer.json()
        return body["device_id"], body["token"]

    def me(self, token: str, **headers: str | bytes) -> int:
        answer = self.client.get(f"{wire.API_PREFIX}/devices/me", headers={
            wire.PROTOCOL_HEADER: str(wire.PROTOCOL_VERSION),
            "Authorization": f"Bearer {token}", **headers})
        return int(answer.status_code)

    def device(self, device_id: str) -> models.Device:
        with self.db.read() as session:
            return session.get_one(models.Device, device_id)


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    folder: Path = tmp_path_factory.mktemp("last-contact")
    url = f"sqlite:///{folder / 'district.sqlite'}"
    db = Database(url)
    seed_district(db, SeedOptions(persons=5, password=PASSWORD,
                                           streets=[CHANGNING_STREET]))
    with db.write() as session:
        codes = [issue_enrolment_code(session, CHANGNING_STREET) for _ in range(6)]
    try:
        with TestClient(create_app(Settings(database_url=url), db)) as client:
            yield Api(db, client, codes)
    finally:
        db.dispose()


def test_a_request_records_contact_version_and_waiting_on_its_own_row(api: Api) -> None:
    mine, token = api.register("窗口甲")
    other, _ = api.register("窗口乙")
    assert api.me(token, **{wire.VERSION_HEADER: "1.4.0", wire.WAITING_HEADER: "12"}) == 200
    device = api.device(mine)
    assert device.last_seen_at is not None
    assert (device.app_version, device.waiting_items) == ("1.4.0", 12)
    untouched = api.device(other)
    assert (untouched.last_seen_at, untouched.app_version, untouched.waiting_items) == (
        None, None, None)


def test_hostile_headers_are_bounded_or_ignored(api: Api) -> None:
    mine, token = api.register("窗口丙")
    assert api.me(token, **{wire.VERSION_HEADER: "2.0", wire.WAITING_HEADER: "5"}) == 200
    for waiting in ("-1", "10000001", "1e3", "\xb2".encode("latin-1"), "99999999999999999999"):
        assert api.me(token, **{wire.VERSION_HEADER: "<b>\t\xe9".encode("latin-1") + b"x" * 60,
                                wire.WAITING_HEADER: waiting}) == 200
        device = api.device(mine)
        assert device.waiting_items == 5  # ignored: the last good count stays
        assert device.app_version is not None and len(device.app_version) <= 32
        assert "\t" not in device.app_version
    assert api.me(token, **{wire.WAITING_HEADER: "10000000"}) == 200
    assert api.device(mine).waiting_items == 10_000_000


def test_written_at_most_once_a_minute_unless_something_changed() -> None:
    writes: list[tuple[str, Contact]] = []
    recorder = ContactRecorder(None)  # type: ignore[arg-type]
    recorder._write = lambda device_id, contact, now: writes.append(  # type: ignore[method-assign]
        (device_id, contact))
    start = datetime(2026, 12, 1, 8, 0)
    same = Contact("1.0", 3)
    assert recorder.due("a", same, start)
    recorder._written["a"] = (start, same)
    assert not recorder.due("a", same, start + timedelta(seconds=30))
    assert not recorder.due("a", Contact(None, None), start + timedelta(seconds=30))
    assert recorder.due("a", Contact("1.0", 4), start + timedelta(seconds=1))
    assert recorder.due("a", Contact("1.1", 3), start + timedelta(seconds=1))
    assert recorder.due("a", same, start + CONTACT_EVERY)
    assert recorder.due("b", same, start)


def test_a_failed_write_does_not_fail_the_request(api: Api,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    mine, token = api.register("窗口丁")

    def broken(device_id: str, contact: Contact, now: datetime) -> None:
        raise RuntimeError("database is locked")

    monkeypatch.setattr(api.contacts, "_write", broken)
    assert api.me(token, **{wire.WAITING_HEADER: "4"}) == 200
    assert api.device(mine).last_seen_at is None
    monkeypatch.undo()
    assert api.me(token, **{wire.WAITING_HEADER: "4"}) == 200  # tried again, not cached
    assert api.device(mine).waiting_items == 4
