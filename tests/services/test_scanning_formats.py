"""Scanned receipts in every RECEIPTS.md format, 5–7 included, against a real store: the same row
is found whatever the format, a difference is shown only for a field the receipt carries, and
the clerk is told which fields it did not carry instead of a false difference.

All data is synthetic: generated ID numbers, made-up codes and numbers, `.example` hosts.
"""

from __future__ import annotations

import itertools
import tempfile
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from desktop.services.scanning import (
    FIELD_LABELS,
    ScanOutcome,
    pending_scans,
    record_scan,
    rematch_pending,
    scan_owner,
)
from desktop.store import Store, apply_changes, open_store
from desktop.store.models import ScannedReceiptRecord
from tests.services.test_scanning import claim, fill, row
from tests.store.conftest import upsert

NOW = datetime(2026, 4, 10, 2, 0, tzinfo=UTC)
P1, P2 = "P1", "P2"
CODE, NUMBER, CHECK = "31060126", "0000012345", "a1b2c3"  # a fiscal e-receipt
DIGITAL = "26312000000012345678"  # a 数电票's number: no code
VAT_CODE, VAT_NO, VAT_CHECK = "031001600111", "12345678", "12345678901234567890"

ROWS = [
    row("G1", P1, NUMBER, issuer_code=CODE, check_code=CHECK, day="2026-03-15",
        total="236.21"),
    row("D1", P1, DIGITAL, day="2026-03-09", total="199.00"),
    row("V1", P1, VAT_NO, issuer_code=VAT_CODE, check_code=VAT_CHECK, day="2026-03-18",
        total="64.90"),
    row("G2", P2, "0000099999", issuer_code=CODE, check_code="ffffff"),
    row("D2", P2, "26312000000099999999", day="2026-03-09", total="10.00"),
    row("C1", P1, "26312000000055555555", day="2026-03-09", total="20.00"),  # claimed
    # one 数电票 number on two rows of P1 (an amount split over two days)
    row("S1", P1, "26312000000077777777", day="2026-03-01", total="30.00"),
    row("S2", P1, "26312000000077777777", day="2026-03-02", total="40.00"),
    # one 数电票 number on two rows of the same day
    row("T1", P1, "26312000000088888888", day="2026-03-03", total="30.00"),
    row("T2", P1, "26312000000088888888", day="2026-03-03", total="40.00"),
]


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    with open_store(tmp_path / "formats.sqlite") as opened:
        fill(opened, rows=ROWS, claims=(claim("C1"),))
        yield opened


def scan(store: Store, text: str, person_id: str | None = P1,
         now: datetime = NOW) -> ScanOutcome:
    return record_scan(store, raw_text=text, clerk="clerk1", person_id=person_id, now=now,
                       session_started=now)


def stored(store: Store, outcome: ScanOutcome) -> ScannedReceiptRecord:
    with store.read_session() as session:
        record = session.get(ScannedReceiptRecord, outcome.scan_id)
        assert record is not None
        return record


# -- one text per format, built from the fields it carries --------------------------------------

def fiscal_url(number: str, amount: str, day: str) -> str:
    return f"https://ebill.example/d?t=504&d={CODE}_{number}_{CHECK}_{amount}_{day}&s=0"


def fiscal_url_short(number: str, amount: str, day: str) -> str:
    return f"https://ebill.example/d?t=504&d={CODE}_{number}_{CHECK}_{day}&s=0"


def fiscal_query(number: str, amount: str, day: str) -> str:
    return (f"https://ebill.example/q?invoice_code={CODE}&invoice_number={number}"
            f"&check_code={CHECK}&amount={amount}&date={day}")


def fiscal_page(number: str, amount: str, day: str) -> str:
    return f"http://einvoice.example/page/{CODE}/{number}/{CHECK}"


def bare(number: str, amount: str, day: str) -> str:
    return number


def vat_digital(number: str, amount: str, day: str) -> str:
    return f"01,32,,{number},{amount},{day},,1C2D,"


