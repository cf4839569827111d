"""The bank a card number belongs to, from its first digits (BIN, the issuer identification
number): a prefill for 开户银行 on the 申请表, which the clerk can always correct.

A short table of the cards seen at Shanghai counters; the longest matching prefix wins.
"""

from __future__ import annotations

from desktop.domain._text import half_width, without_whitespace

# BIN prefix → bank (the name printed on the 申请表)
BANK_BINS: dict[str, str] = {
    "622202": "中国工商银行",
    "621226": "中国工商银行",
    "622848": "中国农业银行",
    "621700": "中国建设银行",
    "436742": "中国建设银行",
    "621661": "中国银行",
    "456351": "中国银行",
    "622262": "交通银行",
    "622588": "招商银行",
    "621483": "招商银行",
    "622150": "邮政储蓄银行",
    "622908": "兴业银行",
}
_LENGTHS = sorted({len(prefix) for prefix in BANK_BINS}, reverse=True)


def bank_of_card(card_number: str | None) -> str | None:
    """The bank whose BIN starts `card_number` (spaces and dashes ignored), or None."""
    if not card_number:
        return None
    digits = without_whitespace(half_width(card_number)).replace("-", "")
    for length in _LENGTHS:
        bank = BANK_BINS.get(digits[:length])
        if bank is not None and len(digits) > length:
            return bank
    return None


__all__ = ["BANK_BINS", "bank_of_card"]
