"""Phone numbers on the forms: mobiles (1[3-9] + 9 digits) and landlines, in one normal form.

Mobiles normalise to 11 digits ("13812345678"); landlines to "021-12345678" with an area code,
or the bare 7–8 digit local number without one.
"""

from __future__ import annotations

import re

from desktop.domain._text import half_width, without_whitespace
from desktop.domain.errors import DomainError

FIELD = "phone"

_MOBILE = re.compile(r"(?:\+86|0086|86)?(?P<number>1[3-9][0-9]{9})")
# Mainland area codes without their leading 0: 10 (Beijing), 2x, or three digits from 3xx to 9xx;
# this makes the split between area code and local number unambiguous without a separator.
_AREA = r"10|2[0-9]|[3-9][0-9]{2}"
_LOCAL = r"(?P<local>[1-9][0-9]{6,7})"
_LANDLINE = re.compile(rf"(?:\(0(?P<bracketed>{_AREA})\)|0(?P<area>{_AREA}))?{_LOCAL}")
_LANDLINE_INTERNATIONAL = re.compile(
    rf"(?:\+86|0086)(?:\(0?(?P<bracketed>{_AREA})\)|0?(?P<area>{_AREA})){_LOCAL}"
)
_NORMAL_MOBILE = re.compile(r"1[3-9][0-9]{9}")


def normalize_phone(text: str) -> str:
    """The normal form of the phone number in `text`, or DomainError("phone", ...).

    Accepts spaces and dashes anywhere, +86 / 0086 / 86 before a mobile, +86 / 0086 before an
    area code, and an area code in brackets: "(021)12345678".
    """
    value = without_whitespace(half_width(text)).replace("-", "")
    if not value:
        raise DomainError(FIELD, "is empty", "电话号码为空。")
    mobile = _MOBILE.fullmatch(value)
    if mobile:
        return mobile["number"]
    landline = _LANDLINE.fullmatch(value) or _LANDLINE_INTERNATIONAL.fullmatch(value)
    if landline:
        area = landline["bracketed"] or landline["area"]
        return f"0{area}-{landline['local']}" if area else landline["local"]
    raise DomainError(
        FIELD,
        f"{text.strip()!r} is neither a mobile number (1[3-9] and 9 digits) nor a landline "
        "(7-8 digits, optionally after an area code such as 021)",
        "电话号码格式不正确：手机号为1开头的11位数字，"
        "固定电话为7至8位号码，可加区号（如021-12345678）。",
    )


def is_mobile(value: str) -> bool:
    """Whether `value` is (or normalises to) a mobile number rather than a landline."""
    try:
        return _NORMAL_MOBILE.fullmatch(normalize_phone(value)) is not None
    except DomainError:
        return False
