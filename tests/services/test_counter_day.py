"""The counter session for the clerk's day: tick every countable row at once, the cursor's first
row, and the 病史资料 an application with 门诊大病 / 住院 rows needs (CN-2026 4.6)."""

from __future__ import annotations

from pathlib import Path

import pytest

from desktop.services.counter import CounterSession, NotTickable, find_numbers
from desktop.store import Store, open_store
from desktop.store.models import ApplicationRecord
from tests.services.test_counter import TODAY, P, fill, row


@pytest.fixture
def store(tmp_path: Path) -> Store:
    opened = open_store(tmp_path / "counter.sqlite")
    fill(opened, [
        row("OLD", "2025-10-01", "300.00"),  # overdue: greyed
        row("A", "2026-04-08", "1000.00"),
        row("B", "2026-04-09", "500.00", one_stop_settled=True),  # greyed
        row("C", "2026-05-08", "200.00", kind="inpatient"),
        row("D", "2026-05-09", "100.00"),
    ])
    return opened


def session_for(store: Store) -> CounterSession:
    return CounterSession(store, P, program="assistance", clerk="clerk1",
                          application_date=TODAY)


def test_tick_every_countable_row_and_never_a_greyed_one(store: Store) -> None:
    counter = session_for(store)
    assert counter.first_countable([v.id for v in counter.rows]) == "A"
    assert counter.first_countable(["OLD", "B"]) is None
    quote = counter.tick_countable()
    assert counter.ticked == ("A", "C", "D") and quote.ticked == counter.ticked
    counter.clear()
    counter.tick_countable(["OLD", "B", "D"])  # only those shown (a filter)
    assert list(counter.ticked) == ["D"]


def test_inpatient_rows_need_their_medical_records(store: Store) -> None:
    counter = session_for(store)
    counter.tick_countable()
    assert counter.needing_medical_records() == ("C",)
    with pytest.raises(NotTickable, match="病史资料"):
        counter.submit(bank_name="中国工商银行")
    saved = counter.submit(bank_name="中国工商银行", household_address="上海市长宁区华阳路1号",
                           medical_records=["C", "OLD"])  # a row not ticked is not kept
    with store.read_session() as session:
        app = session.get(ApplicationRecord, saved.application_id)
        assert app is not None and app.documents == {"medical_records": ["C"]}
        assert app.applicant is not None
        assert app.applicant["bank_name"] == "中国工商银行"
        assert app.applicant["household_address"] == "上海市长宁区华阳路1号"
        number = app.number
    hits = find_numbers(store, str(saved.application_id))
    assert [(h.kind, h.person_id, h.application_id) for h in hits] == [
        ("application", P, saved.application_id)]
    if number:  # the human number, when the applications service gives one
        assert find_numbers(store, number)[0].application_id == saved.application_id
    assert [(h.kind, h.fee_row_id) for h in find_numbers(store, "RA")] == [("receipt", "A")]
