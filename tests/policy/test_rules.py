"""One table row per rule of POLICY.md, each with its hand-worked figure and the section it checks.

Each case goes through the contract (JSON in, JSON out), exactly as the counter and the `calc`
command use the engine. `payable` and `buckets` are the expected output; `reasons` maps a row
id to its reason code (None: it counts); `categories` maps a row id to the category applied.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import pytest

from desktop.policy.contract import calculate_text
from tests.policy.builders import assistance, fee, mutual_aid


@dataclass
class Rule:
    name: str
    section: str
    case: dict[str, Any]
    payable: str
    buckets: dict[str, str] | None = None
    reasons: dict[str, str | None] = field(default_factory=dict)
    categories: dict[str, str | None] = field(default_factory=dict)
    rates: dict[str, str | None] = field(default_factory=dict)
    warnings: tuple[str, ...] = ()  # substrings that must appear among the warnings
    no_warnings: bool = False  # True: the result must carry no warning at all
    # "year bucket" → the amounts of the limits (caps, thresholds) shown for that year
    limits: dict[str, tuple[str, ...]] = field(default_factory=dict)


def settled(row: dict[str, Any]) -> dict[str, Any]:
    return {**row, "settled": True}


DIBAO = [("dibao", "2024-01-01", None)]
LOW = [("low_income", "2024-01-01", None)]

RULES = [
    # -- POLICY.md §1: categories and their rates --------------------------------------------
    Rule("dibao outpatient 60 %: 1000 × 0.60", "§1 table",
         assistance([fee("A", "2026-04-08", "1000.00")]), "600.00", {"outpatient": "600.00"},
         categories={"A": "dibao"}, rates={"A": "0.60"}),
    Rule("dibao inpatient 90 %: 10000 × 0.90", "§1 table",
         assistance([fee("A", "2026-04-08", "10000.00", "inpatient")]), "9000.00",
         {"inpatient": "9000.00"}),
    Rule("low_income outpatient 50 %: 1000 × 0.50", "§1 table",
         assistance([fee("A", "2026-04-08", "1000.00")], LOW), "500.00"),
    Rule("low_income inpatient 80 %: 20000 × 0.80", "§1 table",
         assistance([fee("A", "2026-04-08", "20000.00", "inpatient")], LOW), "16000.00"),
    Rule("special_relief 100 % and no cap: 3000 + 200000", "§1 table",
         assistance([fee("A", "2026-04-08", "3000.00"),
                     fee("B", "2026-04-09", "200000.00", "inpatient")],
                    [("special_relief", "2024-01-01", None)]),
         "203000.00", {"outpatient": "3000.00", "inpatient": "200000.00"}),
    Rule("tekun 100 % without cap, flagged as an assumption", "§1 table, §4 D1",
         assistance([fee("A", "2026-04-08", "5000.00")], [("tekun", "2024-01-01", None)]),
         "5000.00", warnings=("假定值",)),
    Rule("orphan as dibao: 1000 × 0.60", "§1 table",
         assistance([fee("A", "2026-04-08", "1000.00")], [("orphan", "2024-01-01", None)]),
         "600.00", categories={"A": "orphan"}),
    Rule("distressed_child as dibao inpatient: 1000 × 0.90", "§1 table",
         assistance([fee("A", "2026-04-08", "1000.00", "inpatient")],
                    [("distressed_child", "2024-01-01", None)]), "900.00"),
    Rule("expenditure_1 inpatient 70 %: 10000 × 0.70", "§1 table",
         assistance([fee("A", "2026-04-08", "10000.00", "inpatient")],
                    [("expenditure_1", "2024-01-01", None)]), "7000.00"),
    Rule("expenditure_2 inpatient 50 %: 10000 × 0.50", "§1 table",
         assistance([fee("A", "2026-04-08", "10000.00", "inpatient")],
                    [("expenditure_2", "2024-01-01", None)]), "5000.00"),
    Rule("expenditure_1 outpatient is not covered", "§1 table, §3 kind_not_covered, §4 D2",
         assistance([fee("A", "2026-04-08", "1000.00")], [("expenditure_1", "2024-01-01", None)]),
         "0.00", {}, reasons={"A": "kind_not_covered"}, categories={"A": "expenditure_1"}),
    # -- 就高不重复 ------------------------------------------------------------------------------
    Rule("就高不重复: dibao and low_income on the same day → dibao only (600, not 1100)",
         "§1 就高不重复",
         assistance([fee("A", "2026-04-08", "1000.00")],
                    [("low_income", "2024-01-01", None), ("dibao", "2025-01-01", None)]),
         "600.00", categories={"A": "dibao"}),
    Rule("就高不重复 per row kind: inpatient low_income 80 % beats expenditure_1 70 %; "
         "outpatient only low_income pays (50 %): 800 + 500", "§1 就高不重复",
         assistance([fee("A", "2026-04-08", "1000.00", "inpatient"),
                     fee("B", "2026-04-09", "1000.00")],
                    [("expenditure_1", "2024-01-01", None), ("low_income", "2024-01-01", None)]),
         "1300.00", categories={"A": "low_income", "B": "low_income"}),
    Rule("就高不重复 tie (dibao = orphan = 60 %): the file's order picks dibao", "§1 就高不重复",
         assistance([fee("A", "2026-04-08", "1000.00")],
                    [("orphan", "2024-01-01", None), ("dibao", "2024-01-01", None)]),
         "600.00", categories={"A": "dibao"}),
    # -- category on the row's date ------------------------------------------------------------
    Rule("category on each row's date: 500 × 0.50 (low_income) + 500 × 0.60 (dibao)",
         "§1 category on the row's date",
         assistance([fee("A", "2026-03-31", "500.00"), fee("B", "2026-04-01", "500.00")],
                    [("low_income", "2024-01-01", "2026-03-31"), ("dibao", "2026-04-01", None)]),
         "550.00", categories={"A": "low_income", "B": "dibao"}),
    Rule("no category on the row's date", "§3 no_category",
         assistance([fee("A", "2026-03-10", "1000.00"), fee("B", "2026-05-01", "1000.00")],
                    [("dibao", "2026-05-01", None)]),
         "600.00", reasons={"A": "no_category", "B": None}),
    Rule("means-test exception: new recipient, row in the family check, same year → first "
         "category applies", "§3 no_category (CN-2026 4.3)",
         assistance([fee("A", "2026-03-10", "1000.00", means_test_included=True)],
                    [("dibao", "2026-05-01", None)]),
         "600.00", reasons={"A": None}, categories={"A": "dibao"}),
    Rule("means-test exception does not reach into the previous year", "§3 no_category",
         assistance([fee("A", "2025-12-20", "1000.00", means_test_included=True)],
                    [("dibao", "2026-05-01", None)]),
         "0.00", reasons={"A": "no_category"}),
    # -- 低保 outpatient deductible subsidy -------------------------------------------------------
    Rule("dibao in the resident scheme: 起付线 300 paid in full + 60 % × 700 = 720",
         "§1 outpatient deductible subsidy",
         assistance([fee("A", "2026-04-08", "1000.00", deductible_part="300.00")],
                    resident_insurance=True),
         "720.00", {"outpatient": "420.00", "deductible": "300.00"}),
    Rule("no deductible subsidy outside the resident scheme: 60 % × 1000", "§1 deductible",
         assistance([fee("A", "2026-04-08", "1000.00", deductible_part="300.00")]),
         "600.00", {"outpatient": "600.00"}),
    Rule("no deductible subsidy for low_income: 50 % × 1000", "§1 deductible",
         assistance([fee("A", "2026-04-08", "1000.00", deductible_part="300.00")], LOW,
                    resident_insurance=True),
         "500.00", {"outpatient": "500.00"}),
    Rule("deductible subsidy is outside the 2,800 cap: cap already used, 起付线 200 still paid",
         "§1 deductible, caps",
         assistance([settled(fee("H", "2026-02-01", "5000.00")),
                     fee("A", "2026-04-08", "1000.00", deductible_part="200.00")],
                    resident_insurance=True),
         "200.00", {"deductible": "200.00"}),
    # -- caps per invoice year --------------------------------------------------------------
    Rule("outpatient cap 2,800: 5000 × 0.60 = 3000 → 2800", "§1 caps",
         assistance([fee("A", "2026-04-08", "5000.00")]), "2800.00"),
    Rule("inpatient cap 130,000: 150000 × 0.90 = 135000 → 130000", "§1 caps",
         assistance([fee("A", "2026-04-08", "150000.00", "inpatient")]), "130000.00"),
    Rule("cap shared across a category change: low_income 4000 × 0.5 = 2000 settled; dibao "
         "2000 × 0.6 = 1200 → room 800", "§1 caps",
         assistance([settled(fee("H", "2026-02-01", "4000.00")),
                     fee("A", "2026-05-08", "2000.00")],
                    [("low_income", "2024-01-01", "2026-03-31"), ("dibao", "2026-04-01", None)]),
         "800.00"),
    Rule("caps are per invoice year: 2025 has room 400, 2026 is fresh (600)", "§0.3, §1 caps",
         assistance([settled(fee("H", "2025-08-01", "4000.00")),
                     fee("A", "2025-12-20", "1000.00"), fee("B", "2026-01-05", "1000.00")],
                    application_date="2026-02-10"),
         "1000.00", {"outpatient": "1000.00"}),
    # -- 门诊大病 as inpatient (D4) ----------------------------------------------------------
    Rule("门诊大病 at the inpatient rate: 1000 × 0.90", "§4 D4",
         assistance([fee("A", "2026-04-08", "1000.00", "major_outpatient")]), "900.00",
         {"inpatient": "900.00"}),
    Rule("门诊大病 shares the inpatient cap: 126000 settled, 9000 raw → room 4000", "§4 D4, caps",
         assistance([settled(fee("H", "2026-02-01", "140000.00", "inpatient")),
                     fee("A", "2026-04-08", "10000.00", "major_outpatient")]),
         "4000.00", {"inpatient": "4000.00"}),
    # -- D7: a 大病 person's other costs are paid by their own kind -----------------------------
    Rule("D7: 门诊大病 row as 大病 (1000 × 0.90 = 900, inpatient); the same person's 门急诊 row "
         "the same day, even a 居保大病 one with its proof, as outpatient: 1000 × 0.60 = 600",
         "§4 D7, D4",
         assistance([fee("A", "2026-04-08", "1000.00", "major_outpatient"),
                     fee("B", "2026-04-08", "1000.00", major_illness=True,
                         major_illness_doc=True)]),
         "1500.00", {"inpatient": "900.00", "outpatient": "600.00"},
         rates={"A": "0.90", "B": "0.60"}),
    Rule("D7: the outpatient cap binds the 大病 person's 门急诊 row although the inpatient cap "
         "has room: H 5000 × 0.60 = 3000 → 2800 settled; 门诊大病 1000 × 0.90 = 900; "
         "门急诊 1000 → 0", "§4 D7, §1 caps",
         assistance([settled(fee("H", "2026-02-01", "5000.00")),
                     fee("A", "2026-04-08", "1000.00", "major_outpatient"),
                     fee("B", "2026-04-08", "1000.00")]),
         "900.00", {"inpatient": "900.00"}, reasons={"A": None, "B": None}),
    # -- 闵行 second round ---------------------------------------------------------------------
    Rule("闵行 second round: 16000 city + 50 % × 4000 = 2000", "§1 闵行 second round",
         assistance([fee("A", "2026-05-02", "20000.00", "inpatient")], LOW, district="minhang"),
         "18000.00", {"inpatient": "16000.00", "district": "2000.00"}),
    Rule("闵行 second round after the deductible subsidy: 720 city, 50 % × 280 = 140",
         "§1 闵行 second round, deductible",
         assistance([fee("A", "2026-04-08", "1000.00", deductible_part="300.00")],
                    district="minhang", resident_insurance=True),
         "860.00", {"outpatient": "420.00", "deductible": "300.00", "district": "140.00"}),
    Rule("闵行 second round cap 30,000: city 130000 (capped), 50 % × 70000 = 35000 → 30000",
         "§1 闵行 second round",
         assistance([fee("A", "2026-04-08", "200000.00", "inpatient")], district="minhang"),
         "160000.00", {"inpatient": "130000.00", "district": "30000.00"}),
    Rule("闵行 second round on the cumulative year: H 10000 → city 9000, district 500; C 10000 "
         "→ +9000, +500", "§0.4, §1 闵行 second round",
         assistance([settled(fee("H", "2026-02-01", "10000.00", "inpatient")),
                     fee("A", "2026-04-08", "10000.00", "inpatient")], district="minhang"),
         "9500.00", {"inpatient": "9000.00", "district": "500.00"}),
    Rule("rows that do not count get no second round", "§1 闵行 second round",
         assistance([fee("A", "2026-04-08", "1000.00")], [("expenditure_1", "2024-01-01", None)],
                    district="minhang"),
         "0.00", {}, reasons={"A": "kind_not_covered"}),
    Rule("长宁 has no second round", "§1 (changning = city rules)",
         assistance([fee("A", "2026-05-02", "20000.00", "inpatient")], LOW, district="changning"),
         "16000.00", {"inpatient": "16000.00"}),
    Rule("shanghai (city rules) has no second round", "§1",
         assistance([fee("A", "2026-05-02", "20000.00", "inpatient")], LOW, district="shanghai"),
         "16000.00", {"inpatient": "16000.00"}),
    # -- §3 reason codes and their order -----------------------------------------------------
    Rule("already_claimed, one_stop_settled, clearing_pending never count", "§3",
         assistance([fee("A", "2026-04-08", "100.00", already_claimed=True),
                     fee("B", "2026-04-08", "100.00", one_stop_settled=True),
                     fee("C", "2026-04-08", "100.00", clearing_pending=True),
                     fee("D", "2026-04-08", "100.00")]),
         "60.00", reasons={"A": "already_claimed", "B": "one_stop_settled",
                           "C": "clearing_pending", "D": None}),
    Rule("reasons are reported in §3's order", "§3 order",
         assistance([fee("A", "2025-01-08", "100.00", already_claimed=True, one_stop_settled=True,
                         in_shanghai=False),
                     fee("B", "2026-04-08", "100.00", one_stop_settled=True,
                         clearing_pending=True),
                     fee("C", "2026-04-08", "100.00", clearing_pending=True, major_illness=True),
                     fee("D", "2025-01-08", "100.00", major_illness=True, in_shanghai=False),
                     fee("E", "2025-01-08", "100.00", in_shanghai=False),
                     fee("F", "2023-06-01", "100.00")],
                    [("dibao", "2024-01-01", None)]),
         "0.00", reasons={"A": "already_claimed", "B": "one_stop_settled",
                          "C": "clearing_pending", "D": "major_illness_doc_missing",
                          "E": "out_of_shanghai", "F": "overdue"}),
    Rule("居保大病 row needs its proof", "§3 major_illness_doc_missing",
         assistance([fee("A", "2026-04-08", "1000.00", major_illness=True),
                     fee("B", "2026-04-09", "1000.00", major_illness=True,
                         major_illness_doc=True)]),
         "600.00", reasons={"A": "major_illness_doc_missing", "B": None}),
    Rule("assistance outside Shanghai: counts only when filed and settled", "§3 out_of_shanghai",
         assistance([fee("A", "2026-04-08", "1000.00", in_shanghai=False),
                     fee("B", "2026-04-09", "1000.00", in_shanghai=False,
                         out_of_province_filed=True)]),
         "600.00", reasons={"A": "out_of_shanghai", "B": None}),
    Rule("6-month window: 2025-12-31 is still claimable on 2026-06-30", "§3 overdue",
         assistance([fee("A", "2025-12-31", "100.00")], application_date="2026-06-30"),
         "60.00", reasons={"A": None}),
    Rule("6-month window: 2025-12-31 is overdue on 2026-07-01", "§3 overdue",
         assistance([fee("A", "2025-12-31", "100.00")], application_date="2026-07-01"),
         "0.00", reasons={"A": "overdue"}),
    Rule("D8: the window applies in every district: 2025-12-31 is overdue on 2026-07-01 in "
         "shanghai (city rules)", "§3 overdue, §4 D8",
         assistance([fee("A", "2025-12-31", "100.00")], application_date="2026-07-01",
                    district="shanghai"),
         "0.00", reasons={"A": "overdue"}),
    Rule("D8: the window applies in every district: 2025-12-31 is overdue on 2026-07-01 in "
         "闵行 (no city or second-round payment)", "§3 overdue, §4 D8",
         assistance([fee("A", "2025-12-31", "100.00")], application_date="2026-07-01",
                    district="minhang"),
         "0.00", {}, reasons={"A": "overdue"}),
    Rule("D8: in 闵行 2025-12-31 is still claimable on 2026-06-30: 100 × 0.60 = 60, "
         "second round 50 % × 40 = 20", "§3 overdue, §4 D8, §1 闵行 second round",
         assistance([fee("A", "2025-12-31", "100.00")], application_date="2026-06-30",
                    district="minhang"),
         "80.00", {"outpatient": "60.00", "district": "20.00"}, reasons={"A": None}),
    Rule("month-end rule: 2026-03-31 → last day 2026-09-30 (September has no 31st)",
         "§3 overdue month-end",
         assistance([fee("A", "2026-03-31", "100.00")], application_date="2026-09-30"),
         "60.00", reasons={"A": None}),
    Rule("month-end rule: 2026-03-31 is overdue on 2026-10-01", "§3 overdue month-end",
         assistance([fee("A", "2026-03-31", "100.00")], application_date="2026-10-01"),
         "0.00", reasons={"A": "overdue"}),
    Rule("month-end rule: 2026-08-31 → last day 2027-02-28", "§3 overdue month-end",
         assistance([fee("A", "2026-08-31", "100.00"), fee("B", "2026-09-01", "100.00")],
                    application_date="2027-03-01"),
         "60.00", reasons={"A": "overdue", "B": None}),
    Rule("settled history rows are not checked for the window, they feed the year",
         "§0.4, §3 overdue",
         assistance([settled(fee("H", "2026-01-05", "4000.00")),
                     fee("A", "2026-08-01", "1000.00")], application_date="2026-09-01"),
         "400.00", reasons={"H": None, "A": None}),
    # -- mutual aid (§1 市民社区医疗互助帮困) ----------------------------------------------------
    # Threshold (D3): 500 for fee dates to 2024-12-31, 300 from 2025-01-01 (an assumption,
    # so every case using the 300 carries the 假定值 warning).
    Rule("mutual aid outpatient, 2026 row: 900 level 1 → (900 − 300) × 0.85 = 510",
         "§1 mutual aid, D3",
         mutual_aid([fee("A", "2026-03-15", "900.00", level=1)]), "510.00",
         {"outpatient": "510.00"}, rates={"A": "0.85"}, limits={"2026 outpatient": ("300.00",)},
         warnings=("假定值",)),
    Rule("D3 boundary, last day of 500: 2024-12-31, 900 level 1 → (900 − 500) × 0.85 = 340",
         "§1 mutual aid, D3",
         mutual_aid([fee("A", "2024-12-31", "900.00", level=1)], member_years=[2024],
                    benefits_from="2024-01-01", application_date="2025-01-10"),
         "340.00", {"outpatient": "340.00"}, limits={"2024 outpatient": ("500.00",)},
         no_warnings=True),
    Rule("D3 boundary, first day of 300: 2025-01-01, 900 level 1 → (900 − 300) × 0.85 = 510",
         "§1 mutual aid, D3",
         mutual_aid([fee("A", "2025-01-01", "900.00", level=1)], member_years=[2025],
                    benefits_from="2025-01-01", application_date="2025-01-10"),
         "510.00", {"outpatient": "510.00"}, limits={"2025 outpatient": ("300.00",)},
         warnings=("假定值",)),
    Rule("D3 across two invoice years, each with its own threshold: 2024 A 600 (L1) → "
         "(600 − 500) × 0.85 = 85; 2025 B 400 (L2) → (400 − 300) × 0.80 = 80; 85 + 80 = 165",
         "§0.3, §1 mutual aid, D3",
         mutual_aid([fee("B", "2025-01-01", "400.00", level=2),
                     fee("A", "2024-12-31", "600.00", level=1)], member_years=[2024, 2025],
                    benefits_from="2024-01-01", application_date="2025-02-10"),
         "165.00", {"outpatient": "165.00"},
         limits={"2024 outpatient": ("500.00",), "2025 outpatient": ("300.00",)},
         warnings=("假定值",)),
    Rule("D3 across two years, with history: 2024 H 450 settled + A 100 → 450 + 50 fill 500, "
         "50 × 0.85 = 42.50; 2025 H 250 settled + B 100 → 250 + 50 fill 300, 50 × 0.75 = 37.50; "
         "42.50 + 37.50 = 80",
         "§0.3, §0.4, §1 mutual aid, D3",
         mutual_aid([settled(fee("H1", "2024-06-01", "450.00", level=2)),
                     settled(fee("H2", "2025-01-05", "250.00", level=2)),
                     fee("A", "2024-12-31", "100.00", level=1),
                     fee("B", "2025-01-06", "100.00", level=3)], member_years=[2024, 2025],
                    benefits_from="2024-01-01", application_date="2025-02-10"),
         "80.00", {"outpatient": "80.00"}),
    Rule("threshold filled in row order, each row above it at its level rate: "
         "A 300 (L1) fills 300 exactly; 400 × 0.80 + 200 × 0.75 = 470",
         "§1 mutual aid outpatient, D3",
         mutual_aid([fee("C", "2026-03-01", "200.00", level=3),
                     fee("A", "2026-01-10", "300.00", level=1),
                     fee("B", "2026-02-01", "400.00", level=2)]), "470.00"),
    Rule("threshold filled in row order, a row across it: 200 (L1) + 100 of 400 (L2) fill "
         "300; 300 × 0.80 + 200 × 0.75 = 390",
         "§1 mutual aid outpatient, D3",
         mutual_aid([fee("C", "2026-03-01", "200.00", level=3),
                     fee("A", "2026-01-10", "200.00", level=1),
                     fee("B", "2026-02-01", "400.00", level=2)]), "390.00"),
    Rule("allowance first: 150 of row A from the card; cash 50 + 250 of 600 fill 300, "
         "350 × 0.80 = 280", "§1 mutual aid allowance, D3",
         mutual_aid([fee("A", "2026-01-10", "200.00", level=1),
                     fee("B", "2026-02-01", "600.00", level=2)], allowance_balance="150.00"),
         "430.00", {"allowance": "150.00", "outpatient": "280.00"}),
    Rule("门诊大病 counts as outpatient in mutual aid: (1000 − 300) × 0.75 = 525",
         "§1 mutual aid, D3",
         mutual_aid([fee("A", "2026-03-01", "1000.00", "major_outpatient", level=3)]), "525.00",
         {"outpatient": "525.00"}),
    Rule("inpatient without external insurance: 50 % × (4000 − 1000) = 1500",
         "§1 mutual aid inpatient",
         mutual_aid([fee("A", "2026-03-01", "4000.00", "inpatient", out_of_scope="1000.00")]),
         "1500.00", {"inpatient": "1500.00"}),
    Rule("inpatient without external insurance, cumulative: H 600 then C 1400 → 50 % × 1000",
         "§0.4, §1 mutual aid inpatient",
         mutual_aid([settled(fee("H", "2026-02-01", "600.00", "inpatient")),
                     fee("A", "2026-03-01", "1400.00", "inpatient")]), "500.00"),
    Rule("inpatient with external insurance: 60 % × (10000 − 1000 − 6000) = 1800",
         "§1 mutual aid inpatient",
         mutual_aid([fee("A", "2026-03-01", "10000.00", "inpatient",
                         external_deductible="1000.00", external_reimbursed="6000.00")],
                    external=True), "1800.00"),
    Rule("8 % floor: 60 % × 1500 = 900, but self-pay must stay ≥ 800 of 10000 → 700",
         "§1 mutual aid 8 % floor",
         mutual_aid([fee("A", "2026-03-01", "10000.00", "inpatient",
                         external_reimbursed="8500.00")], external=True), "700.00"),
    Rule("mutual aid never covers other provinces, filed or not", "§3 out_of_shanghai",
         mutual_aid([fee("A", "2026-03-01", "900.00", in_shanghai=False,
                         out_of_province_filed=True)]), "0.00",
         reasons={"A": "out_of_shanghai"}),
    Rule("not a member for the row's year", "§3 not_enrolled",
         mutual_aid([fee("A", "2026-03-01", "900.00")], member_years=[2025],
                    benefits_from=None), "0.00", reasons={"A": "not_enrolled"}),
    Rule("mid-year enrolment: benefits from the month after payment; B (900 − 300) × 0.85 "
         "= 510", "§3 not_enrolled",
         mutual_aid([fee("A", "2026-03-31", "900.00", level=1),
                     fee("B", "2026-04-01", "900.00", level=1)], benefits_from="2026-04-01"),
         "510.00", reasons={"A": "not_enrolled", "B": None}),
    Rule("mutual aid has no 6-month window: (900 − 300) × 0.85 = 510",
         "§3 overdue (assistance only)",
         mutual_aid([fee("A", "2026-01-05", "900.00", level=1)], application_date="2026-12-20"),
         "510.00", reasons={"A": None}),
    Rule("MA-2021 expired on 2026-08-17: its rates stay in force, with a warning; "
         "(900 − 300) × 0.85 = 510", "§4 D5, D3",
         mutual_aid([fee("A", "2026-08-20", "900.00", level=1)], application_date="2026-09-01"),
         "510.00", warnings=("MA-2021 已于 2026-08-17 到期", "假定值")),
    # -- §0.4 marginal payment and D6 rounding ----------------------------------------------
    Rule("marginal: H 3000 → 1800; C 2000 → raw 1200, room 1000", "§0.4",
         assistance([settled(fee("H", "2026-02-01", "3000.00")),
                     fee("A", "2026-04-08", "2000.00")]), "1000.00"),
    Rule("marginal, other order of arrival: H 2000 → 1200; C 3000 → room 1600", "§0.4",
         assistance([settled(fee("H", "2026-02-01", "2000.00")),
                     fee("A", "2026-04-08", "3000.00")]), "1600.00"),
    Rule("D6: three rows of 0.01 × 0.60 round once per bucket: 0.018 → 0.02", "§4 D6",
         assistance([fee("A", "2026-04-08", "0.01"), fee("B", "2026-04-09", "0.01"),
                     fee("C", "2026-04-10", "0.01")]), "0.02"),
    Rule("D6: half up, 0.01 × 0.50 = 0.005 → 0.01", "§4 D6",
         assistance([fee("A", "2026-04-08", "0.01")], LOW), "0.01"),
]


@pytest.mark.parametrize("rule", RULES, ids=[f"{r.section}: {r.name}" for r in RULES])
def test_rule(rule: Rule) -> None:
    out = calculate_text(json.dumps(rule.case))
    assert out["payable"] == rule.payable
    if rule.buckets is not None:
        assert out["buckets"] == rule.buckets
    assert sum(_cents(v) for v in out["buckets"].values()) == _cents(out["payable"])
    rows = {r["id"]: r for r in out["rows"]}
    for row_id, reason in rule.reasons.items():
        assert rows[row_id]["reason"] == reason, row_id
        assert rows[row_id]["counts"] is (reason is None)
    for row_id, category in rule.categories.items():
        assert rows[row_id]["category"] == category, row_id
    for row_id, rate in rule.rates.items():
        assert rows[row_id]["rate"] == rate, row_id
    for text in rule.warnings:
        assert any(text in w for w in out["warnings"]), out["warnings"]
        assert any(text in line for line in out["trace"])
    if rule.no_warnings:
        assert out["warnings"] == []
    shown = {f"{y['year']} {y['bucket']}": tuple(lim["amount"] for lim in y["limits"])
             for y in out["years"]}
    for year_bucket, amounts in rule.limits.items():
        assert shown.get(year_bucket) == amounts, shown


def _cents(text: str) -> int:
    units, _, fen = text.partition(".")
    return int(units) * 100 + int(fen)


@pytest.mark.parametrize("district", ["shanghai", "changning", "minhang"])
@pytest.mark.parametrize("program", ["assistance", "mutual_aid"])
def test_city_rules_are_the_same_in_every_district(program: str, district: str) -> None:
    """POLICY.md §1: only 闵行 adds a bucket (its second round); the city figures are equal."""
    if program == "assistance":
        case = assistance([fee("A", "2026-04-08", "1000.00"),
                           fee("B", "2026-04-09", "10000.00", "inpatient")], district=district)
        city = {"outpatient": "600.00", "inpatient": "9000.00"}
    else:
        case = mutual_aid([fee("A", "2026-03-15", "900.00", level=1),
                           fee("B", "2026-03-16", "3000.00", "inpatient")], district=district)
        # D3: (900 − 300) × 0.85 = 510; 50 % × (3000 − 1000) = 1000
        city = {"outpatient": "510.00", "inpatient": "1000.00"}
    out = calculate_text(json.dumps(case))
    for bucket, amount in city.items():
        assert out["buckets"][bucket] == amount
    extra = set(out["buckets"]) - set(city)
    if program == "assistance" and district == "minhang":
        # 50 % × (11000 − 9600) = 700
        assert extra == {"district"} and out["buckets"]["district"] == "700.00"
    else:
        assert extra == set()


def test_trace_names_every_parameter_with_its_source() -> None:
    """POLICY.md §0.5: every parameter used appears in the trace with its source."""
    out = calculate_text(json.dumps(assistance(
        [fee("A", "2026-04-08", "1000.00", deductible_part="300.00"),
         fee("B", "2026-04-09", "5000.00", "inpatient")],
        district="minhang", resident_insurance=True)))
    trace = "\n".join(out["trace"])
    for parameter in out["parameters"]:
        assert parameter["key"] in trace
        assert parameter["source"] in trace
    keys = {p["key"] for p in out["parameters"]}
    assert {"assistance:category.dibao.outpatient_rate", "assistance:category.dibao.inpatient_cap",
            "assistance:deductible_subsidy.rate", "minhang:district_round.cap"} <= keys
    assert "费用 A" in trace and "城乡低保家庭成员" in trace and "本次应付合计" in trace


def test_trace_explains_a_row_that_does_not_count() -> None:
    out = calculate_text(json.dumps(assistance(
        [fee("A", "2026-01-01", "100.00"), fee("B", "2025-12-20", "100.00", major_illness=True),
         fee("C", "2026-01-05", "100.00", major_illness=True)],
        application_date="2026-07-02")))
    trace = "\n".join(out["trace"])
    assert "费用 A（2026-01-01" in trace and "〔CN-2026 4.3〕；最迟申请日 2026-07-01" in trace
    # CN-2026 3.6: the proof changed on 2026-01-01
    assert "城乡居保大病结算单原件" in trace
    assert "居保大病65%" in trace


def test_cap_reached_is_shown() -> None:
    out = calculate_text(json.dumps(assistance([fee("A", "2026-04-08", "5000.00")])))
    (line,) = [y for y in out["years"] if y["bucket"] == "outpatient"]
    assert line["after"] == "2800.00"
    assert line["limits"] == [{"name": "年度救助限额", "amount": "2800.00",
                               "source": "MH-2026 §八.六", "reached": True}]
    assert any("（已达到）" in t for t in out["trace"])
