"""The changes a counter pulls: its street's, plus those every street sees, after a cursor."""

from __future__ import annotations

import heapq
import json
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Text, cast, func, literal, or_, select, tuple_
from sqlalchemy.orm import Session

from desktop import wire
from district import models

MAX_SEQ = 2**63 - 1  # a seq is a BIGINT: a cursor past it is refused, not sent to the database
MAX_PAGE = 5000


def changes_page(session: Session, street_code: str, cursor: int, limit: int, *,
                 count: bool = False, protocol: int = wire.PROTOCOL_VERSION
                 ) -> wire.ChangesPage:
    """One page after `cursor`, read as of the newest change visible when the request began.

    The street's changes and the shared ones (street_code NULL) are read as two ranges of the
    (street_code, seq) index, each already in seq order, and merged: one `OR` query would
    make the database sort every change after the cursor for each page. `total` (only with
    `count`) counts every change after the cursor, which is why a pull asks for it once.
    """
    read = _read_page(session, street_code, cursor, limit, count=count, protocol=protocol)
    hidden = _hidden_fields(protocol)
    # Built without validation: the rows were validated when they were written, and a page
    # of a thousand changes would otherwise be checked field by field on every pull.
    return wire.ChangesPage.model_construct(
        items=[wire.Change.model_construct(
            seq=c.seq, entity=c.entity, key=c.key, op=c.op,
            data=_as_known(None if c.data is None else json.loads(c.data),
                           hidden.get(c.entity)))
            for c in read.items],
        next_cursor=read.next_cursor, more=read.more, total=read.total,
        generation=read.generation, newest=read.newest, count=len(read.items))


def changes_page_json(session: Session, street_code: str, cursor: int, limit: int, *,
                      count: bool = False, protocol: int = wire.PROTOCOL_VERSION) -> str:
    """The page changes_page reads, as page_json would write it, with each change's data
    copied as the JSON text it is stored as: decoding and encoding again the data of a
    thousand changes cost the server more than reading them (an initial pull is 1.4 million).
    Data an older protocol reads without some fields goes the long way."""
    return changes_page_text(session, street_code, cursor, limit, count=count,
                             protocol=protocol).text


@dataclass(frozen=True)
class PageText:
    text: str  # the page's JSON
    next_cursor: int  # as in the page, for the answer's headers (wire.NEXT_CURSOR_HEADER)
    more: bool


def changes_page_text(session: Session, street_code: str, cursor: int, limit: int, *,
                      count: bool = False, protocol: int = wire.PROTOCOL_VERSION) -> PageText:
    """changes_page_json's page, with its next cursor and whether more follow."""
    read = _read_page(session, street_code, cursor, limit, count=count, protocol=protocol)
    hidden = _hidden_fields(protocol)
    dumps, quote = json.dumps, json.encoder.encode_basestring_ascii  # quote: a JSON string
    items = []
    for c in read.items:
        data = c.data
        if data is None:
            data = "null"
        elif hidden.get(c.entity):
            data = dumps(_as_known(json.loads(data), hidden[c.entity]), ensure_ascii=False,
                         separators=(",", ":"))
        items.append(f'{{"seq":{int(c.seq)},"entity":{quote(c.entity)},"key":{quote(c.key)},'
                     f'"op":{quote(c.op)},"data":{data}}}')
    fields: dict[str, Any] = {"next_cursor": read.next_cursor, "more": read.more,
                              "total": read.total, "generation": read.generation,
                              "newest": read.newest, "count": len(read.items)}
    shown = {k: v for k, v in fields.items() if protocol >= wire.FIELDS_SINCE.get(k, 0)}
    rest = dumps(shown, separators=(",", ":"))[1:]
    return PageText(f'{{"items":[{",".join(items)}],{rest}', read.next_cursor, read.more)


@dataclass(frozen=True)
class _Read:
    items: list[Any]  # rows of (seq, entity, key, op, data as JSON text or None)
    next_cursor: int
    more: bool
    total: int | None
    generation: str
    newest: int


def _read_page(session: Session, street_code: str, cursor: int, limit: int, *, count: bool,
               protocol: int) -> _Read:
    if not 0 <= cursor <= MAX_SEQ or not 1 <= limit <= MAX_PAGE:
        raise ValueError(f"cursor {cursor} or limit {limit} out of bounds")
    change = models.Change
    # the newest change and the generation in one statement: on PostgreSQL each is a round
    # trip, and a pull asks for hundreds of pages
    newest_seq, generation = session.execute(select(
        select(func.max(change.seq)).scalar_subquery(),
        select(models.DistrictGeneration.generation)
        .where(models.DistrictGeneration.id == 1).scalar_subquery())).one()
    if generation is None:  # a database from before migration 0005 that lost its row
        raise RuntimeError("the district database has no generation; run migrate")
    newest: int = newest_seq or 0
    unknown = sorted(e for e, since in wire.ENTITIES_SINCE.items() if protocol < since)
    # the data as the text it is stored as (PostgreSQL's driver would decode a JSON column)
    columns = (change.seq, change.entity, change.key, change.op, cast(change.data, Text))
    window: list[Any] = [change.seq > cursor, change.seq <= newest]
    if unknown:  # a counter of an older protocol: what it cannot apply is not sent to it
        window.append(change.entity.not_in(unknown))
    # The street's range bounds (street_code, seq) as a pair and is ordered by the pair, which
    # only the (street_code, seq) index gives: asked for `street_code = X ... ORDER BY seq`,
    # PostgreSQL may walk the primary key and filter instead (a street's rows are scattered
    # in the table, so it rates that index dear), and a street whose changes came after a
    # million others took 0.3 s a page. The shared range (street NULL) has its own index
    # (migration 0007): `IS NULL` is not an equality, so the pair's index does not give its
    # rows in seq order. SQLite's planner takes the right index for either form.
    pair = tuple_(change.street_code, change.seq)
    own = select(*columns).where(
        pair > tuple_(literal(street_code), literal(cursor)),
        pair <= tuple_(literal(street_code), literal(newest)), *window[2:],
    ).order_by(change.street_code, change.seq).limit(limit + 1)
    shared = select(*columns).where(change.street_code.is_(None), *window) \
        .order_by(change.seq).limit(limit + 1)
    ranges = [session.execute(own).all(), session.execute(shared).all()]
    merged = list(heapq.merge(*ranges, key=lambda c: c.seq))
    items, more = merged[:limit], len(merged) > limit
    total = None
    if count:
        visible = or_(change.street_code == street_code, change.street_code.is_(None))
        total = session.scalar(select(func.count()).select_from(change)
                               .where(visible, *window)) or 0
    return _Read([_Row(*c) for c in items], items[-1].seq if items else cursor, more, total,
                 str(generation), newest)


@dataclass(frozen=True)
class _Row:
    seq: int
    entity: str
    key: str
    op: str
    data: str | None


def _hidden_fields(protocol: int) -> dict[str, set[str]]:
    return {entity: {f for f, v in fields.items() if protocol < v}
            for entity, fields in wire.DATA_FIELDS_SINCE.items()}


def _as_known(data: dict[str, Any] | None, hidden: set[str] | None) -> dict[str, Any] | None:
    """An entity's data without the fields an older protocol's strict schema would refuse."""
    if not hidden or data is None:
        return data
    return {k: v for k, v in data.items() if k not in hidden}


def page_json(page: wire.ChangesPage, protocol: int) -> str:
    """The page as `protocol` reads it: without the fields a version before them refuses."""
    since = wire.FIELDS_SINCE
    return page.model_dump_json(exclude={f for f, v in since.items() if protocol < v} or None)
