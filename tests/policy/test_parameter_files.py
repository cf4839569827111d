"""The policy parameter files (POLICY.md §0.1, §4): a broken file is refused, naming file and key.

Each refusal test copies resources/policy to a temporary folder, breaks one thing by editing
the YAML text (the way a district officer would), and expects ParameterFileError whose message
names the file and the offending key. The positive tests check what the loader gives: dated
lookups, D5 (expired values stay in force, flagged), district overlays and the D1 flag.
"""

from __future__ import annotations

import json
import shutil
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from desktop.paths import resources_dir
from desktop.policy.contract import calculate_text
from desktop.policy.parameters import (
    ParameterFileError,
    ParameterGap,
    PolicyParameters,
    load_parameters,
)

SHIPPED = resources_dir() / "policy"

# Lines of the shipped files the tests edit (each occurs exactly once).
DIBAO_INPATIENT = '- {value: "0.90", effective_from: 2022-12-29, source: "SA-2022 二(二)4"}'
DIBAO_OUTPATIENT_CAP = (
    '      outpatient_cap:\n'
    '        - {value: "2800.00", effective_from: 2022-12-29, source: "MH-2026 §八.六"}\n'
    '    orphan:\n')
CLAIM_WINDOW = '    - {value: 6, effective_from: 2022-12-29, source: "CN-2026 4.3"}\n'
TEKUN_INPATIENT = ('inpatient_rate:\n        - {value: "1.00", effective_from: 2022-12-29, '
                   'source: "POLICY D1", assumption: true}')
DEDUCTIBLE_CODES = "[dibao, orphan, distressed_child]"
# A money value (the D3 mutual-aid threshold of MA-2021, in force to 2024-12-31).
THRESHOLD = ('      - {value: "500.00", effective_from: 2021-08-18, '
             'source: "MA-2021 四(二) (POLICY D3)"}\n')
# A value whose source expires (MA-2021 runs to 2026-08-17, POLICY D5).
LEVEL_1_RATE = "outpatient.rate.level_1"


@pytest.fixture
def policy(tmp_path: Path) -> Path:
    target = tmp_path / "policy"
    shutil.copytree(SHIPPED, target)
    return target


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert text.count(old) == 1, f"{old!r} occurs {text.count(old)} times in {path.name}"
    path.write_text(text.replace(old, new), encoding="utf-8")


def refused(directory: Path) -> str:
    with pytest.raises(ParameterFileError) as info:
        load_parameters(directory)
    message = str(info.value)
    assert "\n" not in message
    return message


