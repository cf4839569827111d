"""Scanned receipts: every raw scan kept, each outcome, claims refused with who and when,
the pending list, dismissing with a reason, and re-matching after a sync.

All data is synthetic: generated ID numbers, made-up receipt codes on ebill.example.
"""

from __future__ import annotations

import random
import tempfile
import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from desktop.domain.id_number import mask_id_number
from desktop.services.applications import save_application
from desktop.services.scanning import (
    PendingScan,
    UnknownScan,
    dismiss_scan,
    pending_scans,
    record_scan,
    rematch_pending,
)
from desktop.store import Store, apply_changes, open_store
from desktop.store.models import (
    ApplicationRecord,
    AuditEventRecord,
    OutboxRecord,
    PersonRecord,
    ScannedReceiptRecord,
)
from tests.store.conftest import fee_row_data, person_data, upsert

NOW = datetime(2026, 4, 10, 2, 0, tzinfo=UTC)  # 10:00 in Shanghai
TODAY = date(2026, 4, 10)
P1, P2 = "P1", "P2"
CODE = "31060126"
BASE = "https://ebill.example/eips-wxapp-service/d"
CLAIM_APP = uuid.UUID("3f2a1b2c-0000-4000-8000-000000000001")
VAT_CODE, VAT_NO, VAT_CHECK = "031001900211", "12345678", "12345678901234567890"


def fiscal(number: str, check: str = "a1b2c3", amount: str | None = "236.21",
           day: str = "20260315", code: str = CODE) -> str:
    fields = [code, number, check] + ([amount] if amount is not None else []) + [day]
    return f"{BASE}?t=504&a=X&d={'_'.join(fields)}&s=0"


def row(row_id: str, person_id: str, receipt_no: str, *, day: str = "2026-03-15",
        total: str = "236.21", **extra: Any) -> dict[str, Any]:
    return fee_row_data(row_id, person_id, day, total, receipt_no=receipt_no, **extra)


def claim(fee_row_id: str, status: str = "claimed") -> dict[str, Any]:
    return {"fee_row_id": fee_row_id, "application_id": str(CLAIM_APP),
            "street_code": "310105002", "device_id": "D9",
            "claimed_at": "2026-03-02T02:00:00+00:00", "status": status,
            "program": "assistance"}


ROWS = [
    row("F1", P1, "0000012345", issuer_code=CODE, check_code="a1b2c3"),
    row("F2", P1, "0000020001", day="2026-03-20", total="50.00"),  # no issuer, no check
    row("F3", P2, "0000099999", issuer_code=CODE, check_code="ffffff"),
    row("F4", P1, "0000030001", issuer_code=CODE, check_code="c0ffee"),  # claimed elsewhere
    row("F5", P1, "0000040001", issuer_code=CODE, check_code="beef01", day="2026-03-16",
        total="300.00"),
    row("F6", P1, VAT_NO, issuer_code=VAT_CODE, check_code=VAT_CHECK, day="2026-03-15",
        total="87.38"),
    row("F7", P1, "0000050001", issuer_code=CODE, already_claimed=True),
]


def fill(store: Store, rows: list[dict[str, Any]] = ROWS,
         claims: tuple[dict[str, Any], ...] = (claim("F4"),)) -> None:
    rnd = random.Random(11)
    changes = [upsert("person", P1, person_data(rnd, P1, "张三")),
               upsert("person", P2, person_data(rnd, P2, "李四")),
               upsert("category_span", "S1", {"id": "S1", "person_id": P1, "code": "dibao",
                                              "start": "2024-03-01", "end": None,
                                              "source": "民政"})]
    changes += [upsert("fee_row", r["id"], r) for r in rows]
    changes += [upsert("claim", c["fee_row_id"], c) for c in claims]
    with store.session() as session:
        apply_changes(session, changes)


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    with open_store(tmp_path / "scan.sqlite") as opened:
        fill(opened)
        yield opened


def scan(store: Store, text: str, person_id: str | None = P1, **kw: Any) -> Any:
    return record_scan(store, raw_text=text, clerk="clerk1", person_id=person_id,
                       now=kw.pop("now", NOW), **kw)


