"""What a push request's applications look up, read in a handful of queries for the request.

A counter pushes a day's applications in one request. Each application checks its person (row-
locked), its ticked fee rows, the claims on them, the person's categories and the rows settled
before under the same program. Read one application at a time, that is six or seven queries
each; read for the request, five in all (`prefetch`). The handlers in
district.services.applications ask `cached(...)` first and query themselves for anything the
request did not name, so an item outside the prefetch (or a request without one) behaves as
before.

The request's own applications keep the cache true as they go: an accepted application adds
its claims and its settled rows (`claimed`). A withdrawal releases claims: it drops the cache
(`forget`), and the request's later items look up for themselves.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from district import models

PREFETCHED = "push_prefetched_applications"  # session.info key


@dataclass
class Prefetched:
    person_ids: frozenset[str]
    row_ids: frozenset[str]
    persons: dict[str, models.Person] = field(default_factory=dict)  # row-locked
    rows: dict[str, models.FeeRow] = field(default_factory=dict)
    # fee row id -> its claim and the program it was claimed under
    claims: dict[str, tuple[models.Claim, str]] = field(default_factory=dict)
    spans: dict[str, list[models.CategorySpan]] = field(default_factory=dict)
    # (person id, program) -> the person's rows claimed under it, with their receipt dates
    settled: dict[tuple[str, str], dict[str, date]] = field(default_factory=dict)
    # the human numbers the request's applications give, and those of them already taken
    numbers: frozenset[str] = frozenset()
    numbers_taken: set[str] = field(default_factory=set)

    def has_person(self, person_id: str) -> bool:
        return person_id in self.person_ids

    def has_rows(self, row_ids: Iterable[str]) -> bool:
        return all(r in self.row_ids for r in row_ids)


def _number(payload: dict[str, Any]) -> str | None:
    number = payload.get("number")
    return number if isinstance(number, str) else None


def _ids(payload: dict[str, Any]) -> tuple[str | None, set[str]]:
    """The person and the fee rows (ticked and settled) an application payload names; what is
    malformed is left for the handler to refuse."""
    person = payload.get("person_id")
    rows = {r for r in payload.get("fee_row_ids") or () if isinstance(r, str)}
    case = payload.get("case")
    fees = case.get("fees") if isinstance(case, dict) else None
    for fee in fees if isinstance(fees, list) else ():
        if isinstance(fee, dict) and isinstance(fee.get("id"), str):
            rows.add(fee["id"])
    return (person if isinstance(person, str) else None), rows


def prefetch(session: Session, payloads: Iterable[dict[str, Any]]) -> None:
    """Read, for the applications of a request, everything their checks look up."""
    person_ids: set[str] = set()
    row_ids: set[str] = set()
    numbers: set[str] = set()
    for payload in payloads:
        person, rows = _ids(payload)
        if person is not None:
            person_ids.add(person)
        row_ids |= rows
        number = _number(payload)
        if number is not None:
            numbers.add(number)
    if not person_ids:
        return
    cache = Prefetched(frozenset(person_ids), frozenset(row_ids), numbers=frozenset(numbers))
    if numbers:
        cache.numbers_taken = set(session.scalars(select(models.Application.number)
                                                  .where(models.Application.number.in_(numbers))))
    # locked in the order of their keys: two requests locking overlapping persons never wait
    # on each other in a cycle (PostgreSQL; SQLite has one writer anyway)
    for found in session.scalars(select(models.Person)
                                  .where(models.Person.id.in_(sorted(person_ids)))
                                  .order_by(models.Person.id).with_for_update()):
        cache.persons[found.id] = found
    if row_ids:
        cache.rows = {r.id: r for r in session.scalars(
            select(models.FeeRow).where(models.FeeRow.id.in_(row_ids)))}
        for claim, program in session.execute(
                select(models.Claim, models.Application.program)
                .join(models.Application, models.Application.id == models.Claim.application_id)
                .where(models.Claim.fee_row_id.in_(row_ids))).tuples():
            cache.claims[claim.fee_row_id] = (claim, program)
    for span in session.scalars(select(models.CategorySpan)
                                .where(models.CategorySpan.person_id.in_(person_ids))):
        cache.spans.setdefault(span.person_id, []).append(span)
    for row_id, day, person_id, program in session.execute(
            select(models.FeeRow.id, models.FeeRow.receipt_date, models.FeeRow.person_id,
                   models.Application.program)
            .join(models.Claim, models.Claim.fee_row_id == models.FeeRow.id)
            .join(models.Application, models.Application.id == models.Claim.application_id)
            .where(models.FeeRow.person_id.in_(person_ids))).tuples():
        cache.settled.setdefault((person_id, program), {})[row_id] = day
    session.info[PREFETCHED] = cache


def cached(session: Session) -> Prefetched | None:
    value = session.info.get(PREFETCHED)
    return value if isinstance(value, Prefetched) else None


def claimed(session: Session, person_id: str, program: str, claims: list[models.Claim],
            rows: dict[str, models.FeeRow], number: str | None = None) -> None:
    """An accepted application's claims (and its number): the request's later items see
    them."""
    cache = cached(session)
    if cache is None:
        return
    if number is not None:
        cache.numbers_taken.add(number)
    settled = cache.settled.setdefault((person_id, program), {})
    for claim in claims:
        cache.claims[claim.fee_row_id] = (claim, program)
        settled[claim.fee_row_id] = rows[claim.fee_row_id].receipt_date


def forget(session: Session) -> None:
    """Claims were released: the request's later items look up for themselves."""
    session.info.pop(PREFETCHED, None)
