"""Finding a person at the counter by ID number, name, pinyin or phone, fast on a million rows.

Every kind of match but one is an index range (`key >= p AND key < p + U+10FFFF`), never a
leading-wildcard LIKE: the ID number and phone are indexed reversed so "ends with" becomes
"starts with", names by their pinyin and initials, and by their tails from the 2nd and 3rd
character for "contains". Only names longer than 3 characters (few) are scanned, and only when
the other kinds found fewer than asked for.

A text is searched with one statement (issue 13): the arms its form allows (search_plan), in
rank order, joined by UNION ALL, reading only the columns a hit shows. SQLite runs them one after
the other and stops at the limit, so an arm runs only if the ones before it found too few.
"""

from __future__ import annotations

import re
import sqlite3
import unicodedata
from dataclasses import dataclass
from enum import StrEnum
from functools import lru_cache
from typing import NamedTuple, cast

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from desktop.domain.errors import DomainError
from desktop.domain.id_number import mask_id_number, normalize_id_number
from desktop.domain.phone import normalize_phone
from desktop.store.database import DRIVER_CONNECTIONS, Store, driver_connection
from desktop.store.models import LONG_NAME, NAME_FROM_2, NAME_FROM_3, NAME_HAS_3
from desktop.store.search_keys import name_keys, prefix_bounds, reversed_key


class MatchKind(StrEnum):
    """How a person matched, best first: the order of the results."""

    ID_EXACT = "id_exact"
    ID_SUFFIX = "id_suffix"  # the last 4–17 characters of the ID number
    NAME_EXACT = "name_exact"
    NAME_PREFIX = "name_prefix"
    PINYIN_PREFIX = "pinyin_prefix"  # "zhangs" → 张三
    INITIALS_PREFIX = "initials_prefix"  # "zs" → 张三
    NAME_CONTAINS = "name_contains"
    PHONE = "phone"  # the whole number or its last 4 or more digits

    @property
    def rank(self) -> int:
        return _RANKS[self]


_RANKS = {kind: rank for rank, kind in enumerate(MatchKind)}


class PersonHit(NamedTuple):
    """One search result, with the ID number and phone masked for the screen.

    A named tuple, not a frozen dataclass: as immutable, and built in a quarter of the time
    (a search builds up to `limit` of them; 20 frozen dataclasses took 20 µs).
    """

    person_id: str
    name: str
    masked_id_number: str
    phone_masked: str | None
    street_code: str
    committee: str | None
    match_kind: MatchKind

    @property
    def rank(self) -> int:
        return self.match_kind.rank


MIN_TAIL = 4  # fewer trailing digits match too many people to be a search

_TAIL = re.compile(rf"[0-9]{{{MIN_TAIL - 1},17}}[0-9X]")  # the end of an ID number
_DIGITS = re.compile(r"[0-9]+")
_LETTERS = re.compile(r"[a-z]+")
_PHONE_CHARS = re.compile(r"[0-9+()\-]+")
_HAN = re.compile(r"[\u3400-\u9fff\uf900-\ufaff\U00020000-\U0003134f]")
_SPACE = re.compile(r"[\s']+")
_LATIN = re.compile("[A-Za-z]")


def search_persons(session: Session, query: str, limit: int = 20) -> list[PersonHit]:
    """Up to `limit` persons matching `query`, best match first (see MatchKind).

    Within a kind, persons with the closer key come first: the exact name, pinyin or initials
    before longer ones, which follow in key order; persons with equal keys by name, then id.
    A person found by more than one kind is listed once, under the best.
    """
    plan = _plan_for(query, limit)
    if plan is None:
        return []
    if session.new or session.dirty or session.deleted:
        session.flush()  # the statement runs on the driver's connection, past the ORM
    bind = session.get_bind()
    if session.in_transaction() or not isinstance(bind, Engine):
        return _run(driver_connection(session.connection()), plan, limit)
    return _pooled(bind, plan, limit)


def search_store(store: Store, query: str, limit: int = 20) -> list[PersonHit]:
    """search_persons for the counter's search box: on a pooled connection of the store, with
    no ORM session around it (a session's setup and teardown cost as much as the query)."""
    plan = _plan_for(query, limit)
    return [] if plan is None else _pooled(store.engine, plan, limit)