def stored(store: Store, scan_id: uuid.UUID) -> ScannedReceiptRecord:
    with store.read_session() as session:
        record = session.get(ScannedReceiptRecord, scan_id)
        assert record is not None
        return record


def audit_of(store: Store, scan_id: uuid.UUID) -> list[AuditEventRecord]:
    with store.read_session() as session:
        return list(session.scalars(select(AuditEventRecord)
                                    .where(AuditEventRecord.subject == f"scan:{scan_id}")
                                    .order_by(AuditEventRecord.id)))


def id_number_of(store: Store, person_id: str) -> str:
    with store.read_session() as session:
        person = session.get(PersonRecord, person_id)
        assert person is not None
        return person.id_number


# -- matched -------------------------------------------------------------------------------------

def test_a_fiscal_receipt_of_the_open_person_is_matched_and_kept(store: Store) -> None:
    text = fiscal("0000012345")
    outcome = scan(store, text)
    assert (outcome.status, outcome.fee_row_id, outcome.person_id) == ("matched", "F1", P1)
    assert "已匹配票据 0000012345" in outcome.message and outcome.differences == ()
    assert outcome.claim is None and outcome.receipt is not None
    record = stored(store, outcome.scan_id)
    assert (record.raw_text, record.status, record.fee_row_id) == (text, "matched", "F1")
    assert (record.format, record.issuer_code, record.receipt_no, record.check_code) == \
        ("fiscal_url", CODE, "0000012345", "a1b2c3")
    assert record.amount == Decimal("236.21") and isinstance(record.amount, Decimal)
    assert (record.receipt_date, record.clerk, record.person_id) == (date(2026, 3, 15),
                                                                     "clerk1", P1)
    assert record.scanned_at == NOW
    [event] = audit_of(store, outcome.scan_id)
    assert (event.action, event.actor, event.at) == ("receipt.scanned", "clerk1", NOW)
    assert event.detail["outcome"] == "matched" and event.detail["fee_row_id"] == "F1"
    with store.read_session() as session:  # local only: nothing queued for the district
        assert session.scalar(select(func.count()).select_from(OutboxRecord)) == 0


@pytest.mark.parametrize(("text", "row_id"), [
    (fiscal("0000012345", amount=None), "F1"),  # the short d= variant
    (fiscal("0000012345", check="A1B2C3"), "F1"),  # check codes compare without case
    (f"https://ebill.example/q?invoice_code={CODE}&invoice_number=0000012345"
     "&check_code=a1b2c3", "F1"),
    (f"01,10,{VAT_CODE},{VAT_NO},87.38,20260315,{VAT_CHECK},9F0C,", "F6"),
    ("0000020001", "F2"),  # a bare number from a 1-D barcode
    ("]Q1\\000026" + fiscal("0000012345") + "\r\n", "F1"),  # scanner prefixes and Enter
    (fiscal("0000020001", check="abcdef", amount="50.00", day="20260320"), "F2"),  # row has
    # no issuer or check code: matched by number alone
])
def test_each_receipt_format_matches_its_row(store: Store, text: str, row_id: str) -> None:
    outcome = scan(store, text)
    assert (outcome.status, outcome.fee_row_id) == ("matched", row_id)
    assert stored(store, outcome.scan_id).raw_text == text


def test_amount_and_date_differences_are_shown_but_still_match(store: Store) -> None:
    outcome = scan(store, fiscal("0000012345", amount="240.00", day="20260316"))
    assert (outcome.status, outcome.fee_row_id) == ("matched", "F1")
    assert len(outcome.differences) == 2
    assert "票面金额 240.00 元与费用记录的 236.21 元不一致" in outcome.message
    assert "开票日期 2026-03-16 与费用日期 2026-03-15 不一致" in outcome.message


