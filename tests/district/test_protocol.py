"""A versioned wire (issue 10): every request says its protocol version, the server serves the
current one and the one before it, and answers any other with a clear error the counter shows;
a recorded exchange of today's version (tests/fixtures/wire-v4.json) still reads and writes the
same with today's schemas, and the one of the version before it (wire-v3.json) still reads."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest
from pydantic import BaseModel

from desktop import wire
from desktop.sync.client import DistrictClient, ServerRefused
from desktop.sync.worker import describe_failure
from tests.district.conftest import SeededDistrict
from tests.district.harness import (
    MINHANG_STREET,
    PASSWORD,
    claimable_rows,
    fresh_recipients,
    outbox,
)

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
RECORDED = FIXTURES / f"wire-v{wire.PROTOCOL_VERSION}.json"
PREVIOUS = FIXTURES / f"wire-v{wire.OLDEST_PROTOCOL}.json"


def _get(district: SeededDistrict, path: str, version: str | None,
         **params: Any) -> httpx.Response:
    counter = district.counter(pull=False)
    headers = counter.headers()
    headers.pop(wire.PROTOCOL_HEADER, None)
    if version is not None:
        headers[wire.PROTOCOL_HEADER] = version
    return counter.http.get(path, params=params, headers=headers)


def test_the_server_says_its_version_with_every_answer(district: SeededDistrict) -> None:
    answer = _get(district, "/changes", str(wire.PROTOCOL_VERSION), limit=1)
    assert answer.status_code == 200
    assert answer.headers[wire.PROTOCOL_HEADER] == str(wire.PROTOCOL_VERSION)


@pytest.mark.parametrize("version", ["0", "-3", str(wire.OLDEST_PROTOCOL - 1), None])
def test_a_counter_too_old_is_told_to_upgrade(district: SeededDistrict,
                                              version: str | None) -> None:
    """A request without the header is version 1's, which protocol 3 no longer serves."""
    answer = _get(district, "/changes", version)
    assert answer.status_code == 426
    body = wire.ErrorBody.model_validate_json(answer.content)
    assert body.code == "upgrade_required" and "请升级柜台程序" in body.message
    assert body.field == wire.PROTOCOL_HEADER


def test_a_counter_newer_than_the_server_is_told_the_server_is_old(
        district: SeededDistrict) -> None:
    answer = _get(district, "/changes", str(wire.PROTOCOL_VERSION + 1))
    assert answer.status_code == 426
    assert wire.ErrorBody.model_validate_json(answer.content).code == "server_outdated"


def test_a_version_that_is_not_a_number_names_the_header(district: SeededDistrict) -> None:
    answer = _get(district, "/changes", "two")
    assert answer.status_code == 400
    assert wire.ErrorBody.model_validate_json(answer.content).field == wire.PROTOCOL_HEADER


def test_the_previous_version_is_served_without_what_it_cannot_read(
        district: SeededDistrict) -> None:
    """A counter of version 3 works as before: its pages carry no 免申即享 commitment (an
    entity its strict Change refuses) and no parameter value's `assumption`; its sign-in
    answer has no `must_change_password`; the commitment items it cannot know are refused
    if sent; its pushes are answered as before."""
    current = district.counter()
    person = district.take_person(fresh_recipients(current))
    application = current.application(person, claimable_rows(current, person),
                                      auto_enrolled=True)
    assert current.push_one(application).status == "accepted"
    commitment = current.commitment(person, str(application.payload["application_id"]))
    assert current.push_one(commitment).status == "accepted"
    new = current.pull()
    assert "commitment" in {c.entity for c in new}
    assert all("assumption" in (c.data or {}) for c in new if c.entity == "parameter_version")

    old = district.counter(login=None)
    old.protocol = wire.OLDEST_PROTOCOL
    answer = old.http.post("/login", json={"username": district.user(old.street_code,
                                                                      "clerk1"),
                                            "password": PASSWORD}, headers=old.headers())
    assert answer.status_code == 200 and "must_change_password" not in answer.json()
    old.session_token = answer.json()["session_token"]
    seen: list[wire.Change] = []
    cursor, total = 0, None
    while True:
        page = old.page(cursor, 5000, count=total is None)
        total = page.total if total is None else total
        seen += page.items
        cursor = page.next_cursor
        if not page.more:
            break
    assert len(seen) == total
    assert "commitment" not in {c.entity for c in seen}
    assert {"person", "fee_row", "claim", "application"} <= {c.entity for c in seen}
    parameters = [c for c in seen if c.entity == "parameter_version"]
    assert parameters and all("assumption" not in (c.data or {}) for c in parameters)
    for change in parameters:  # version 3's schema: today's, without the assumption
        fields = set(wire.ParameterVersionData.model_fields) - {"assumption"}
        assert set(change.data or {}) <= fields
    pushed = old.http.post("/push", json={"items": []}, headers=old.headers())
    assert pushed.status_code == 200 and set(pushed.json()) == {"results", "generation"}
    again = outbox("commitment", wire.CommitmentPayload.model_validate(commitment.payload))
    refused = old.push_one(again)  # (a version 3 counter never makes one)
    assert (refused.status, refused.reason) == ("refused", "protocol_outdated")