def _pooled(engine: Engine, plan: SearchPlan, limit: int) -> list[PersonHit]:
    """One statement is its own snapshot: outside a transaction it runs on a pooled connection
    as it is, without the BEGIN and ROLLBACK a session's transaction would add (40 of the
    100 µs a whole ID number took)."""
    pooled = engine.raw_connection()
    try:
        raw = pooled.driver_connection
        assert isinstance(raw, DRIVER_CONNECTIONS)
        return _run(cast(sqlite3.Connection, raw), plan, limit)
    finally:
        pooled.close()


def _plan_for(query: str, limit: int) -> SearchPlan | None:
    """The statement for `query`, or None when its form names no one (empty, 3 digits, a
    mistyped ID number)."""
    text = _SPACE.sub("", unicodedata.normalize("NFKC", query)).strip()
    if not text or limit <= 0:
        return None
    plan = search_plan(text, limit)
    return plan if plan.kinds else None


def _run(raw: sqlite3.Connection, plan: SearchPlan, limit: int) -> list[PersonHit]:
    hits, whole = _merge(raw.execute(plan.sql, plan.parameters), plan.kinds, limit)
    if not whole:  # a person found by two arms within the first `limit` rows (rare): read on
        hits, whole = _merge(raw.execute(plan.sql_unlimited, plan.parameters), plan.kinds, limit)
    return hits


def _merge(rows: sqlite3.Cursor, kinds: tuple[MatchKind, ...],
           limit: int) -> tuple[list[PersonHit], bool]:
    """The hits from `rows` (arms in rank order), each person under its first kind; and
    whether they are all there are (the rows ended before the statement's limit, if any)."""
    found: dict[str, PersonHit] = {}
    inside: set[str] = set()  # the persons "name contains" found (it counts its own limit)
    read = 0
    for arm, person_id, name, id_number, phone, street_code, committee in rows:
        read += 1
        kind = kinds[arm]
        if kind is MatchKind.NAME_CONTAINS:
            if person_id in inside:
                continue
            inside.add(person_id)
        if person_id not in found:
            found[person_id] = PersonHit(person_id, name, mask_id_number(id_number),
                                         mask_phone(phone), street_code, committee, kind)
        if len(found) >= limit or len(inside) >= limit:
            return list(found.values()), True
    return list(found.values()), read < limit


@dataclass(frozen=True, slots=True)
class SearchPlan:
    """The one statement a text is searched with: its arms, in rank order, joined by UNION ALL.

    Each row starts with its arm's number (an index into `kinds`); each arm has its own limit.
    The text depends only on the form of the search text (which arms it has) and the limit, so
    the driver's statement cache prepares it once per form.
    """

    sql: str  # LIMIT `limit` in all: SQLite runs no arm past the rows it hands over
    sql_unlimited: str  # for when a person was found twice among them
    parameters: tuple[str, ...]
    kinds: tuple[MatchKind, ...]


_COLUMNS = "id, name, id_number, phone, street_code, committee"  # what a PersonHit shows


def _range(key: str) -> str:
    return f"{key} >= ? AND {key} < ?"


# Each arm a text can have: its kind, its condition and its order (None: at most one row).
_ARMS: dict[str, tuple[MatchKind, str, str | None]] = {
    "id": (MatchKind.ID_EXACT, "id_number = ?", None),  # unique
    "id_tail": (MatchKind.ID_SUFFIX, _range("id_reversed"), "name, id"),
    "name": (MatchKind.NAME_EXACT, "name = ?", "id"),
    # beyond the exact name: the same person twice would take a second statement (_run)
    "name_start": (MatchKind.NAME_PREFIX, "name > ? AND name < ?", "name, id"),
    "pinyin": (MatchKind.PINYIN_PREFIX, _range("name_pinyin"), "name_pinyin, name, id"),
    "initials": (MatchKind.INITIALS_PREFIX, _range("name_initials"), "name_initials, name, id"),
    "phone": (MatchKind.PHONE, _range("phone_reversed"), "name, id"),  # its index: HAS_PHONE
    # "name contains", after everything else: the name from its 2nd and from its 3rd character
    # are index ranges (every name up to 3 characters is covered; the 3rd's index is partial,
    # NAME_HAS_3); names longer than 3 characters have their own small index, scanned.
    "inside_2": (MatchKind.NAME_CONTAINS, _range(NAME_FROM_2), f"{NAME_FROM_2}, name, id"),
    "inside_3": (MatchKind.NAME_CONTAINS, f"{NAME_HAS_3} AND {_range(NAME_FROM_3)}",
                 f"{NAME_FROM_3}, name, id"),
    "inside_long": (MatchKind.NAME_CONTAINS, f"{LONG_NAME} AND instr(name, ?) > 1", "name, id"),
}