def test_a_vat_amount_difference_says_the_qr_amount_is_before_tax(store: Store) -> None:
    outcome = scan(store, f"01,10,{VAT_CODE},{VAT_NO},77.33,20260315,{VAT_CHECK},9F0C,")
    assert (outcome.status, outcome.fee_row_id) == ("matched", "F6")
    assert outcome.differences == ("票面金额 77.33 元（增值税发票二维码中的金额通常不含税）"
                                   "与费用记录的 87.38 元不一致",)


def test_an_equal_amount_written_differently_is_no_difference(store: Store) -> None:
    outcome = scan(store, fiscal("0000020001", amount="50", day="20260320"))  # row: 50.00
    assert (outcome.status, outcome.fee_row_id, outcome.differences) == ("matched", "F2", ())


@pytest.mark.parametrize("text", [
    fiscal("0000012345", check="zzzzzz"),  # the check code contradicts the row's
    fiscal("0000012345", code="31060127"),  # another issuer's receipt with the same number
])
def test_a_contradicting_code_is_another_receipt(store: Store, text: str) -> None:
    outcome = scan(store, text)
    assert (outcome.status, outcome.fee_row_id) == ("unmatched", None)
    assert stored(store, outcome.scan_id).status == "pending"


# -- refused: already claimed --------------------------------------------------------------------

def test_a_row_claimed_district_wide_is_refused_with_who_and_when(store: Store) -> None:
    outcome = scan(store, fiscal("0000030001", check="c0ffee"))
    assert (outcome.status, outcome.fee_row_id, outcome.person_id) == \
        ("already_claimed", "F4", P1)
    assert outcome.message == ("该票据已于 2026-03-02 10:00 由 310105002 申请"
                               "（申请 3f2a1b2c…），不能重复申请。")
    assert outcome.claim is not None
    assert (outcome.claim.source, outcome.claim.street_code, outcome.claim.application_id,
            outcome.claim.program) == ("district", "310105002", CLAIM_APP, "assistance")
    assert outcome.claim.claimed_at == datetime(2026, 3, 2, 2, 0, tzinfo=UTC)
    record = stored(store, outcome.scan_id)
    assert (record.status, record.fee_row_id) == ("dismissed", "F4")  # answered on the spot
    [event] = audit_of(store, outcome.scan_id)
    assert event.detail["outcome"] == "already_claimed"
    assert event.detail["held_by"]["street_code"] == "310105002"


@pytest.mark.parametrize(("status", "refused"), [("paid", True), ("released", False)])
def test_only_holding_claims_refuse(tmp_path: Path, status: str, refused: bool) -> None:
    with open_store(tmp_path / "s.sqlite") as store:
        fill(store, claims=(claim("F4", status),))
        outcome = scan(store, fiscal("0000030001", check="c0ffee"))
    assert outcome.status == ("already_claimed" if refused else "matched")


def test_a_row_held_by_a_live_local_application_is_refused(store: Store) -> None:
    saved = save_application(store, person_id=P1, program="assistance", district="changning",
                             application_date=TODAY, ticked=["F5"], handler="clerk7",
                             now=datetime(2026, 4, 9, 1, 30, tzinfo=UTC))
    outcome = scan(store, fiscal("0000040001", check="beef01", amount="300.00",
                                 day="20260316"))
    assert (outcome.status, outcome.fee_row_id) == ("already_claimed", "F5")
    assert outcome.claim is not None and outcome.claim.source == "local"
    assert outcome.claim.application_id == saved.application_id
    short = str(saved.application_id)[:8]
    assert outcome.message == (f"该票据已于 2026-04-09 09:30 由本柜台（经办人 clerk7）申请"
                               f"（申请 {short}…），不能重复申请。")
    # the district refused that application: the row is free again
    with store.session() as session:
        application = session.get(ApplicationRecord, saved.application_id)
        assert application is not None
        application.status = "review"
    again = scan(store, fiscal("0000040001", check="beef01", amount="300.00", day="20260316"))
    assert again.status == "matched"


def test_a_row_the_feed_marks_as_claimed_is_refused(store: Store) -> None:
    outcome = scan(store, fiscal("0000050001"))
    assert outcome.status == "already_claimed"
    assert outcome.claim is not None and outcome.claim.source == "feed"
    assert "已经报销" in outcome.message