def vat_six(number: str, amount: str, day: str) -> str:
    return f"01,32,,{number},{amount},{day}"


def vat_seven_digital(number: str, amount: str, day: str) -> str:
    return f"01,31,,{number},{amount},{day},{VAT_CHECK}"


def dppt_link(number: str, amount: str, day: str) -> str:
    return f"https://dppt.example:8443/v/2_{number}_{day}093000ABCDEF"


def vat_coded(number: str, amount: str, day: str) -> str:
    return f"01,10,{VAT_CODE},{number},{amount},{day},{VAT_CHECK},9F0C,"


def vat_seven(number: str, amount: str, day: str) -> str:
    return f"01,10,{VAT_CODE},{number},{amount},{day},{VAT_CHECK}"


Build = Callable[[str, str, str], str]
# (builder, the format it is parsed as, the matching fields it does not carry)
FISCAL_FORMS: list[tuple[Build, str, tuple[str, ...]]] = [
    (fiscal_url, "fiscal_url", ()),
    (fiscal_url_short, "fiscal_url", ("amount",)),
    (fiscal_query, "fiscal_query", ()),
    (fiscal_page, "fiscal_page", ("amount", "issue_date")),
    (bare, "bare_number", ("issuer_code", "check_code", "amount", "issue_date")),
]
DIGITAL_FORMS: list[tuple[Build, str, tuple[str, ...]]] = [
    (vat_digital, "vat", ("issuer_code", "check_code")),
    (vat_six, "vat_short", ("issuer_code", "check_code")),
    (vat_seven_digital, "vat_short", ("issuer_code",)),
    (dppt_link, "dppt_link", ("issuer_code", "check_code", "amount")),
    (bare, "bare_number", ("issuer_code", "check_code", "amount", "issue_date")),
]
CODED_VAT_FORMS: list[tuple[Build, str, tuple[str, ...]]] = [
    (vat_coded, "vat", ()),
    (vat_seven, "vat_short", ()),
]
# (row id, its number, its date, its amount) for each family of forms
CASES = ([("G1", NUMBER, date(2026, 3, 15), "236.21", form) for form in FISCAL_FORMS]
         + [("D1", DIGITAL, date(2026, 3, 9), "199.00", form) for form in DIGITAL_FORMS]
         + [("V1", VAT_NO, date(2026, 3, 18), "64.90", form) for form in CODED_VAT_FORMS])


def yyyymmdd(day: date) -> str:
    return day.strftime("%Y%m%d")


