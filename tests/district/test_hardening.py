"""The district trusts no counter: every bad input is a 4xx ErrorBody naming the field, never a
500; bodies have a limit; an idempotency key is bound to its body."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator

import httpx
import pytest
from sqlalchemy import update

from desktop import wire
from district import models
from district.app import BODY_LIMIT, PUSH_BODY_LIMIT
from district.db import Database
from tests.district.conftest import SeededDistrict
from tests.district.harness import CHANGNING_STREET, Counter, audit_event


def _error(response: httpx.Response) -> wire.ErrorBody:
    return wire.ErrorBody.model_validate_json(response.content)


def _refused(response: httpx.Response, status: int, field: str | None) -> wire.ErrorBody:
    assert response.status_code == status, response.text
    error = _error(response)
    assert error.field == field, error
    assert error.message and not error.message.isascii()  # a Chinese message for the screen
    return error


@pytest.fixture(scope="module")
def clerk(district: SeededDistrict) -> Counter:
    return district.counter(login="clerk1", pull=False)


@pytest.mark.parametrize(("params", "field"), [
    ({"cursor": str(2**63)}, "cursor"),
    ({"cursor": "-1"}, "cursor"),
    ({"cursor": "1e3"}, "cursor"),
    ({"cursor": "9" * 400}, "cursor"),
    ({"limit": "0"}, "limit"),
    ({"limit": "5001"}, "limit"),
    ({"count": "maybe"}, "count"),
])
def test_changes_refuses_out_of_bounds_queries(clerk: Counter, params: dict[str, str],
                                               field: str) -> None:
    _refused(clerk.get("/changes", **params), 422, field)


def test_the_largest_cursor_is_an_empty_page(clerk: Counter) -> None:
    page = clerk.page(2**63 - 1, 10, count=True)
    assert page.items == [] and page.next_cursor == 2**63 - 1 and page.total == 0


@pytest.mark.parametrize("month", ["0000-01", "1999-12", "2100-01", "2026-13", "2026-00",
                                   "2026-1", "2026-05-01", "２０２６-05", "2026-05\n", ""])
def test_monthly_summary_needs_a_real_month(clerk: Counter, month: str) -> None:
    _refused(clerk.get("/monthly-summary", month=month), 422, "month")


def test_monthly_summary_bounds_and_street(clerk: Counter) -> None:
    for month in ("2000-01", "2099-12"):
        r = clerk.get("/monthly-summary", month=month)
        assert r.status_code == 200 and r.json()["applications"] == 0
    _refused(clerk.get("/monthly-summary", month="2026-05", street_code="x" * 13), 422,
             "street_code")


def test_a_body_over_the_limit_is_refused_before_it_is_read(clerk: Counter) -> None:
    big = b'{"items": [' + b" " * PUSH_BODY_LIMIT + b"]}"
    r = clerk.http.post("/push", content=big,
                        headers={**clerk.headers(), "Content-Type": "application/json"})
    error = _refused(r, 413, None)
    assert error.code == "body_too_large" and "8 MB" in error.message
    r = clerk.http.post("/login", content=b" " * (BODY_LIMIT + 1),
                        headers={**clerk.headers(), "Content-Type": "application/json"})
    assert _refused(r, 413, None).code == "body_too_large" and "64 KB" in _error(r).message


def _chunks(data: bytes, size: int = 4096) -> Iterator[bytes]:
    for start in range(0, len(data), size):
        yield data[start:start + size]


def test_a_chunked_body_cannot_get_past_the_limit(district: SeededDistrict,
                                                  clerk: Counter) -> None:
    """No Content-Length: the limit is counted on the bytes as they arrive."""
    login = {"username": district.user(CHANGNING_STREET, "clerk1"), "password": "x"}
    padded = json.dumps(login).encode()[:-1] + b" " * BODY_LIMIT + b"}"
    r = clerk.http.post("/login", content=_chunks(padded),
                        headers={**clerk.headers(), "Content-Type": "application/json"})
    assert "content-length" not in r.request.headers  # it went chunked
    assert _refused(r, 413, None).code == "body_too_large"
    # A chunked body under the limit is read whole.
    small = json.dumps({"username": "nobody", "password": "x"}).encode()
    r = clerk.http.post("/login", content=_chunks(small, 5),
                        headers={**clerk.headers(), "Content-Type": "application/json"})
    assert r.status_code == 401 and _error(r).code == "invalid_credentials"


def test_too_many_items_and_bad_fields_are_named(clerk: Counter) -> None:
    items = [audit_event("x", n).model_dump(mode="json") for n in range(501)]
    r = clerk.http.post("/push", json={"items": items}, headers=clerk.headers())
    _refused(r, 422, "items")
    r = clerk.http.post("/push", json={"items": [{**items[0], "kind": "rocket"}]},
                        headers=clerk.headers())
    _refused(r, 422, "items.0.kind")
    r = clerk.http.post("/push", content=b'{"items": [', headers={
        **clerk.headers(), "Content-Type": "application/json"})
    assert r.status_code == 422 and _error(r).code == "invalid_json"


@pytest.mark.parametrize(("body", "field"), [
    ({"username": "a\x00b", "password": "x"}, "username"),
    ({"username": "x" * 65, "password": "x"}, "username"),
    ({"username": "x", "password": "x" * 257}, "password"),
    ({"username": "x", "password": "x", "extra": 1}, "extra"),
])
def test_login_fields_are_bounded(clerk: Counter, body: dict[str, str], field: str) -> None:
    r = clerk.http.post("/login", json=body, headers=clerk.headers())
    _refused(r, 422, field)


def test_odd_json_is_refused_not_failed(clerk: Counter) -> None:
    """NaN, a lone surrogate and deep nesting: answers, never a server error."""
    item = audit_event("x", 0).model_dump(mode="json")
    raw = json.dumps({"items": [{**item, "payload": {"n": float("nan")}}]})
    r = clerk.http.post("/push", content=raw, headers={
        **clerk.headers(), "Content-Type": "application/json"})
    _refused(r, 422, "items.0.payload")
    login = '{"username": "x", "password": "\\ud800"}'
    r = clerk.http.post("/login", content=login, headers={
        **clerk.headers(), "Content-Type": "application/json"})
    assert r.status_code in (401, 422), r.text
    nested = "[" * 5000 + "]" * 5000
    deep = (f'{{"items": [{{"idempotency_key": "{uuid.uuid4()}", "kind": "audit_event", '
            f'"payload": {{"d": {nested}}}, "created_at": "2026-05-01T00:00:00Z"}}]}}')
    r = clerk.http.post("/push", content=deep, headers={
        **clerk.headers(), "Content-Type": "application/json"})
    assert 400 <= r.status_code < 500 or r.status_code == 200, r.text
    if r.status_code == 200:
        assert r.json()["results"][0]["status"] == "refused"
    else:
        assert _error(r).code


def _push(counter: Counter, items: list[wire.OutboxItem]) -> httpx.Response:
    return counter.http.post("/push", content=wire.Push(items=items).model_dump_json(),
                             headers={**counter.headers(), "Content-Type": "application/json"})


def _same_key(item: wire.OutboxItem, other: wire.OutboxItem) -> wire.OutboxItem:
    return other.model_copy(update={"idempotency_key": item.idempotency_key})


def test_a_reused_key_with_another_body_refuses_the_whole_request(
        district: SeededDistrict, clerk: Counter) -> None:
    me = district.user(CHANGNING_STREET, "clerk1")
    first = audit_event(me, 1)
    assert clerk.push_one(first).status == "accepted"
    # The same item again (the answer was lost): duplicate, as before; a new created_at does
    # not make it another body.
    again = first.model_copy(update={"created_at": audit_event(me, 0).created_at})
    assert clerk.push_one(again).status == "duplicate"
    # Another body under the same key, after a fresh item: 409, and the fresh one not applied.
    fresh = audit_event(me, 2)
    forged = _same_key(first, audit_event(me, 3))
    r = _push(clerk, [fresh, forged])
    error = _refused(r, 409, "items.1.idempotency_key")
    assert error.code == "idempotency_key_reused" and str(first.idempotency_key) in error.message
    assert clerk.push_one(fresh).status == "accepted"  # it was not applied by the refused push
    # Within one request, too: the second use of a key with another body refuses it all.
    a, b = audit_event(me, 4), audit_event(me, 5)
    r = _push(clerk, [a, _same_key(a, b)])
    assert _refused(r, 409, "items.1.idempotency_key").code == "idempotency_key_reused"
    assert [x.status for x in clerk.push([a, a])] == ["accepted", "duplicate"]


def test_a_key_from_before_the_hash_was_kept_counts_as_the_same_body(
        district: SeededDistrict, clerk: Counter) -> None:
    me = district.user(CHANGNING_STREET, "clerk1")
    old = audit_event(me, 10)
    assert clerk.push_one(old).status == "accepted"
    db = Database(district.server.database_url)
    try:
        with db.write() as session:
            session.execute(update(models.PushItem).where(
                models.PushItem.idempotency_key == str(old.idempotency_key))
                .values(body_sha256=None))
    finally:
        db.dispose()
    assert clerk.push_one(_same_key(old, audit_event(me, 11))).status == "duplicate"