# (file, old text, new text, what the message must contain besides the file name)
BROKEN = [
    pytest.param("assistance.yaml", DIBAO_INPATIENT, DIBAO_INPATIENT.replace('"0.90"', "0.9"),
                 ["parameters.category.dibao.inpatient_rate[0].value", "quoted"],
                 id="rate-unquoted-float"),
    pytest.param("assistance.yaml", DIBAO_INPATIENT, DIBAO_INPATIENT.replace('"0.90"', '"1.50"'),
                 ["parameters.category.dibao.inpatient_rate[0].value", "1.50"],
                 id="rate-over-1"),
    pytest.param("assistance.yaml", DIBAO_INPATIENT, DIBAO_INPATIENT.replace('"0.90"', '"-0.10"'),
                 ["parameters.category.dibao.inpatient_rate[0].value"], id="rate-negative"),
    pytest.param("assistance.yaml", DIBAO_INPATIENT, DIBAO_INPATIENT.replace('"0.90"', '"90%"'),
                 ["parameters.category.dibao.inpatient_rate[0].value"], id="rate-percent"),
    pytest.param("assistance.yaml", DIBAO_INPATIENT,
                 DIBAO_INPATIENT.replace(', source: "SA-2022 二(二)4"', ""),
                 ["parameters.category.dibao.inpatient_rate[0].source", "missing"],
                 id="source-missing"),
    pytest.param("assistance.yaml", DIBAO_INPATIENT,
                 DIBAO_INPATIENT.replace('"SA-2022 二(二)4"', '"see docs"'),
                 ["parameters.category.dibao.inpatient_rate[0].source"], id="source-see-docs"),
    pytest.param("assistance.yaml", DIBAO_INPATIENT,
                 DIBAO_INPATIENT.replace('"SA-2022 二(二)4"', '"SA-2023 二(二)4"'),
                 ["parameters.category.dibao.inpatient_rate[0].source"],
                 id="source-unknown-document"),
    pytest.param("assistance.yaml", DIBAO_INPATIENT,
                 DIBAO_INPATIENT.replace('"SA-2022 二(二)4"', '"SA-2022"'),
                 ["parameters.category.dibao.inpatient_rate[0].source"],
                 id="source-without-clause"),
    pytest.param("assistance.yaml", DIBAO_INPATIENT,
                 DIBAO_INPATIENT.replace("}", ", note: checked}"),
                 ["parameters.category.dibao.inpatient_rate[0].note", "unknown field"],
                 id="entry-unknown-field"),
    pytest.param("assistance.yaml", DIBAO_INPATIENT,
                 DIBAO_INPATIENT.replace("2022-12-29,", "2022-12-29, effective_to: 2022-12-28,"),
                 ["parameters.category.dibao.inpatient_rate[0].effective_to"],
                 id="effective-to-before-from"),
    pytest.param("assistance.yaml", DIBAO_INPATIENT,
                 DIBAO_INPATIENT.replace("from: 2022-12-29", 'from: "2022-12-29"'),
                 ["parameters.category.dibao.inpatient_rate[0].effective_from"],
                 id="effective-from-quoted"),
    pytest.param("assistance.yaml", DIBAO_INPATIENT,
                 DIBAO_INPATIENT.replace("from: 2022-12-29", "from: 2022-02-30"),
                 ["parameters.category.dibao.inpatient_rate[0].effective_from"],
                 id="effective-from-impossible"),
    pytest.param("assistance.yaml", DIBAO_INPATIENT,
                 DIBAO_INPATIENT.replace("effective_from: 2022-12-29, ", ""),
                 ["parameters.category.dibao.inpatient_rate[0].effective_from", "missing"],
                 id="effective-from-missing"),
    pytest.param("assistance.yaml", DIBAO_INPATIENT,
                 DIBAO_INPATIENT.replace('value: "0.90", ', ""),
                 ["parameters.category.dibao.inpatient_rate[0].value", "missing"],
                 id="value-missing"),
    pytest.param("assistance.yaml", CLAIM_WINDOW,
                 '    - {value: 6, effective_from: 2022-12-29, effective_to: 2026-06-30, '
                 'source: "CN-2026 4.3"}\n'
                 '    - {value: 5, effective_from: 2026-01-01, source: "CN-2026 4.3"}\n',
                 ["parameters.claim_window_months", "overlap"], id="values-overlap"),
    pytest.param("assistance.yaml", CLAIM_WINDOW,
                 '    - {value: 6, effective_from: 2026-01-01, source: "CN-2026 4.3"}\n'
                 '    - {value: 5, effective_from: 2022-12-29, source: "CN-2026 4.3"}\n',
                 ["parameters.claim_window_months", "order"], id="values-out-of-order"),
    pytest.param("assistance.yaml", CLAIM_WINDOW,
                 '    - {value: 6, effective_from: 2022-12-29, source: "CN-2026 4.3"}\n'
                 '    - {value: 5, effective_from: 2022-12-29, source: "CN-2026 4.3"}\n',
                 ["parameters.claim_window_months"], id="values-same-start"),
    pytest.param("assistance.yaml", CLAIM_WINDOW, "    []\n",
                 ["parameters.claim_window_months"], id="values-empty-list"),
    pytest.param("assistance.yaml", CLAIM_WINDOW, CLAIM_WINDOW.replace("value: 6", 'value: "6"'),
                 ["parameters.claim_window_months[0].value"], id="int-as-string"),
    pytest.param("assistance.yaml", CLAIM_WINDOW, CLAIM_WINDOW.replace("value: 6", "value: true"),
                 ["parameters.claim_window_months[0].value"], id="int-as-bool"),
    pytest.param("assistance.yaml", "  claim_window_months:\n", "  claim_window_month:\n",
                 ["parameters.claim_window_month", "unknown parameter"], id="unknown-key-typo"),
    pytest.param("assistance.yaml", "    dibao:\n      inpatient_rate:",
                 "    dibao:\n      inpatient_rte:",
                 ["parameters.category.dibao.inpatient_rte", "unknown parameter"],
                 id="unknown-key-typo-nested"),
    pytest.param("assistance.yaml", DIBAO_OUTPATIENT_CAP, "    orphan:\n",
                 ["parameters.category.dibao.outpatient_cap", "missing"],
                 id="required-parameter-missing"),
    pytest.param("assistance.yaml", "  dibao: 城乡低保家庭成员\n",
                 "  dibao: 城乡低保家庭成员\n  widow: 孤寡老人\n",
                 ["parameters.category.widow.", "missing"],
                 id="declared-category-without-values"),
    pytest.param("assistance.yaml", DEDUCTIBLE_CODES, "[dibao, orphan, distresed_child]",
                 ["parameters.deductible_subsidy.categories", "distresed_child"],
                 id="unknown-category-in-list"),
    pytest.param("assistance.yaml", DEDUCTIBLE_CODES, "dibao",
                 ["deductible_subsidy.categories[0].value"], id="category-list-not-a-list"),
    pytest.param("premium_subsidy.yaml", "dibao", "dibao2",
                 ["premium_subsidy.yaml", "dibao2"], id="unknown-category-in-premium-list"),
    pytest.param("assistance.yaml", "    tekun:\n      inpatient_rate:",
                 "    tekun:\n      inpatient_rate:\n"
                 '        - {value: "1.00", effective_from: 2022-12-29, source: "POLICY D1"}\n'
                 "    tekun2:\n      inpatient_rate:",
                 ["parameters.category.tekun2", "unknown category"],
                 id="unknown-category-in-key"),
    pytest.param("assistance.yaml", TEKUN_INPATIENT,
                 TEKUN_INPATIENT.replace("assumption: true", 'assumption: "true"'),
                 ["parameters.category.tekun.inpatient_rate[0].assumption"],
                 id="assumption-string"),
    pytest.param("assistance.yaml", TEKUN_INPATIENT,
                 TEKUN_INPATIENT.replace("assumption: true", "assumption: 1"),
                 ["parameters.category.tekun.inpatient_rate[0].assumption"],
                 id="assumption-number"),
    pytest.param("assistance.yaml", "major_outpatient_as:\n    - {value: inpatient",
                 "major_outpatient_as:\n    - {value: inpatients",
                 ["parameters.major_outpatient_as[0].value"], id="kind-unknown"),
    pytest.param("mutual_aid.yaml", THRESHOLD, THRESHOLD.replace('"500.00"', '"500.001"'),
                 ["parameters.outpatient.threshold[0].value"], id="money-3-decimals"),
    pytest.param("mutual_aid.yaml", THRESHOLD, THRESHOLD.replace('"500.00"', "500"),
                 ["parameters.outpatient.threshold[0].value"], id="money-unquoted"),
    pytest.param("mutual_aid.yaml", THRESHOLD, THRESHOLD.replace('"500.00"', '"5' + "0" * 28 + '"'),
                 ["parameters.outpatient.threshold[0].value", "too large"],
                 id="money-too-large"),
    pytest.param("mutual_aid.yaml", '{value: "10-01"', '{value: "10-32"',
                 ["parameters.enrolment.from[0].value"], id="month-day-impossible"),
    pytest.param("mutual_aid.yaml", "program: mutual_aid", "program: assistance",
                 ["program", "'assistance'"], id="wrong-program-name"),
    pytest.param("mutual_aid.yaml", "schema: counter-policy/1", "schema: counter-policy/2",
                 ["schema"], id="wrong-schema"),
    pytest.param("mutual_aid.yaml", "title: 市民社区医疗互助帮困", "titel: 市民社区医疗互助帮困",
                 ["title", "missing"], id="title-typo"),
    pytest.param("care.yaml", "program: care\n", "program: care\ncategories: {a: b}\n",
                 ["categories"], id="categories-outside-assistance"),
    pytest.param("care.yaml", "schema: counter-policy/1", "schema: [counter-policy/1",
                 ["YAML", "line"], id="invalid-yaml"),
    pytest.param("care.yaml", "  assessment:\n", "  assessment:\n\t\n",
                 ["YAML"], id="invalid-yaml-tab"),
    # district overlays
    pytest.param("districts/minhang.yaml", "  mutual_aid:\n    enrolment:",
                 "  mutual_aids:\n    enrolment:",
                 ["programs.mutual_aids", "unknown program"], id="overlay-unknown-program"),
    pytest.param("districts/minhang.yaml", "district: minhang", "district: changning",
                 ["district", "'changning'"], id="overlay-wrong-district"),
    pytest.param("districts/minhang.yaml", '{value: "0.50"', "{value: 0.5",
                 ["programs.assistance.district_round.rate[0].value"],
                 id="overlay-rate-unquoted"),
    pytest.param("districts/minhang.yaml", "      cap:\n", "      cpa:\n",
                 ["programs.assistance.district_round.cpa", "unknown parameter"],
                 id="overlay-unknown-key"),
    pytest.param("districts/minhang.yaml", '"MH-2026 §八.六"}\n  mutual_aid:',
                 '"MH-2026"}\n  mutual_aid:',
                 ["programs.assistance.district_round.cap[0].source"],
                 id="overlay-source-without-clause"),
    pytest.param("districts/changning.yaml", "programs:\n", "programs:\n  care: []\n",
                 ["programs.care"], id="overlay-program-not-a-mapping"),
]


