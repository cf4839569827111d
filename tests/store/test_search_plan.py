"""Which index each arm of person search reads: a test of the query plan, not of timing.

Every kind a clerk types is one statement (search_plan); each of its arms must be an index
search, the index named here. A change to the indexes, the models or the statement that makes
an arm scan `person` (or read another index) fails here.
"""

from __future__ import annotations

import random
import sqlite3
from datetime import date
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.dialects import sqlite

from desktop.domain.id_number import generate_id_number
from desktop.store import MatchKind, Store
from desktop.store.models import ClaimRecord, FeeRowRecord
from desktop.store.search import search_plan

# the index each kind reads; "name contains" reads three, in this order
INDEX = {
    MatchKind.ID_EXACT: "sqlite_autoindex_person_2",  # the unique constraint on id_number
    MatchKind.ID_SUFFIX: "ix_person_id_reversed",
    MatchKind.NAME_EXACT: "ix_person_name_id",
    MatchKind.NAME_PREFIX: "ix_person_name_id",
    MatchKind.PINYIN_PREFIX: "ix_person_name_pinyin_name_id",
    MatchKind.INITIALS_PREFIX: "ix_person_name_initials_name_id",
    MatchKind.PHONE: "ix_person_phone_reversed",
}
CONTAINS = ["ix_person_name_from_2", "ix_person_name_from_3", "ix_person_long_name"]
ID_NUMBER = generate_id_number(random.Random(5), "310105", date(1961, 5, 6), "M")

# text → the kinds of its statement's arms, in rank order
FORMS = {
    ID_NUMBER: [MatchKind.ID_EXACT],
    ID_NUMBER[-4:]: [MatchKind.ID_SUFFIX, MatchKind.PHONE],  # also a phone's last digits
    ID_NUMBER[-8:]: [MatchKind.ID_SUFFIX, MatchKind.PHONE],
    ID_NUMBER[:17] + "X": [MatchKind.NAME_EXACT, MatchKind.NAME_PREFIX],  # a wrong check digit
    "13912345678": [MatchKind.PHONE],  # a mobile number never ends an ID number
    "+86139-1234-5678": [MatchKind.PHONE],
    "张三": [MatchKind.NAME_EXACT, MatchKind.NAME_PREFIX] + [MatchKind.NAME_CONTAINS] * 3,
    "zhangs": [MatchKind.NAME_EXACT, MatchKind.NAME_PREFIX, MatchKind.PINYIN_PREFIX,
               MatchKind.INITIALS_PREFIX],
    "zs": [MatchKind.NAME_EXACT, MatchKind.NAME_PREFIX, MatchKind.PINYIN_PREFIX,
           MatchKind.INITIALS_PREFIX],
    "张s": [MatchKind.NAME_EXACT, MatchKind.NAME_PREFIX, MatchKind.PINYIN_PREFIX]
    + [MatchKind.NAME_CONTAINS] * 3,
}


def person_reads(store: Store, text: str, analysed: bool) -> list[str]:
    """What each arm of the statement for `text` does with `person`, in order."""
    plan = search_plan(text, 20)
    with sqlite3.connect(store.path) as raw:
        if analysed:  # as the counter's cache is after `PRAGMA optimize`
            raw.execute("ANALYZE")
        rows = raw.execute("EXPLAIN QUERY PLAN " + plan.sql, plan.parameters).fetchall()
    return [detail for *_ids, detail in rows if detail.startswith(("SEARCH person",
                                                                     "SCAN person"))]


@pytest.mark.parametrize("analysed", [False, True], ids=["fresh", "analysed"])
@pytest.mark.parametrize("text", list(FORMS))
def test_each_arm_searches_its_index(store: Store, text: str, analysed: bool) -> None:
    kinds = list(search_plan(text, 20).kinds)
    assert kinds == FORMS[text]
    expected = [INDEX[k] for k in kinds if k is not MatchKind.NAME_CONTAINS]
    if MatchKind.NAME_CONTAINS in kinds:
        expected += CONTAINS
    reads = person_reads(store, text, analysed)
    assert len(reads) == len(expected), reads
    for read, index in zip(reads, expected, strict=True):
        assert f"USING INDEX {index} " in f"{read} ", reads
        # the one scan allowed: the partial index of the few names longer than 3 characters
        assert read.startswith("SEARCH") or index == "ix_person_long_name", reads


def test_every_person_index_serves_an_arm(store: Store) -> None:
    """No index on `person` is left that no search reads (the primary key's aside)."""
    with sqlite3.connect(store.path) as raw:
        indexes = {name for (name,) in raw.execute(
            "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'person'")}
    assert indexes - {"sqlite_autoindex_person_1"} == set(INDEX.values()) | set(CONTAINS)


# -- the fee rows' lookups: which index each reads (migration 0015 left these two) --------------

def fee_row_reads(store: Store, statement: Any) -> list[str]:
    """How SQLite plans the ORM statement: its SEARCH and SCAN steps."""
    dialect = sqlite.dialect()
    compiled = statement.compile(dialect=dialect)
    parameters = []
    for name in compiled.positiontup:
        process = compiled.binds[name].type.dialect_impl(dialect).bind_processor(dialect)
        value = compiled.params[name]
        parameters.append(value if process is None else process(value))
    with sqlite3.connect(store.path) as raw:
        rows = raw.execute("EXPLAIN QUERY PLAN " + str(compiled), parameters).fetchall()
    return [detail for *_ids, detail in rows if detail.startswith(("SEARCH", "SCAN"))]


def test_a_persons_rows_and_a_receipt_number_each_read_their_index(store: Store) -> None:
    claim = "SEARCH claim_1 USING PRIMARY KEY (fee_row_id=?) LEFT-JOIN"  # loaded with each row
    by_person = (select(FeeRowRecord).where(FeeRowRecord.person_id == "P1")
                 .order_by(FeeRowRecord.date, FeeRowRecord.id))  # the counter's rows
    assert fee_row_reads(store, by_person) == [
        "SEARCH fee_row USING INDEX ix_fee_row_person_id_date (person_id=?)", claim]
    by_receipt = (select(FeeRowRecord).where(FeeRowRecord.receipt_no == "0053622487")
                  .order_by(FeeRowRecord.person_id, FeeRowRecord.date, FeeRowRecord.id))
    assert fee_row_reads(store, by_receipt)[:2] == [  # the scanner, search by number
        "SEARCH fee_row USING INDEX ix_fee_row_receipt_no (receipt_no=?)", claim]
    by_id = select(FeeRowRecord).where(FeeRowRecord.id == "F000000001")  # session.get
    assert fee_row_reads(store, by_id) == [
        "SEARCH fee_row USING INDEX sqlite_autoindex_fee_row_1 (id=?)", claim]
    # the district's claims are read by their key alone: the table is its own index
    assert fee_row_reads(store, select(ClaimRecord).where(ClaimRecord.fee_row_id == "F1")) == [
        "SEARCH claim USING PRIMARY KEY (fee_row_id=?)"]
