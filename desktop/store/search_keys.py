"""The derived columns person search runs on: pinyin of the name, its initials, reversed numbers.

Pure functions, shared by the ORM (filled on every insert and update), the migration that added
the columns (filling existing rows) and the benchmark (bulk inserts that bypass the ORM).
pypinyin (its dictionaries take 57 MiB and 150 ms to load) is imported at the first name read.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from functools import lru_cache
from typing import NamedTuple

# The highest code point: `p <= s < p + TOP` holds exactly for the strings s starting with p,
# because SQLite compares TEXT as UTF-8 bytes, which order like code points.
_TOP = "\U0010ffff"
_NOT_LETTER = re.compile(r"[^a-z]")
# Characters read differently as a surname than in words (pypinyin reads 曾 as "ceng", 单 as
# "dan"); a clerk types the surname reading. Compound surnames (单于, 尉迟) are read right already.
_SURNAME_READINGS = {
    "曾": "zeng", "单": "shan", "仇": "qiu", "解": "xie", "查": "zha", "区": "ou", "朴": "piao",
    "覃": "qin", "翟": "zhai", "缪": "miao", "盖": "ge", "种": "chong", "秘": "bi", "繁": "po",
    "员": "yun", "召": "shao", "隗": "wei", "乐": "yue", "折": "she", "薄": "bo",
}
_COMPOUND_SURNAMES = ("单于",)


class NameKeys(NamedTuple):
    pinyin: str  # "zhangsan": toneless pinyin, ü as v, letters only
    initials: str  # "zs": the first letter of each syllable


@lru_cache(maxsize=1 << 17)
def name_keys(name: str) -> NameKeys:
    """Pinyin and initials of a name; characters without pinyin (·, Latin) are kept as letters.

    What pypinyin's lazy_pinyin gives for the whole name, computed word by word: pypinyin cuts
    the text into words (runs of non-Chinese characters, phrases of its dictionary, single
    characters) and reads each word alone, so the readings of a word are cached, and a name
    costs its cut and a few lookups instead of two conversions (about 120 µs, which an initial
    pull of 100,000 persons paid for each). Names repeat too (a street has many 王伟).
    """
    text = unicodedata.normalize("NFKC", name).strip()
    syllables: list[str] = []
    initials: list[str] = []
    for word in _cut(text):
        word_syllables, word_initials = _word_readings(word)
        syllables += word_syllables
        initials += word_initials
    surname = _SURNAME_READINGS.get(text[:1])
    if surname is not None and not text.startswith(_COMPOUND_SURNAMES):
        syllables[0], initials[0] = surname, surname[0]
    return NameKeys(_letters("".join(syllables)), _letters("".join(initials)))


def plain_name_keys(name: str) -> NameKeys:
    """name_keys as pypinyin gives it for the whole name at once: the reference the word-by-word
    reading is tested against."""
    from pypinyin import Style, lazy_pinyin

    text = unicodedata.normalize("NFKC", name).strip()
    syllables = lazy_pinyin(text, style=Style.NORMAL, v_to_u=False, errors="default")
    initials = lazy_pinyin(text, style=Style.FIRST_LETTER, errors="default")
    surname = _SURNAME_READINGS.get(text[:1])
    if surname is not None and not text.startswith(_COMPOUND_SURNAMES):
        syllables[0], initials[0] = surname, surname[0]
    return NameKeys(_letters("".join(syllables)), _letters("".join(initials)))


_cutter: Callable[[str], list[str]] | None = None


def _cut(text: str) -> list[str]:
    """pypinyin's own cut of a text into the words it reads one by one."""
    global _cutter
    if _cutter is None:
        from pypinyin.seg.simpleseg import seg

        _cutter = seg
    return _cutter(text)


@lru_cache(maxsize=1 << 16)
def _word_readings(word: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """A word's syllables (toneless, ü as v) and their first letters, as lazy_pinyin reads it."""
    from pypinyin import Style, lazy_pinyin

    return (tuple(lazy_pinyin(word, style=Style.NORMAL, v_to_u=False, errors="default")),
            tuple(lazy_pinyin(word, style=Style.FIRST_LETTER, errors="default")))


def _letters(text: str) -> str:
    return _NOT_LETTER.sub("", text.lower())


def reversed_key(value: str | None) -> str | None:
    """A number written backwards, so "ends with 1234" is an index range on "starts with 4321"."""
    return None if value is None else value[::-1]


def prefix_bounds(prefix: str) -> tuple[str, str]:
    """Bounds (low, high) with low <= s < high exactly for the strings s that start with prefix."""
    return prefix, prefix + _TOP