def _file_name(name: str) -> str:
    return name.rsplit("/", 1)[-1]


@pytest.mark.parametrize(("name", "old", "new", "expected"), BROKEN)
def test_a_broken_file_is_refused(policy: Path, name: str, old: str, new: str,
                                  expected: list[str]) -> None:
    edit(policy / name, old, new)
    message = refused(policy)
    assert _file_name(name) in message
    for part in expected:
        assert part in message, message


@pytest.mark.parametrize("name", ["care.yaml", "assistance.yaml", "districts/minhang.yaml",
                                  "districts/changning.yaml"])
def test_a_missing_file_is_refused(policy: Path, name: str) -> None:
    (policy / name).unlink()
    message = refused(policy)
    assert _file_name(name) in message
    assert "cannot be read" in message


def test_a_file_that_is_not_a_mapping_is_refused(policy: Path) -> None:
    (policy / "care.yaml").write_text("- just\n- a list\n", encoding="utf-8")
    assert "care.yaml" in refused(policy)


def test_a_file_that_is_not_utf8_is_refused(policy: Path) -> None:
    path = policy / "care.yaml"
    path.write_bytes(path.read_text(encoding="utf-8").encode("gbk"))
    assert "care.yaml" in refused(policy)


def test_an_overlay_for_shanghai_is_refused(policy: Path) -> None:
    shutil.copy(policy / "districts" / "changning.yaml", policy / "districts" / "shanghai.yaml")
    message = refused(policy)
    assert "shanghai.yaml" in message
    assert "district" in message


