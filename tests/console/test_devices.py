"""柜台电脑 in the console: issue a code, enrol a counter with it (the counter's own code path,
against a real district server on 127.0.0.1), see its last contact, version and waiting items,
revoke it and hear the counter say so; who may do what, street by street; the audit intact."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select, update

from desktop import APP_VERSION
from desktop.services.accounts import SignInRefused, sign_in
from desktop.services.device import (
    DeviceSetupError,
    ServerSettings,
    district_client,
    register_counter,
)
from desktop.store import Store, open_store, outbox_waiting_count
from desktop.store.outbox import enqueue
from desktop.sync.client import ServerRefused
from desktop.sync.credentials import MemoryKeyring
from desktop.sync.worker import REVOKED_RETRY, SyncWorker, describe_failure
from district import models
from district.config import Settings
from district.db import Database
from district.security import hash_password
from district.seed import SeedOptions, seed_district
from district.services.audit import verify_audit_trail
from district.values import utcnow
from tests.console.conftest import Browser, ConsoleDistrict
from tests.district.harness import (
    CHANGNING_STREET,
    MINHANG_STREET,
    PASSWORD,
    ServerProcess,
    audit_event,
)

CODE = re.compile(r'id="enrolment-code">([A-Z0-9-]+)<')


@dataclass
class Pcs:
    district: ConsoleDistrict
    server: ServerProcess

    @property
    def settings(self) -> ServerSettings:
        return ServerSettings(f"http://127.0.0.1:{self.server.port}")

    def admin(self) -> Browser:
        return self.district.browser().sign_in(self.district.user(None, "admin"))

    def reviewer(self) -> Browser:
        return self.district.browser().sign_in(self.district.user(None, "reviewer"))

    def issue(self, browser: Browser, street: str = CHANGNING_STREET, hours: str = "72") -> str:
        browser.get("/console/devices")
        page = browser.post("/console/devices/codes", {"street_code": street, "hours": hours})
        assert page.status_code == 200, page.text
        found = CODE.search(page.text)
        assert found, page.text
        return found.group(1)

    def device(self, device_id: str) -> models.Device:
        with self.district.db.read() as session:
            return session.get_one(models.Device, device_id)


@pytest.fixture(scope="module")
def pcs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Pcs]:
    """A district of its own (the PCs counted here are this module's), in a SQLite file that
    the console (in this process) and a real server (another process) share."""
    folder: Path = tmp_path_factory.mktemp("console-devices")
    url = f"sqlite:///{folder / 'district.sqlite'}"
    db = Database(url)
    report = seed_district(db, SeedOptions(persons=20, password=PASSWORD,
                                           streets=[CHANGNING_STREET, MINHANG_STREET]))
    server = ServerProcess(url, folder / "server.log")
    server.start()
    try:
        yield Pcs(ConsoleDistrict(db, Settings(database_url=url), report), server)
    finally:
        server.stop()
        db.dispose()


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    counter = open_store(tmp_path / "counter.sqlite")
    try:
        yield counter
    finally:
        counter.close()


def _wait(store: Store, n: int) -> None:
    with store.session() as session:
        for i in range(n):
            item = audit_event("someone", i)
            enqueue(session, item.kind, item.payload)


XINHUA = "310105002"  # a second street of Changning, added here: 新华路街道


def _console_user(pcs: Pcs, username: str, street: str, role: str) -> None:
    with pcs.district.db.write() as session:
        if session.get(models.Street, XINHUA) is None:
            session.add(models.Street(code=XINHUA, name="新华路街道", district="changning",
                                      kind="street", slug="xinhua"))
            session.flush()
        user = models.User(username=username, display_name=username,
                           password_hash=hash_password(PASSWORD), street_code=street,
                           district="changning", active=True)
        session.add(user)
        session.flush()
        session.add(models.UserRole(user_id=user.id, role=role))


def test_a_code_issued_in_the_console_enrols_a_counter_once_and_its_contact_is_shown(
        pcs: Pcs, memory_keyring: MemoryKeyring, store: Store) -> None:
    admin = pcs.admin()
    page = admin.get("/console/devices")
    assert page.status_code == 200 and 'id="issue-code"' in page.text
    code = pcs.issue(admin)
    listing = admin.get("/console/devices").text
    assert code not in listing  # shown once: only its hash is kept
    assert "changning.admin" in listing  # the outstanding code, by whom
    with pcs.district.db.read() as session:
        row = session.scalars(select(models.EnrolmentCode)
                              .where(models.EnrolmentCode.issued_by == "changning.admin")
                              .order_by(models.EnrolmentCode.id.desc())).first()
        assert row is not None and row.expires_at is not None
        assert timedelta(hours=71) < row.expires_at - row.created_at <= timedelta(hours=72)
        assert code not in str(vars(row))

    registration = register_counter(pcs.settings, code, "华阳路 控制台测试窗口")
    assert registration.street_code == CHANGNING_STREET
    with pytest.raises(DeviceSetupError, match="注册码"):  # one-time
        register_counter(pcs.settings, code, "再用一次")

    _wait(store, 3)
    with district_client(pcs.settings, store=store) as client:
        assert client.device_info().device_id == registration.device_id
    device = pcs.device(registration.device_id)
    assert device.last_seen_at is not None and utcnow() - device.last_seen_at < timedelta(
        minutes=1)
    assert (device.app_version, device.waiting_items) == (APP_VERSION, 3)

    listing = admin.get(f"/console/devices?street={CHANGNING_STREET}").text
    row_html = listing.split(f'id="device-{registration.device_id}"')[1].split("</tr>")[0]
    assert "华阳路 控制台测试窗口" in row_html and APP_VERSION in row_html
    assert f'id="waiting-{registration.device_id}">3<' in row_html
    assert f'id="revoke-{registration.device_id}"' in row_html


def test_an_expired_code_is_refused_and_bad_hours_are_named(
        pcs: Pcs, memory_keyring: MemoryKeyring) -> None:
    admin = pcs.admin()
    code = pcs.issue(admin, hours="1")
    with pcs.district.db.write() as session:
        session.execute(update(models.EnrolmentCode)
                        .where(models.EnrolmentCode.issued_by.is_not(None),
                               models.EnrolmentCode.used_at.is_(None))
                        .values(expires_at=utcnow() - timedelta(minutes=1)))
    with pytest.raises(DeviceSetupError, match="过期"):
        register_counter(pcs.settings, code, "过期的窗口")
    for hours, words in (("0", "1 至 720"), ("721", "1 至 720"), ("abc", "整数")):
        page = admin.post("/console/devices/codes",
                          {"street_code": CHANGNING_STREET, "hours": hours})
        assert page.status_code == 422 and words in page.text
        assert 'id="enrolment-code"' not in page.text


def test_a_revoked_pc_is_refused_and_the_counter_says_so_keeping_its_data(
        pcs: Pcs, memory_keyring: MemoryKeyring, store: Store) -> None:
    admin = pcs.admin()
    registration = register_counter(pcs.settings, pcs.issue(admin), "将被停用的窗口")
    device_id = registration.device_id
    clerk = pcs.district.user(CHANGNING_STREET, "clerk1")
    with district_client(pcs.settings, store=store) as client:
        client.login(clerk, PASSWORD)
    with pcs.district.db.write() as session:  # a key registered on this PC
        user = session.scalars(select(models.User).where(models.User.username == clerk)).one()
        session.add(models.SigningKey(key_id=uuid.uuid4().hex, user_id=user.id,
                                      device_id=device_id, public_key="A" * 44,
                                      registered_at=utcnow()))

    reviewer = pcs.reviewer()
    assert 'id="revoke-form"' not in reviewer.get(f"/console/devices/{device_id}").text
    refused = reviewer.post(f"/console/devices/{device_id}/revoke",
                            {"reason": "丢失", "confirm": "yes"})
    assert refused.status_code == 403
    page = admin.get(f"/console/devices/{device_id}")
    assert 'id="revoke-form"' in page.text
    unconfirmed = admin.post(f"/console/devices/{device_id}/revoke", {"reason": "电脑丢失"})
    assert unconfirmed.status_code == 422 and "确认停用" in unconfirmed.text
    no_reason = admin.post(f"/console/devices/{device_id}/revoke",
                           {"reason": "  ", "confirm": "yes"})
    assert no_reason.status_code == 422 and "停用原因" in no_reason.text
    assert pcs.device(device_id).revoked_at is None

    done = admin.post(f"/console/devices/{device_id}/revoke",
                      {"reason": "电脑丢失", "confirm": "yes"})
    assert done.status_code == 303, done.text
    device = pcs.device(device_id)
    assert device.revoked_at is not None
    assert (device.revoked_by, device.revoked_reason) == ("changning.admin", "电脑丢失")
    with pcs.district.db.read() as session:
        assert not session.scalars(select(models.LoginSession)
                                   .where(models.LoginSession.device_id == device_id)).all()
        keys = session.scalars(select(models.SigningKey)
                               .where(models.SigningKey.device_id == device_id)).all()
        assert keys and all(k.revoked_at is not None and k.revoked_reason == "device_revoked"
                            for k in keys)
    listing = admin.get(done.headers["location"].removeprefix("https://testserver")).text
    assert "已停用这台柜台电脑" in listing and "电脑丢失" in listing
    again = admin.post(f"/console/devices/{device_id}/revoke",
                       {"reason": "再停一次", "confirm": "yes"})
    assert again.status_code == 422 and "已经停用" in again.text

    # the counter: its next request refused in words, the sync stops retrying, nothing lost
    _wait(store, 2)
    with district_client(pcs.settings, store=store) as client:
        with pytest.raises(ServerRefused) as info:
            client.device_info()
        assert info.value.code == "device_revoked"
        message = describe_failure(info.value)
        assert "停用" in message and message == info.value.message
        worker = SyncWorker(store, client)
        status = worker.sync_now()
        with store.read_session() as session:
            assert outbox_waiting_count(session) == 2  # nothing local lost
        with pytest.raises(SignInRefused) as signing_in:  # the clerk is told at sign-in too
            sign_in(store, client, clerk, PASSWORD)
        assert signing_in.value.message == message
    assert status.revoked and status.last_error == message and status.retry_at is None
    assert worker._next_delay == REVOKED_RETRY

    with pcs.district.db.read() as session:
        audited = session.scalars(select(models.AuditEvent).where(
            models.AuditEvent.subject == f"device:{device_id}")).all()
        verdict = verify_audit_trail(session)
    assert [(e.action, e.actor, e.street_code, e.detail["keys_revoked"]) for e in audited] == [
        ("device.revoked", "changning.admin", CHANGNING_STREET, 1)]
    assert verdict.intact, verdict.problems


def test_a_street_user_sees_and_revokes_only_their_street(
        pcs: Pcs, memory_keyring: MemoryKeyring) -> None:
    admin = pcs.admin()
    registration = register_counter(pcs.settings, pcs.issue(admin), "华阳路 别街看不见")
    device_id = registration.device_id
    # console users of another street of the same district
    _console_user(pcs, "xinhua.admin.t", XINHUA, "district_admin")
    _console_user(pcs, "xinhua.reviewer.t", XINHUA, "district_reviewer")
    other = pcs.district.browser().sign_in("xinhua.admin.t")
    listing = other.get("/console/devices")
    assert listing.status_code == 200 and device_id not in listing.text
    assert "华阳路" not in listing.text
    assert other.get(f"/console/devices?street={CHANGNING_STREET}").status_code == 404
    assert other.get(f"/console/devices/{device_id}").status_code == 404
    refused = other.post(f"/console/devices/{device_id}/revoke",
                         {"reason": "越权", "confirm": "yes"})
    assert refused.status_code == 404
    assert other.post("/console/devices/codes",
                      {"street_code": CHANGNING_STREET, "hours": "72"}).status_code == 404
    assert pcs.device(device_id).revoked_at is None
    assert pcs.issue(other, XINHUA)  # their own street's: yes
    assert other.post("/console/devices/codes",  # another district's street: not found
                      {"street_code": MINHANG_STREET, "hours": "72"}).status_code == 404
    viewer = pcs.district.browser().sign_in("xinhua.reviewer.t")
    assert device_id not in viewer.get("/console/devices").text
    assert viewer.get(f"/console/devices/{device_id}").status_code == 404
    assert viewer.post("/console/devices/codes",
                       {"street_code": MINHANG_STREET, "hours": "72"}).status_code == 403
