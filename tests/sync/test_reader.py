"""The pull's page reader (desktop/sync/reader.py) where it must read as pydantic reads: data of
entities it does not check, nesting, models whose settings it could not follow, instants out of
range. Its field-by-field equivalence with the models is in tests/store/test_changes_rows.py."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from desktop import wire
from desktop.store import Store, apply_changes, open_store
from desktop.store.models import ClaimRecord
from desktop.store.types import utc_text
from desktop.sync.reader import data_struct_type, parse_changes_page


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    with open_store(tmp_path / "store.sqlite") as opened:
        yield opened


def page(*items: dict[str, Any]) -> str:
    return json.dumps({"items": list(items), "next_cursor": 9, "more": False})


def application(data: Any) -> dict[str, Any]:
    return {"seq": 1, "entity": "application", "key": "A1", "op": "upsert", "data": data}


def test_an_applications_data_is_read_by_pydantic_as_before() -> None:
    data = {"id": "A1", "case": {"rows": [{"amount": "1.50", "n": 2.5}]}, "big": 10**30}
    read = parse_changes_page(page(application(data))).items[0]
    assert type(read) is wire.Change and type(read) not in wire.CHECKED_READ_CHANGES
    assert read == wire.Change.model_validate(application(data))


@pytest.mark.parametrize("depth", [300, 3000])
def test_data_nested_deeper_than_pydantic_reads_is_refused_as_before(depth: int) -> None:
    """msgspec reads deeper nesting than pydantic does (and past 1,000 levels raises
    RecursionError): such a page is read by pydantic, which refuses it as it did."""
    deep = "[" * depth + "1" + "]" * depth  # json.dumps itself stops at 1,000 levels
    text = page(application({"id": "A1", "case": "DEEP"})).replace('"DEEP"', deep)
    with pytest.raises(ValidationError):
        wire.ChangesPage.model_validate_json(text)
    with pytest.raises(ValidationError):
        parse_changes_page(text)


def test_a_model_setting_or_alias_the_reader_would_not_follow_stops_it() -> None:
    class Stripped(BaseModel):
        model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)
        name: str

    class Aliased(BaseModel):
        model_config = ConfigDict(extra="forbid", frozen=True)
        name: str = Field(alias="Name")

    with pytest.raises(TypeError, match="settings"):
        data_struct_type(Stripped)
    with pytest.raises(TypeError, match="alias"):
        data_struct_type(Aliased)


def test_an_instant_before_year_1_in_utc_is_refused_and_nothing_written(store: Store) -> None:
    """0001-01-01T00:30:00+01:00 reads as a datetime but is no instant in UTC: the change is
    refused as malformed (a ValueError, which the pull reports with its page), not an
    OverflowError that stopped the pull without saying which page."""
    claim = {"seq": 1, "entity": "claim", "key": "F1", "op": "upsert", "data": {
        "fee_row_id": "F1", "application_id": "12345678-1234-5678-1234-567812345678",
        "street_code": "310105001", "device_id": "D1",
        "claimed_at": "0001-01-01T00:30:00+01:00", "status": "claimed"}}
    changes = parse_changes_page(page(claim)).items
    assert type(changes[0]) in wire.CHECKED_READ_CHANGES
    data: Any = changes[0].data
    with pytest.raises(ValueError, match="outside the years"):
        utc_text(data.claimed_at)
    with store.session() as session, pytest.raises(ValueError, match="outside the years"):
        apply_changes(session, changes)
    with store.read_session() as session:
        assert session.get(ClaimRecord, "F1") is None