# -- bugs found and fixed: kept as regression tests ---------------------------------------

def test_a_timestamp_is_not_a_date(policy: Path) -> None:
    edit(policy / "assistance.yaml", CLAIM_WINDOW,
         CLAIM_WINDOW.replace("2022-12-29", "2022-12-29 08:00:00"))
    message = refused(policy)
    assert "assistance.yaml" in message
    assert "parameters.claim_window_months[0].effective_from" in message


def test_a_key_written_twice_is_refused(policy: Path) -> None:
    edit(policy / "assistance.yaml", "      " + DIBAO_INPATIENT + "\n",
         "      " + DIBAO_INPATIENT + "\n      inpatient_rate:\n        "
         + DIBAO_INPATIENT.replace('"0.90"', '"0.50"') + "\n")
    message = refused(policy)
    assert "assistance.yaml" in message
    assert "inpatient_rate" in message


def test_an_unknown_code_in_an_overlay_names_the_overlay_key(policy: Path) -> None:
    edit(policy / "districts" / "minhang.yaml", "    district_round:\n",
         "    deductible_subsidy:\n      categories:\n"
         '        - {value: [dibao, nobody], effective_from: 2023-01-01, '
         'source: "MH-2026 §八.六"}\n'
         "    district_round:\n")
    message = refused(policy)
    assert "minhang.yaml" in message and "nobody" in message
    assert "programs.assistance.deductible_subsidy.categories" in message


