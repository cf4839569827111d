"""Text clean-up shared by the validators: full-width forms a Chinese input method may type."""

from __future__ import annotations

import re

# Full-width digits, letters X/x, plus, hyphen, brackets and the ideographic space, as typed when
# the clerk's input method is in full-width mode. Only these: NFKC would also turn "①" into "1".
_FULL_WIDTH = str.maketrans(
    {
        **{chr(0xFF10 + i): str(i) for i in range(10)},
        "Ｘ": "X",
        "ｘ": "x",
        "＋": "+",
        "－": "-",
        "（": "(",
        "）": ")",
        "\u3000": " ",
    }
)

_WHITESPACE = re.compile(r"\s+")


def half_width(text: str) -> str:
    """`text` with full-width digits and the few punctuation marks above made ASCII."""
    return text.translate(_FULL_WIDTH)


def without_whitespace(text: str) -> str:
    """`text` with every whitespace character (incl. the ideographic space) removed."""
    return _WHITESPACE.sub("", text)


def first_non_digit(text: str) -> tuple[int, str] | None:
    """1-based position and character of the first character that is not an ASCII digit."""
    for index, char in enumerate(text, start=1):
        if char not in "0123456789":
            return index, char
    return None
