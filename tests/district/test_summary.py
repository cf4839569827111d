"""GET /monthly-summary: the month's approved applications per street, by program and bucket."""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal
from typing import Any

import httpx

from tests.district.conftest import SeededDistrict
from tests.district.harness import (
    CHANGNING_STREET,
    MINHANG_STREET,
    claimable_rows,
    fresh_recipients,
    shanghai_today,
)


def _summary(district: SeededDistrict, headers: dict[str, str], month: str,
             **params: str) -> httpx.Response:
    return httpx.get(f"{district.base_url}/monthly-summary", headers=headers,
                     params={"month": month, **params})


def _street(summary: dict[str, Any], code: str) -> dict[str, Any]:
    return next(s for s in summary["streets"] if s["street_code"] == code)


def test_summary_adds_up_the_approved_applications(district: SeededDistrict) -> None:
    """Only what the 审批人 approved reaches the summary (issue 9, point 3): an application
    accepted, or reviewed only, counts for nothing yet."""
    counter = district.counter()
    reviewer = district.user(CHANGNING_STREET, "reviewer")
    approver = district.user(CHANGNING_STREET, "approver")
    month = shanghai_today().strftime("%Y-%m")
    before = _summary(district, counter.headers(), month).json()
    expected_buckets: dict[str, Decimal] = defaultdict(Decimal)
    expected_total = Decimal("0")
    pushed = 0
    for n in range(4):
        person = district.take_person(fresh_recipients(counter))
        item = counter.application(person, claimable_rows(counter, person))
        result = counter.push_one(item)
        assert result.status == "accepted", result
        counter.pull()
        app = str(item.payload["application_id"])
        if n == 3:  # accepted only
            continue
        assert counter.push_one(counter.signature(app, "reviewer", reviewer)).status \
            == "accepted"
        if n == 2:  # reviewed only
            continue
        assert counter.push_one(counter.signature(app, "approver", approver)).status \
            == "accepted"
        pushed += 1
        expected_total += Decimal(item.payload["payable"])
        for bucket, amount in item.payload["buckets"].items():
            expected_buckets[bucket] += Decimal(amount)
    # A refused application counts for nothing.
    person = district.take_person(fresh_recipients(counter))
    greedy = counter.application(person, claimable_rows(counter, person))
    greedy_payload = {**greedy.payload, "payable": "99999.00"}
    refused = counter.push_one(greedy.model_copy(update={"payload": greedy_payload}))
    assert refused.status == "refused"

    after = _summary(district, counter.headers(), month).json()
    assert [s["street_code"] for s in after["streets"]] == [CHANGNING_STREET]
    old, new = _street(before, CHANGNING_STREET), _street(after, CHANGNING_STREET)
    assert new["applications"] == old["applications"] + pushed
    assert Decimal(new["payable"]) - Decimal(old["payable"]) == expected_total
    old_buckets = _buckets(old, "assistance")
    new_buckets = _buckets(new, "assistance")
    for bucket, amount in expected_buckets.items():
        assert new_buckets[bucket] - old_buckets[bucket] == amount
    assert Decimal(after["payable"]) == sum(Decimal(s["payable"]) for s in after["streets"])


def _buckets(street: dict[str, Any], program: str) -> dict[str, Decimal]:
    found = next((p for p in street["programs"] if p["program"] == program), None)
    out: dict[str, Decimal] = defaultdict(Decimal)
    if found:
        for bucket, amount in found["buckets"].items():
            out[bucket] = Decimal(amount)
        assert sum(out.values()) == Decimal(found["payable"])
    return out


def test_seeded_months_have_history(district: SeededDistrict) -> None:
    counter = district.counter(pull=False)
    today = shanghai_today()
    month = f"{today.year - (today.month <= 2)}-{(today.month - 3) % 12 + 1:02d}"
    summary = _summary(district, counter.headers(), month).json()
    street = _street(summary, CHANGNING_STREET)
    assert street["applications"] > 0
    assert Decimal(street["payable"]) > 0


def test_who_sees_which_street(district: SeededDistrict) -> None:
    clerk = district.counter(pull=False)
    month = shanghai_today().strftime("%Y-%m")
    own = _summary(district, clerk.headers(), month, street_code=CHANGNING_STREET)
    assert own.status_code == 200
    other = _summary(district, clerk.headers(), month, street_code=MINHANG_STREET)
    assert other.status_code == 403 and other.json()["code"] == "forbidden"
    bad = _summary(district, clerk.headers(), "2026-13")
    assert bad.status_code == 422 and bad.json()["field"] == "month"
    admin = district.counter(MINHANG_STREET, login=None)
    admin.login("minhang.admin")
    summary = _summary(district, admin.headers(), month).json()
    assert [s["street_code"] for s in summary["streets"]] == [MINHANG_STREET]
    assert _summary(district, admin.headers(), month,
                    street_code=CHANGNING_STREET).status_code == 403
