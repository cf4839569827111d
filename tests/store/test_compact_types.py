"""The compact stored forms of fee rows and claims (desktop.store.types, migration 0015): every
value comes back as it went in, order is kept where the cache sorts, and a value without a
compact form is refused with the value named, before anything is written."""

from __future__ import annotations

import random
import tempfile
import uuid
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import select, text
from sqlalchemy.dialects import sqlite

from desktop.store import Store, open_store
from desktop.store.changes import UnstorableValue, apply_changes
from desktop.store.models import FEE_FLAGS, FEE_KINDS, ClaimRecord, FeeRowRecord
from desktop.store.types import (
    Choice,
    Code,
    DayNumber,
    Fen,
    UtcMicros,
    UuidBytes,
    amount_of,
    code_of,
    code_text,
    fen_of,
)
from tests.store.conftest import fee_row_data, person_data, upsert

DIALECT = sqlite.dialect()
WHOLE_FEN = st.decimals(min_value=Decimal("-99999999999.99"), max_value=Decimal("99999999999.99"),
                        places=2, allow_nan=False, allow_infinity=False)


def stored(kind: object, value: object) -> object:
    return kind.process_bind_param(value, DIALECT)  # type: ignore[attr-defined]


def read(kind: object, value: object) -> object:
    return kind.process_result_value(value, DIALECT)  # type: ignore[attr-defined]


@given(WHOLE_FEN)
def test_an_amount_comes_back_exactly_with_two_decimals(amount: Decimal) -> None:
    # POLICY.md §2 (money): exact Decimal yuan, never a float
    back = read(Fen(), stored(Fen(), amount))
    assert back == amount and isinstance(back, Decimal)
    assert back.as_tuple().exponent == -2
    assert fen_of(f"{amount:f}") == fen_of(amount) == stored(Fen(), amount)


@given(st.decimals(min_value=-(10**20), max_value=10**20, allow_nan=False,
                   allow_infinity=False))
