"""Migration 0014: the commitment table; a person committed the old way (a live application of
this counter with the 免申即享 flag) keeps a commitment, kept here only, so nobody leaves the
monthly run; the next application with the flag gives it to the district."""

from __future__ import annotations

import random
import uuid
from datetime import UTC, date, datetime
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from desktop.services.commitments import commitment_state
from desktop.services.counter import CounterSession
from desktop.services.monthly import committed_persons
from desktop.store import apply_changes, open_store
from desktop.store.database import (
    create_store_engine,
    current_revision,
    head_revision,
    run_migrations,
)
from desktop.store.models import ApplicationRecord, CommitmentRecord, OutboxRecord
from tests.signers import remember_with_key
from tests.store.conftest import fee_row_data, person_data, upsert


def _application(person: str, status: str, day: date, auto: bool = True) -> ApplicationRecord:
    return ApplicationRecord(
        id=uuid.uuid4(), program="assistance", district="changning", person_id=person,
        auto_enrolled=auto, status=status, created_by="li",
        case={"application_date": day.isoformat()},
        created_at=datetime(day.year, day.month, day.day, 2, tzinfo=UTC))


def test_persons_committed_the_old_way_keep_a_commitment(tmp_path: Path) -> None:
    path = tmp_path / "store.sqlite"
    engine = create_store_engine(path)
    run_migrations(engine, "0013")
    rnd = random.Random(14)
    with Session(engine) as session, session.begin():
        apply_changes(session, [
            upsert("person", pid, person_data(rnd, pid, name)) for pid, name in
            (("A", "王芳"), ("B", "李娜"), ("C", "张伟"))] + [
            upsert("category_span", "SA", {"id": "SA", "person_id": "A", "code": "dibao",
                                           "start": "2024-01-01", "end": None,
                                           "source": "民政"})])
        first = _application("A", "accepted", date(2026, 3, 5))
        first_id = first.id
        session.add_all([first, _application("A", "approved", date(2026, 5, 6)),
                         _application("B", "withdrawn", date(2026, 4, 1)),
                         _application("C", "accepted", date(2026, 4, 2), auto=False)])
    engine.dispose()

    with open_store(path) as store:
        assert current_revision(store.engine) == head_revision()
        with store.session() as session:  # in the head's stored forms (migration 0015)
            apply_changes(session, [
                upsert("fee_row", "A9", fee_row_data("A9", "A", "2026-06-01", "100.00"))])
        with store.read_session() as session:
            (kept,) = session.scalars(select(CommitmentRecord)).all()
            assert (kept.person_id, kept.application_id, kept.given_on, kept.given_by) == (
                "A", str(first_id), date(2026, 3, 5), "li")
            assert [c.person_id for c in committed_persons(session)] == ["A"]
        state = commitment_state(store, "A", "assistance")
        assert state is not None and state.live and "据本机注明免申即享的申请" in state.label
        # the next application with the flag gives it to the district
        remember_with_key(store, "li", "李经办", ["clerk"], "pw-li-synthetic")
        counter = CounterSession(store, "A", program="assistance", clerk="li",
                                 application_date=date(2026, 6, 10))
        counter.tick("A9")
        saved = counter.submit(auto_enrolled=True, now=datetime(2026, 6, 10, 2, tzinfo=UTC))
        with store.read_session() as session:
            (given,) = session.scalars(select(CommitmentRecord)).all()
            assert (given.application_id, given.status) == (str(saved.application_id), "saved")
            assert "commitment" in {o.kind for o in session.scalars(select(OutboxRecord))}
