"""POST /push: applications re-verified and claimed once district-wide, signatures checked for
roles and maker-checker, every item applied exactly once by its idempotency key."""

from __future__ import annotations

import threading
import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from desktop import wire
from desktop.domain import signing
from tests.district.conftest import SeededDistrict, member_with_allowance
from tests.district.harness import (
    CHANGNING_STREET,
    MINHANG_STREET,
    Counter,
    audit_event,
    claimable_rows,
    fresh_recipients,
    outbox,
    signature,
)


def _application_of(item: wire.OutboxItem) -> str:
    return str(item.payload["application_id"])


def _with_payload(item: wire.OutboxItem, **changes: Any) -> wire.OutboxItem:
    payload = {**item.payload, **changes}
    return wire.OutboxItem(idempotency_key=uuid.uuid4(), kind=item.kind, payload=payload,
                           created_at=item.created_at)


def _fresh(district: SeededDistrict, counter: Counter) -> tuple[str, list[str]]:
    person = district.take_person(fresh_recipients(counter))
    return person, claimable_rows(counter, person)


def test_an_application_is_accepted_and_claims_its_rows(district: SeededDistrict) -> None:
    counter = district.counter()
    other_street = district.counter(MINHANG_STREET)
    person, rows = _fresh(district, counter)
    item = counter.application(person, rows)
    result = counter.push_one(item)
    assert result.status == "accepted", result
    assert result.detail == {"application_id": _application_of(item),
                             "payable": item.payload["payable"],
                             "card_on_file": counter.snapshot.persons[person]["bank_account"]}
    # The claims come back on the next pull, to this street only.
    new = counter.pull()
    claims = {c.key: c.data for c in new if c.entity == "claim"}
    assert set(claims) == set(rows)
    for data in claims.values():
        assert data is not None
        claim = wire.ClaimData.model_validate(data)
        assert str(claim.application_id) == _application_of(item)
        assert claim.device_id == counter.device_id and claim.status == "claimed"
    assert not [c for c in other_street.pull() if c.entity == "claim"]


def test_the_same_item_pushed_twice_is_applied_once(district: SeededDistrict) -> None:
    counter = district.counter()
    person, rows = _fresh(district, counter)
    item = counter.application(person, rows)
    first = counter.push_one(item)
    again = counter.push([item, item])  # a lost answer: the outbox sends it again (twice)
    assert first.status == "accepted"
    for result in again:
        assert result.status == "duplicate"
        assert result.reason is None and result.detail is not None
        assert result.detail["original_status"] == "accepted"
        assert result.detail["application_id"] == _application_of(item)
    claims = [c for c in counter.pull() if c.entity == "claim"]
    assert sorted(c.key for c in claims) == sorted(rows)  # one claim per row, not three
    # A refused item is remembered too: pushing it again answers the same refusal.
    bad = _with_payload(item)
    refused = counter.push_one(bad)
    assert refused.status == "refused" and refused.reason == "application_exists"
    dup = counter.push_one(bad)
    assert dup.status == "duplicate" and dup.reason == "application_exists"
    assert dup.detail is not None and dup.detail["original_status"] == "refused"


def test_a_row_is_claimed_once_across_counters(district: SeededDistrict) -> None:
    first = district.counter(login="clerk1")
    second = district.counter(login="clerk2")  # offline when the first one claimed
    person, rows = _fresh(district, first)
    mine = first.application(person, rows)
    theirs = second.application(person, rows[-1:])
    accepted = first.push_one(mine)
    refused = second.push_one(theirs)
    assert accepted.status == "accepted"
    assert refused.status == "refused" and refused.reason == "already_claimed"
    assert refused.message and "不能重复" in refused.message
    assert refused.detail is not None
    claimed_at = refused.detail.pop("claimed_at")
    assert refused.detail == {"fee_row_id": rows[-1], "application_id": _application_of(mine),
                              "street_code": CHANGNING_STREET, "device_id": first.device_id}
    pulled = {c.key: c.data or {} for c in second.pull() if c.entity == "claim"}
    assert pulled[rows[-1]]["claimed_at"] == claimed_at


