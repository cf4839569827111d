"""An 审批人's waiver of a procedural check (issue 4, flow 3): who may, which checks, and what the
engine and the saved application then carry."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import select

from desktop.services.counter import CounterSession, NotTickable
from desktop.services.waivers import WaiverRefused
from desktop.store import Store, open_store
from desktop.store.models import ApplicationRecord, AuditEventRecord, OutboxRecord
from tests.services.test_counter import TODAY, P, fill, row
from tests.signers import remember_with_key

SECRET = "pass-2026-synthetic"


@pytest.fixture
def store(tmp_path: Path) -> Store:
    opened = open_store(tmp_path / "s.sqlite")
    fill(opened, [row("OLD", "2025-10-01", "500.00"),  # more than 6 months before 2026-06-10
                  row("NEW", "2026-04-08", "1000.00"),
                  row("ONESTOP", "2026-04-09", "300.00", one_stop_settled=True),
                  row("PRECAT", "2023-05-01", "200.00")],  # overdue and before the category
         spans=[{"code": "dibao", "start": "2024-03-01", "end": None}])
    remember_with_key(opened, "wang", "王审批", ["approver", "reviewer"], SECRET)
    remember_with_key(opened, "zhao", "赵审核", ["reviewer"], SECRET)
    remember_with_key(opened, "li", "李经办", ["clerk", "approver"], SECRET)
    return opened


def counter(store: Store) -> CounterSession:
    return CounterSession(store, P, program="assistance", clerk="li", application_date=TODAY)


def test_an_approver_waives_the_claim_window(store: Store) -> None:
    """POLICY.md §3 OVERDUE (CN-2026 4.3), waived: the row then counts at 60 % (POLICY.md §1)."""
    session = counter(store)
    with pytest.raises(NotTickable, match="6个月"):
        session.tick("OLD")
    view = session.waive("OLD", approver="wang", password=SECRET,
                         reason="住院期间无法申请，有出院小结")
    assert view.tickable and view.waived_by is not None
    assert "wang" in view.waived_by and "出院小结" in view.waived_by
    quote = session.tick("OLD")
    assert quote.payable == Decimal("300.00")
    assert any("经审批人同意豁免" in line for line in quote.trace)
    saved = session.submit()
    with store.read_session() as s:
        app = s.get(ApplicationRecord, saved.application_id)
        assert app is not None and app.payable == Decimal("300.00")
        assert app.case is not None
        (fee,) = [f for f in app.case["fees"] if f["id"] == "OLD"]
        assert fee["waived"] == ["overdue"]
        item = s.scalar(select(OutboxRecord).where(OutboxRecord.kind == "application"))
        assert item is not None
        assert [(w["fee_row_id"], w["approver"], w["reasons"]) for w in item.payload["waivers"]] \
            == [("OLD", "wang", ["overdue"])]
        event = s.scalar(select(AuditEventRecord).where(
            AuditEventRecord.action == "fee_row.waived"))
        assert event is not None and event.actor == "wang" and event.detail["clerk"] == "li"


@pytest.mark.parametrize(("row_id", "approver", "password", "reason", "rule"), [
    ("OLD", "wang", SECRET, "  ", "reason"),
    ("OLD", "wang", "wrong", "有证明", "password"),
    ("OLD", "zhao", SECRET, "有证明", "role"),  # a reviewer is not an approver
    ("OLD", "li", SECRET, "有证明", "maker_checker"),  # the clerk at the counter
    ("ONESTOP", "wang", SECRET, "有证明", "not_waivable"),  # a double payment is never waived
])
def test_waivers_are_refused_by_rule(store: Store, row_id: str, approver: str, password: str,
                                     reason: str, rule: str) -> None:
    session = counter(store)
    with pytest.raises(WaiverRefused) as info:
        session.waive(row_id, approver=approver, password=password, reason=reason)
    assert info.value.rule == rule and info.value.message
    assert not session.row(row_id).tickable


def test_a_second_reason_behind_the_waived_one_still_stops_the_row(store: Store) -> None:
    session = counter(store)
    view = session.waive("PRECAT", approver="wang", password=SECRET, reason="有证明")
    assert not view.tickable and view.reason_code == "no_category"


def test_a_tickable_row_needs_no_waiver(store: Store) -> None:
    with pytest.raises(NotTickable, match="无需豁免"):
        counter(store).waive("NEW", approver="wang", password=SECRET, reason="x")


def test_two_procedural_checks_are_waived_one_after_the_other(tmp_path: Path) -> None:
    """A 居保大病 row without its proof and past the 6-month window: each waiver keeps the
    earlier one, and the row then counts (POLICY.md §3, 90 % for dibao inpatient §1)."""
    store = open_store(tmp_path / "two.sqlite")
    fill(store, [row("BOTH", "2025-10-01", "1000.00", kind="inpatient", major_illness=True)],
         spans=[{"code": "dibao", "start": "2024-03-01", "end": None}])
    remember_with_key(store, "wang", "王审批", ["approver"], SECRET)
    session = counter(store)
    first = session.waive("BOTH", approver="wang", password=SECRET, reason="认定材料已见原件")
    assert first.reason_code == "overdue" and not first.tickable
    second = session.waive("BOTH", approver="wang", password=SECRET, reason="住院期间无法申请")
    assert second.tickable
    assert session.tick("BOTH").payable == Decimal("900.00")
    saved = session.submit(medical_records=session.needing_medical_records())  # a 大病 row
    with store.read_session() as s:
        app = s.get(ApplicationRecord, saved.application_id)
        assert app is not None and app.case is not None
        (fee,) = [f for f in app.case["fees"] if f["id"] == "BOTH"]
        assert fee["waived"] == ["major_illness_doc_missing", "overdue"]
    store.close()
