"""The bulk insert's rows, built with converters chosen once per column, are the rows the
straightforward way builds (every value through its column type's processor); the person search
keys read word by word are pypinyin's reading of the whole name."""

from __future__ import annotations

import json
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
from pydantic import BaseModel, ValidationError
from sqlalchemy.engine import Dialect

from desktop import wire
from desktop.store import open_store
from desktop.store.changes import ENTITIES, _insert_plan, _money_text, bulk_row, plain_row
from desktop.store.search_keys import name_keys, plain_name_keys
from desktop.store.types import money_text
from desktop.sync.reader import parse_changes_page


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
    assert {type(v) for v in fast} <= {str, int, bytes, type(None)}


@pytest.mark.parametrize("name", sorted(ENTITIES))
def test_every_column_of_the_table_is_written(name: str) -> None:
    model = ENTITIES[name].model
    # the counter's own columns (CommitmentRecord.LOCAL_COLUMNS): left to their defaults
    local: frozenset[str] = getattr(model, "LOCAL_COLUMNS", frozenset())
    assert set(_insert_plan(name, DIALECT).columns) == {c.name for c in model.__table__.c
                                                        } - local


def test_a_claims_application_id_and_instant_are_stored_compactly() -> None:
    data = ENTITIES["claim"].schema.model_validate({
        "fee_row_id": "F1", "application_id": str(uuid.UUID(int=7)), "street_code": "S",
        "device_id": "D", "claimed_at": "2026-03-02T10:00:00+08:00", "status": "claimed"})
    row = bulk_row("claim", "F1", 3, data, DIALECT)
    # migration 0015: the id's 16 bytes, microseconds since 1970 UTC, status by position
    assert row[1] == uuid.UUID(int=7).bytes and row[5] == 0
    assert row[4] == (datetime(2026, 3, 2, 2, tzinfo=UTC) - datetime(1970, 1, 1, tzinfo=UTC)
                      ) // timedelta(microseconds=1)
    assert Decimal(_money_text("12.30")) == Decimal("12.30")


# -- the data of a change as the pull reads it (checked against its entity's model) ---------------

def _read(name: str, fields: dict[str, Any]) -> wire.ReadChange | wire.Change:
    """The change as the client's reader makes it from the wire."""
    text = json.dumps({"items": [{"seq": 1, "entity": name, "key": "K", "op": "upsert",
                                  "data": fields}], "next_cursor": 1, "more": False})
    page = parse_changes_page(text)
    return page.items[0]


@settings(max_examples=400, deadline=None)
@given(changes(), st.data())
def test_a_row_from_read_data_is_the_row_of_the_straightforward_way(
        change: tuple[str, str, int, BaseModel], draw: st.DataObject) -> None:
    """Whatever fields with defaults the district leaves out, the row built from the data the
    reader checked is the row built from the model."""
    name, key, seq, data = change
    fields = data.model_dump(mode="json")
    optional = sorted(f for f, info in type(data).model_fields.items() if not info.is_required())
    for field in draw.draw(st.lists(st.sampled_from(optional), unique=True) if optional
                           else st.just([])):
        fields.pop(field)
    read = _read(name, fields)
    assert type(read) in wire.CHECKED_READ_CHANGES and read.data is not None
    fast = _insert_plan(name, DIALECT).row(key, seq, read.data)
    plain = plain_row(name, key, seq, type(data).model_validate(fields), DIALECT)
    assert fast == plain
    assert [type(v) for v in fast] == [type(p) for p in plain]


_ODD_VALUES = st.sampled_from([None, 0, -1, 4, 9, 2.5, "", "x", "0.00", "2026-02-30",
                               "2026-03-01", "2026-03-01T10:00:00+08:00", [], [2026], {}, True])


@settings(max_examples=600, deadline=None)
@given(changes(), st.data())
def test_what_the_reader_accepts_the_entitys_model_reads_alike(
        change: tuple[str, str, int, BaseModel], draw: st.DataObject) -> None:
    """A field dropped, added or given an odd value: what the reader takes as checked, the
    model accepts, with the same values; what the model refuses, the reader does too. What
    the reader does not take (it is stricter: no "2" for an int) is left as a dict for the
    store to validate with the model."""
    name, _key, _seq, data = change
    fields = data.model_dump(mode="json")
    how = draw.draw(st.sampled_from(["drop", "add", "odd"]))
    field = draw.draw(st.sampled_from(sorted(fields)))
    if how == "drop":
        fields.pop(field)
    elif how == "add":
        fields["not_a_field"] = 1
    else:
        fields[field] = draw.draw(_ODD_VALUES)
    _read_alike(type(data), name, fields)


