"""The office's words: no engineering words on official paper or in the explanation clerks read.

Scans the text of every form `desktop.printing.render_all` writes (through pdftotext) and every
human line the engine's explanation gives for the shared calc cases, for: UUIDs, fee row ids
(F000000197), logins (huayang.clerk1), parameter keys (assistance:category.dibao.outpatient_cap),
"POLICY D…" decisions, "§" source keys, the documents' short keys (MH-2026), and amounts of 1,000
or more written without a thousands separator.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from desktop.policy.contract import calculate_text
from desktop.policy.explain import human_lines

ROOT = Path(__file__).resolve().parents[1]
CASES = ROOT.parent / "shared" / "calc-cases"

ENGINEERING: dict[str, re.Pattern[str]] = {
    "UUID": re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-"
                       r"[0-9a-fA-F]{12}"),
    # the district's numbering, F and nine digits: not the enrolment form's 8-character
    # reference (a UUID's first group, e.g. F876873A), which read as one about once in 250 runs
    "row id": re.compile(r"(?<![A-Za-z0-9])F\d{9}(?![A-Za-z0-9])"),
    "login": re.compile(r"(?<![A-Za-z0-9@.])[a-z]+\.[a-z]+\d*(?![A-Za-z0-9.])"),
    "parameter key": re.compile(r"[a-z_]+:[a-z_]+(\.[a-z_0-9]+)*"),
    "POLICY decision": re.compile(r"POLICY\s*D\d*"),
    "source key": re.compile(r"§|\b(MA|SA|CN|MH|EMP)-20\d\d\b"),
    "amount without separator": re.compile(r"(?<![\d.,])\d{4,}\.\d{2}(?!\d)"),
}


def engineering_words(text: str) -> list[tuple[str, str]]:
    return [(what, m.group(0)) for what, pattern in ENGINEERING.items()
            for m in pattern.finditer(text)]


def test_the_scanner_finds_each_kind_of_engineering_word() -> None:
    text = ("参数 assistance:category.low_income.outpatient_cap = 2800.00〔MH-2026 §八.六〕"
            "POLICY D1 费用 F000000197 经办人 huayang.clerk1 "
            "申请编号 95783d2e-b140-4c60-839d-b99b795f03e7")
    found = {what for what, _word in engineering_words(text)}
    assert found == set(ENGINEERING)
    assert engineering_words("年度救助限额 2,800.00 元（沪医保规〔2021〕10号 四(二)）比例 50%"
                             "，2026-06-10，票据 0000031205，申请编号 华阳-2026-03-0042") == []


@pytest.fixture(scope="module")
def rendered(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    if shutil.which("pdftotext") is None:
        pytest.skip("pdftotext (poppler-utils) is not installed")
    out = tmp_path_factory.mktemp("forms")
    subprocess.run([sys.executable, "-m", "desktop.printing.render_all", str(out)], cwd=ROOT,
                   check=True, capture_output=True, timeout=600)
    texts = {}
    for pdf in sorted(out.glob("*.pdf")):
        done = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], capture_output=True,
                              text=True, check=True, timeout=60)
        texts[pdf.stem] = done.stdout
    assert {"application", "approval", "payout_list"} <= set(texts)
    return texts


def test_every_rendered_form_speaks_the_offices_words(rendered: dict[str, str]) -> None:
    found = {name: engineering_words(text) for name, text in rendered.items()}
    assert {name: words for name, words in found.items() if words} == {}


def test_the_forms_carry_what_the_annexes_ask(rendered: dict[str, str]) -> None:
    application = rendered["application"]
    assert "开户银行" in application and "中国工商银行" in application
    assert "户籍地址" in application and "示例路 12 弄" in application
    assert "病史资料" in application and "已收（住院 1 张）" in application
    approval = rendered["approval"]
    assert "审核意见" in approval and "审批意见" in approval and "救助金额计算" in approval
    assert "赵审核" in approval and "王审批" in approval
    assert "签收" in rendered["payout_list"]


def _cases() -> list[Path]:
    """The shared cases that compute (the bad-input one is refused, with no explanation)."""
    return sorted(p for p in CASES.glob("*.json")
                  if "payable" in json.loads(p.read_text(encoding="utf-8")).get("expect", {}))


@pytest.mark.parametrize("path", _cases(), ids=lambda p: p.stem)
def test_the_explanation_of_every_calc_case_speaks_the_offices_words(path: Path) -> None:
    case = json.loads(path.read_text(encoding="utf-8"))["case"]
    out = calculate_text(json.dumps(case))
    lines = human_lines(out["trace"]) + human_lines(out["warnings"])
    assert lines
    assert [(line, engineering_words(line)) for line in lines if engineering_words(line)] == []
    # every parameter used is still named, by its Chinese name and the document's number
    assert len([line for line in lines if "（" in line]) >= len(out["parameters"])


def test_assumptions_and_expired_documents_read_as_the_office_says() -> None:
    """D1 (特困 at 100 %, an assumption) and D5 (MA-2021 expired, still applied)."""
    tekun = json.loads((CASES / "dibao-outpatient.json").read_text(encoding="utf-8"))["case"]
    tekun["person"]["categories"][0]["code"] = "tekun"
    late = json.loads((CASES / "mutual-aid-outpatient.json").read_text(encoding="utf-8"))["case"]
    late["application_date"] = "2026-09-01"
    for case, wanted in ((tekun, "政策未明确，按本区口径："), (late, "沪医保规〔2021〕10号")):
        out = calculate_text(json.dumps(case))
        lines = human_lines(out["trace"]) + human_lines(out["warnings"])
        assert [(line, engineering_words(line)) for line in lines
                if engineering_words(line)] == []
        assert any(wanted in line for line in lines), lines