# -- what the loader gives ---------------------------------------------------------------------

def test_the_shipped_files_load() -> None:
    params = load_parameters(SHIPPED)
    assert list(params.categories) == ["special_relief", "tekun", "dibao", "orphan",
                                       "distressed_child", "low_income", "expenditure_1",
                                       "expenditure_2"]
    assert set(params.base) == {"assistance", "mutual_aid", "care", "employee_outpatient",
                                "premium_subsidy"}
    assert set(params.overlays) == {"changning", "minhang"}
    for entry in params.all_values():
        assert entry.source.strip()
        assert entry.effective_to is None or entry.effective_to >= entry.effective_from
    view = params.for_program("assistance", "shanghai")
    assert view.require("category.dibao.outpatient_rate", date(2026, 5, 20)).value == \
        Decimal("0.60")
    assert view.require("category.dibao.outpatient_cap", date(2026, 5, 20)).value == \
        Decimal("2800.00")


def test_a_copy_of_the_shipped_files_loads(policy: Path) -> None:
    assert isinstance(load_parameters(policy), PolicyParameters)


def test_at_picks_the_value_in_force_on_the_day() -> None:
    """§0.1 with the shipped D3 threshold: 500 to 2024-12-31, 300 from 2025-01-01."""
    view = load_parameters(SHIPPED).for_program("mutual_aid", "changning")
    key = "outpatient.threshold"
    first = view.at(key, date(2024, 12, 31))
    second = view.at(key, date(2025, 1, 1))
    assert first is not None and second is not None
    assert first.value == Decimal("500.00") and first.source == "MA-2021 四(二) (POLICY D3)"
    assert second.value == Decimal("300.00") and second.source == "MH-2026 §四 3 (POLICY D3)"
    assert not first.assumption and second.assumption  # D3: the 300 is an assumption
    assert view.at(key, date(2021, 8, 18)) == first
    assert view.at(key, date(2040, 1, 1)) == second
    assert view.require(key, date(2026, 6, 1)) == second
    assert view.at(key, date(2021, 8, 17)) is None
    with pytest.raises(ParameterGap) as info:
        view.require(key, date(2021, 8, 17))
    assert info.value.day == date(2021, 8, 17)
    assert info.value.key == "mutual_aid.outpatient.threshold"
    assert date(2025, 1, 1) in view.change_dates()


def test_a_replaced_value_is_not_an_expired_one() -> None:
    """D3 vs D5: the 500 is replaced by the 300 from 2025-01-01, its source (MA-2021) does not
    end then; so it has no effective_to and a 2024 receipt claimed later draws no warning."""
    view = load_parameters(SHIPPED).for_program("mutual_aid", "shanghai")
    old = view.require("outpatient.threshold", date(2024, 12, 31))
    assert old.effective_to is None and not old.expired_on(date(2030, 1, 1))
    case = _mutual_aid_case("2024-12-31", "2025-03-01")
    out = calculate_text(json.dumps(case))
    assert out["payable"] == "340.00"  # (900 − 500) × 85 %
    assert out["warnings"] == []


