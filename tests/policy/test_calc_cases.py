"""Every example of ../shared/calc-cases gives its expected result through the real command."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CASES = sorted((ROOT.parent / "shared" / "calc-cases").glob("*.json"))


def test_the_shared_examples_are_there() -> None:
    assert len(CASES) >= 5, "../shared/calc-cases must sit beside the repository"


@pytest.mark.parametrize("path", CASES, ids=[p.stem for p in CASES])
def test_calc_case(path: Path, tmp_path: Path) -> None:
    example = json.loads(path.read_text(encoding="utf-8"))
    case_file = tmp_path / "case.json"
    case_file.write_text(json.dumps(example["case"], ensure_ascii=False), encoding="utf-8")
    done = subprocess.run([sys.executable, "-m", "desktop", "calc", str(case_file)],
                          capture_output=True, text=True, cwd=ROOT, timeout=60)
    expect = example["expect"]
    assert done.returncode == expect["exit"], done.stderr
    assert "Traceback" not in done.stderr
    if expect["exit"] != 0:
        lines = done.stderr.splitlines()
        assert len(lines) == 1
        assert lines[0].startswith(expect["stderr_starts"])
        assert done.stdout == ""
        return
    out = json.loads(done.stdout)
    assert out["schema"] == "counter-calc/1"
    assert out["payable"] == expect["payable"]
    if "buckets" in expect:
        assert out["buckets"] == expect["buckets"]
    rows = {r["id"]: r for r in out["rows"]}
    assert [r["id"] for r in out["rows"]] == [f["id"] for f in example["case"]["fees"]]
    for row_id, wanted in expect.get("rows", {}).items():
        for key, value in wanted.items():
            assert rows[row_id][key] == value, (row_id, key)
    assert out["trace"], "every result explains itself"


def test_standard_input_is_accepted() -> None:
    example = json.loads((ROOT.parent / "shared" / "calc-cases" / "dibao-outpatient.json")
                         .read_text(encoding="utf-8"))
    done = subprocess.run([sys.executable, "-m", "desktop", "calc", "-"],
                          input=json.dumps(example["case"]), capture_output=True, text=True,
                          cwd=ROOT, timeout=60)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["payable"] == "600.00"


def test_installed_entry_point_runs_calc(tmp_path: Path) -> None:
    exe = Path(sys.executable).parent / "counter-desk"
    if not exe.exists():
        pytest.skip("counter-desk entry point not installed in this environment")
    example = json.loads((ROOT.parent / "shared" / "calc-cases" / "mutual-aid-outpatient.json")
                         .read_text(encoding="utf-8"))
    case_file = tmp_path / "case.json"
    case_file.write_text(json.dumps(example["case"]), encoding="utf-8")
    done = subprocess.run([str(exe), "calc", str(case_file)], capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["payable"] == example["expect"]["payable"]
