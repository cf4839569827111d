"""A real store in a temporary folder, and synthetic district data to fill it.

Names come from Faker zh_CN, ID numbers from generate_id_number: never a real person's.
"""

from __future__ import annotations

import itertools
import random
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from faker import Faker

from desktop.domain.id_number import generate_id_number
from desktop.store import Store, open_store
from desktop.sync.credentials import load_or_create_cache_key
from desktop.wire import Change

_seq = itertools.count(1)


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    with open_store(tmp_path / "store.sqlite") as opened:
        yield opened


@pytest.fixture
def sealed_store(tmp_path: Path) -> Iterator[Store]:
    """The store as the counter opens it: SQLCipher, under its key from the (in-memory)
    keyring."""
    path = tmp_path / "sealed.sqlite"
    with open_store(path, key=load_or_create_cache_key(path)) as opened:
        yield opened


@pytest.fixture
def rnd() -> random.Random:
    return random.Random(20261124)


@pytest.fixture
def fake() -> Faker:
    faker = Faker("zh_CN")
    faker.seed_instance(20261124)
    return faker


def person_data(rnd: random.Random, person_id: str, name: str, **extra: Any) -> dict[str, Any]:
    sex = extra.pop("sex", rnd.choice("MF"))
    birth = extra.pop("birth_date", date(1950 + rnd.randrange(60), 1 + rnd.randrange(12),
                                         1 + rnd.randrange(28)))
    data: dict[str, Any] = {
        "id": person_id,
        "id_number": generate_id_number(rnd, "310105", birth, sex),
        "name": name,
        "sex": sex,
        "birth_date": birth.isoformat(),
        "phone": f"139{rnd.randrange(10**8):08d}",
        "street_code": "310105001",
        "committee": "新华居委",
    }
    data.update(extra)
    return data


def fee_row_data(row_id: str, person_id: str, day: str, self_pay: str, **extra: Any
                 ) -> dict[str, Any]:
    data: dict[str, Any] = {
        "id": row_id, "person_id": person_id, "receipt_no": f"R{row_id}", "date": day,
        "kind": "outpatient", "hospital_level": 2, "total": self_pay, "out_of_scope": "0.00",
        "self_pay": self_pay,
    }
    data.update(extra)
    return data


def upsert(entity: str, key: str, data: dict[str, Any], seq: int | None = None) -> Change:
    return Change(seq=next(_seq) if seq is None else seq, entity=entity,  # type: ignore[arg-type]
                  key=key, op="upsert", data=data)


def delete(entity: str, key: str, seq: int | None = None) -> Change:
    return Change(seq=next(_seq) if seq is None else seq, entity=entity,  # type: ignore[arg-type]
                  key=key, op="delete", data=None)
