"""GET /changes: a counter sees its own street (and what every street sees), page by page,
with no gap and no duplicate."""

from __future__ import annotations

from collections import Counter as Tally

from desktop import wire
from tests.district.conftest import SeededDistrict
from tests.district.harness import CHANGNING_STREET, MINHANG_STREET


def test_a_counter_sees_only_its_street(district: SeededDistrict) -> None:
    changning = district.counter(CHANGNING_STREET)
    minhang = district.counter(MINHANG_STREET)
    for counter in (changning, minhang):
        snap = counter.snapshot
        street = counter.street_code
        assert snap.persons and snap.fee_rows and snap.spans and snap.claims
        assert all(p["street_code"] == street for p in snap.persons.values())
        assert all(r["person_id"] in snap.persons for r in snap.fee_rows.values())
        assert all(s["person_id"] in snap.persons for s in snap.spans.values())
        assert all(c["street_code"] == street for c in snap.claims.values())
        assert all(c["fee_row_id"] in snap.fee_rows for c in snap.claims.values())
        # Institutions (including those outside Shanghai) and parameters are everyone's.
        assert len(snap.institutions) >= 40
        assert any(not i["in_shanghai"] for i in snap.institutions.values())
        assert any(k.startswith("assistance:category.dibao") for k in snap.parameters)
        assert any(k.startswith("minhang:district_round") for k in snap.parameters)
    assert not set(changning.snapshot.persons) & set(minhang.snapshot.persons)
    seen = len(changning.snapshot.persons) + len(minhang.snapshot.persons)
    assert seen == district.report["counts"]["persons"]  # the seed has these two streets


def test_every_entity_is_a_valid_wire_record(district: SeededDistrict) -> None:
    counter = district.counter()
    models: dict[str, type[wire.Strict]] = {
        "person": wire.PersonData, "category_span": wire.CategorySpanData,
        "institution": wire.InstitutionData, "fee_row": wire.FeeRowData,
        "claim": wire.ClaimData, "parameter_version": wire.ParameterVersionData}
    page = counter.page(0, 5000)
    kinds = Tally(c.entity for c in page.items)
    assert set(kinds) == set(models)
    for change in page.items:
        assert change.op == "upsert" and change.data is not None
        models[change.entity].model_validate(change.data)


def test_pages_concatenate_to_one_big_page(district: SeededDistrict) -> None:
    counter = district.counter(pull=False)
    whole = counter.page(0, 5000, count=True)
    assert not whole.more and whole.total == len(whole.items)
    seqs = [c.seq for c in whole.items]
    assert seqs == sorted(set(seqs))  # increasing, no duplicate
    for size in (1, 7, 250):
        cursor, pages = 0, 0
        items: list[wire.Change] = []
        while True:
            page = counter.page(cursor, size, count=True)
            assert len(page.items) <= size
            assert page.total == len(whole.items) - len(items)
            assert page.more == (page.total > len(page.items))
            assert counter.page(cursor, size).total is None  # counted only when asked
            items += page.items
            pages += 1
            if not page.items:
                assert page.next_cursor == cursor
                break
            assert page.next_cursor == page.items[-1].seq
            cursor = page.next_cursor
            if size == 1 and pages > 40:
                # one-row pages over the whole feed take long; check the start, then jump
                rest = counter.page(cursor, 5000)
                items += rest.items
                assert not rest.more
                break
        assert [c.model_dump() for c in items] == [c.model_dump() for c in whole.items]
    end = counter.page(whole.next_cursor, 10, count=True)
    assert end.items == [] and end.next_cursor == whole.next_cursor
    assert end.total == 0 and not end.more



def test_the_headers_name_the_next_cursor_the_page_ends_at(district: SeededDistrict) -> None:
    """A counter asks for the next page as soon as it has a page's headers (desktop.sync.pull):
    they say what the page says, on every page, the last one included."""
    counter = district.counter(pull=False)
    cursor, pages = 0, 0
    while True:
        r = counter.get("/changes", cursor=cursor, limit=700)
        assert r.status_code == 200, r.text
        page = wire.ChangesPage.model_validate_json(r.content)
        assert r.headers[wire.NEXT_CURSOR_HEADER] == str(page.next_cursor)
        assert r.headers[wire.MORE_HEADER] == ("1" if page.more else "0")
        cursor, pages = page.next_cursor, pages + 1
        if not page.more:
            break
    assert pages > 1
    empty = counter.get("/changes", cursor=cursor, limit=700)
    assert empty.headers[wire.NEXT_CURSOR_HEADER] == str(cursor)
    assert empty.headers[wire.MORE_HEADER] == "0"