@lru_cache(maxsize=64)
def _statement(arms: tuple[str, ...], limit: int) -> tuple[str, str, tuple[MatchKind, ...]]:
    """The statement of these arms, in this order: a few forms, each built once.

    The limit is written in, not bound: SQLite runs an arm's ORDER BY ... LIMIT 20 as a top-20
    sort, but sorts every row in range under LIMIT ? (measured: 13 against 37 µs for a phone).
    """
    selects = []
    for number, name in enumerate(arms):
        _kind, where, order = _ARMS[name]
        tail = "" if order is None else f" ORDER BY {order} LIMIT {int(limit)}"
        # SQLite allows ORDER BY and LIMIT in an arm of a compound only inside a subquery.
        selects.append(f"SELECT * FROM (SELECT {number}, {_COLUMNS} FROM person "
                       f"WHERE {where}{tail})")
    # The outer limit keeps the next arm from running when the driver reads one row ahead.
    unlimited = " UNION ALL ".join(selects)
    return f"{unlimited} LIMIT {int(limit)}", unlimited, tuple(_ARMS[name][0] for name in arms)


def search_plan(text: str, limit: int) -> SearchPlan:
    """The statement for `text` (normalized: NFKC, no spaces); see SearchPlan."""
    arms: list[str] = []
    parameters: list[str] = []

    def arm(name: str, *values: str) -> None:
        arms.append(name)
        parameters.extend(values)

    upper = text.upper()
    exact = _whole_id_number(upper)
    if exact is not None:
        arm("id", exact)
    phone = _phone_tail(text)
    # A whole mobile number is never the end of an ID number: its last 11 characters start
    # with the birth year's second digit (9 or 0 for 1900–2099), a mobile number with 1.
    if _TAIL.fullmatch(upper) and len(upper) < 18 and not _is_mobile(phone):
        arm("id_tail", *prefix_bounds(reversed_key(upper) or ""))
    if not _PHONE_CHARS.fullmatch(text):
        letters = text.lower()
        arm("name", text)
        arm("name_start", *prefix_bounds(text))
        if _LETTERS.fullmatch(letters):
            arm("pinyin", *prefix_bounds(letters))
            arm("initials", *prefix_bounds(letters))
        elif _HAN.search(text) and _LATIN.search(text):
            arm("pinyin", *prefix_bounds(name_keys(text).pinyin))  # "张s" → "zhangs"
    if phone is not None:
        arm("phone", *prefix_bounds(phone[::-1]))
    if _HAN.search(text):
        arm("inside_2", *prefix_bounds(text))
        arm("inside_3", *prefix_bounds(text))
        arm("inside_long", text)
    sql, unlimited, kinds = _statement(tuple(arms), limit)
    return SearchPlan(sql, unlimited, tuple(parameters), kinds)


def _whole_id_number(text: str) -> str | None:
    """The 18-character ID number `text` is, if it is a valid one (15 digits: upgraded)."""
    if len(text) not in (15, 18) or not _TAIL.fullmatch(text):
        return None
    try:
        return normalize_id_number(text)
    except DomainError:
        return None  # mistyped: no exact match, though its tail is still looked up


def _is_mobile(phone: str | None) -> bool:
    return phone is not None and len(phone) == 11 and phone.startswith("1")


def _phone_tail(text: str) -> str | None:
    """The end of a phone number to look for: a whole number, or its last digits."""
    if len(text) > 16 or not _PHONE_CHARS.fullmatch(text):  # 16: 0086 0 area local, the most
        return None
    try:
        return normalize_phone(text)
    except DomainError:
        pass
    if _DIGITS.fullmatch(text) and MIN_TAIL <= len(text) <= 11:
        return text
    return None


def mask_phone(phone: str | None) -> str | None:
    """A phone for the screen: a mobile keeps its first 3 and last 4 digits, others the last 4."""
    if phone is None:
        return None
    if len(phone) == 11 and phone.isdigit():
        return phone[:3] + "****" + phone[-4:]
    if len(phone) <= 4:
        return "*" * len(phone)
    return "*" * (len(phone) - 4) + phone[-4:]
