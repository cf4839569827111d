"""Person search gives what a straightforward reference gives, on small random streets.

The reference is the search as it was before it became one statement (issue 13): one ORM query
per kind that fits the text, each limited, run in rank order and merged in Python, the first
kind a person is found by kept; "name contains" after the rest, with its own limit.
"""

from __future__ import annotations

import random
import re
import unicodedata
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Select, String, delete, func, literal_column, select
from sqlalchemy import text as sql_text
from sqlalchemy.orm import Session

from desktop.domain.id_number import generate_id_number, mask_id_number
from desktop.store import MatchKind, PersonHit, Store, open_store, search_persons
from desktop.store.models import LONG_NAME, NAME_FROM_2, NAME_FROM_3, PersonRecord
from desktop.store.search import (
    _HAN,
    _LETTERS,
    _PHONE_CHARS,
    _SPACE,
    _TAIL,
    _phone_tail,
    _whole_id_number,
    mask_phone,
)
from desktop.store.search_keys import name_keys, prefix_bounds

# few characters, so that names share prefixes, pinyin, initials and inner parts
CHARACTERS = "张章三珊李曾国欧阳娜王五·"


def reference_search(session: Session, query: str, limit: int) -> list[PersonHit]:
    text = _SPACE.sub("", unicodedata.normalize("NFKC", query)).strip()
    if not text or limit <= 0:
        return []
    person = PersonRecord

    def starting(column: Any, prefix: str) -> Select[PersonRecord]:
        low, high = prefix_bounds(prefix)
        return select(person).where(column >= low, column < high)

    plan: list[tuple[MatchKind, Select[PersonRecord]]] = []
    upper = text.upper()
    exact = _whole_id_number(upper)
    if exact is not None:
        plan.append((MatchKind.ID_EXACT, select(person).where(person.id_number == exact)))
    if _TAIL.fullmatch(upper) and len(upper) < 18:
        plan.append((MatchKind.ID_SUFFIX, starting(person.id_reversed, upper[::-1])
                     .order_by(person.name, person.id)))
    if not _PHONE_CHARS.fullmatch(text):
        letters = text.lower()
        plan.append((MatchKind.NAME_EXACT,
                     select(person).where(person.name == text).order_by(person.id)))
        plan.append((MatchKind.NAME_PREFIX, starting(person.name, text)
                     .order_by(person.name, person.id)))
        pinyin = letters if _LETTERS.fullmatch(letters) else (
            name_keys(text).pinyin if _HAN.search(text) and re.search("[A-Za-z]", text)
            else None)
        if pinyin is not None:
            plan.append((MatchKind.PINYIN_PREFIX, starting(person.name_pinyin, pinyin).order_by(
                person.name_pinyin, person.name, person.id)))
        if _LETTERS.fullmatch(letters):
            plan.append((MatchKind.INITIALS_PREFIX, starting(person.name_initials, letters)
                         .order_by(person.name_initials, person.name,
                                   person.id)))
    phone = _phone_tail(text)
    if phone is not None:
        plan.append((MatchKind.PHONE, starting(person.phone_reversed, phone[::-1])
                     .order_by(person.name, person.id)))
    found: dict[str, PersonHit] = {}
    for kind, statement in plan:
        for row in session.scalars(statement.limit(limit)):
            if row.id not in found and len(found) < limit:
                found[row.id] = hit(row, kind)
    if len(found) < limit and _HAN.search(text):
        inside: dict[str, PersonRecord] = {}
        for expression in (NAME_FROM_2, NAME_FROM_3):
            tail = literal_column(expression, String)
            for row in session.scalars(starting(tail, text).order_by(
                    tail, person.name, person.id).limit(limit)):
                inside.setdefault(row.id, row)
        if len(inside) < limit:
            for row in session.scalars(select(person).where(
                    sql_text(LONG_NAME), func.instr(person.name, text) > 1)
                    .order_by(person.name, person.id).limit(limit)):
                inside.setdefault(row.id, row)
        for row in list(inside.values())[:limit]:
            if row.id not in found and len(found) < limit:
                found[row.id] = hit(row, MatchKind.NAME_CONTAINS)
    return list(found.values())


def hit(row: PersonRecord, kind: MatchKind) -> PersonHit:
    return PersonHit(person_id=row.id, name=row.name,
                     masked_id_number=mask_id_number(row.id_number),
                     phone_masked=mask_phone(row.phone), street_code=row.street_code,
                     committee=row.committee, match_kind=kind)


@pytest.fixture(scope="module")
def module_store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Store]:
    path: Path = tmp_path_factory.mktemp("search") / "store.sqlite"
    with open_store(path) as opened:
        yield opened


names = st.text(CHARACTERS, min_size=1, max_size=5).filter(lambda n: n.strip("·"))
phones = st.none() | st.sampled_from(["13912345678", "13812345678", "13900005678",
                                      "021-62345678", "62345678"])
streets = st.lists(st.tuples(names, phones), min_size=1, max_size=30)


@st.composite
def queries(draw: st.DrawFn, street: list[tuple[str, str | None]],
            numbers: list[str]) -> str:
    name, phone = draw(st.sampled_from(street))
    number = draw(st.sampled_from(numbers))
    keys = name_keys(name)
    start = draw(st.integers(0, max(0, len(name) - 1)))
    return draw(st.sampled_from([
        name, name[start:], name[:start + 1], keys.pinyin[:draw(st.integers(1, 12))],
        keys.initials[:draw(st.integers(1, 5))], number, number[-draw(st.integers(3, 17)):],
        number[-draw(st.integers(4, 11)):].lower(), phone or "5678", (phone or "1234")[-4:],
        name[:1] + keys.pinyin[len(name_keys(name[:1]).pinyin):][:1], draw(names),
        draw(st.text("zhangsiwuy0123456789X ", min_size=1, max_size=8)),
    ]))


@settings(max_examples=150, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(street=streets, data=st.data(), limit=st.integers(1, 8), seed=st.integers(0, 10**6))
def test_search_gives_what_the_reference_gives(
        module_store: Store, street: list[tuple[str, str | None]], data: st.DataObject,
        limit: int, seed: int) -> None:
    rnd = random.Random(seed)
    numbers: list[str] = []
    with module_store.session() as session:
        session.execute(delete(PersonRecord))
        for n, (name, phone) in enumerate(street):
            number = generate_id_number(rnd, "310105", date(1940 + n, 1 + n % 12, 1 + n % 28),
                                        "M" if n % 2 else "F")
            if number in numbers:
                continue
            numbers.append(number)
            session.add(PersonRecord(
                id=f"P{rnd.randrange(10**6):06d}-{n}", id_number=number, name=name, sex="M",
                birth_date=date(1950, 1, 1), phone=phone, street_code="310105001",
                committee=None))
    for _ in range(5):
        query = data.draw(queries(street, numbers), label="query")
        with module_store.read_session() as session:
            expected = reference_search(session, query, limit)
            assert search_persons(session, query, limit) == expected, query