# -- another person, nobody, nothing cached, not a receipt ---------------------------------------

def test_a_receipt_of_another_person_says_whose_without_the_full_id(store: Store) -> None:
    outcome = scan(store, fiscal("0000099999", check="ffffff"))
    assert (outcome.status, outcome.fee_row_id, outcome.person_id) == ("other_person", "F3", P2)
    full = id_number_of(store, P2)
    assert mask_id_number(full) in outcome.message
    assert full not in outcome.message and "不是当前打开的对象" in outcome.message
    record = stored(store, outcome.scan_id)
    assert (record.status, record.person_id, record.fee_row_id) == ("pending", P1, "F3")


def test_a_receipt_with_nobody_open_is_kept_pending(store: Store) -> None:
    outcome = scan(store, fiscal("0000012345"), person_id=None)
    assert (outcome.status, outcome.person_id) == ("no_person", P1)
    assert "尚未打开对象" in outcome.message
    assert mask_id_number(id_number_of(store, P1)) in outcome.message
    assert id_number_of(store, P1) not in outcome.message
    assert stored(store, outcome.scan_id).status == "pending"
    unknown = scan(store, fiscal("0000077777"), person_id=None)
    assert (unknown.status, unknown.person_id, unknown.fee_row_id) == ("no_person", None, None)


def test_a_receipt_not_cached_yet_is_unmatched_with_its_fields(store: Store) -> None:
    text = fiscal("0000077777", amount="12.50", day="20260401")
    outcome = scan(store, text)
    assert (outcome.status, outcome.fee_row_id, outcome.person_id) == ("unmatched", None, None)
    assert "没有找到票据 0000077777 的费用记录" in outcome.message
    record = stored(store, outcome.scan_id)
    assert (record.status, record.receipt_no, record.amount, record.receipt_date) == \
        ("pending", "0000077777", Decimal("12.50"), date(2026, 4, 1))


def test_two_rows_with_one_number_are_not_guessed(tmp_path: Path) -> None:
    with open_store(tmp_path / "s.sqlite") as store:
        fill(store, rows=[row("A", P1, "0000060001", total="10.00"),
                          row("B", P1, "0000060001", total="20.00", day="2026-03-16")],
             claims=())
        bare = scan(store, "0000060001")
        assert (bare.status, bare.fee_row_id) == ("unmatched", None)
        assert "多条费用记录" in bare.message
        # the receipt's amount and date tell them apart
        told = scan(store, fiscal("0000060001", amount="20.00", day="20260316"))
        assert (told.status, told.fee_row_id) == ("matched", "B")


@pytest.mark.parametrize(("text", "reason"), [
    ("", "扫描内容为空"),
    ("hello world", "不是已知的票据格式"),
    ("12345", "6至20位"),
    (f"{BASE}?d=31060126_0000012345", "d= 应为4或5段"),
    ("\x00\x01garbage\x7f", "不是已知的票据格式"),
])
def test_not_a_receipt_is_kept_pending_with_the_reason(store: Store, text: str,
                                                       reason: str) -> None:
    outcome = scan(store, text)
    assert (outcome.status, outcome.fee_row_id, outcome.receipt) == ("unrecognised", None, None)
    assert outcome.message.startswith("无法识别扫描内容：") and reason in outcome.message
    record = stored(store, outcome.scan_id)
    assert (record.raw_text, record.status, record.format) == (text, "pending", None)
    [event] = audit_of(store, outcome.scan_id)
    assert reason in event.detail["reason"]


def test_very_long_input_is_stored_whole(store: Store) -> None:
    text = fiscal("0000012345") + "&pad=" + "x" * 200_000 + "中文\t尾"
    outcome = scan(store, text)
    assert outcome.status == "unrecognised"  # whitespace inside a URL: not a clean scan
    assert stored(store, outcome.scan_id).raw_text == text
    assert audit_of(store, outcome.scan_id)[0].detail["raw_length"] == len(text)


@pytest.fixture(scope="module")
def shared_store() -> Iterator[Store]:
    with tempfile.TemporaryDirectory() as folder, \
            open_store(Path(folder) / "prop.sqlite") as opened:
        fill(opened)
        yield opened


