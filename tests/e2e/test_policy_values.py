"""M18 end to end: a value published in the district console reaches a counter by the change
feed and changes what it computes for fees from its date, not before (issue 14 point 4).

A real district server on 127.0.0.1 and a registered counter (its own code path: enrolment,
sign-in, pull, CounterSession, save, push); the console in this process on the same database.
The district admin publishes a lower rate for the category of a person with two fee rows,
effective from the later row's date; after the pull the counter quotes the later row lower and
the earlier one as before, saves the later one, and the district (recomputing with the same
values) accepts it; the console's preview then counts it among the open applications.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import select

from desktop.services.accounts import sign_in
from desktop.services.counter import CounterSession
from desktop.store import Store
from desktop.store.models import FeeRowRecord, ParameterVersionRecord, PersonRecord
from desktop.sync.credentials import MemoryKeyring
from district.config import Settings
from district.db import Database
from district.services.parameters import affected_open_applications
from tests.console.conftest import ConsoleDistrict
from tests.e2e.test_clerks_morning import local_status, registered_desk
from tests.sync.conftest import PASSWORD, DistrictServer, seed_and_serve

TODAY = date.today()


@pytest.fixture
def district(tmp_path: Path) -> Iterator[DistrictServer]:
    server = seed_and_serve(tmp_path, persons=40)
    yield server
    server.kill()


@dataclass(frozen=True)
class Pair:
    person_id: str
    early: str  # a fee row dated before the new value
    late: str  # one dated on its first day
    late_date: date
    rate_keys: dict[str, Decimal]  # the category rate(s) the late row is computed with


def quote_one(store: Store, person_id: str, clerk: str, row_id: str
              ) -> tuple[Decimal, dict[str, str]]:
    """The amount for this row alone, and the parameters it was computed with (key → value)."""
    counter = CounterSession(store, person_id, program="assistance", clerk=clerk,
                             application_date=TODAY)
    quote = counter.tick(row_id)
    assert quote.error is None, quote.error
    return quote.payable, {p["key"]: str(p["value"]) for p in quote.output["parameters"]}


def choose(store: Store, clerk: str) -> Pair:
    with store.read_session() as session:
        persons = [p.id for p in session.scalars(select(PersonRecord).order_by(PersonRecord.id))]
        dates = {r.id: r.date for r in session.scalars(select(FeeRowRecord))}
        kinds = {r.id: r.kind for r in session.scalars(select(FeeRowRecord))}
    for person_id in persons:
        counter = CounterSession(store, person_id, program="assistance", clerk=clerk,
                                 application_date=TODAY)
        paying = []
        for view in counter.rows:
            if view.tickable and counter.tick(view.id).payable > 0:
                paying.append(view.id)
            counter.tick(view.id, False)
        paying.sort(key=lambda i: dates[i])
        for early in paying:
            for late in paying:
                if dates[late] <= dates[early]:
                    continue
                _, used = quote_one(store, person_id, clerk, late)
                # the rate of the row's own kind: the engine cites the category's other
                # rates too, at values not tied to this row's date
                own = "inpatient_rate" if kinds[late] == "inpatient" else "outpatient_rate"
                rates = {k: Decimal(v) for k, v in used.items()
                         if k.startswith("assistance:category.") and k.endswith(own)}
                # a rate the row's amount follows: 特困 (1.00) is paid in full by other rules
                if rates and all(Decimal("0.2") < v < 1 for v in rates.values()):
                    return Pair(person_id, early, late, dates[late], rates)
    raise AssertionError("the seeded district has no person with two paying rows")


def test_a_published_rate_reaches_the_counter_for_later_fees_only(
        district: DistrictServer, memory_keyring: MemoryKeyring, tmp_path: Path) -> None:
    desk = registered_desk(district, tmp_path, "华阳路 3号窗口")
    store, client, worker = desk.store, desk.client, desk.worker
    clerk = district.user("clerk")
    sign_in(store, client, clerk, PASSWORD)
    assert worker.sync_now().online
    pair = choose(store, clerk)
    early_before, _ = quote_one(store, pair.person_id, clerk, pair.early)
    late_before, _ = quote_one(store, pair.person_id, clerk, pair.late)

    # -- the district admin publishes a lower rate from the later row's date, in the console --
    db = Database(district.database_url)
    try:
        console = ConsoleDistrict(db, Settings(database_url=district.database_url), None)  # type: ignore[arg-type]
        admin = console.browser().sign_in(console.user(None, "admin"), PASSWORD)
        assert admin.get("/console/policy").status_code == 200
        for key in pair.rate_keys:
            form = {"key": key, "value": "0.10", "effective_from": pair.late_date.isoformat(),
                    "source": "CN-2026 3.3", "assumption": "yes"}
            preview = admin.post("/console/policy/preview", form)
            assert preview.status_code == 200, preview.text
            assert re.search(r'id="affected-count">\d+<', preview.text)
            done = admin.post("/console/policy/publish", {**form, "confirm": "yes"})
            assert done.status_code == 303, done.text

        # -- the counter pulls it: no reinstall --
        assert worker.sync_now().online
        with store.read_session() as session:
            pulled = {(r.key, r.effective_from): r for r in session.scalars(
                select(ParameterVersionRecord))}
        for key in pair.rate_keys:
            row = pulled[(key, pair.late_date)]
            assert (row.value, row.assumption) == ("0.10", True)

        early_after, _ = quote_one(store, pair.person_id, clerk, pair.early)
        late_after, used = quote_one(store, pair.person_id, clerk, pair.late)
        assert early_after == early_before  # a fee before the date keeps the old value
        assert late_after < late_before  # a fee from the date gets the new one
        assert all(used[k] == "0.10" for k in pair.rate_keys), (used, pair)

        # -- saved and pushed, the district recomputes with the same values and accepts --
        counter = CounterSession(store, pair.person_id, program="assistance", clerk=clerk,
                                 application_date=TODAY)
        counter.tick(pair.late)
        saved = counter.submit(medical_records=counter.needing_medical_records())
        assert saved.payable == late_after
        assert worker.sync_now().online
        assert local_status(store, str(saved.application_id)) == "accepted"
        with db.read() as session:
            for key in pair.rate_keys:
                assert affected_open_applications(session, key, pair.late_date) >= 1
    finally:
        db.dispose()
