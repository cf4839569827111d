"""Street short names and the application number (desktop.domain.streets)."""

from __future__ import annotations

import pytest

from desktop.domain.streets import application_number, number_problem, street_short_name
from district.reference import STREETS


@pytest.mark.parametrize(("name", "short"), [
    ("华阳路街道", "华阳"), ("江苏路街道", "江苏"), ("新泾镇", "新泾"), ("虹桥街道", "虹桥"),
    ("虹桥镇", "虹桥镇"), ("仙霞新村街道", "仙霞新村"), ("北新泾街道", "北新泾"),
    ("江川路街道", "江川"), ("七宝镇", "七宝"), ("某乡", "某"), ("镇", "镇"),
])
def test_short_names(name: str, short: str) -> None:
    assert street_short_name(name) == short


def test_every_street_of_the_reference_list_has_its_own_short_name() -> None:
    shorts = {s.code: street_short_name(s.name) for s in STREETS}
    assert len(set(shorts.values())) == len(STREETS)
    for street in STREETS:
        short = shorts[street.code]
        assert short and "-" not in short
        assert short != street.name or short == "虹桥镇"
        # a number of it is one the street's PCs may give, and long enough for the column
        number = application_number(street.name, 2026, 99, 9999)
        assert number.startswith(f"{short}-2026-99-") and len(number) <= 32
        assert number_problem(number, street.name, 2026, 99) is None


def test_the_number_of_an_application() -> None:
    assert application_number("华阳路街道", 2026, 3, 42) == "华阳-2026-03-0042"
    assert application_number("新泾镇", 2027, 12, 1) == "新泾-2027-12-0001"
    assert application_number("华阳路街道", 2026, 3, 12345) == "华阳-2026-03-12345"
    for device, sequence in ((0, 1), (1, 0)):
        with pytest.raises(ValueError):
            application_number("华阳路街道", 2026, device, sequence)


@pytest.mark.parametrize(("number", "words"), [
    ("华阳-2026-03-0042", None),
    ("华阳-2026-3-0042", "格式"),
    ("华阳-2026-03-42", "格式"),
    ("华阳-2026-003-0042", "柜台号"),
    ("华阳-2026-03-00042", "格式"),
    ("华阳-2026-03-0000", "不是本柜台"),
    ("华阳路-2026-03-0042", "简称"),
    ("江苏-2026-03-0042", "简称"),
    ("华阳-2025-03-0042", "年份"),
    ("华阳-2026-04-0042", "柜台号"),
    ("华阳 -2026-03-0042", "格式"),
    ("", "格式"),
])
def test_what_a_pc_may_number(number: str, words: str | None) -> None:
    problem = number_problem(number, "华阳路街道", 2026, 3)
    if words is None:
        assert problem is None
    else:
        assert problem is not None and words in problem and "申请编号" in problem


def test_a_pc_without_a_number_may_give_none() -> None:
    assert number_problem("华阳-2026-03-0042", "华阳路街道", 2026, None) is not None
