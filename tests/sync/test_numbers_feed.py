"""The application number (issue 12) between real counters and a real district server: each PC
numbers with the device number its registration gave, and another counter of the street learns
an application's number with the pull."""

from __future__ import annotations

from pathlib import Path

import httpx

from desktop.services.accounts import sign_in
from desktop.services.applications import record_push_result
from desktop.services.numbering import device_number, learn_device_number, remember_registration
from desktop.store import open_store
from desktop.sync.client import DistrictClient
from desktop.sync.credentials import MemoryKeyring, load_device_token, save_device_token
from desktop.sync.pull import pull
from desktop.sync.push import push
from desktop.wire import API_PREFIX, OLDEST_PROTOCOL, PROTOCOL_HEADER
from tests.district.harness import free_port
from tests.sync.conftest import PASSWORD, DistrictServer
from tests.sync.test_sync_e2e import TODAY, Counter, save_first, status_of


def _numbered_counter(district: DistrictServer, path: Path, code: str,
                      clerk: int) -> tuple[Counter, int | None]:
    """A counter as the first run sets it up: registered, its registration kept in its store."""
    with DistrictClient(district.url) as anonymous:
        registered = anonymous.register(code, f"counter {path.stem}")
    save_device_token(district.url, registered.token, path.stem)
    store = open_store(path)
    remember_registration(store, registered.street_name, registered.device_number)
    client = DistrictClient(district.url, lambda: load_device_token(district.url, path.stem))
    username = district.user("clerk", clerk)
    sign_in(store, client, username, PASSWORD)
    push(store, client)
    return Counter(store, client, username), registered.device_number


def test_the_number_reaches_another_counter_of_the_street(
        district: DistrictServer, memory_keyring: MemoryKeyring, tmp_path: Path) -> None:
    a, first = _numbered_counter(district, tmp_path / "a.sqlite", district.codes()[0], 0)
    b, second = _numbered_counter(district, tmp_path / "b.sqlite", district.codes()[1], 1)
    assert (first, second) == (1, 2)  # the street's first and second PC
    # GET /devices/me tells each PC of itself only (it takes no id: the device token decides)
    mine, theirs = a.client.device_info(), b.client.device_info()
    assert (mine.device_number, theirs.device_number) == (1, 2)
    assert mine.device_id != theirs.device_id and mine.street_code == theirs.street_code
    pull(a.store, a.client)
    saved, _, _ = save_first(a)
    assert saved.number == f"华阳-{TODAY.year}-01-0001"
    stats = push(a.store, a.client, on_result=record_push_result)
    assert stats.refused == 0, stats
    assert status_of(a.store, saved.application_id).status == "accepted"
    pull(b.store, b.client)
    there = status_of(b.store, saved.application_id)
    assert (there.number, there.created_by) == (saved.number, a.clerk)
    a.close()
    b.close()


def test_a_pc_registered_before_pc_numbers_learns_its_number_at_sign_in(
        district: DistrictServer, memory_keyring: MemoryKeyring, tmp_path: Path) -> None:
    """Issue 12: a PC that registered with a counter of protocol 2 was not told its number (the
    answer left out what that protocol did not know), and was upgraded since. After its next
    online sign-in it asks the district (GET /devices/me) and numbers its applications;
    offline it cannot ask. (Protocol 2 itself is no longer served: the PC registers here with
    today's and its store is left without the number, as the old PC's is.)"""
    path = tmp_path / "old.sqlite"
    answer = httpx.post(f"{district.url}{API_PREFIX}/devices/register",
                        headers={PROTOCOL_HEADER: str(OLDEST_PROTOCOL)}, timeout=30,
                        json={"enrolment_code": district.codes()[0], "device_name": "old pc"})
    assert answer.status_code == 201, answer.text
    registered = answer.json()
    save_device_token(district.url, registered["token"], path.stem)
    store = open_store(path)
    remember_registration(store, registered["street_name"], None)
    unreachable = DistrictClient(f"http://127.0.0.1:{free_port()}",
                                 lambda: load_device_token(district.url, path.stem))
    assert learn_device_number(store, unreachable) is None  # offline: nothing learned
    client = DistrictClient(district.url, lambda: load_device_token(district.url, path.stem))
    assert client.device_info().device_number == 1
    username = district.user("clerk", 0)
    sign_in(store, client, username, PASSWORD)
    with store.read_session() as session:
        assert device_number(session) == 1
    counter = Counter(store, client, username)
    pull(store, client)
    saved, _, _ = save_first(counter)
    assert saved.number == f"华阳-{TODAY.year}-01-0001"
    counter.close()
