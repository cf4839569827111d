"""Phone numbers (RECEIPTS.md "Bank card numbers and phones"): mobiles and landlines."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from desktop.domain.errors import DomainError
from desktop.domain.phone import is_mobile, normalize_phone


@pytest.mark.parametrize(
    ("text", "normal"),
    [
        ("13812345678", "13812345678"),
        ("138 1234 5678", "13812345678"),
        ("138-1234-5678", "13812345678"),
        ("+86 138 1234 5678", "13812345678"),
        ("+8613812345678", "13812345678"),
        ("86 13812345678", "13812345678"),
        ("0086 13812345678", "13812345678"),
        ("19912345678", "19912345678"),
        ("１３８１２３４５６７８", "13812345678"),
        (" 13812345678\r\n", "13812345678"),
        # landlines
        ("021-12345678", "021-12345678"),
        ("02112345678", "021-12345678"),
        ("021 6123 4567", "021-61234567"),
        ("(021)61234567", "021-61234567"),
        ("（021）61234567", "021-61234567"),
        ("010-6123456", "010-6123456"),
        ("0571-87654321", "0571-87654321"),
        ("057187654321", "0571-87654321"),
        ("0512-6123456", "0512-6123456"),
        ("+86 21 6123 4567", "021-61234567"),
        ("+86-21-61234567", "021-61234567"),
        ("0086 21 61234567", "021-61234567"),
        ("+86 (21) 61234567", "021-61234567"),
        ("12345678", "12345678"),
        ("6123 4567", "61234567"),
        ("6123456", "6123456"),
    ],
)
def test_normalize_accepts(text: str, normal: str) -> None:
    assert normalize_phone(text) == normal
    assert normalize_phone(normal) == normal  # the normal form is a fixed point


@pytest.mark.parametrize(
    "text",
    [
        "1381234567",  # 10 digits
        "138123456789",  # 12 digits
        "12812345678",  # 12x is no mobile prefix
        "10812345678",
        "+85213812345678",
        "+86 1381234567",
        "021-123456",  # 6-digit local number
        "021-123456789",
        "021-01234567",  # a local number never starts with 0
        "011-61234567",  # 011 is no area code
        "01234567",
        "(021 61234567",  # unbalanced bracket
        "021)61234567",
        "021-61234567-801",  # extensions are not a form we accept
        "021-61234567转801",
        "138.1234.5678",
        "tel:13812345678",
        "1381234567８x",
        "١٣٨١٢٣٤٥٦٧٨",
        "86 21 61234567",  # without + the 86 would be a guess
    ],
)
def test_normalize_refuses(text: str) -> None:
    with pytest.raises(DomainError) as caught:
        normalize_phone(text)
    assert caught.value.field == "phone"
    assert "neither a mobile number" in caught.value.message
    assert "手机号为1开头的11位数字" in caught.value.message_zh


@pytest.mark.parametrize("text", ["", "  ", "--"])
def test_normalize_refuses_empty(text: str) -> None:
    with pytest.raises(DomainError, match=r"^phone: is empty$"):
        normalize_phone(text)


@pytest.mark.parametrize(
    ("value", "mobile"),
    [
        ("13812345678", True),
        ("+86 138-1234-5678", True),
        ("021-61234567", False),
        ("12345678", False),
        ("1381234567", False),
        ("", False),
        ("not a phone", False),
    ],
)
def test_is_mobile(value: str, mobile: bool) -> None:
    assert is_mobile(value) is mobile


@given(rest=st.text(alphabet="0123456789", min_size=9, max_size=9),
       second=st.sampled_from("3456789"),
       prefix=st.sampled_from(["", "+86", "86", "0086", "+86 "]),
       spaced=st.booleans())
def test_every_mobile_form_normalises_to_its_11_digits(rest: str, second: str, prefix: str,
                                                       spaced: bool) -> None:
    number = "1" + second + rest
    shown = f"{number[:3]} {number[3:7]}-{number[7:]}" if spaced else number
    assert normalize_phone(prefix + shown) == number
    assert is_mobile(prefix + shown)


@given(text=st.text())
def test_normalize_only_ever_raises_domain_error(text: str) -> None:
    try:
        normal = normalize_phone(text)
    except DomainError as err:
        assert err.field == "phone"
    else:
        assert normalize_phone(normal) == normal
