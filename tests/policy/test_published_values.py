"""Values the district publishes (M18): checked by the loader's rules, field by field, and
merged into the shipped parameters as one more dated entry of their series."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from desktop.policy.parameters import (
    ParameterValue,
    PublishedValue,
    PublishedValueError,
    default_parameters,
    program_of,
    validate_published,
    value_text,
    with_published,
)

KEY = "assistance:category.dibao.outpatient_rate"
NAME = "category.dibao.outpatient_rate"


def check(key: str = KEY, day: date | str = "2027-01-01", value: str = "0.95",
          source: str = "CN-2026 3.3", assumption: bool = False) -> ParameterValue:
    return validate_published(key, day, value, source, assumption)


@pytest.mark.parametrize(("key", "value", "expected", "unit"), [
    (KEY, "0.95", Decimal("0.95"), "rate"),
    (KEY, "1", Decimal("1"), "rate"),
    ("assistance:category.dibao.inpatient_cap", "null", None, "money-or-null"),
    ("assistance:category.dibao.inpatient_cap", "8000", Decimal("8000.00"), "money-or-null"),
    ("assistance:claim_window_months", "6", 6, "int"),
    ("assistance:major_outpatient_as", "inpatient", "inpatient", "kind"),
    ("assistance:deductible_subsidy.categories", '["dibao", "tekun"]', ("dibao", "tekun"),
     "category-codes"),
    ("assistance:deductible_subsidy.categories", "dibao、tekun", ("dibao", "tekun"),
     "category-codes"),
    ("mutual_aid:allowance.yearly", "600.5", Decimal("600.50"), "money"),
    ("minhang:district_round.cap", "40000", Decimal("40000.00"), "money"),
    ("minhang:enrolment.from", "10-01", "10-01", "month-day"),
    ("changning:procedure.report_by_day", "18", 18, "int"),
    ("changning:category.dibao.outpatient_rate", "0.8", Decimal("0.8"), "rate"),
])
def test_a_value_is_read_by_its_unit(key: str, value: str, expected: object, unit: str) -> None:
    entry = check(key=key, value=value)
    assert (entry.value, entry.unit) == (expected, unit)
    assert entry.file == key.split(":")[0] + ".yaml" and entry.key == key.split(":")[1]
    assert entry.effective_from == date(2027, 1, 1) and entry.effective_to is None


@pytest.mark.parametrize(("override", "field"), [
    ({"value": "1.01"}, "value"),
    ({"value": "0.123456"}, "value"),
    ({"value": "-0.1"}, "value"),
    ({"value": "九成"}, "value"),
    ({"key": "assistance:claim_window_months", "value": "6.5"}, "value"),
    ({"key": "assistance:deductible_subsidy.categories", "value": '["nobody"]'}, "value"),
    ({"key": "minhang:enrolment.from", "value": "02-30"}, "value"),
    ({"key": "mutual_aid:allowance.yearly", "value": "abc"}, "value"),
    ({"key": "assistance:category.nobody.outpatient_rate"}, "key"),
    ({"key": "assistance:dental_rate"}, "key"),
    ({"key": "care:category.dibao.outpatient_rate"}, "key"),
    ({"key": "shanghai:district_round.rate"}, "key"),
    ({"key": "outpatient_rate"}, "key"),
    ({"day": "2027-02-29"}, "effective_from"),
    ({"day": "2027/01/01"}, "effective_from"),
    ({"day": ""}, "effective_from"),
    ({"source": "区里说的"}, "source"),
    ({"source": "CN-2026"}, "source"),
    ({"source": ""}, "source"),
])
def test_a_bad_value_is_refused_naming_its_field(override: dict[str, str], field: str) -> None:
    with pytest.raises(PublishedValueError) as refused:
        check(**override)  # type: ignore[arg-type]
    assert refused.value.field == field
    labels = {"key": "参数", "value": "数值", "effective_from": "生效日期", "source": "依据/来源"}
    assert str(refused.value).startswith(labels[field] + "：")


def test_an_overlay_key_belongs_to_the_program_that_has_it() -> None:
    assert program_of("minhang", "district_round.rate") == "assistance"
    assert program_of("minhang", "enrolment.to") == "mutual_aid"
    assert program_of("assistance", "enrolment.to") is None
    assert program_of("nowhere", "district_round.rate") is None


def test_every_shipped_value_passes_as_published_and_changes_nothing() -> None:
    shipped = default_parameters()
    values = [PublishedValue(f"{v.file.removesuffix('.yaml')}:{v.key}", v.effective_from,
                             value_text(v.value), v.source, v.assumption)
              for v in shipped.all_values()]
    for v in values:
        validate_published(v.key, v.effective_from, v.value, v.source, v.assumption)
    assert with_published(shipped, values) is shipped


def _rate(params: object, district: str, day: date) -> object:
    return params.for_program("assistance", district).require(NAME, day).value  # type: ignore[attr-defined]


@settings(max_examples=60, deadline=None)
@given(start=st.dates(date(2026, 2, 1), date(2030, 12, 31)),
       value=st.decimals(Decimal("0"), Decimal("1"), places=2),
       probe=st.dates(date(2025, 1, 1), date(2031, 12, 31)))
def test_a_published_value_counts_from_its_date_and_not_before(start: date, value: Decimal,
                                                               probe: date) -> None:
    shipped = default_parameters()
    merged = with_published(shipped, [PublishedValue(KEY, start, str(value), "CN-2026 3.3")])
    for district in ("changning", "minhang", "shanghai"):
        if probe >= start:
            assert _rate(merged, district, probe) == value
        elif shipped.for_program("assistance", district).at(NAME, probe) is not None:
            assert _rate(merged, district, probe) == _rate(shipped, district, probe)
    assert merged is not shipped and default_parameters() is shipped  # the files' stay as read


def test_the_same_key_and_date_replaces_and_the_last_published_wins() -> None:
    shipped = default_parameters()
    first = shipped.for_program("assistance", "shanghai").series[NAME][0]
    merged = with_published(shipped, [
        PublishedValue(KEY, first.effective_from, "0.33", "CN-2026 3.3", True)])
    entries = merged.for_program("assistance", "shanghai").series[NAME]
    assert len(entries) == len(shipped.for_program("assistance", "shanghai").series[NAME])
    assert entries[0].value == Decimal("0.33") and entries[0].assumption
    assert shipped.for_program("assistance", "shanghai").series[NAME][0] is first  # untouched


def test_an_overlays_first_value_continues_the_city_series() -> None:
    shipped = default_parameters()
    later = date(2027, 7, 1)
    merged = with_published(shipped, [
        PublishedValue("changning:" + NAME, later, "0.99", "CN-2026 3.3")])
    before = later - timedelta(days=1)
    assert _rate(merged, "changning", later) == Decimal("0.99")
    assert _rate(merged, "changning", before) == _rate(shipped, "changning", before)
    assert _rate(merged, "minhang", later) == _rate(shipped, "minhang", later)  # another district


def test_a_value_the_rules_refuse_is_left_out() -> None:
    shipped = default_parameters()
    assert with_published(shipped, [PublishedValue(KEY, date(2027, 1, 1), "2", "CN-2026 3.3"),
                                    PublishedValue("x:y", date(2027, 1, 1), "1", "nothing")]
                          ) is shipped
