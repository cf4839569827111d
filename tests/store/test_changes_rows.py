"""The bulk insert's rows, built with converters chosen once per column, are the rows the
straightforward way builds (every value through its column type's processor); the person search
keys read word by word are pypinyin's reading of the whole name."""

from __future__ import annotations

import subprocess
import sys
import tempfile
import uuid
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import BaseModel
from sqlalchemy.engine import Dialect

from desktop.store import open_store
from desktop.store.changes import ENTITIES, _insert_plan, _money_text, bulk_row, plain_row
from desktop.store.search_keys import name_keys, plain_name_keys
from desktop.store.types import money_text


def _store_dialect() -> Dialect:
    """The dialect of a real store's engine (its JSON serializer is the store's own)."""
    with tempfile.TemporaryDirectory() as folder, open_store(Path(folder) / "s.sqlite") as store:
        return store.engine.dialect


DIALECT = _store_dialect()

# characters of real names and of the phrases pypinyin's dictionary reads as one word (长 in
# 长春, 重 in 重庆, 乐 as a surname, 单于 and 尉迟 as compound surnames)
HANZI = ("张王李赵曾单仇解查区朴覃翟缪盖种秘繁员召隗乐折薄欧阳司马尉迟于"
         "长春重庆银行伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超秀兰霞平刚桂英")
OTHER = "·• ABCxyzéü0123456789-（）\u3000"
names = st.text(alphabet=st.sampled_from(HANZI + OTHER), min_size=0, max_size=8)


@settings(max_examples=400, deadline=None)
@given(names)
def test_names_read_word_by_word_as_pypinyin_reads_them_whole(name: str) -> None:
    assert name_keys(name) == plain_name_keys(name)


def test_importing_the_search_keys_does_not_load_pypinyin() -> None:
    code = ("import sys, desktop.store.search_keys, desktop.store.changes; "
            "print('pypinyin' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == "False"


def _money_or_error(convert: Any, value: Any) -> Any:
    try:
        return convert(value)
    except (ValueError, TypeError) as exc:
        return type(exc)


amount_texts = st.one_of(
    st.decimals(allow_nan=False, allow_infinity=False, places=2).map(str),
    st.decimals(allow_nan=True, allow_infinity=True).map(str),
    st.from_regex(r"\A[-+]?[0-9０-９]{0,4}(\.[0-9]{0,3})?([eE][-+]?[0-9])?\Z"),
    st.text(max_size=8),
)


@settings(max_examples=500, deadline=None)
@given(amount_texts)
def test_an_amount_is_stored_as_money_text_stores_it(text: str) -> None:
    assert _money_or_error(_money_text, text) == _money_or_error(money_text, text)


money = st.one_of(st.decimals(min_value=-10**6, max_value=10**6, places=2).map(str),
                  st.sampled_from(["0", "-0.00", "007.10", "1E+2", "12.5", "3.000"]))
days = st.dates(min_value=date(1, 1, 1), max_value=date(9999, 12, 31)).map(date.isoformat)
text = st.text(max_size=6)
flag = st.booleans()


def _entity_data(name: str) -> st.SearchStrategy[dict[str, Any]]:
    if name == "person":
        return st.fixed_dictionaries({
            "id": text, "id_number": text, "name": names, "sex": st.sampled_from("MF"),
            "birth_date": days, "phone": st.none() | text, "address": st.none() | text,
            "street_code": text, "committee": st.none() | text,
            "bank_account": st.none() | text, "resident_insurance": flag,
            "mutual_aid_years": st.lists(st.integers(2000, 2030), max_size=4),
            "mutual_aid_benefits_from": st.none() | days,
            "external_inpatient_insurance": flag, "allowance_balance": money})
    if name == "category_span":
        return st.fixed_dictionaries({
            "id": text, "person_id": text, "code": text, "start": days,
            "end": st.none() | days, "source": text})
    if name == "institution":
        return st.fixed_dictionaries({"code": text, "name": text, "level": st.integers(1, 3),
                                      "in_shanghai": flag})
    if name == "fee_row":
        return st.fixed_dictionaries({
            "id": text, "person_id": text, "institution_code": st.none() | text,
            "issuer_code": st.none() | text, "receipt_no": text,
            "check_code": st.none() | text, "date": days,
            "kind": st.sampled_from(["outpatient", "inpatient", "major_outpatient"]),
            "hospital_level": st.integers(1, 3), "in_shanghai": flag,
            "out_of_province_filed": flag, "total": money, "out_of_scope": money,
            "self_pay": money, "deductible_part": money, "external_deductible": money,
            "external_reimbursed": money, "one_stop_settled": flag, "already_claimed": flag,
            "clearing_pending": flag, "major_illness": flag, "major_illness_doc": flag,
            "means_test_included": flag})
    if name == "claim":
        instants = st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1),
                                timezones=st.sampled_from([UTC, timezone(timedelta(hours=8))]))
        return st.fixed_dictionaries({
            "fee_row_id": text, "application_id": st.uuids().map(str),
            "street_code": text, "device_id": text,
            "claimed_at": instants.map(datetime.isoformat),
            "status": st.sampled_from(["claimed", "paid", "released"]),
            "program": st.none() | st.sampled_from(["assistance", "mutual_aid"])})
    if name == "commitment":
        moments = st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1),
                               timezones=st.sampled_from([UTC, timezone(timedelta(hours=8))]))
        return st.fixed_dictionaries({
            "id": text, "person_id": text,
            "program": st.sampled_from(["assistance", "mutual_aid"]), "street_code": text,
            "application_id": text, "given_on": days, "given_by": text,
            "given_at": moments.map(datetime.isoformat), "revoked_on": st.none() | days,
            "revoked_by": st.none() | text,
            "revoked_at": st.none() | moments.map(datetime.isoformat),
            "revoke_reason": st.none() | text})
    assert name == "parameter_version"
    return st.fixed_dictionaries({"key": text, "effective_from": days,
                                  "value": text, "source": text})


