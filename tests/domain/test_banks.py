"""开户银行 from the card number's BIN prefix: a prefill, None when the prefix is unknown."""

from __future__ import annotations

import pytest

from desktop.domain.banks import BANK_BINS, bank_of_card


@pytest.mark.parametrize(("card", "bank"), [
    ("6222021234567890123", "中国工商银行"),
    ("6212261234567890", "中国工商银行"),
    ("6228 4812 3456 7890 123", "中国农业银行"),  # as written on the card
    ("6217-0012-3456-7890", "中国建设银行"),
    ("4367421234567890", "中国建设银行"),
    ("６２１６６１１２３４５６７８９０", "中国银行"),  # full-width digits
    ("4563511234567890", "中国银行"),
    ("6222621234567890", "交通银行"),
    ("6225881234567890", "招商银行"),
    ("6214831234567890", "招商银行"),
    ("6221501234567890", "邮政储蓄银行"),
    ("6229081234567890", "兴业银行"),
])
def test_known_prefixes(card: str, bank: str) -> None:
    assert bank_of_card(card) == bank


@pytest.mark.parametrize("card", [None, "", "6222", "622202", "9999991234567890", "abc"])
def test_unknown_or_too_short(card: str | None) -> None:
    assert bank_of_card(card) is None


def test_the_table_is_six_digit_prefixes() -> None:
    assert all(len(p) == 6 and p.isdigit() for p in BANK_BINS)