def labels(names: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(FIELD_LABELS[name] for name in names)


@pytest.mark.parametrize(("row_id", "number", "day", "total", "form"), CASES,
                         ids=[f"{case[0]}-{case[4][0].__name__}" for case in CASES])
def test_every_format_matches_its_row_and_says_what_it_did_not_carry(
        store: Store, row_id: str, number: str, day: date, total: str,
        form: tuple[Build, str, tuple[str, ...]]) -> None:
    build, fmt, missing = form
    text = build(number, total, yyyymmdd(day))
    outcome = scan(store, text)
    assert (outcome.status, outcome.fee_row_id, outcome.person_id) == ("matched", row_id, P1)
    assert outcome.differences == ()  # the same receipt: nothing differs, nothing is invented
    assert outcome.not_carried == labels(missing)
    if missing:
        assert f"票据未载明{'、'.join(labels(missing))}，这几项未核对。" in outcome.message
    else:
        assert "未载明" not in outcome.message
    assert "不一致" not in outcome.message
    record = stored(store, outcome)
    assert (record.raw_text, record.format, record.receipt_no, record.status,
            record.fee_row_id) == (text, fmt, number, "matched", row_id)
    assert outcome.receipt is not None
    assert record.amount == outcome.receipt.amount
    assert record.receipt_date == outcome.receipt.issue_date


@pytest.fixture(scope="module")
def shared_store() -> Iterator[Store]:
    with tempfile.TemporaryDirectory() as folder, \
            open_store(Path(folder) / "prop.sqlite") as opened:
        fill(opened, rows=ROWS, claims=(claim("C1"),))
        yield opened


_minutes = itertools.count(1)


@settings(max_examples=120, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(case=st.sampled_from(CASES),
       amount=st.none() | st.integers(1, 10**6).map(lambda fen: f"{Decimal(fen) / 100:.2f}"),
       day=st.one_of(st.none(), st.dates(date(2020, 1, 1), date(2030, 12, 31))))
def test_a_difference_is_shown_only_for_a_field_the_receipt_carries(
        shared_store: Store, case: tuple[Any, ...], amount: str | None,
        day: date | None) -> None:
    """The same rule for every format: compare what is carried, name what is not."""
    row_id, number, row_day, total, (build, _, missing) = case
    scanned_amount = total if amount is None else amount
    scanned_day = row_day if day is None else day
    now = NOW + timedelta(minutes=next(_minutes))  # a new counter session: never a repeat
    outcome = scan(shared_store, build(number, scanned_amount, yyyymmdd(scanned_day)), now=now)
    assert (outcome.status, outcome.fee_row_id) == ("matched", row_id)
    assert outcome.not_carried == labels(missing)
    expected = []
    if "amount" not in missing and Decimal(scanned_amount) != Decimal(total):
        expected.append("票面金额")
    if "issue_date" not in missing and scanned_day != row_day:
        expected.append("开票日期")
    assert [text.split(" ")[0] for text in outcome.differences] == expected
    for text in outcome.differences:
        assert text in outcome.message
    vat = build in (vat_digital, vat_six, vat_seven_digital, vat_coded, vat_seven)
    for text in outcome.differences:
        if text.startswith("票面金额"):  # a VAT QR's amount is before tax, whichever form
            assert ("（增值税发票二维码中的金额通常不含税）" in text) == vat


def test_a_short_vat_amount_difference_says_it_is_before_tax(store: Store) -> None:
    outcome = scan(store, vat_seven(VAT_NO, "57.43", "20260318"))
    assert (outcome.status, outcome.fee_row_id) == ("matched", "V1")
    assert outcome.differences == ("票面金额 57.43 元（增值税发票二维码中的金额通常不含税）"
                                   "与费用记录的 64.90 元不一致",)
    assert outcome.not_carried == ()


def test_a_delivery_link_shows_a_date_difference_but_no_amount_one(store: Store) -> None:
    outcome = scan(store, dppt_link(DIGITAL, "", "20260310"))
    assert (outcome.status, outcome.fee_row_id) == ("matched", "D1")
    assert outcome.differences == ("开票日期 2026-03-10 与费用日期 2026-03-09 不一致",)
    assert outcome.message == ("已匹配票据 26312000000012345678（2026-03-09，199.00 元）。"
                               "注意：开票日期 2026-03-10 与费用日期 2026-03-09 不一致。"
                               "票据未载明票据代码、校验码、金额，这几项未核对。")


# -- rows told apart, or not guessed --------------------------------------------------------------

def test_a_date_tells_apart_two_rows_of_one_number_and_no_date_does_not(store: Store) -> None:
    number = "26312000000077777777"
    assert (scan(store, dppt_link(number, "", "20260302")).fee_row_id) == "S2"
    assert scan(store, vat_six(number, "30.00", "20260301")).fee_row_id == "S1"
    for text in (number, f"01,32,,{number},99.00,20260305"):  # nothing carried agrees
        outcome = scan(store, text)
        assert (outcome.status, outcome.fee_row_id) == ("unmatched", None)
        assert "多条费用记录" in outcome.message


def test_a_format_without_an_amount_does_not_guess_between_same_day_rows(store: Store) -> None:
    number = "26312000000088888888"
    outcome = scan(store, dppt_link(number, "", "20260303"))
    assert (outcome.status, outcome.fee_row_id) == ("unmatched", None)
    assert stored(store, outcome).status == "pending"
    # a form that carries the amount tells them apart
    assert scan(store, vat_six(number, "40.00", "20260303")).fee_row_id == "T2"


def test_a_check_page_whose_check_code_contradicts_the_row_is_another_receipt(
        store: Store) -> None:
    outcome = scan(store, f"http://einvoice.example/page/{CODE}/{NUMBER}/zzzzzz")
    assert (outcome.status, outcome.fee_row_id) == ("unmatched", None)
    other_issuer = scan(store, f"http://einvoice.example/page/31060127/{NUMBER}/{CHECK}")
    assert (other_issuer.status, other_issuer.fee_row_id) == ("unmatched", None)


# -- refusals, other persons, nobody open, re-matching --------------------------------------------

def test_new_formats_are_refused_claimed_and_routed_like_the_others(store: Store) -> None:
    claimed = scan(store, dppt_link("26312000000055555555", "", "20260309"))
    assert (claimed.status, claimed.fee_row_id) == ("already_claimed", "C1")
    assert claimed.claim is not None and claimed.claim.street_code == "310105002"
    assert "不能重复申请" in claimed.message
    theirs = scan(store, "http://einvoice.example/page/31060126/0000099999/ffffff")
    assert (theirs.status, theirs.fee_row_id, theirs.person_id) == ("other_person", "G2", P2)
    assert scan_owner(store, vat_six("26312000000099999999", "10.00", "20260309")) == P2
    assert scan_owner(store, dppt_link(DIGITAL, "", "20260309")) == P1
    nobody = scan(store, fiscal_page(NUMBER, "", ""), person_id=None)
    assert (nobody.status, nobody.person_id) == ("no_person", P1)
    first = scan(store, vat_seven(VAT_NO, "64.90", "20260318"))
    again = record_scan(store, raw_text=vat_coded(VAT_NO, "64.90", "20260318"),
                        clerk="clerk1", person_id=P1, now=NOW + timedelta(minutes=1),
                        session_started=NOW)  # the same session, another format: one receipt
    assert (first.status, again.status, again.fee_row_id) == ("matched", "repeat", "V1")


def test_a_new_format_scanned_before_its_row_arrives_is_rematched(store: Store) -> None:
    number = "26312000000066666666"
    waiting = scan(store, dppt_link(number, "", "20260401"))
    page = scan(store, "http://einvoice.example/page/31060126/0000077777/abc123")
    assert (waiting.status, page.status) == ("unmatched", "unmatched")
    assert {p.receipt_no for p in pending_scans(store, person_id=P1)} == {number, "0000077777"}
    with store.session() as session:
        apply_changes(session, [
            upsert("fee_row", "N1", row("N1", P1, number, day="2026-04-01", total="8.00")),
            upsert("fee_row", "N2", row("N2", P1, "0000077777", issuer_code=CODE,
                                        check_code="abc123")),
        ])
    assert rematch_pending(store, clerk="clerk1") == 2
    assert (stored(store, waiting).fee_row_id, stored(store, page).fee_row_id) == ("N1", "N2")
    assert pending_scans(store, person_id=P1) == []


@pytest.mark.parametrize(("text", "reason"), [
    ("https://einvoice.example/d/473011a4b5c6d7e8", "短链接"),
    ("http://einvoice.example/page/31060126/0000012345/a1b2c3/", "实际为4段"),
    (f"https://dppt.evil.com:8443/v/2_{DIGITAL}_20260309093000ABCDEF", "主机"),
    (f"01,32,,{DIGITAL},199.00,20260309,", "校验码"),
    (f"01,10,{VAT_CODE},{VAT_NO},64.90,20260318", "只用于数电票"),
])
def test_near_misses_of_the_new_formats_are_kept_pending_unrecognised(
        store: Store, text: str, reason: str) -> None:
    outcome = scan(store, text)
    assert (outcome.status, outcome.fee_row_id, outcome.receipt) == ("unrecognised", None, None)
    assert reason in outcome.message and outcome.not_carried == ()
    record = stored(store, outcome)
    assert (record.raw_text, record.status, record.format) == (text, "pending", None)
    [pending] = pending_scans(store, person_id=P1)
    assert (pending.kind, pending.raw_text) == ("unrecognised", text)
