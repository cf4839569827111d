"""The counter's own tables: what the schema itself guarantees."""

from __future__ import annotations

import threading
import time
import uuid
from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from desktop.store import Store
from desktop.store.models import (
    ApplicationRecord,
    ApplicationRowRecord,
    ScannedReceiptRecord,
    SignatureRecord,
    UserRecord,
)


def application(**extra: object) -> ApplicationRecord:
    return ApplicationRecord(id=uuid.uuid4(), program="assistance", district="changning",
                             person_id="P1", created_by="li", **extra)


def test_an_application_keeps_its_rows_amounts_and_result(store: Store) -> None:
    result = {"payable": "300.00", "trace": ["低保 门急诊 60%（SA-2022 二(二)）"]}
    with store.session() as session:
        app = application(payable=Decimal("300.00"), buckets={"outpatient": "300.00"},
                          result=result, parameter_versions=["assistance.yaml:rate@2023-01-01"],
                          auto_enrolled=True, proxy_name="李四")
        app.rows = [ApplicationRowRecord(fee_row_id="F1"), ApplicationRowRecord(fee_row_id="F2")]
        session.add(app)
    with store.session() as session:
        saved = session.get(ApplicationRecord, app.id)
        assert saved is not None
        assert isinstance(saved.id, uuid.UUID) and saved.status == "draft"
        assert saved.payable == Decimal("300.00") and saved.result == result
        assert sorted(r.fee_row_id for r in saved.rows) == ["F1", "F2"]
        assert saved.created_at.tzinfo is not None
    with pytest.raises(IntegrityError), store.session() as session:  # a row once per application
        session.add(ApplicationRowRecord(application_id=app.id, fee_row_id="F1"))
    with store.session() as session:
        saved = session.get(ApplicationRecord, app.id)
        session.delete(saved)
    with store.session() as session:
        assert session.scalar(select(func.count()).select_from(ApplicationRowRecord)) == 0


def test_handler_reviewer_and_approver_are_three_different_people(store: Store) -> None:
    app = application()
    with store.session() as session:
        session.add(app)
        session.add(SignatureRecord(application_id=app.id, role="handler", username="li"))
        session.add(SignatureRecord(application_id=app.id, role="reviewer", username="wang"))
    with pytest.raises(IntegrityError), store.session() as session:  # the same person twice
        session.add(SignatureRecord(application_id=app.id, role="approver", username="li"))
    with pytest.raises(IntegrityError), store.session() as session:  # a role signed twice
        session.add(SignatureRecord(application_id=app.id, role="reviewer", username="zhao"))
    with pytest.raises(IntegrityError), store.session() as session:  # no such role
        session.add(SignatureRecord(application_id=app.id, role="cashier", username="zhao"))
    with pytest.raises(IntegrityError), store.session() as session:  # no such application
        session.add(SignatureRecord(application_id=uuid.uuid4(), role="handler", username="li"))
    with store.session() as session:
        session.add(SignatureRecord(application_id=app.id, role="approver", username="zhao"))
    with store.session() as session:
        saved = session.get(ApplicationRecord, app.id)
        assert saved is not None
        assert [s.role for s in saved.signatures] == ["handler", "reviewer", "approver"]


def test_a_scan_is_kept_verbatim(store: Store) -> None:
    raw = "\x1d]Q3https://ebill.example/d?d=31060126_0000012345_a1b2c3_236.21_20260315&s=0 \t"
    with store.session() as session:
        scan = ScannedReceiptRecord(raw_text=raw, clerk="li", receipt_no="0000012345",
                                    amount=Decimal("236.21"), receipt_date=date(2026, 3, 15))
        session.add(scan)
    with store.session() as session:
        saved = session.get(ScannedReceiptRecord, scan.id)
        assert saved is not None
        assert saved.raw_text == raw and saved.status == "pending"
        assert saved.amount == Decimal("236.21")
        saved.status = "lost"
        with pytest.raises(IntegrityError):
            session.flush()


def test_two_writers_take_turns_instead_of_failing(store: Store) -> None:
    """BEGIN IMMEDIATE and busy_timeout: a second writer waits for the first."""
    entered, errors = threading.Event(), []

    def slow_writer() -> None:
        try:
            with store.session() as session:
                session.add(UserRecord(username="a", display_name="甲", roles=[]))
                session.flush()
                entered.set()
                time.sleep(0.3)
        except Exception as error:  # pragma: no cover - reported below
            errors.append(error)

    thread = threading.Thread(target=slow_writer)
    thread.start()
    assert entered.wait(5)
    with store.session() as session:
        count = session.scalar(select(func.count()).select_from(UserRecord))
        session.add(UserRecord(username="b", display_name="乙", roles=[]))
    thread.join()
    assert errors == [] and count == 1  # the second writer saw the first one's commit