def _read_alike(schema: type[BaseModel], name: str, fields: dict[str, Any]) -> None:
    try:
        model = schema.model_validate_json(json.dumps(fields))
    except ValidationError:
        model = None
    read = _read(name, fields)
    if type(read) in wire.CHECKED_READ_CHANGES:
        assert model is not None, fields
        for field in schema.model_fields:  # each value, and its type: a row is built from them
            value, expected = getattr(read.data, field), getattr(model, field)
            assert value == expected and isinstance(value, type(expected)), field
            if isinstance(expected, datetime):
                assert value.utcoffset() == expected.utcoffset()
    else:
        assert read.data == fields  # the store validates it: the model's answer, as before


# instants as text: fractions of a second of any length (msgspec alone would round beyond 6
# digits where pydantic cuts), offsets, "Z" and "z", a space for "T", out-of-range parts
_INSTANTS = st.builds(
    lambda day, sep, hms, frac, zone: f"{day}{sep}{hms}{frac}{zone}",
    st.sampled_from(["2026-03-01", "2026-02-29", "2024-02-29", "2026-13-01", "0001-01-01"]),
    st.sampled_from(["T", "t", " ", "_"]),
    st.sampled_from(["10:00:00", "23:59:59", "23:59:60", "24:00:00", "10:00", "1:00:00"]),
    st.one_of(st.just(""), st.text(alphabet="0123456789", min_size=0, max_size=10).map(
        lambda digits: "." + digits)),
    st.sampled_from(["", "Z", "z", "+08:00", "-00:00", "+23:59", "+24:00", "+0800", "+08"]))
_UUIDS = st.one_of(st.uuids().map(str), st.uuids().map(lambda u: u.hex),
                   st.uuids().map(lambda u: str(u).upper()), st.uuids().map(lambda u: f"{{{u}}}"),
                   st.uuids().map(lambda u: f"urn:uuid:{u}"), st.text(max_size=40))
_DATES = st.one_of(st.dates().map(date.isoformat), st.sampled_from(
    ["2026-02-30", "2026-3-01", "20260301", "2026-03-01T00:00:00", "2026-03-01T10:00:00+08:00",
     "+2026-03-01", "2026-03-01 ", "１９９９-01-01"]))
_INTS = st.sampled_from([2, 2.0, 1e0, "2", " 2", True, 10**20, -1, 3.5, None])


@settings(max_examples=500, deadline=None)
@given(_INSTANTS, _UUIDS, st.sampled_from(["claimed_at", "application_id"]))
def test_a_claims_instant_and_application_id_read_as_the_model_reads_them(
        instant: str, application_id: str, which: str) -> None:
    fields = {"fee_row_id": "F1", "application_id": str(uuid.UUID(int=7)), "street_code": "S",
              "device_id": "D", "claimed_at": "2026-03-01T10:00:00+08:00", "status": "paid"}
    fields[which] = instant if which == "claimed_at" else application_id
    _read_alike(wire.ClaimData, "claim", fields)


@settings(max_examples=300, deadline=None)
@given(_DATES, _INTS)
def test_a_fee_rows_date_and_level_read_as_the_model_reads_them(day: str, level: Any) -> None:
    fields = {"id": "F1", "person_id": "P1", "receipt_no": "1", "date": day,
              "kind": "outpatient", "hospital_level": level, "total": "1.00",
              "out_of_scope": "0.00", "self_pay": "1.00"}
    _read_alike(wire.FeeRowData, "fee_row", fields)


def test_a_duplicated_field_reads_as_the_model_reads_it() -> None:
    text = ('{"items":[{"seq":1,"entity":"institution","key":"H1","op":"upsert","data":'
            '{"code":"H1","name":"a","level":1,"level":2}}],"next_cursor":1,"more":false}')
    read = parse_changes_page(text).items[0]
    model = wire.InstitutionData.model_validate_json(
        '{"code":"H1","name":"a","level":1,"level":2}')
    assert type(read) in wire.CHECKED_READ_CHANGES and read.data.level == model.level == 2


def test_the_entities_models_have_no_validators_the_reader_would_skip() -> None:
    """The reader checks a struct made from each model's fields and constraints: a validator
    of the model's own would not run there."""
    for schema in (e.schema for e in ENTITIES.values()):
        decorators = schema.__pydantic_decorators__
        assert not (decorators.validators or decorators.field_validators
                    or decorators.root_validators or decorators.model_validators), schema