@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=st.one_of(
    st.text(max_size=300),
    st.builds(fiscal, st.from_regex(r"[0-9]{10}", fullmatch=True)),
    st.from_regex(r"[0-9]{1,25}", fullmatch=True),
), person=st.sampled_from([P1, P2, None]))
def test_every_scan_is_stored_verbatim_whatever_it_is(shared_store: Store, text: str,
                                                      person: str | None) -> None:
    """RECEIPTS.md: nothing scanned is lost or mangled; each scan is one record, one event."""
    with shared_store.read_session() as session:
        before = session.scalar(select(func.count()).select_from(ScannedReceiptRecord)) or 0
    outcome = scan(shared_store, text, person_id=person)
    record = stored(shared_store, outcome.scan_id)
    assert record.raw_text == text
    assert record.status == {"matched": "matched", "repeat": "matched",
                             "already_claimed": "dismissed"}.get(outcome.status, "pending")
    assert record.fee_row_id == outcome.fee_row_id
    assert len(audit_of(shared_store, outcome.scan_id)) == 1
    with shared_store.read_session() as session:
        assert session.scalar(select(func.count()).select_from(ScannedReceiptRecord)) == \
            before + 1
    if person is None:
        assert outcome.status in ("no_person", "unrecognised")
    assert outcome.message


# -- repeat ---------------------------------------------------------------------------------------

def test_scanning_a_matched_receipt_again_is_a_repeat(store: Store) -> None:
    text = fiscal("0000012345")
    first = scan(store, text)
    again = scan(store, text, now=NOW + timedelta(minutes=1))
    assert (first.status, again.status, again.fee_row_id) == ("matched", "repeat", "F1")
    assert "已扫描并勾选" in again.message and again.scan_id != first.scan_id
    assert stored(store, again.scan_id).raw_text == text  # kept too
    # the same row by another of its codes is the same receipt
    assert scan(store, "0000012345", now=NOW + timedelta(minutes=2)).status == "repeat"
    # another person's session, a new counter session, another day: not a repeat
    assert scan(store, text, person_id=P2).status == "other_person"
    later = NOW + timedelta(minutes=5)
    assert scan(store, text, now=later, session_started=later).status == "matched"
    assert scan(store, text, now=NOW + timedelta(days=1)).status == "matched"


# -- the pending list, dismissing, re-matching ----------------------------------------------------

def test_pending_lists_what_the_clerk_must_resolve_newest_first(store: Store) -> None:
    minute = timedelta(minutes=1)
    scan(store, fiscal("0000012345"), now=NOW)  # matched: not listed
    scan(store, fiscal("0000030001", check="c0ffee"), now=NOW + minute)  # refused: not listed
    unmatched = scan(store, fiscal("0000077777"), now=NOW + 2 * minute)
    garbage = scan(store, "x" * 100, now=NOW + 3 * minute)
    other = scan(store, fiscal("0000099999", check="ffffff"), now=NOW + 4 * minute)
    nobody = scan(store, fiscal("0000012345"), person_id=None, now=NOW + 5 * minute)
    pending = pending_scans(store)
    assert [(p.scan_id, p.kind) for p in pending] == [
        (nobody.scan_id, "no_person"), (other.scan_id, "other_person"),
        (garbage.scan_id, "unrecognised"), (unmatched.scan_id, "unmatched")]
    assert [p.scan_id for p in pending_scans(store, person_id=P1)] == \
        [other.scan_id, garbage.scan_id, unmatched.scan_id]
    assert pending_scans(store, person_id=P2) == []
    by_id = {p.scan_id: p for p in pending}
    assert by_id[unmatched.scan_id].summary == "未找到费用记录：票据 0000077777（2026-04-10 10:02）"
    assert by_id[garbage.scan_id].summary.startswith("无法识别：" + "x" * 40 + "…")
    assert by_id[garbage.scan_id].raw_text == "x" * 100  # the list holds the whole text
    assert by_id[other.scan_id].fee_row_id == "F3"
    assert isinstance(by_id[unmatched.scan_id], PendingScan)


