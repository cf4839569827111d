"""The monthly 免申即享 run (CN-2026 §3 / POLICY.md §6): persons who signed the commitment once,
with fee rows that can be claimed now; the clerk claims them for the person before the 15th.

A person is in the run when one of this counter's applications for them carries the 免申即享
flag and is still live. The rows offered are those the counter session would let the clerk
tick today (the engine's reasons decide, not a shortcut here).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from sqlalchemy import func, select

from desktop.domain.id_number import mask_id_number
from desktop.services.applications import LIVE
from desktop.services.counter import CounterSession
from desktop.store import Store
from desktop.store.models import ApplicationRecord, PersonRecord

DEADLINE_DAY = 15  # the street claims for the month's 免申即享 persons by the 15th


@dataclass(frozen=True)
class AutoEntry:
    person_id: str
    name: str
    id_masked: str
    program: str
    last_applied: date
    rows: tuple[str, ...]  # the rows the clerk can claim now
    self_pay: Decimal  # their self-pay, summed
    payable: Decimal  # what claiming all of them pays, by the engine


def deadline(today: date) -> date:
    return today.replace(day=DEADLINE_DAY)


def auto_enrolled_due(store: Store, *, today: date, clerk: str) -> list[AutoEntry]:
    """Persons with a live 免申即享 commitment and rows to claim, oldest last claim first."""
    with store.read_session() as session:
        committed = session.execute(
            select(ApplicationRecord.person_id, ApplicationRecord.program,
                   func.max(ApplicationRecord.created_at))
            .where(ApplicationRecord.auto_enrolled.is_(True),
                   ApplicationRecord.status.in_(LIVE))
            .group_by(ApplicationRecord.person_id, ApplicationRecord.program)).all()
        persons = {p.id: p for p in session.scalars(select(PersonRecord).where(
            PersonRecord.id.in_({person_id for person_id, _p, _d in committed})))}
    entries = []
    for person_id, program, last in committed:
        person = persons.get(person_id)
        if person is None:
            continue  # withdrawn by the district; nothing to claim here
        counter = CounterSession(store, person_id, program=program, clerk=clerk,
                                 application_date=today)
        rows = tuple(r.id for r in counter.rows if r.tickable)
        if not rows:
            continue
        quote = counter.tick_all(rows)
        if quote.payable <= 0:
            continue
        entries.append(AutoEntry(person_id, person.name, mask_id_number(person.id_number),
                                 program, last.date(), rows, quote.ticked_self_pay,
                                 quote.payable))
    entries.sort(key=lambda e: (e.last_applied, e.name, e.person_id))
    return entries