def _mutual_aid_case(fee_date: str, application_date: str) -> dict[str, object]:
    return {
        "schema": "counter-calc/1", "program": "mutual_aid", "district": "changning",
        "application_date": application_date,
        "person": {"categories": [], "resident_insurance": False,
                   "mutual_aid": {"member_years": [2024, 2025, 2026],
                                  "benefits_from": "2024-01-01",
                                  "external_inpatient_insurance": False}},
        "fees": [{"id": "A", "receipt_no": "1", "date": fee_date, "kind": "outpatient",
                  "hospital_level": 1, "total": "900.00", "out_of_scope": "0.00",
                  "self_pay": "900.00"}],
    }


def test_the_engine_uses_the_value_of_the_row_date() -> None:
    """The application date does not choose the threshold; each row's date does (§0.1)."""
    for application in ("2025-01-10", "2026-06-10"):
        out = calculate_text(json.dumps(_mutual_aid_case("2025-01-01", application)))
        assert out["payable"] == "510.00"  # (900−300)×85 %
        out = calculate_text(json.dumps(_mutual_aid_case("2024-12-31", application)))
        assert out["payable"] == "340.00"  # (900−500)×85 %


def test_a_threshold_edited_in_the_file_is_used(policy: Path) -> None:
    """A district officer's edit of the file is what the engine uses: a made-up 200 from
    2026-01-01 → (900 − 200) × 85 % = 595 for 2026, the 300 still for 2025."""
    edit(policy / "mutual_aid.yaml", "assumption: true}\n",
         'assumption: true}\n      - {value: "200.00", effective_from: 2026-01-01, '
         'source: "MH-2026 §四 3"}\n')
    params = load_parameters(policy)
    assert calculate_text(json.dumps(_mutual_aid_case("2026-03-15", "2026-06-10")),
                          params)["payable"] == "595.00"
    assert calculate_text(json.dumps(_mutual_aid_case("2025-12-31", "2026-06-10")),
                          params)["payable"] == "510.00"


def test_an_expired_value_stays_in_force() -> None:
    """POLICY D5: MA-2021 ends 2026-08-17; its values (e.g. the level-1 rate) stay in force,
    flagged as expired."""
    view = load_parameters(SHIPPED).for_program("mutual_aid", "shanghai")
    on_last_day = view.at(LEVEL_1_RATE, date(2026, 8, 17))
    after = view.at(LEVEL_1_RATE, date(2026, 8, 18))
    much_later = view.require(LEVEL_1_RATE, date(2030, 1, 1))
    assert on_last_day is not None and after is not None
    assert on_last_day == after == much_later
    assert after.value == Decimal("0.85")
    assert after.effective_to == date(2026, 8, 17)
    assert not after.expired_on(date(2026, 8, 17))
    assert after.expired_on(date(2026, 8, 18))
    assert after.expired_on(date(2030, 1, 1))
    fee = view.require("enrolment.fee", date(2030, 1, 1))
    assert fee.effective_to is None and not fee.expired_on(date(2030, 1, 1))


def test_an_expired_value_is_used_with_a_warning() -> None:
    case = {
        "schema": "counter-calc/1", "program": "mutual_aid", "district": "changning",
        "application_date": "2026-09-10",
        "person": {"categories": [], "resident_insurance": False,
                   "mutual_aid": {"member_years": [2026], "benefits_from": "2026-01-01",
                                  "external_inpatient_insurance": False}},
        "fees": [{"id": "A", "receipt_no": "1", "date": "2026-09-01", "kind": "outpatient",
                  "hospital_level": 1, "total": "900.00", "out_of_scope": "0.00",
                  "self_pay": "900.00"}],
    }
    out = calculate_text(json.dumps(case))
    assert out["payable"] == "510.00"  # (900 − 300) × 85 %: the D3 300, MA-2021's 85 %
    assert any("MA-2021" in w and "2026-08-17" in w for w in out["warnings"])


