"""Bank card numbers (RECEIPTS.md "Bank card numbers"): shape refused, Luhn only warned about.

Card numbers are synthetic: a bank-like prefix, arbitrary digits and a computed check digit.
"""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from desktop.domain.bank_card import LUHN_WARNING_ZH, BankCardCheck, check_bank_card, luhn_ok
from desktop.domain.errors import DomainError


def luhn_digit(body: str) -> str:
    """The Luhn check digit for `body`, computed here independently of the code under test."""
    total = 0
    for index, char in enumerate(reversed(body)):
        digit = int(char) * (2 if index % 2 == 0 else 1)  # the digit next to the check doubles
        total += digit - 9 if digit > 9 else digit
    return str((10 - total % 10) % 10)


# 6228480012345671: from the right, the doubled digits 7 5 3 1 0 4 2 6 give 5+1+6+2+0+8+4+3 = 29,
# the others 1 6 4 2 0 8 8 2 give 31; 29 + 31 = 60, a multiple of 10.
VALID_16 = "6228480012345671"
VALID_19 = "622202123456789012" + luhn_digit("622202123456789012")


def test_the_synthetic_examples() -> None:
    assert luhn_digit("622848001234567") == "1"
    assert VALID_19 == "6222021234567890128"


@pytest.mark.parametrize(
    ("digits", "ok"),
    [
        (VALID_16, True),
        (VALID_19, True),
        ("79927398713", True),  # the textbook Luhn example
        ("4111111111111111", True),
        ("6228480012345672", False),
        ("6222021234567890121", False),
        ("79927398710", False),
        ("0", True),
        ("", False),
        ("6228 4800 1234 5671", False),  # only bare ASCII digits are checked
        ("622848001234567a", False),
        ("６２２８４８００１２３４５６７１", False),
    ],
)
def test_luhn_ok(digits: str, ok: bool) -> None:
    assert luhn_ok(digits) is ok


@pytest.mark.parametrize(
    ("text", "value"),
    [
        (VALID_16, VALID_16),
        ("6228 4800 1234 5671", VALID_16),
        ("6228-4800-1234-5671", VALID_16),
        (" 6228\u30004800－1234 5671\r\n", VALID_16),
        ("６２２８４８００１２３４５６７１", VALID_16),
        (VALID_19, VALID_19),
        ("622202 1234567890 128", VALID_19),
    ],
)
def test_check_accepts_and_strips(text: str, value: str) -> None:
    assert check_bank_card(text) == BankCardCheck(value=value, luhn_ok=True, warning_zh=None)


def test_luhn_failure_is_a_warning_not_an_error() -> None:
    checked = check_bank_card("6228 4800 1234 5672")
    assert checked == BankCardCheck(value="6228480012345672", luhn_ok=False,
                                    warning_zh=LUHN_WARNING_ZH)
    assert "Luhn" in LUHN_WARNING_ZH and "确认" in LUHN_WARNING_ZH


@pytest.mark.parametrize(
    ("text", "message", "message_zh"),
    [
        ("", "is empty", "银行卡号为空"),
        (" - ", "is empty", "银行卡号为空"),
        ("622848001234567", "must have 16 to 19 digits, got 15", "实际为15位"),
        ("62284800123456712345", "must have 16 to 19 digits, got 20", "实际为20位"),
        ("6228480012345671a", "character 17 must be a digit, got 'a'", "第17位应为数字"),
        ("6228.4800.1234.5671", "character 5 must be a digit, got '.'", "第5位应为数字"),
        ("6228_4800_1234_5671", "character 5 must be a digit", "第5位"),
    ],
)
def test_check_refuses(text: str, message: str, message_zh: str) -> None:
    with pytest.raises(DomainError) as caught:
        check_bank_card(text)
    assert caught.value.field == "bank_account"
    assert message in caught.value.message
    assert message_zh in caught.value.message_zh


card_bodies = st.tuples(
    st.sampled_from(["622202", "622848", "621700", "622588", "623668"]),
    st.text(alphabet="0123456789", min_size=9, max_size=12),
).map("".join)


@given(body=card_bodies)
def test_a_computed_check_digit_passes_and_any_other_fails(body: str) -> None:
    number = body + luhn_digit(body)
    assert 16 <= len(number) <= 19
    assert check_bank_card(number).luhn_ok
    for wrong in "0123456789":
        if wrong != number[-1]:
            checked = check_bank_card(body + wrong)
            assert not checked.luhn_ok
            assert checked.warning_zh == LUHN_WARNING_ZH


@given(text=st.text())
def test_check_only_ever_raises_domain_error(text: str) -> None:
    try:
        checked = check_bank_card(text)
    except DomainError as err:
        assert err.field == "bank_account"
    else:
        assert checked.value.isascii() and checked.value.isdigit()
        assert (checked.warning_zh is None) is checked.luhn_ok
