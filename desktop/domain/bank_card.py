"""Bank card numbers for paying out assistance: 16–19 digits, Luhn checked but never refused.

RECEIPTS.md: some genuine Chinese debit cards fail the Luhn check, so a failure is a warning the
clerk confirms with the applicant, not an error.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from desktop.domain._text import first_non_digit, half_width, without_whitespace
from desktop.domain.errors import DomainError

FIELD = "bank_account"

_DIGITS = re.compile(r"[0-9]+")

LUHN_WARNING_ZH = (
    "卡号未通过 Luhn 校验。部分真实借记卡也不符合此校验，请与申请人逐位核对卡号后确认。"
)


@dataclass(frozen=True)
class BankCardCheck:
    """A card number of the right shape; `warning_zh` is set when the clerk must confirm it."""

    value: str
    luhn_ok: bool
    warning_zh: str | None


def luhn_check_digit(body: str) -> str:
    """The Luhn digit that completes `body` (ASCII digits), e.g. for synthetic card numbers."""
    total = 0
    for index, char in enumerate(reversed(body)):
        digit = int(char)
        if index % 2 == 0:
            digit *= 2
            if digit > 9:
                digit -= 9
        total += digit
    return str((10 - total % 10) % 10)


def luhn_ok(digits: str) -> bool:
    """Whether `digits` (ASCII digits only) passes the Luhn check; False for anything else."""
    if not _DIGITS.fullmatch(digits):
        return False
    return luhn_check_digit(digits[:-1]) == digits[-1]


def check_bank_card(text: str) -> BankCardCheck:
    """The card number in `text` without spaces or dashes, with its Luhn result.

    Raises DomainError("bank_account", ...) unless it is 16–19 digits.
    """
    value = without_whitespace(half_width(text)).replace("-", "")
    if not value:
        raise DomainError(FIELD, "is empty", "银行卡号为空。")
    bad = first_non_digit(value)
    if bad is not None:
        position, char = bad
        raise DomainError(
            FIELD,
            f"character {position} must be a digit, got {char!r}",
            f"银行卡号第{position}位应为数字，实际为“{char}”。",
        )
    if not 16 <= len(value) <= 19:
        raise DomainError(
            FIELD,
            f"must have 16 to 19 digits, got {len(value)}",
            f"银行卡号应为16至19位数字，实际为{len(value)}位。",
        )
    ok = luhn_ok(value)
    return BankCardCheck(value=value, luhn_ok=ok, warning_zh=None if ok else LUHN_WARNING_ZH)


def mask_card(value: str) -> str:
    """A card number for lists and screens: first 6 and last 4 digits kept
    (6222021234567890123 → 622202*********0123); a short number keeps only its last 4."""
    if len(value) > 10:
        return value[:6] + "*" * (len(value) - 10) + value[-4:]
    if len(value) > 4:
        return "*" * (len(value) - 4) + value[-4:]
    return "*" * len(value)


def card_changed(paid_to: str | None, on_file: str | None) -> bool:
    """A payout card other than the person's card on file: a change the 审批人 confirms, shown
    as 变更 on the 审批表 (issue 9, point 5). No card at all is no change."""
    return paid_to is not None and paid_to != (on_file or None)
