"""The year's sums and the row-by-row fill give the same entitlement (POLICY.md §0.3, §1).

The engine applies caps, thresholds and the 闵行 second round to the year's sums when their
values do not change during the year, and fills them row by row, with the value in force on
each row's date, when they do. Both must agree whenever the values are uniform, and the
row-by-row fill must follow a change of value mid-year.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

from hypothesis import given

from desktop.paths import resources_dir
from desktop.policy import engine
from desktop.policy.contract import calculate_text, default_parameters, parse_case
from desktop.policy.eligibility import Classifier
from desktop.policy.model import Program
from desktop.policy.parameters import load_parameters
from tests.policy.builders import assistance, fee, mutual_aid
from tests.policy.test_properties import SETTINGS, cases


def _both_ways(data: dict[str, Any]) -> list[tuple[Any, Any]]:
    params = default_parameters()
    case = parse_case(data, params)
    view = params.for_program(case.program.value, case.district.value)
    used: dict[int, Any] = {}
    classifier = Classifier(case, view, used)
    rows = sorted((r for r in map(classifier.classify, case.fees) if r.reason is None),
                  key=lambda r: r.row.order_key)
    if not rows:
        return []
    if case.program is Program.ASSISTANCE:
        fast = engine._assistance_year(rows, view, used)
        slow = engine._assistance_year(rows, view, used, by_row=True)
    else:
        allowance = engine._allocate_allowance(case, rows)
        fast = engine._mutual_aid_year(case, rows, view, used, allowance)
        slow = engine._mutual_aid_year(case, rows, view, used, allowance, by_row=True)
    return [(fast.after.sums, slow.after.sums), (fast.before.sums, slow.before.sums),
            (fast.after.reached, slow.after.reached), (fast.limits.keys(), slow.limits.keys())]


@SETTINGS
@given(cases())
def test_year_sums_equal_the_row_by_row_fill(case: dict[str, Any]) -> None:
    for fast, slow in _both_ways(case):
        assert fast == slow


def test_row_by_row_fill_is_exercised_by_caps_that_bind() -> None:
    """A hand-worked case where both ways must cut at the cap (§1 caps): 3000 + 600 → 2800."""
    data = assistance([fee("A", "2026-03-01", "5000.00", settled=True),
                       fee("B", "2026-04-01", "1000.00")])
    pairs = _both_ways(data)
    assert pairs and all(fast == slow for fast, slow in pairs)
    assert pairs[0][0][engine.Bucket.OUTPATIENT] == 2800


def _with_change(tmp_path: Path, edit: str, replacement: str, file: str) -> Path:
    target = tmp_path / "policy"
    shutil.copytree(resources_dir() / "policy", target)
    path = target / file
    text = path.read_text(encoding="utf-8")
    assert edit in text
    path.write_text(text.replace(edit, replacement, 1), encoding="utf-8")
    return target


def test_a_cap_raised_mid_year_applies_from_its_date(tmp_path: Path) -> None:
    """§0.1 dated values: dibao's outpatient cap rises to 3,000 on 2026-07-01 (a made-up change).
    March: 5000 × 0.60 = 3000 → 2800 (old cap). August: 1000 × 0.60 = 600 → room 3000 − 2800."""
    text = (resources_dir() / "policy" / "assistance.yaml").read_text(encoding="utf-8")
    start, end = text.index("    dibao:"), text.index("    orphan:")
    cap_line = ('        - {value: "2800.00", effective_from: 2022-12-29, '
                'source: "MH-2026 §八.六"}\n')
    assert cap_line in text[start:end]
    block = text[start:end].replace(
        cap_line,
        '        - {value: "2800.00", effective_from: 2022-12-29, effective_to: 2026-06-30, '
        'source: "MH-2026 §八.六"}\n'
        '        - {value: "3000.00", effective_from: 2026-07-01, source: "MH-2026 §八.六"}\n')
    directory = _with_change(tmp_path, text[start:end], block, "assistance.yaml")
    params = load_parameters(directory)
    data = assistance([fee("A", "2026-03-01", "5000.00", settled=True),
                       fee("B", "2026-08-01", "1000.00")], application_date="2026-09-01")
    out = calculate_text(json.dumps(data), params)
    assert out["payable"] == "200.00"
    limits = [lim["amount"] for y in out["years"] for lim in y["limits"]]
    assert limits == ["2800.00", "3000.00"]


def test_a_threshold_changed_mid_year_applies_from_its_date(tmp_path: Path) -> None:
    """§0.1 dated values: the 300 threshold (D3, from 2025-01-01) drops to 200 on 2026-07-01
    (a made-up change: the real D3 change falls on a year boundary, so never mid-year).
    May: 250 cash fills 250 of 300. August: 200 − 250 < 0 → nothing left to fill, so all 600
    of the August row is above it: 600 × 0.80 = 480."""
    line = ('      - {value: "300.00", effective_from: 2025-01-01, '
            'source: "MH-2026 §四 3 (POLICY D3)", assumption: true}\n')
    directory = _with_change(
        tmp_path, line,
        line + '      - {value: "200.00", effective_from: 2026-07-01, '
        'source: "MH-2026 §四 3 (POLICY D3)"}\n',
        "mutual_aid.yaml")
    params = load_parameters(directory)
    data = mutual_aid([fee("A", "2026-05-01", "250.00", settled=True),
                       fee("B", "2026-08-01", "600.00")], application_date="2026-09-01")
    out = calculate_text(json.dumps(data), params)
    assert out["payable"] == "480.00"
    limits = [lim["amount"] for y in out["years"] for lim in y["limits"]]
    assert limits == ["300.00", "200.00"]
    # the same rows under the shipped files: one threshold all year, 250 + 50 of 600 fill 300,
    # 550 × 0.80 = 440
    assert calculate_text(json.dumps(data))["payable"] == "440.00"
