"""月度结算汇总表 and 发放清单 as PDF: every value in its box, totals in figures and capitals,
the district's copy with whole card numbers and the street's masked (issue 5, CN-2026 3.5)."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from desktop.printing.reports_pdf import payout_data, payout_pdf, summary_data, summary_pdf
from desktop.services.reports import monthly_summary, payout_list
from desktop.store import Store, open_store
from tests.printing.test_forms import _every_value_is_in_its_box, pages, text_in
from tests.services.test_reports import (
    STREET,
    add_person,
    apply,
    approve,
    card,
    outpatient,
    shanghai,
)


@pytest.fixture
def month_store(template: Path, tmp_path: Path) -> Iterator[Store]:
    path = tmp_path / "counter.sqlite"
    shutil.copyfile(template, path)
    with open_store(path) as opened:
        yield opened


def _month(store: Store) -> str:
    own = card()
    zhang, (a1, a2) = add_person(store, "张三", [outpatient("2026-04-08", "1000.00"),
                                                  outpatient("2026-05-08", "500.00")],
                                 bank_account=own, committee="新华居委")
    li, (b1,) = add_person(store, "李四", [outpatient("2026-04-09", "200.00")],
                           spans=(("low_income", "2024-01-01", None),), bank_account=card(),
                           committee="华阳居委")
    approve(store, apply(store, zhang, [a1]), shanghai(2026, 6, 3, 10, 0))
    approve(store, apply(store, zhang, [a2]), shanghai(2026, 6, 4, 10, 0))
    approve(store, apply(store, li, [b1]), shanghai(2026, 6, 5, 9, 0))
    return own


def test_the_monthly_summary_pdf(month_store: Store) -> None:
    store = month_store
    _month(store)
    summary = monthly_summary(store, street_code=STREET, year=2026, month=6)
    context = {"street_name": "华阳路街道", "prepared_by": "李经办",
               "prepared_on": date(2026, 7, 3)}
    pdf = summary_pdf(summary, **context)
    data = summary_data(summary, **context)
    assert _every_value_is_in_its_box(pdf, "monthly_summary", data) > 20
    # POLICY.md §1: 60 % of 1,500 (低保) + 50 % of 200 (低收入)
    assert summary.total == Decimal("1000.00")
    text = "".join((pages(pdf)[0].extract_text() or "").split())
    assert "1,000.00" in text and "壹仟元整" in text
    assert "城乡低保家庭成员" in text and "900.00" in text and "100.00" in text
    assert f"其中免申即享{summary.auto_enrolled}件" in text  # issue 15


def test_the_payout_list_pdf_masks_the_street_copy_only(month_store: Store) -> None:
    store = month_store
    own = _month(store)
    for masked in (True, False):
        payout = payout_list(store, street_code=STREET, year=2026, month=6, masked=masked)
        pdf = payout_pdf(payout, street_name="华阳路街道", prepared_by="李经办")
        assert _every_value_is_in_its_box(pdf, "payout_list", payout_data(
            payout, street_name="华阳路街道", prepared_by="李经办")) > 20
        first = pages(pdf)[0]
        text = "".join((first.extract_text() or "").split())
        assert (own in text) is (not masked)
        assert ("街镇留存联" in text) is masked and ("报区联" in text) is (not masked)
        assert "1,000.00" in text_in(first, (15, 252, 90, 9))
