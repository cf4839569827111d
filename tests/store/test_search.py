"""Person search: by ID number, name, pinyin, initials and phone, ranked, masked, indexed."""

from __future__ import annotations

import random
from datetime import date
from typing import Any

import pytest
from faker import Faker

from desktop.domain.id_number import generate_id_number, mask_id_number
from desktop.store import MatchKind, PersonHit, Store, apply_changes, search_persons
from tests.store.conftest import person_data, upsert

# name, phone for the persons the tests look for; the rest of the street comes from Faker
KNOWN = {
    "ZS": ("张三", "13912345678"),
    "ZS2": ("张三", "13800001111"),  # same name: ordered by id
    "ZSF": ("张三丰", None),
    "ZHS": ("章三", "13700002222"),  # same pinyin as 张三
    "ZSH": ("张珊", None),  # same initials as 张三
    "LZS": ("李张三", None),  # contains 张三
    "ZGF": ("曾国藩", None),  # surname read zeng, not ceng
    "SM": ("桑明", None),  # pinyin "sangming"
    "SA": ("宋安", None),  # initials "sa"
    "ABD": ("阿不都·热合曼", None),  # a long name
}


@pytest.fixture
def people(store: Store, rnd: random.Random, fake: Faker) -> dict[str, dict[str, Any]]:
    known = {key: person_data(rnd, key, name, phone=phone) for key, (name, phone) in
             KNOWN.items()}
    # an ID number ending in X, for the suffix search
    while not known["ZS2"]["id_number"].endswith("X"):
        known["ZS2"]["id_number"] = generate_id_number(rnd, "310105", date(1961, 5, 6), "M")
    changes = [upsert("person", key, data) for key, data in known.items()]
    taken = {name for name, _ in KNOWN.values()}
    for i in range(300):
        name = fake.name()
        if any(t in name for t in taken) or name.startswith(("张", "章", "桑", "宋")):
            continue
        changes.append(upsert("person", f"F{i:03d}", person_data(rnd, f"F{i:03d}", name)))
    with store.session() as session:
        apply_changes(session, changes)
    return known


def search(store: Store, query: str, limit: int = 20) -> list[PersonHit]:
    with store.read_session() as session:
        return search_persons(session, query, limit)


def ids(hits: list[PersonHit]) -> list[str]:
    return [h.person_id for h in hits]


def test_by_name(store: Store, people: dict[str, dict[str, Any]]) -> None:
    hits = search(store, "张三")
    assert ids(hits) == ["ZS", "ZS2", "ZSF", "LZS"]
    assert [h.match_kind for h in hits] == [MatchKind.NAME_EXACT, MatchKind.NAME_EXACT,
                                            MatchKind.NAME_PREFIX, MatchKind.NAME_CONTAINS]
    surname = search(store, "张")
    assert ids(surname) == ["ZS", "ZS2", "ZSF", "ZSH", "LZS"]  # 张三 < 张三丰 < 张珊, then 李张三
    assert [h.match_kind for h in surname] == [MatchKind.NAME_PREFIX] * 4 + [
        MatchKind.NAME_CONTAINS]


def test_by_pinyin_and_initials(store: Store, people: dict[str, dict[str, Any]]) -> None:
    hits = search(store, "zhangsan")
    assert ids(hits) == ["ZS", "ZS2", "ZHS", "ZSF"]  # zhangsan (张 < 章), then zhangsanfeng
    assert {h.match_kind for h in hits} == {MatchKind.PINYIN_PREFIX}
    initials = search(store, "zs")
    assert ids(initials)[:4] == ["ZS", "ZS2", "ZSH", "ZHS"]  # zs: 张三 < 张珊 < 章三
    assert ids(initials)[4] == "ZSF"  # then zsf
    assert {h.match_kind for h in initials} == {MatchKind.INITIALS_PREFIX}
    assert ids(search(store, "zengguofan")) == ["ZGF"]
    assert "ZGF" in ids(search(store, "zgf"))
    assert ids(search(store, "Zhang San")) == ids(hits)  # spaces and case do not matter
    assert ids(search(store, "ｚｈａｎｇｓａｎ")) == ids(hits)  # nor full-width letters
    assert ids(search(store, "张s")) == ["ZS", "ZS2", "ZHS", "ZSF", "ZSH"]  # as "zhangs"


def test_pinyin_ranks_above_initials(store: Store, people: dict[str, dict[str, Any]]) -> None:
    hits = search(store, "sa")
    kinds = {h.person_id: h.match_kind for h in hits}
    assert kinds["SM"] is MatchKind.PINYIN_PREFIX and kinds["SA"] is MatchKind.INITIALS_PREFIX
    assert ids(hits).index("SM") < ids(hits).index("SA")
    assert [h.rank for h in hits] == sorted(h.rank for h in hits)


