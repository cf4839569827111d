"""Applications from the change feed (desktop/store/application_feed.py): whatever order,
repetition or page cuts the changes arrive in, the cache ends in the district's newest state;
a counter's own act waiting in the outbox goes first."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from desktop import wire
from desktop.store import apply_changes, enqueue, open_store
from desktop.store.models import ApplicationRecord

AT = datetime(2026, 11, 30, 16, 30, tzinfo=UTC)  # 00:30 on 1 December in Shanghai
STEPS = ["accepted", "reviewed", "approved", "paid"]
ROLES = {"accepted": ["handler"], "reviewed": ["handler", "reviewer"],
         "approved": ["handler", "reviewer", "approver"],
         "paid": ["handler", "reviewer", "approver"]}
NAMES = {"handler": "li", "reviewer": "wang", "approver": "zhao"}


def state(app_id: str, status: str, seq: int) -> wire.Change:
    signatures = [wire.SignatureData(role=role, username=NAMES[role],  # type: ignore[arg-type]
                                     signed_at=AT + timedelta(minutes=i),
                                     accepted_at=AT + timedelta(minutes=i, seconds=5))
                  for i, role in enumerate(ROLES[status])]
    data = wire.ApplicationData(
        id=app_id, program="assistance", district="changning", person_id="P0000001",
        street_code="310105001", device_id="d-1", handler="li",
        application_date=date(2026, 11, 30), created_at=AT, accepted_at=AT,
        status=status,  # type: ignore[arg-type]
        payable="12.30", buckets={"outpatient": "12.30"}, fee_row_ids=["F1", "F2"],
        case={"schema": "not a case this engine computes"}, parameter_versions=[],
        signatures=signatures)
    return wire.Change(seq=seq, entity="application", key=app_id, op="upsert",
                       data=data.model_dump(mode="json"))


def held(store_path: Path, app_id: str) -> dict[str, Any]:
    with open_store(store_path) as store, store.session() as session:
        record = session.get(ApplicationRecord, uuid.UUID(app_id))
        assert record is not None
        return {"status": record.status, "seq": record.district_seq,
                "roles": sorted(s.role for s in record.signatures),
                "approval": record.approval_accepted_at, "rows": sorted(
                    r.fee_row_id for r in record.rows), "payable": record.payable}


@settings(max_examples=30, deadline=None)
@given(steps=st.integers(min_value=1, max_value=4), data=st.data())
def test_any_order_and_repetition_ends_in_the_newest_state(
        tmp_path_factory: Any, steps: int, data: st.DataObject) -> None:
    path = tmp_path_factory.mktemp("feed") / "store.sqlite"
    app_id = str(uuid.uuid4())
    changes = [state(app_id, status, 10 * (i + 1)) for i, status in enumerate(STEPS[:steps])]
    delivered = [*data.draw(st.lists(st.sampled_from(changes), max_size=8)), changes[-1]]
    delivered = data.draw(st.permutations(delivered))
    cuts = sorted(data.draw(st.sets(st.integers(0, len(delivered)), max_size=3)))
    with open_store(path) as store:
        for start, end in zip([0, *cuts], [*cuts, len(delivered)], strict=True):
            with store.session() as session:
                apply_changes(session, list(delivered[start:end]))
    newest = STEPS[steps - 1]
    got = held(path, app_id)
    assert (got["status"], got["seq"], got["roles"]) == (newest, 10 * steps,
                                                          sorted(ROLES[newest]))
    assert got["rows"] == ["F1", "F2"] and got["payable"] == Decimal("12.30")
    # the month: when the district accepted the approver's signature
    assert got["approval"] == (AT + timedelta(minutes=2, seconds=5)
                               if "approver" in ROLES[newest] else None)


def test_a_waiting_act_of_this_counter_goes_first(tmp_path: Path) -> None:
    """A review signed here and not yet pushed is not undone by the district's older state."""
    path = tmp_path / "store.sqlite"
    app_id = str(uuid.uuid4())
    with open_store(path) as store:
        with store.session() as session:
            apply_changes(session, [state(app_id, "accepted", 5)])
        with store.session() as session:
            record = session.get(ApplicationRecord, uuid.UUID(app_id))
            assert record is not None
            record.status = "reviewed"
            enqueue(session, "signature", {"application_id": app_id, "role": "reviewer",
                                           "username": "wang", "signed_at": AT.isoformat()})
        with store.session() as session:  # a later change, from before the review arrived
            assert apply_changes(session, [state(app_id, "accepted", 7)]) == 0
    assert held(path, app_id)["status"] == "reviewed"


def test_an_unknown_case_is_kept_without_its_explanation(tmp_path: Path) -> None:
    """A case this counter's engine cannot compute (a newer engine's) does not fail the pull:
    the application is kept with the district's amounts, its result left empty."""
    path = tmp_path / "store.sqlite"
    app_id = str(uuid.uuid4())
    with open_store(path) as store, store.session() as session:
        assert apply_changes(session, [state(app_id, "approved", 3)]) == 1
        record = session.get(ApplicationRecord, uuid.UUID(app_id))
        assert record is not None and record.result is None
        assert record.created_by == "li" and record.status == "approved"