def test_the_counter_shows_the_upgrade_message(district: SeededDistrict,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    """The real client of an older counter (its version below what the server serves) gets
    the server's message, and the sync status line shows it as is."""
    counter = district.counter(pull=False)
    monkeypatch.setattr(wire, "PROTOCOL_VERSION", wire.OLDEST_PROTOCOL - 1)
    with (DistrictClient(district.base_url.removesuffix(wire.API_PREFIX),
                         lambda: counter.registered.token) as client,
          pytest.raises(ServerRefused) as refused):
        client.login(district.user(counter.street_code, "clerk1"), "whatever")
    assert refused.value.status == 426
    assert "请升级柜台程序" in describe_failure(refused.value)


# -- the recorded exchange of today's version -------------------------------------------------

def _same(model: type[BaseModel], recorded: Any) -> None:
    """Today's schema reads the recorded JSON and writes it back the same."""
    assert model.model_validate(recorded).model_dump(mode="json") == recorded


def test_the_recorded_exchange_still_reads_and_writes_the_same() -> None:
    recorded = json.loads(RECORDED.read_text("utf-8"))
    assert recorded["protocol"] == wire.PROTOCOL_VERSION
    _same(wire.Login, recorded["login"]["request"])
    _same(wire.LoggedIn, recorded["login"]["response"])
    _same(wire.ChangesPage, recorded["changes"])
    _same(wire.Push, recorded["push"]["request"])
    _same(wire.PushResult, recorded["push"]["response"])
    _same(wire.KnownItems, recorded["known"]["request"])
    _same(wire.KnownAnswer, recorded["known"]["response"])
    page = recorded["changes"]
    assert page["count"] == len(page["items"]) and page["generation"] and page["newest"]
    entities = {c["entity"] for c in recorded["changes"]["items"]}
    assert entities == set(wire.Entity.__args__)  # type: ignore[attr-defined]
    schemas: dict[str, type[BaseModel]] = {
        "person": wire.PersonData, "category_span": wire.CategorySpanData,
        "institution": wire.InstitutionData, "fee_row": wire.FeeRowData,
        "claim": wire.ClaimData, "parameter_version": wire.ParameterVersionData,
        "application": wire.ApplicationData, "commitment": wire.CommitmentData}
    for change in recorded["changes"]["items"]:
        _same(schemas[change["entity"]], change["data"])
    payloads: dict[str, type[BaseModel]] = {
        "application": wire.ApplicationPayload, "signature": wire.SignaturePayload,
        "audit_event": wire.AuditEventPayload, "commitment": wire.CommitmentPayload}
    for item in recorded["push"]["request"]["items"]:
        _same(payloads[item["kind"]], item["payload"])


def test_the_previous_version_s_recorded_exchange_still_reads() -> None:
    """Version 3's recording (what its counters send and read) reads with today's schemas,
    and writes back the same without the fields version 4 added."""
    recorded = json.loads(PREVIOUS.read_text("utf-8"))
    assert recorded["protocol"] == wire.OLDEST_PROTOCOL
    added: dict[type[BaseModel], set[str]] = {
        wire.ParameterVersionData: {"assumption"}, wire.LoggedIn: {"must_change_password"}}
    assert {c["entity"] for c in recorded["changes"]["items"]} == set(
        wire.Entity.__args__) - {"commitment"}  # type: ignore[attr-defined]

    def same(model: type[BaseModel], value: Any) -> None:
        dumped = model.model_validate(value).model_dump(mode="json",
                                                        exclude=added.get(model) or None)
        assert dumped == value

    same(wire.Push, {"items": []})
    same(wire.LoggedIn, recorded["login"]["response"])
    for change in recorded["changes"]["items"]:
        if change["entity"] in ("application", "parameter_version"):
            same(wire.ApplicationData if change["entity"] == "application"
                 else wire.ParameterVersionData, change["data"])
    for item in recorded["push"]["request"]["items"]:
        if item["kind"] == "application":
            same(wire.ApplicationPayload, item["payload"])


def test_known_items_are_answered_only_to_the_pc_that_pushed_them(
        district: SeededDistrict) -> None:
    """POST /push/known: anonymous or session-less asks are refused; a PC of this street or
    of another street learns nothing of another PC's keys."""
    pusher = district.counter()
    person = district.take_person(fresh_recipients(pusher))
    item = pusher.application(person, claimable_rows(pusher, person))
    assert pusher.push_one(item).status == "accepted"
    body = {"keys": [str(item.idempotency_key)]}
    assert pusher.http.post("/push/known", json=body,
                            headers=pusher.headers()).json()["known"] == body["keys"]
    anonymous = pusher.http.post("/push/known", json=body,
                                 headers={wire.PROTOCOL_HEADER: str(wire.PROTOCOL_VERSION)})
    assert anonymous.status_code == 401
    no_session = {k: v for k, v in pusher.headers().items() if k != "X-Session-Token"}
    assert pusher.http.post("/push/known", json=body, headers=no_session).status_code == 401
    for other in (district.counter(), district.counter(MINHANG_STREET)):
        answer = other.http.post("/push/known", json=body, headers=other.headers())
        assert answer.status_code == 200 and answer.json()["known"] == []