def test_dismissing_needs_a_reason_and_is_audited(store: Store) -> None:
    outcome = scan(store, "not a receipt")
    for blank in ("", "   ", "\t\n"):
        with pytest.raises(ValueError, match="须填写原因"):
            dismiss_scan(store, outcome.scan_id, clerk="clerk1", reason=blank)
    assert stored(store, outcome.scan_id).status == "pending"
    dismiss_scan(store, str(outcome.scan_id), clerk="clerk2", reason=" 误扫了药盒条码 ")
    assert stored(store, outcome.scan_id).status == "dismissed"
    assert pending_scans(store) == []
    events = audit_of(store, outcome.scan_id)
    assert [e.action for e in events] == ["receipt.scanned", "receipt.dismissed"]
    assert (events[1].actor, events[1].detail["reason"]) == ("clerk2", "误扫了药盒条码")
    with pytest.raises(ValueError, match="已作废"):
        dismiss_scan(store, outcome.scan_id, clerk="clerk1", reason="again")
    matched = scan(store, fiscal("0000012345"))
    with pytest.raises(ValueError, match="已匹配"):
        dismiss_scan(store, matched.scan_id, clerk="clerk1", reason="no")
    for unknown in (uuid.uuid4(), "not-a-uuid"):
        with pytest.raises(UnknownScan, match="没有这条扫描记录"):
            dismiss_scan(store, unknown, clerk="clerk1", reason="x")


def test_rematch_after_a_sync_matches_what_arrived(store: Store) -> None:
    mine = scan(store, fiscal("0000077777", amount="12.50", day="20260401"))
    theirs = scan(store, fiscal("0000088888"))
    taken = scan(store, fiscal("0000066666"))
    waiting = scan(store, fiscal("0000055555"))
    garbage = scan(store, "garbage")
    nobody = scan(store, fiscal("0000077777"), person_id=None)
    assert rematch_pending(store, clerk="clerk1") == 0  # nothing new yet
    with store.session() as session:  # the next pull brings three of the rows
        apply_changes(session, [
            upsert("fee_row", "N1", row("N1", P1, "0000077777", day="2026-04-01",
                                        total="12.50", issuer_code=CODE)),
            upsert("fee_row", "N2", row("N2", P2, "0000088888", issuer_code=CODE)),
            upsert("fee_row", "N3", row("N3", P1, "0000066666", issuer_code=CODE)),
            upsert("claim", "N3", claim("N3")),
        ])
    assert rematch_pending(store, clerk="clerk1") == 1
    assert (stored(store, mine.scan_id).status, stored(store, mine.scan_id).fee_row_id) == \
        ("matched", "N1")
    assert [e.action for e in audit_of(store, mine.scan_id)] == \
        ["receipt.scanned", "receipt.rematched"]
    assert stored(store, theirs.scan_id).status == "pending"
    assert stored(store, taken.scan_id).status == "dismissed"  # refused, as if scanned now
    kinds = {p.scan_id: p.kind for p in pending_scans(store)}
    assert kinds == {theirs.scan_id: "other_person", waiting.scan_id: "unmatched",
                     garbage.scan_id: "unrecognised", nobody.scan_id: "no_person"}
    assert rematch_pending(store, clerk="clerk1") == 0
    assert len(audit_of(store, waiting.scan_id)) == 1  # unchanged scans are not re-audited


def test_the_owner_of_a_scan_with_nobody_open(store: Store) -> None:
    """Nobody open: the counter opens the one person the receipt's rows belong to."""
    from desktop.services.scanning import scan_owner

    assert scan_owner(store, fiscal("0000012345")) == P1
    assert scan_owner(store, fiscal("0000099999", check="ffffff")) == P2
    assert scan_owner(store, fiscal("0000077777")) is None  # not cached (yet)
    assert scan_owner(store, "not a receipt") is None
    with store.read_session() as session:  # read only: nothing recorded
        assert session.scalar(select(func.count()).select_from(ScannedReceiptRecord)) == 0