def test_overlays_apply_only_to_their_district() -> None:
    params = load_parameters(SHIPPED)
    day = date(2026, 5, 20)
    minhang = params.for_program("assistance", "minhang")
    assert minhang.require("district_round.rate", day).value == Decimal("0.50")
    assert minhang.require("district_round.cap", day).value == Decimal("30000.00")
    assert minhang.require("district_round.rate", day).file == "minhang.yaml"
    for district in ("changning", "shanghai"):
        view = params.for_program("assistance", district)
        assert not view.has("district_round.rate")
        assert not view.has("district_round.cap")
        assert view.at("district_round.rate", day) is None
    assert "district_round.rate" not in params.base["assistance"]
    # the changning procedure is changning's alone
    assert params.for_program("assistance", "changning").has("procedure.auto_claim_by_day")
    assert not params.for_program("assistance", "minhang").has("procedure.auto_claim_by_day")
    assert not params.for_program("assistance", "shanghai").has("procedure.auto_claim_by_day")
    # a replaced base value: the 闵行 enrolment window
    assert params.for_program("mutual_aid", "minhang").require("enrolment.from", day).value == \
        "10-08"
    for district in ("changning", "shanghai"):
        entry = params.for_program("mutual_aid", district).require("enrolment.from", day)
        assert entry.value == "10-01" and entry.file == "mutual_aid.yaml"


def test_an_overlay_replaces_a_base_value_for_its_district_only(policy: Path) -> None:
    edit(policy / "districts" / "changning.yaml", "    procedure:\n",
         "    category:\n      dibao:\n        outpatient_rate:\n"
         '          - {value: "0.70", effective_from: 2026-01-01, source: "CN-2026 3.2"}\n'
         "    procedure:\n")
    params = load_parameters(policy)
    changning = params.for_program("assistance", "changning")
    # the overlay's series replaces the base series whole: nothing before 2026-01-01
    assert changning.require("category.dibao.outpatient_rate", date(2026, 1, 1)).value == \
        Decimal("0.70")
    assert changning.at("category.dibao.outpatient_rate", date(2025, 12, 31)) is None
    for district in ("minhang", "shanghai"):
        view = params.for_program("assistance", district)
        assert view.require("category.dibao.outpatient_rate", date(2026, 1, 1)).value == \
            Decimal("0.60")
    assert changning.require("category.dibao.inpatient_rate", date(2026, 1, 1)).value == \
        Decimal("0.90")


def test_the_d1_tekun_values_are_flagged_as_assumptions() -> None:
    params = load_parameters(SHIPPED)
    view = params.for_program("assistance", "shanghai")
    day = date(2026, 5, 20)
    for name in ("inpatient_rate", "outpatient_rate", "inpatient_cap", "outpatient_cap"):
        entry = view.require(f"category.tekun.{name}", day)
        assert entry.assumption is True, name
        assert entry.source == "POLICY D1"
    assert view.require("category.tekun.inpatient_rate", day).value == Decimal("1.00")
    assert view.require("category.tekun.inpatient_cap", day).value is None
    assert view.require("category.dibao.inpatient_rate", day).assumption is False
    assert view.require("category.special_relief.inpatient_rate", day).assumption is False
    # the only assumptions: D1's four tekun values and D3's 300 threshold
    flagged = {(e.file, e.key, e.effective_from) for e in params.all_values() if e.assumption}
    assert flagged == {("assistance.yaml", f"category.tekun.{n}", date(2022, 12, 29)) for n in
                       ("inpatient_rate", "outpatient_rate", "inpatient_cap", "outpatient_cap")
                       } | {("mutual_aid.yaml", "outpatient.threshold", date(2025, 1, 1))}