def test_concurrent_claims_of_one_row_accept_exactly_one(district: SeededDistrict) -> None:
    counters = [district.counter(login="clerk1"), district.counter(login="clerk2"),
                district.counter(login="clerk1")]
    person, rows = _fresh(district, counters[0])
    items = [c.application(person, rows) for c in counters]
    results: list[wire.ItemResult] = []
    barrier = threading.Barrier(len(counters))

    def push(counter: Counter, item: wire.OutboxItem) -> None:
        barrier.wait()
        results.append(counter.push_one(item))

    threads = [threading.Thread(target=push, args=pair) for pair in zip(counters, items,
                                                                        strict=True)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    statuses = sorted(r.status for r in results)
    assert statuses == ["accepted", "refused", "refused"], results
    winner = next(r for r in results if r.status == "accepted")
    assert winner.detail is not None
    for loser in (r for r in results if r.status == "refused"):
        assert loser.reason == "already_claimed" and loser.detail is not None
        assert loser.detail["application_id"] == winner.detail["application_id"]
    claims = [c for c in counters[0].pull() if c.entity == "claim"]
    assert sorted(c.key for c in claims) == sorted(rows)


def test_one_request_keeps_each_items_own_outcome(district: SeededDistrict) -> None:
    """A request commits as one transaction, but an item refused in it refuses only itself,
    and a later item sees the earlier ones (their claims, their keys)."""
    counter = district.counter()
    person, rows = _fresh(district, counter)
    mine = counter.application(person, rows)
    again = counter.application(person, rows[:1])  # the same row, a second application
    note = audit_event("clerk1", 1)
    results = counter.push([mine, again, mine, note])
    assert [r.status for r in results] == ["accepted", "refused", "duplicate", "accepted"]
    assert results[1].reason == "already_claimed"
    assert results[1].detail is not None
    assert results[1].detail["application_id"] == _application_of(mine)
    claims = [c for c in counter.pull() if c.entity == "claim"]
    assert sorted(c.key for c in claims) == sorted(rows)


def test_concurrent_requests_claim_each_row_once(district: SeededDistrict) -> None:
    """Two counters push requests of several items at once, overlapping on one person's rows:
    whatever the interleaving (on PostgreSQL a request can lose a race and is applied item by
    item), each row is claimed once and every item gets exactly one answer."""
    counters = [district.counter(login="clerk1"), district.counter(login="clerk2")]
    shared, shared_rows = _fresh(district, counters[0])
    batches = []
    for n, counter in enumerate(counters):
        own, own_rows = _fresh(district, counter)
        batches.append([counter.application(own, own_rows), audit_event("clerk1", 10 + n),
                        counter.application(shared, shared_rows)])
    answers: dict[int, list[wire.ItemResult]] = {}
    barrier = threading.Barrier(2)

    def push(n: int) -> None:
        barrier.wait()
        answers[n] = counters[n].push(batches[n])

    threads = [threading.Thread(target=push, args=(n,)) for n in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    for n in range(2):
        assert [r.status for r in answers[n][:2]] == ["accepted", "accepted"]
    shared_statuses = sorted(answers[n][2].status for n in range(2))
    assert shared_statuses == ["accepted", "refused"]
    claims = [c for c in counters[0].pull() if c.entity == "claim" and c.key in shared_rows]
    assert sorted(c.key for c in claims) == sorted(shared_rows)


def test_an_amount_the_rules_do_not_give_is_refused(district: SeededDistrict) -> None:
    counter = district.counter()
    person, rows = _fresh(district, counter)
    honest = counter.application(person, rows)
    payable = honest.payload["payable"]
    more = f"{int(payable.split('.')[0]) + 100}.{payable.split('.')[1]}"
    buckets = dict(honest.payload["buckets"])
    first_bucket = next(iter(buckets))
    buckets[first_bucket] = f"{int(buckets[first_bucket].split('.')[0]) + 100}." \
                            f"{buckets[first_bucket].split('.')[1]}"
    greedy = _with_payload(honest, payable=more, buckets=buckets)
    refused = counter.push_one(greedy)
    assert refused.status == "refused" and refused.reason == "amount_mismatch"
    assert refused.detail is not None
    assert refused.detail["expected_payable"] == payable
    assert refused.detail["submitted_payable"] == more
    # The case itself may not be doctored either: the district's figures are the truth.
    case = dict(honest.payload["case"])
    fees = [dict(f) for f in case["fees"]]
    fees[-1]["self_pay"] = fees[-1]["total"]
    fees[-1]["out_of_scope"] = "0.00"
    doctored = _with_payload(honest, case={**case, "fees": fees})
    refused = counter.push_one(doctored)
    assert refused.status == "refused" and refused.reason == "case_mismatch"
    assert refused.detail is not None and refused.detail["field"].startswith("case.fees[")
    wrong_district = _with_payload(honest, district="minhang",
                                   case={**case, "district": "minhang"})
    refused = counter.push_one(wrong_district)
    assert refused.reason == "case_mismatch"
    assert refused.detail == {"field": "case.district"}
    # Nothing was claimed by the refusals: the honest application still goes through.
    assert counter.push_one(honest).status == "accepted"


def _two_rows_of_one_year(district: SeededDistrict, counter: Counter) -> tuple[str, list[str]]:
    for person in fresh_recipients(counter):
        years: dict[str, list[str]] = {}
        for row in claimable_rows(counter, person):
            years.setdefault(counter.snapshot.fee_rows[row]["date"][:4], []).append(row)
        rows = next((r for r in years.values() if len(r) >= 2), None)
        if rows and person not in district.used_persons:
            district.used_persons.add(person)
            return person, rows
    raise AssertionError("no person with two claimable rows of one year")


def test_history_must_be_in_the_case(district: SeededDistrict) -> None:
    """Rows settled before in the same year are H of POLICY.md §0.4: leaving them out would
    pay more than the rules give, so the server insists on them."""
    counter = district.counter()
    person, rows = _two_rows_of_one_year(district, counter)
    assert counter.push_one(counter.application(person, rows[:1])).status == "accepted"
    counter.pull()
    later = counter.application(person, rows[1:])
    settled = [f["id"] for f in later.payload["case"]["fees"] if f.get("settled")]
    assert settled == rows[:1]
    case = dict(later.payload["case"])
    forgetful = _with_payload(later, case={**case, "fees": case["fees"][1:]})
    refused = counter.push_one(forgetful)
    assert refused.status == "refused" and refused.reason == "case_mismatch"
    assert refused.detail == {"field": "case.fees"}
    assert counter.push_one(later).status == "accepted"


def test_a_request_sees_what_its_earlier_items_claimed_and_released(
        district: SeededDistrict) -> None:
    """A request's applications are checked against what is read for the whole request at
    once (district.services.prefetch), kept true as its items go: a later item sees the rows
    an earlier one claimed (POLICY.md §0.4: its history H), and after a withdrawal in the same
    request, the rows it released."""
    counter = district.counter()
    reviewer = district.user(CHANGNING_STREET, "reviewer")
    person, rows = _two_rows_of_one_year(district, counter)
    first = counter.application(person, rows[:1])
    forgetful = counter.application(person, rows[1:])  # built before the first was claimed
    counter.snapshot.claims[rows[0]] = {"fee_row_id": rows[0]}  # as a pull would tell it
    mindful = counter.application(person, rows[1:])  # the first's row in its history
    assert [f["id"] for f in mindful.payload["case"]["fees"] if f.get("settled")] == rows[:1]
    double = counter.application(person, rows[:1])
    raced = district.server.log().count("push batch raced")
    results = counter.push([first, forgetful, mindful, double])
    # answered by the request's own checks, not by the claims' key after a failed commit
    # (the item-by-item retry that follows a race looks everything up again)
    assert district.server.log().count("push batch raced") == raced
    assert [r.status for r in results] == ["accepted", "refused", "accepted", "refused"]
    assert (results[1].reason, results[1].detail) == ("case_mismatch", {"field": "case.fees"})
    assert results[3].reason == "already_claimed"
    assert results[3].detail is not None
    assert results[3].detail["application_id"] == _application_of(first)
    # sent back, withdrawn and claimed again, all in one request: the release is seen
    counter.pull()
    first_id = _application_of(first)
    back = counter.send_back(first_id, reviewer)
    withdrawn = counter.withdrawal(first_id, district.user(CHANGNING_STREET, "clerk1"))
    del counter.snapshot.claims[rows[0]]
    again = counter.application(person, rows[:1])
    raced = district.server.log().count("push batch raced")
    results = counter.push([back, withdrawn, again])
    assert district.server.log().count("push batch raced") == raced
    assert [r.status for r in results] == ["accepted"] * 3, results
    claims = {c.key: c.data for c in counter.pull() if c.entity == "claim"}
    claim = claims[rows[0]]
    assert claim is not None and claim["application_id"] == _application_of(again)


def test_street_scoping_on_push(district: SeededDistrict) -> None:
    changning = district.counter(CHANGNING_STREET)
    minhang = district.counter(MINHANG_STREET)
    person, rows = _fresh(district, changning)
    item = changning.application(person, rows)
    foreign = _with_payload(item, handler=district.user(MINHANG_STREET, "clerk1"),
                            district="minhang", case={**item.payload["case"],
                                                      "district": "minhang"})
    refused = minhang.push_one(foreign)
    assert refused.status == "refused" and refused.reason == "unknown_person"
    handler_elsewhere = _with_payload(item, handler=district.user(MINHANG_STREET, "clerk1"))
    refused = changning.push_one(handler_elsewhere)
    assert refused.reason == "forbidden" and refused.detail is not None
    assert refused.detail["rule"] == "handler_role"
    not_a_clerk = _with_payload(item, handler=district.user(CHANGNING_STREET, "reviewer"))
    assert changning.push_one(not_a_clerk).reason == "forbidden"
    other_person = next(p for p in changning.snapshot.persons if p != person)
    wrong_rows = _with_payload(item, person_id=other_person)
    assert changning.push_one(wrong_rows).reason == "unknown_fee_row"


def test_three_different_people_sign(district: SeededDistrict) -> None:
    counter = district.counter(login="clerk2")  # clerk2 may also review
    street = CHANGNING_STREET
    clerk1, clerk2 = district.user(street, "clerk1"), district.user(street, "clerk2")
    reviewer, approver = district.user(street, "reviewer"), district.user(street, "approver")
    person, rows = _fresh(district, counter)
    item = counter.application(person, rows, handler=clerk2)
    assert counter.push_one(item).status == "accepted"
    app = _application_of(item)

    def sign(role: str, username: str) -> wire.ItemResult:
        return counter.push_one(counter.signature(app, role, username))

    handler_alone = counter.push_one(signature(app, "handler", clerk2))
    assert handler_alone.reason == "invalid_payload"  # the 经办人 signs the application itself
    clerk_approves = sign("approver", clerk1)  # a clerk cannot approve
    assert clerk_approves.status == "refused" and clerk_approves.reason == "forbidden"
    assert clerk_approves.detail is not None and clerk_approves.detail["rule"] == "role"
    self_review = sign("reviewer", clerk2)  # holds the role, but handled this application
    assert self_review.status == "refused" and self_review.reason == "forbidden"
    assert self_review.detail is not None and self_review.detail["rule"] == "maker_checker"
    too_early = sign("approver", approver)
    assert too_early.status == "refused" and too_early.reason == "not_reviewed"
    assert sign("reviewer", approver).status == "accepted"  # the approver may review...
    own_review = sign("approver", approver)  # ...but then not approve the same application
    assert own_review.reason == "forbidden" and own_review.detail is not None
    assert own_review.detail["rule"] == "maker_checker"
    twice = sign("reviewer", reviewer)
    assert twice.reason == "already_signed"
    elsewhere = counter.push_one(signature(app, "approver",
                                           district.user(MINHANG_STREET, "approver")))
    assert elsewhere.reason == "forbidden"
    unknown = counter.push_one(signature(str(uuid.uuid4()), "reviewer", reviewer))
    assert unknown.reason == "unknown_application"


def test_a_full_approval(district: SeededDistrict) -> None:
    counter = district.counter(login="clerk1")
    street = CHANGNING_STREET
    person, rows = _fresh(district, counter)
    item = counter.application(person, rows)
    app = _application_of(item)
    results = counter.push([
        item,
        counter.signature(app, "reviewer", district.user(street, "reviewer")),
        counter.signature(app, "approver", district.user(street, "approver")),
    ])
    assert [r.status for r in results] == ["accepted"] * 3, results
    detail = results[-1].detail or {}
    assert {k: detail[k] for k in ("application_id", "status")} == {
        "application_id": app, "status": "approved"}
    # when the district accepted the approver's signature: the month it is paid in
    accepted_at = datetime.fromisoformat(detail["accepted_at"])
    assert abs(datetime.now(UTC) - accepted_at) < timedelta(minutes=5)
    # the street's counters learn each step; the last holds the three signatures
    states = [c.data for c in counter.pull() if c.entity == "application" and c.key == app]
    assert [s["status"] for s in states if s] == ["accepted", "reviewed", "approved"]
    final = wire.ApplicationData.model_validate(states[-1])
    assert [(s.role, s.username) for s in final.signatures] == [
        ("handler", counter.user.username if counter.user else ""),
        ("reviewer", district.user(street, "reviewer")),
        ("approver", district.user(street, "approver"))]
    assert final.signatures[-1].accepted_at == accepted_at
    assert sorted(final.fee_row_ids) == sorted(item.payload["fee_row_ids"])


def test_bad_items_are_refused_not_failed(district: SeededDistrict) -> None:
    counter = district.counter()
    garbage = wire.OutboxItem(idempotency_key=uuid.uuid4(), kind="application",
                              payload={"application_id": "not-a-uuid"},
                              created_at=audit_event("x", 0).created_at)
    result = counter.push_one(garbage)
    assert result.status == "refused" and result.reason == "invalid_payload"
    person, rows = _fresh(district, counter)
    item = counter.application(person, rows)
    broken_case = _with_payload(item, case={**item.payload["case"], "schema": "other/9"})
    result = counter.push_one(broken_case)
    assert result.reason == "invalid_case" and result.detail == {"field": "case.schema"}
    events = [audit_event(district.user(CHANGNING_STREET, "clerk1"), n) for n in range(3)]
    assert [r.status for r in counter.push(events)] == ["accepted"] * 3
    same_event = outbox("audit_event", wire.AuditEventPayload.model_validate(events[0].payload))
    assert counter.push_one(same_event).reason == "event_exists"
    assert counter.push([]) == []


def test_mutual_aid_pays_from_the_card_first(district: SeededDistrict) -> None:
    """MA-2021 四(一): the card's allowance is used first; the server takes what was paid from
    the card off the balance, and a case computed on the old balance is refused."""
    counter = district.counter()
    stale = district.counter(login="clerk2")
    snap = counter.snapshot
    person, rows, item = member_with_allowance(district, counter, rows_needed=2)
    before = Decimal(snap.persons[person]["allowance_balance"])
    paid = Decimal(item.payload["buckets"]["allowance"])
    assert counter.push_one(item).status == "accepted"
    updates = [c for c in counter.pull() if c.entity == "person"]
    assert [c.key for c in updates] == [person]
    assert Decimal(snap.persons[person]["allowance_balance"]) == before - paid
    late = stale.application(person, rows[1:], program="mutual_aid")  # computed on the old card
    refused = stale.push_one(late)
    assert refused.status == "refused" and refused.reason == "case_mismatch"
    assert refused.detail == {"field": "case.person.mutual_aid.allowance_balance"}
    stale.pull()
    assert stale.push_one(stale.application(person, rows[1:], program="mutual_aid")).status \
        == "accepted"


def test_the_bank_card_travels_with_the_application(district: SeededDistrict) -> None:
    """The payout list needs the card the applicant confirmed (CN-2026 3.5)."""
    from sqlalchemy import create_engine, text

    counter = district.counter()
    person, rows = _fresh(district, counter)
    card = "6222021234567890128"
    with_card = counter.application(person, rows, bank_account=card)
    assert counter.push_one(with_card).status == "accepted"
    engine = create_engine(district.server.database_url)
    try:
        with engine.connect() as connection:
            stored = connection.execute(text("SELECT bank_account FROM applications WHERE id = :i"),
                                        {"i": _application_of(with_card)}).scalar_one()
    finally:
        engine.dispose()
    assert stored == card
    person, rows = _fresh(district, counter)
    bad = _with_payload(counter.application(person, rows), bank_account="6222 0212")
    result = counter.push_one(bad)
    assert result.status == "refused" and result.reason == "invalid_payload"


def _overdue_application(district: SeededDistrict, counter: Counter, approver: str | None
                         ) -> wire.OutboxItem:
    """An application for one overdue row whose 6-month check an approver waived."""
    import json
    from datetime import datetime as dt

    from desktop.policy.contract import calculate_text
    from tests.district.harness import shanghai_today

    cutoff = (shanghai_today().replace(day=1)).toordinal() - 200
    snap = counter.snapshot
    for person in fresh_recipients(counter):
        if person in district.used_persons:
            continue
        for fee in snap.rows_of(person):
            if fee["id"] in snap.claims or dt.fromisoformat(fee["date"]).toordinal() > cutoff:
                continue
            case = counter.case(person, [fee["id"]])
            case["fees"] = [{**f, "waived": ["overdue"]} if f["id"] == fee["id"] else f
                            for f in case["fees"]]
            result = calculate_text(json.dumps(case))
            if not any(r["counts"] and r["id"] == fee["id"] for r in result["rows"]):
                continue
            district.used_persons.add(person)
            waivers: list[dict[str, Any]] = []
            if approver is not None:  # the approver signs the waiver with their own key here
                counter.ensure_key(approver)
                at = dt.now(UTC)
                waived = signing.SignedAct(
                    act="waive", application_id="", role="approver", username=approver,
                    device_id=counter.device_id, case_sha256="", payable="", card_sha256="",
                    card_confirmed=False, signed_at=at, extra=signing.waiver_extra(
                        person, fee["id"], ["overdue"], "住院期间无法申请"))
                waivers = [{"fee_row_id": fee["id"], "reasons": ["overdue"],
                            "approver": approver, "reason": "住院期间无法申请",
                            "at": at.isoformat(),
                            "proof": counter.prove(waived).model_dump()}]
            handler = counter.user.username if counter.user else ""
            counter.ensure_key(handler)
            application_id, created = uuid.uuid4(), dt.now(UTC)
            counter.saved[str(application_id)] = (case, result["payable"], None, created)
            proof = counter.prove(counter.act("sign", str(application_id), "handler", handler,
                                              created))
            payload = wire.ApplicationPayload(
                application_id=application_id, program="assistance", district=case["district"],
                person_id=person, fee_row_ids=[fee["id"]], case=case,
                payable=result["payable"], buckets=result["buckets"],
                parameter_versions=[f"{p['key']}@{p['effective_from']}"
                                    for p in result["parameters"]],
                handler=handler, handler_proof=proof,
                waivers=waivers, created_at=created)  # type: ignore[arg-type]
            return outbox("application", payload)
    raise AssertionError("no overdue row in the seeded district")


def test_a_waived_check_needs_the_streets_approver(district: SeededDistrict) -> None:
    """Issue 4 flow 3: the district accepts a waived 6-month check only with an approver of
    the street who is not the handler."""
    counter = district.counter()
    approver = district.user(CHANGNING_STREET, "approver")
    accepted = counter.push_one(_overdue_application(district, counter, approver))
    assert accepted.status == "accepted", accepted
    missing = counter.push_one(_overdue_application(district, counter, None))
    assert missing.status == "refused" and missing.reason == "invalid_waiver"
    handler = counter.user.username if counter.user else ""
    by_handler = counter.push_one(_overdue_application(district, counter, handler))
    assert by_handler.status == "refused" and by_handler.reason == "invalid_waiver"
