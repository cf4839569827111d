"""The counter's parameters (M18): the shipped files plus what it pulled, rebuilt only when a
pull changed the pulled values, and the assumption flag kept as pulled."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from desktop.policy.parameters import default_parameters
from desktop.services.policy_values import current_parameters
from desktop.store import Store, open_store
from desktop.store.changes import apply_changes
from desktop.store.models import ParameterVersionRecord
from tests.store.conftest import delete, upsert

KEY = "assistance:category.dibao.outpatient_rate"
NAME = "category.dibao.outpatient_rate"


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    with open_store(tmp_path / "store.sqlite") as opened:
        yield opened


def _pull(store: Store, *changes: object) -> None:
    with store.session() as session:
        apply_changes(session, list(changes))  # type: ignore[arg-type]


def _rate(store: Store, day: date) -> object:
    view = current_parameters(store).for_program("assistance", "changning")
    return view.require(NAME, day).value


def test_nothing_pulled_is_the_shipped_files(store: Store) -> None:
    assert current_parameters(store) is default_parameters()


def test_a_pulled_value_counts_from_its_date_and_is_cached_until_the_next_pull(
        store: Store) -> None:
    before = _rate(store, date(2027, 1, 1))
    _pull(store, upsert("parameter_version", f"{KEY}@2027-01-01",
                        {"key": KEY, "effective_from": "2027-01-01", "value": "0.42",
                         "source": "CN-2026 3.3", "assumption": True}))
    with store.read_session() as session:
        assert session.get_one(ParameterVersionRecord, f"{KEY}@2027-01-01").assumption
    first = current_parameters(store)
    assert current_parameters(store) is first  # nothing pulled since: the same parameters
    assert _rate(store, date(2027, 1, 1)) == Decimal("0.42")
    assert _rate(store, date(2026, 12, 31)) == before
    _pull(store, upsert("parameter_version", f"{KEY}@2027-01-01",
                        {"key": KEY, "effective_from": "2027-01-01", "value": "0.43",
                         "source": "CN-2026 3.3"}))
    assert current_parameters(store) is not first
    assert _rate(store, date(2027, 1, 1)) == Decimal("0.43")
    _pull(store, delete("parameter_version", f"{KEY}@2027-01-01"))
    assert _rate(store, date(2027, 1, 1)) == before