@st.composite
def changes(draw: st.DrawFn) -> tuple[str, str, int, BaseModel]:
    name = draw(st.sampled_from(sorted(ENTITIES)))
    data = ENTITIES[name].schema.model_validate(draw(_entity_data(name)))
    return name, draw(text), draw(st.integers(1, 2**62)), data


@settings(max_examples=600, deadline=None)
@given(changes())
def test_a_bulk_row_is_the_row_of_the_straightforward_way(
        change: tuple[str, str, int, BaseModel]) -> None:
    name, key, seq, data = change
    fast, plain = bulk_row(name, key, seq, data, DIALECT), plain_row(name, key, seq, data,
                                                                      DIALECT)
    assert fast == plain
    # the same types too: a flag is bound as the int the Boolean type stores, never as a bool
    # (sqlite3 adapts a bool through its slow protocol: a microsecond each, 8 per fee row)
    assert [type(v) for v in fast] == [type(p) for p in plain]
    assert {type(v) for v in fast} <= {str, int, type(None)}


@pytest.mark.parametrize("name", sorted(ENTITIES))
def test_every_column_of_the_table_is_written(name: str) -> None:
    model = ENTITIES[name].model
    # the counter's own columns (CommitmentRecord.LOCAL_COLUMNS): left to their defaults
    local: frozenset[str] = getattr(model, "LOCAL_COLUMNS", frozenset())
    assert set(_insert_plan(name, DIALECT).columns) == {c.name for c in model.__table__.c
                                                        } - local


def test_a_claims_application_id_and_instant_are_stored_as_the_orm_stores_them() -> None:
    data = ENTITIES["claim"].schema.model_validate({
        "fee_row_id": "F1", "application_id": str(uuid.UUID(int=7)), "street_code": "S",
        "device_id": "D", "claimed_at": "2026-03-02T10:00:00+08:00", "status": "claimed"})
    row = bulk_row("claim", "F1", 3, data, DIALECT)
    assert row[1] == uuid.UUID(int=7).hex and row[4] == "2026-03-02T02:00:00.000000+00:00"
    assert Decimal(_money_text("12.30")) == Decimal("12.30")
