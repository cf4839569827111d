"""Amounts as the forms write them: 1,234.56 in figures, 壹仟贰佰叁拾肆元伍角陆分 in capitals.

The capitals come from cn2an's "rmb" mode, normalised to the rules for filling in bills and
settlement vouchers (中国人民银行《支付结算办法》附件《正确填写票据和结算凭证的基本规定》, "PBoC
rules" below). No Qt, no database.

The rules as applied here, with the choice taken where the PBoC rules allow two forms:
- 整 follows 元 when there is no 角 or 分 (壹拾元整, 零元整). No 整 after 角 (壹佰元壹角) and
  never after 分: PBoC rules 第二条 say "在'角'之后，可以不写'整'（或'正'）字" and "'分'后面不写
  '整'（或'正'）字"; we take the shorter form, which is also cn2an's.
- 壹拾 keeps its 壹 (壹拾元整, 壹拾万元整): a bare 拾 leaves room to write a digit before it
  (common practice; the PBoC rules ask the same of dates, 第五条).
- Zeros in the yuan part: every run of zeros between two non-zero digits is written as one 零,
  also when the run ends on a 万 or 亿 boundary (壹拾万零柒仟元, 壹亿零壹仟元整). 第四条第3项 allows
  that 零 to be left out when the 万位 is 0 and the 千位 is not; cn2an does leave it out, which
  gives 壹亿壹仟元整 for 100,001,000 — read aloud, 一亿一千 is 110,000,000. We put it back: one
  零 per gap leaves no room to add a digit and nothing to misread.
- 元位 0 and 角 not 0: no 零 before the 角 (壹佰元壹角, 壹仟陆佰捌拾元叁角贰分), the other form
  第四条第3项 allows, as cn2an writes it.
- 角 0 and 分 not 0: 零 after 元 (壹佰万元零壹分), as 第四条第4项 requires.
- Under one yuan: no 元 and no 零 (伍分, 壹角伍分).
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

FEN = Decimal("0.01")
LIMIT = Decimal("1000000000000")  # 1e12: 壹万亿 and up are not written on these forms
_DIGIT = "壹贰叁肆伍陆柒捌玖"
_SECTION_UNIT = re.compile("(亿|万)")
# The place (power of ten) of the 千 digit that opens the 万 section and the units section.
_SECTION_THOUSANDS = {"万": 7, "": 3}


def rmb_capital(amount: Decimal | int) -> str:
    """The amount in Chinese capital numerals as written on financial documents.

    0 → 零元整, 10.00 → 壹拾元整, 0.05 → 伍分, 100.10 → 壹佰元壹角,
    1,000,000.01 → 壹佰万元零壹分. Raises ValueError (naming the amount) for a negative
    amount, more than 2 decimals, NaN or infinity, and 1,000,000,000,000 or more.
    """
    value = _checked(amount, allow_negative=False)
    if value >= LIMIT:
        raise ValueError(f"金额 {amount} 超出可写成大写的范围（须小于 1,000,000,000,000）")
    import cn2an  # loaded on first use: it takes a tenth of a second, off the start-up path

    text = str(cn2an.an2cn(f"{value:f}", "rmb"))
    yuan = int(value)
    if "元" in text and yuan:
        integer, rest = text.split("元", 1)
        text = _restore_zeros(integer, yuan) + "元" + rest
    return text


def format_amount(amount: Decimal | int) -> str:
    """1234.5 → "1,234.50": amounts in figures, with thousands separators and two decimals.

    Printing writes what services computed, so a value that is not whole fen is a bug upstream:
    ValueError (naming the amount) for more than 2 decimals, NaN or infinity. Negative amounts
    are written with a minus sign.
    """
    return f"{_checked(amount, allow_negative=True):,.2f}"


def _checked(amount: Decimal | int, *, allow_negative: bool) -> Decimal:
    if isinstance(amount, bool) or not isinstance(amount, Decimal | int):
        raise TypeError(f"an amount must be a Decimal, not {type(amount).__name__}: {amount!r}")
    value = Decimal(amount)
    if not value.is_finite():
        raise ValueError(f"金额 {amount} 不是有效数值")
    if value < 0 and not allow_negative:
        raise ValueError(f"金额 {amount} 为负数，不能写成大写")
    try:
        fen = value.quantize(FEN)
    except InvalidOperation:  # more digits than the context holds: no real amount
        raise ValueError(f"金额 {amount} 超出可写范围") from None
    if value != fen:
        raise ValueError(f"金额 {amount} 超过两位小数（应精确到分）")
    value = fen
    return value.copy_abs() if value == 0 else value  # -0.00 is written as 0.00


def _restore_zeros(integer: str, yuan: int) -> str:
    """Put back the 零 cn2an leaves out between 万 or 亿 and a following X仟 when the digit just
    above that 千 place is 0 (its `([万亿])零(X仟)` → `\\1\\2` rule), e.g. 壹亿壹仟 → 壹亿零壹仟."""
    parts = _SECTION_UNIT.split(integer)
    # parts: [digits, unit, digits, unit, ..., digits]; each digits piece ends with its unit
    out = [parts[0]]
    for index in range(1, len(parts) - 1, 2):
        unit, piece = parts[index], parts[index + 1]
        out.append(unit)
        if len(piece) >= 2 and piece[0] in _DIGIT and piece[1] == "仟":
            following = parts[index + 2] if index + 2 < len(parts) else ""
            place = _SECTION_THOUSANDS[following]
            if yuan // 10 ** (place + 1) % 10 == 0:
                piece = "零" + piece
        out.append(piece)
    return "".join(out)


__all__ = ["LIMIT", "format_amount", "rmb_capital"]