def test_by_id_number(store: Store, people: dict[str, dict[str, Any]]) -> None:
    number = people["ZS"]["id_number"]
    [hit] = search(store, number)
    assert (hit.person_id, hit.match_kind) == ("ZS", MatchKind.ID_EXACT)
    tail = search(store, number[-4:])
    assert tail[0].person_id == "ZS" or "ZS" in ids(tail)
    assert all(h.match_kind in (MatchKind.ID_SUFFIX, MatchKind.PHONE) for h in tail)
    assert search(store, number[-6:])[0].person_id == "ZS"
    x_number = people["ZS2"]["id_number"]
    assert search(store, x_number.lower())[0].person_id == "ZS2"
    assert search(store, x_number[-4:].lower())[0].match_kind is MatchKind.ID_SUFFIX
    assert "ZS2" in ids(search(store, x_number[-4:]))
    assert search(store, number[-3:]) == []  # too short to mean anyone


def test_by_phone(store: Store, people: dict[str, dict[str, Any]]) -> None:
    [hit] = search(store, "13912345678")
    assert (hit.person_id, hit.match_kind) == ("ZS", MatchKind.PHONE)
    assert ids(search(store, "139 1234 5678")) == ["ZS"]
    assert ids(search(store, "+86 139-1234-5678")) == ["ZS"]
    hits = search(store, "5678")
    assert "ZS" in ids(hits)
    assert {h.match_kind for h in hits if h.person_id == "ZS"} == {MatchKind.PHONE}


def test_an_id_tail_ranks_above_a_phone_tail(
        store: Store, people: dict[str, dict[str, Any]], rnd: random.Random) -> None:
    tail = people["ZSF"]["id_number"][-4:]
    with store.session() as session:
        apply_changes(session, [upsert("person", "PH", person_data(
            rnd, "PH", "王五", phone=f"1391234{tail}"))])
    hits = search(store, tail)
    assert ids(hits).index("ZSF") < ids(hits).index("PH")
    assert hits[ids(hits).index("PH")].match_kind is MatchKind.PHONE


def test_results_are_masked(store: Store, people: dict[str, dict[str, Any]]) -> None:
    [hit] = search(store, people["ZS"]["id_number"])
    number = people["ZS"]["id_number"]
    assert hit.masked_id_number == mask_id_number(number) == number[:4] + "*" * 10 + number[-4:]
    assert hit.phone_masked == "139****5678"
    assert (hit.name, hit.street_code, hit.committee) == ("张三", "310105001", "新华居委")
    assert number not in repr(hit) and "13912345678" not in repr(hit)


def test_long_names_are_found_inside(store: Store, people: dict[str, dict[str, Any]]) -> None:
    for part in ("热合曼", "不都", "合"):
        hits = search(store, part)
        assert "ABD" in ids(hits), part
    assert search(store, "阿不")[0].match_kind is MatchKind.NAME_PREFIX


def test_limit_order_and_nothing(store: Store, people: dict[str, dict[str, Any]]) -> None:
    assert len(search(store, "z", limit=3)) == 3
    assert search(store, "zhangsan") == search(store, "zhangsan")
    assert search(store, "   ") == []
    assert search(store, "zhangsan", limit=0) == []
    assert search(store, "不存在的人") == []


# -- numbers: a receipt or an application ---------------------------------------------------------

def test_a_receipt_or_an_application_number_finds_its_person(
        store: Store, people: dict[str, dict[str, Any]]) -> None:
    import uuid

    from desktop.store import NumberHit, search_numbers
    from desktop.store.models import ApplicationRecord
    from tests.store.conftest import fee_row_data

    rows = [fee_row_data("FZ1", "ZS", "2026-04-01", "100.00", receipt_no="0000012345"),
            fee_row_data("FL1", "LZS", "2026-04-02", "80.00", receipt_no="0000099999")]
    application_id = uuid.uuid4()
    with store.session() as session:
        apply_changes(session, [upsert("fee_row", r["id"], r) for r in rows])
        session.add(ApplicationRecord(id=application_id, program="assistance",
                                      district="changning", person_id="ZSF",
                                      number="华阳-2026-03-0042", status="saved",
                                      created_by="clerk1"))

    def find(query: str) -> list[NumberHit]:
        with store.read_session() as session:
            return search_numbers(session, query)

    assert find(" 0000012345 ") == [NumberHit("receipt", "ZS", fee_row_id="FZ1")]
    by_number = [NumberHit("application", "ZSF", application_id=application_id)]
    assert find("华阳-2026-03-0042") == by_number
    assert find(str(application_id)) == by_number
    assert find(str(application_id).upper()) == by_number
    assert find("00000123") == [] and find("华阳-2026") == [] and find("") == []  # exact only
    assert find(str(uuid.uuid4())) == []
