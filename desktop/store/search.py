"""Finding a person at the counter by ID number, name, pinyin or phone, fast on a million rows.

Every kind of match but one is an index range (`key >= p AND key < p + U+10FFFF`), never a
leading-wildcard LIKE: the ID number and phone are indexed reversed so "ends with" becomes
"starts with", names by their pinyin and initials, and by their tails from the 2nd and 3rd
character for "contains". Only names longer than 3 characters (few) are scanned, and only when
the other kinds found fewer than asked for.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass
from enum import StrEnum

from sqlalchemy import ColumnElement, Select, String, func, literal_column, select
from sqlalchemy import text as sql_text
from sqlalchemy.orm import InstrumentedAttribute, Session

from desktop.domain.errors import DomainError
from desktop.domain.id_number import mask_id_number, normalize_id_number
from desktop.domain.phone import normalize_phone
from desktop.store.models import LONG_NAME, NAME_FROM_2, NAME_FROM_3, PersonRecord
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


@dataclass(frozen=True, slots=True)
class PersonHit:
    """One search result, with the ID number and phone masked for the screen."""

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


def search_persons(session: Session, query: str, limit: int = 20) -> list[PersonHit]:
    """Up to `limit` persons matching `query`, best match first (see MatchKind).

    Within a kind, persons with the closer key come first: the exact name, pinyin or initials
    before longer ones, which follow in key order; persons with equal keys by name, then id.
    """
    text = _SPACE.sub("", unicodedata.normalize("NFKC", query)).strip()
    if not text or limit <= 0:
        return []
    found: dict[str, PersonHit] = {}
    for kind, statement in _plan(text):
        if len(found) >= limit:
            break
        for row in session.execute(statement.limit(limit)).scalars():
            if row.id not in found and len(found) < limit:
                found[row.id] = _hit(row, kind)
    if len(found) < limit and _HAN.search(text):
        for row in _name_contains(session, text, limit):
            if row.id not in found and len(found) < limit:
                found[row.id] = _hit(row, MatchKind.NAME_CONTAINS)
    return list(found.values())


def _plan(text: str) -> Iterator[tuple[MatchKind, Select[PersonRecord]]]:
    """The indexed queries for `text`, in rank order."""
    person = PersonRecord
    upper = text.upper()
    exact = _whole_id_number(upper)
    if exact is not None:
        yield MatchKind.ID_EXACT, select(person).where(person.id_number == exact)
    if _TAIL.fullmatch(upper) and len(upper) < 18:
        yield MatchKind.ID_SUFFIX, _starting(person.id_reversed, reversed_key(upper) or "") \
            .order_by(person.name, person.id)
    if not _PHONE_CHARS.fullmatch(text):
        letters = text.lower()
        yield MatchKind.NAME_EXACT, select(person).where(person.name == text) \
            .order_by(person.id)
        yield MatchKind.NAME_PREFIX, _starting(person.name, text).order_by(person.name, person.id)
        if _LETTERS.fullmatch(letters):
            yield MatchKind.PINYIN_PREFIX, _starting(person.name_pinyin, letters) \
                .order_by(person.name_pinyin, person.name, person.id)
            yield MatchKind.INITIALS_PREFIX, _starting(person.name_initials, letters) \
                .order_by(person.name_initials, person.name, person.id)
        elif _HAN.search(text) and re.search("[A-Za-z]", text):
            spelled = name_keys(text).pinyin  # "张s" → "zhangs"
            yield MatchKind.PINYIN_PREFIX, _starting(person.name_pinyin, spelled) \
                .order_by(person.name_pinyin, person.name, person.id)
    phone = _phone_tail(text)
    if phone is not None:
        yield MatchKind.PHONE, _starting(person.phone_reversed, phone[::-1]) \
            .order_by(person.name, person.id)


def _whole_id_number(text: str) -> str | None:
    """The 18-character ID number `text` is, if it is a valid one (15 digits: upgraded)."""
    if len(text) not in (15, 18) or not _TAIL.fullmatch(text):
        return None
    try:
        return normalize_id_number(text)
    except DomainError:
        return None  # mistyped: no exact match, though its tail is still looked up


def _phone_tail(text: str) -> str | None:
    """The end of a phone number to look for: a whole number, or its last digits."""
    if not _PHONE_CHARS.fullmatch(text):
        return None
    try:
        return normalize_phone(text)
    except DomainError:
        pass
    if _DIGITS.fullmatch(text) and MIN_TAIL <= len(text) <= 11:
        return text
    return None


def _starting(column: InstrumentedAttribute[str] | InstrumentedAttribute[str | None]
              | ColumnElement[str], prefix: str) -> Select[PersonRecord]:
    low, high = prefix_bounds(prefix)
    return select(PersonRecord).where(column >= low, column < high)


def _name_contains(session: Session, text: str, limit: int) -> list[PersonRecord]:
    """Names with `text` after their first character, found through indexes.

    From the 2nd character and from the 3rd are index ranges (every name up to 3 characters is
    covered); names longer than 3 characters have their own small index, scanned.
    """
    person = PersonRecord
    found: dict[str, PersonRecord] = {}
    for expression in (NAME_FROM_2, NAME_FROM_3):
        tail = literal_column(expression, String)
        statement = _starting(tail, text).order_by(tail, person.name, person.id).limit(limit)
        for row in session.scalars(statement):
            found.setdefault(row.id, row)
    if len(found) < limit:
        statement = (select(person)
                     .where(sql_text(LONG_NAME), func.instr(person.name, text) > 1)
                     .order_by(person.name, person.id).limit(limit))
        for row in session.scalars(statement):
            found.setdefault(row.id, row)
    return list(found.values())[:limit]


def _hit(row: PersonRecord, kind: MatchKind) -> PersonHit:
    return PersonHit(
        person_id=row.id,
        name=row.name,
        masked_id_number=mask_id_number(row.id_number),
        phone_masked=mask_phone(row.phone),
        street_code=row.street_code,
        committee=row.committee,
        match_kind=kind,
    )


def mask_phone(phone: str | None) -> str | None:
    """A phone for the screen: a mobile keeps its first 3 and last 4 digits, others the last 4."""
    if phone is None:
        return None
    if len(phone) == 11 and phone.isdigit():
        return phone[:3] + "****" + phone[-4:]
    if len(phone) <= 4:
        return "*" * len(phone)
    return "*" * (len(phone) - 4) + phone[-4:]
