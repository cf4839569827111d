"""The claim registry holds under a race the read-then-write check cannot see: when another
transaction committed a claim on the row after this one looked, the primary key refuses the
insert and the item is refused with the winner's details — never a second claim, never a 500.
(The concurrent pushes in test_push.py race for real; this test makes the race certain.)"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from desktop import wire
from desktop.domain import signing
from district import models
from district.changelog import fee_row_data, person_data, span_change
from district.db import Database
from district.seed import SeedOptions, seed_district
from district.services import applications
from district.services.outcome import Caller
from district.services.push import apply_item
from district.services.signing_keys import register_key
from district.services.users import find_staff
from tests.district.harness import CHANGNING_STREET, Counter, claimable_rows, fresh_recipients


def test_a_claim_committed_behind_the_check_is_refused(tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    db = Database(f"sqlite:///{tmp_path / 'd.sqlite3'}")
    seed_district(db, SeedOptions(persons=40, seed=5, streets=[CHANGNING_STREET],
                                  password="x-pass-1"))
    with db.read() as session:
        device_id = session.scalars(select(models.Device.id)).first()
        assert device_id is not None
    counter = _offline_counter(db, device_id)
    person = fresh_recipients(counter)[0]
    rows = claimable_rows(counter, person)
    # the clerk's signing key, registered at this PC a minute ago
    private = signing.new_private_key()
    with db.write() as session:
        staff = find_staff(session, "huayang.clerk1")
        assert staff is not None
        registered = register_key(session, staff, device_id, signing.public_key_b64(private),
                                  datetime.now(UTC) - timedelta(minutes=1))
    counter.keys["huayang.clerk1"] = (private, registered.key_id)
    caller = Caller(device_id, CHANGNING_STREET, "changning", "huayang.clerk1",
                    frozenset({"clerk"}))
    first = counter.application(person, rows, handler="huayang.clerk1")
    assert apply_item(db, caller, first).status == "accepted"
    counter.snapshot.claims.update({r: {"fee_row_id": r} for r in rows})

    real_first_claim = applications.first_claim
    looks: list[bool] = []

    def stale_first_look(session: object, fee_row_ids: list[str]) -> models.Claim | None:
        looks.append(True)
        if len(looks) == 1:
            return None  # as if the winner had not committed yet when this one looked
        return real_first_claim(session, fee_row_ids)  # type: ignore[arg-type]

    monkeypatch.setattr(applications, "first_claim", stale_first_look)
    # The second counter had pulled the first one's claims except the row it ticks.
    del counter.snapshot.claims[rows[-1]]
    second = counter.application(person, rows[-1:], handler="huayang.clerk1")
    result = apply_item(db, caller, second)
    assert len(looks) == 2  # the insert was refused by the key, then checked again
    assert result.status == "refused" and result.reason == "already_claimed"
    assert result.detail is not None
    assert result.detail["application_id"] == str(first.payload["application_id"])
    with db.read() as session:
        claims = session.scalar(select(func.count()).select_from(models.Claim)
                                .where(models.Claim.fee_row_id == rows[-1]))
        apps = session.scalar(select(func.count()).select_from(models.Application)
                              .where(models.Application.person_id == person))
    assert claims == 1 and apps == 1
    db.dispose()


def _offline_counter(db: Database, device_id: str) -> Counter:
    """A counter whose snapshot is read straight from the database (no server needed)."""
    counter = Counter("http://unused", wire.DeviceRegistered(
        device_id=device_id, token="unused", street_code=CHANGNING_STREET,
        street_name="华阳路街道"))
    with db.read() as session:
        for p in session.scalars(select(models.Person)):
            counter.snapshot.persons[p.id] = person_data(p)
        for s in session.scalars(select(models.CategorySpan)):
            data = span_change(s, CHANGNING_STREET).data
            assert data is not None
            counter.snapshot.spans[s.id] = data
        for r in session.scalars(select(models.FeeRow)):
            counter.snapshot.fee_rows[r.id] = fee_row_data(r)
        for c in session.scalars(select(models.Claim)):
            counter.snapshot.claims[c.fee_row_id] = {"fee_row_id": c.fee_row_id}
    return counter