def test_any_amount_is_kept_exactly_or_refused(amount: Decimal) -> None:
    numerator, denominator = amount.as_integer_ratio()  # exact, whatever its digits
    whole = numerator * 100 % denominator == 0
    try:
        fen = fen_of(amount)
    except ValueError:
        assert not whole or abs(numerator * 100 // denominator) >= 2**63
    else:
        assert numerator * 100 == fen * denominator


@pytest.mark.parametrize(("given_", "fen"), [
    ("268.25", 26825), ("0.00", 0), ("12.5", 1250), ("12", 1200), ("-3.10", -310),
    ("0.05", 5), ("1E+2", 10000), ("99999999999999.99", 9999999999999999),
    (Decimal("7.1"), 710), ("００.５０", 50),  # Decimal reads full-width digits too
    ("92233720368547758.07", 2**63 - 1), ("0E-10", 0), ("5E-2", 5), ("-0.00", 0)])
def test_amounts_in_any_exact_form_are_stored_as_whole_fen(given_: str | Decimal, fen: int
                                                           ) -> None:
    assert fen_of(given_) == fen
    assert amount_of(fen) == Decimal(given_ if isinstance(given_, Decimal) else
                                     given_.translate(str.maketrans("０５", "05")))


@pytest.mark.parametrize(("value", "says"), [
    ("1.005", "not a whole number of fen"), ("0.001", "not a whole number of fen"),
    ("abc", "not an amount"), ("NaN", "not an amount"), ("Infinity", "not an amount"),
    ("1e30", "too large"), (Decimal("1.239"), "not a whole number of fen"),
    # beyond Decimal's 28 digits: refused, not rounded to 1.00, 0.00 or an Overflow
    ("1.0000000000000000000000000001", "not a whole number of fen"),
    ("1E-999999999", "not a whole number of fen"), ("1E+999999", "too large"),
    ("92233720368547758.08", "too large"), ("-92233720368547758.08", "too large")])
def test_an_amount_without_whole_fen_is_refused_with_the_value_named(value: object, says: str
                                                                     ) -> None:
    with pytest.raises(ValueError, match=says) as refused:
        fen_of(value)  # type: ignore[arg-type]
    assert repr(value) in str(refused.value)


@pytest.mark.parametrize("value", [1.5, True, 3])
def test_an_amount_that_is_not_a_decimal_or_text_is_refused(value: object) -> None:
    with pytest.raises(TypeError, match="Decimal or a string"):
        fen_of(value)  # type: ignore[arg-type]


@given(st.dates(), st.dates())
def test_dates_keep_their_order_and_come_back(a: date, b: date) -> None:
    assert read(DayNumber(), stored(DayNumber(), a)) == a
    assert (a < b) == (stored(DayNumber(), a) < stored(DayNumber(), b))  # type: ignore[operator]


def test_a_datetime_is_not_a_date() -> None:
    with pytest.raises(TypeError, match="a date is needed"):
        stored(DayNumber(), datetime(2026, 1, 1, tzinfo=UTC))


@given(st.datetimes(min_value=datetime(1, 1, 2), max_value=datetime(9999, 12, 30),
                    timezones=st.sampled_from([UTC, timezone(timedelta(hours=8)),
                                               timezone(timedelta(hours=-5, minutes=-30))])))
def test_an_instant_comes_back_as_the_same_instant_in_utc(instant: datetime) -> None:
    back = read(UtcMicros(), stored(UtcMicros(), instant))
    assert back == instant and back.utcoffset() == timedelta(0)  # type: ignore[union-attr]


def test_a_naive_instant_is_refused() -> None:
    with pytest.raises(ValueError, match="naive"):
        stored(UtcMicros(), datetime(2026, 1, 1))


@pytest.mark.parametrize("instant", [
    datetime(1, 1, 1, 0, 30, tzinfo=timezone(timedelta(hours=1))),
    datetime(9999, 12, 31, 23, 30, tzinfo=timezone(timedelta(hours=-1)))])
def test_an_instant_outside_utcs_years_1_to_9999_is_refused(instant: datetime) -> None:
    with pytest.raises(ValueError, match="outside the years 1 to 9999 in UTC"):
        stored(UtcMicros(), instant)
    for edge in (datetime.min.replace(tzinfo=UTC), datetime.max.replace(tzinfo=UTC)):
        assert read(UtcMicros(), stored(UtcMicros(), edge)) == edge


@given(st.uuids())
def test_a_uuid_is_its_16_bytes(value: uuid.UUID) -> None:
    assert stored(UuidBytes(), value) == value.bytes
    assert read(UuidBytes(), value.bytes) == value


CODE_LIKE = st.one_of(
    st.text(), st.text("0123456789", max_size=20),
    st.builds(lambda letter, digits: letter + digits, st.sampled_from("AFHPZaé"),
              st.text("0123456789٣", max_size=13)),
    st.uuids().map(str), st.uuids().map(lambda u: str(u).upper()), st.uuids().map(
        lambda u: u.hex))


@given(CODE_LIKE, CODE_LIKE)
def test_a_code_comes_back_and_distinct_codes_stay_distinct(a: str, b: str) -> None:
    assert code_text(code_of(a)) == a and read(Code(), stored(Code(), a)) == a
    assert (code_of(a) == code_of(b)) == (a == b)
    if type(code_of(a)) is int and type(code_of(b)) is int and len(a) == len(b) and (
            a[:1].isdigit() == b[:1].isdigit()):  # one form and length: the texts' order
        assert (a < b) == (code_of(a) < code_of(b))  # type: ignore[operator]


@pytest.mark.parametrize(("code", "form"), [
    ("0053622487", 10053622487), ("31062641", 131062641), ("0", 10),
    ("F000000001", 6 * 10**12 + 1000000001 - 27 * 10**12),
    ("f38b2ffc-80a4-4f5a-91c9-bc701e7ea419",
     uuid.UUID("f38b2ffc-80a4-4f5a-91c9-bc701e7ea419").bytes),
    ("F38B2FFC-80A4-4F5A-91C9-BC701E7EA419", "F38B2FFC-80A4-4F5A-91C9-BC701E7EA419"),
    ("1234567890123456789", "1234567890123456789"), ("F123456789012", "F123456789012"),
    ("", ""), ("H-1", "H-1"), ("٣", "٣")])
def test_codes_take_a_compact_form_where_they_have_one(code: str, form: object) -> None:
    assert code_of(code) == form


def test_a_code_that_is_not_text_is_refused() -> None:
    with pytest.raises(TypeError, match="a code is text, not int"):
        Code().bind_processor(DIALECT)(12)


def test_a_word_of_a_closed_set_is_its_position_and_others_are_refused() -> None:
    kind = Choice(FEE_KINDS)
    assert [stored(kind, word) for word in FEE_KINDS] == [0, 1, 2]
    assert [read(kind, n) for n in (0, 1, 2)] == list(FEE_KINDS)
    with pytest.raises(ValueError, match="'dental' is not one of outpatient"):
        stored(kind, "dental")
    with pytest.raises(ValueError, match="7 stands for none of"):
        read(kind, 7)
    assert stored(kind, None) is None and read(kind, None) is None


def test_fee_rows_and_claims_are_stored_compactly_and_read_back(store: Store) -> None:
    rnd = random.Random(15)
    application = uuid.UUID(int=15)
    with store.session() as session:
        apply_changes(session, [
            upsert("person", "P1", person_data(rnd, "P1", "王芳")),
            upsert("fee_row", "F1", {**fee_row_data("F1", "P1", "2026-06-01", "268.25"),
                                     "kind": "inpatient", "out_of_scope": "0.5"}),
            upsert("claim", "F1", {"fee_row_id": "F1", "application_id": str(application),
                                   "street_code": "310105001", "device_id": "D1",
                                   "claimed_at": "2026-06-02T10:00:00.123456+08:00",
                                   "status": "paid", "program": None})])
    with store.read_session() as session:
        raw = session.execute(text(
            "SELECT total, out_of_scope, date, kind, id, receipt_no FROM fee_row")).one()
        assert tuple(raw) == (26825, 50, (date(2026, 6, 1) - date(1970, 1, 1)).days, 1,
                              code_of("F1"), "RF1")
        claim = session.execute(text(
            "SELECT application_id, claimed_at, status, program, street_code FROM claim")).one()
        assert tuple(claim) == (application.bytes, int(datetime(
            2026, 6, 2, 2, 0, 0, 123456, tzinfo=UTC).timestamp() * 10**6), 1, None, 1310105001)
        row = session.scalars(select(FeeRowRecord)).one()
        assert (row.total, row.out_of_scope, row.date, row.kind) == (
            Decimal("268.25"), Decimal("0.50"), date(2026, 6, 1), "inpatient")
        assert (row.claimed_by_application, row.claim_status, row.claimed_at,
                row.claimed_program) == (application, "paid", datetime(
                    2026, 6, 2, 2, 0, 0, 123456, tzinfo=UTC), None)
        # queries bind through the same forms
        assert session.scalars(select(FeeRowRecord.id).where(
            FeeRowRecord.date >= date(2026, 6, 1), FeeRowRecord.kind == "inpatient",
            FeeRowRecord.total == Decimal("268.25"))).all() == ["F1"]
        assert session.scalars(select(ClaimRecord.fee_row_id).where(
            ClaimRecord.application_id == application, ClaimRecord.status == "paid")).all() == [
                "F1"]
        assert session.scalars(select(FeeRowRecord.id).where(
            FeeRowRecord.receipt_no == "RF1", FeeRowRecord.id.in_(["F1", "F2"]))).all() == ["F1"]
        (schema,) = session.execute(text(
            "SELECT sql FROM sqlite_master WHERE name = 'claim'")).one()
        assert schema.rstrip().endswith("WITHOUT ROWID")


@pytest.mark.parametrize("bulk", [True, False])
def test_a_fee_row_with_part_of_a_fen_is_refused_and_nothing_is_written(
        store: Store, bulk: bool) -> None:
    rnd = random.Random(16)
    page = [upsert("person", "P1", person_data(rnd, "P1", "王芳")),
            upsert("fee_row", "F1", fee_row_data("F1", "P1", "2026-06-01", "100.005",
                                                  total="200.00"))]
    with pytest.raises(UnstorableValue, match=(
            r"change \d+: fee_row.self_pay: not a whole number of fen: '100.005'")), \
            store.session() as session:
        apply_changes(session, page, bulk=bulk)
    with store.read_session() as session:
        assert session.execute(text("SELECT count(*) FROM person")).scalar() == 0
        assert session.execute(text("SELECT count(*) FROM fee_row")).scalar() == 0


def test_a_fee_row_waiting_for_its_person_is_checked_before_it_waits(store: Store) -> None:
    """Parked, it would fail the page of its person later: it fails its own page now."""
    page = [upsert("fee_row", "F1", fee_row_data("F1", "P9", "2026-06-01", "1.001",
                                                 total="2.00"))]
    with pytest.raises(UnstorableValue, match=r"fee_row\.self_pay"), store.session() as session:
        apply_changes(session, page, bulk=False)
    with store.read_session() as session:
        assert session.execute(text("SELECT count(*) FROM sync_parked")).scalar() == 0


def test_a_naive_claim_instant_is_refused_with_its_field(store: Store) -> None:
    page = [upsert("claim", "F1", {"fee_row_id": "F1", "application_id": str(uuid.UUID(int=1)),
                                   "street_code": "S", "device_id": "D",
                                   "claimed_at": "2026-06-02T10:00:00", "status": "paid"})]
    for bulk in (True, False):
        with pytest.raises(UnstorableValue, match=r"claim\.claimed_at: a naive datetime"), \
                store.session() as session:
            apply_changes(session, page, bulk=bulk)


def test_a_fee_rows_yes_or_no_facts_are_bits_of_one_column() -> None:
    row = FeeRowRecord()
    assert row.flags is None and row.in_shanghai and not row.already_claimed  # the defaults
    row.already_claimed = True
    row.in_shanghai = False
    assert row.flags == 1 << FEE_FLAGS.index("already_claimed")
    assert [getattr(row, flag) for flag in FEE_FLAGS] == [
        flag == "already_claimed" for flag in FEE_FLAGS]
    row.already_claimed = False
    assert row.flags == 0
    with pytest.raises(TypeError, match="a yes or no is needed, not int"):
        row.major_illness = 1  # type: ignore[assignment]
    assert FeeRowRecord(major_illness=True).flags == 1 | 1 << FEE_FLAGS.index("major_illness")


@settings(max_examples=40, deadline=None)
@given(st.lists(st.booleans(), min_size=len(FEE_FLAGS), max_size=len(FEE_FLAGS)),
       st.booleans())
def test_every_combination_of_facts_is_kept_both_ways(values: list[bool], bulk: bool) -> None:
    with tempfile.TemporaryDirectory() as folder, open_store(Path(folder) / "s.sqlite") as store:
        with store.session() as session:
            apply_changes(session, [
                upsert("person", "P1", person_data(random.Random(1), "P1", "王芳")),
                upsert("fee_row", "F1", fee_row_data("F1", "P1", "2026-06-01", "1.00",
                                                     **dict(zip(FEE_FLAGS, values, strict=True))))],
                bulk=bulk)
        with store.read_session() as session:
            row = session.get(FeeRowRecord, "F1")
            assert row is not None
            assert [getattr(row, flag) for flag in FEE_FLAGS] == values
