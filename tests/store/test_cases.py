"""case_for: the engine's Case from cached rows gives what the same case as JSON gives."""

from __future__ import annotations

import json
import random
import uuid
from datetime import date
from decimal import Decimal
from typing import Any

import pytest

from desktop.policy.contract import calculate_text, default_parameters, result_to_json
from desktop.policy.engine import calculate
from desktop.policy.model import District, Program
from desktop.store import Store, UnknownFeeRow, UnknownPerson, apply_changes, case_for
from tests.store.conftest import fee_row_data, person_data, upsert

Row = tuple[str, str, str, int, str, str, str, dict[str, Any]]
SPANS = [("S1", "low_income", "2024-01-01", "2026-05-31"), ("S2", "dibao", "2026-06-01", None)]
ROWS: list[Row] = [
    # id, date, kind, level, total, out_of_scope, self_pay, extra
    ("H1", "2026-02-10", "outpatient", 1, "900.00", "100.00", "620.00",
     {"deductible_part": "20.00"}),
    ("H2", "2026-04-03", "inpatient", 3, "30000.00", "2000.00", "9000.00",
     {"external_deductible": "1500.00", "external_reimbursed": "12000.00"}),
    ("C1", "2026-06-15", "outpatient", 2, "480.55", "0.00", "300.10",
     {"deductible_part": "10.00"}),
    ("C2", "2026-07-01", "major_outpatient", 2, "5000.00", "500.00", "1800.00", {}),
    ("C3", "2026-08-20", "inpatient", 3, "42000.00", "3000.00", "15000.00",
     {"external_deductible": "1200.00", "external_reimbursed": "20000.00"}),
    ("C4", "2026-09-09", "outpatient", 3, "260.00", "60.00", "150.00",
     {"one_stop_settled": True}),
    ("C5", "2026-10-30", "outpatient", 2, "99.99", "0.00", "99.99", {"in_shanghai": False}),
]
TICKED = ["C1", "C2", "C3", "C4", "C5"]
SETTLED = ["H1", "H2"]
APPLICATION_DATE = "2026-11-20"


@pytest.fixture
def cached(store: Store, rnd: random.Random) -> None:
    person = person_data(rnd, "P1", "张三", resident_insurance=True, mutual_aid_years=[2026],
                         mutual_aid_benefits_from="2026-01-01",
                         external_inpatient_insurance=True, allowance_balance="80.00")
    changes = [upsert("person", "P1", person)]
    changes += [upsert("category_span", sid, {"id": sid, "person_id": "P1", "code": code,
                                              "start": start, "end": end, "source": "民政"})
                for sid, code, start, end in SPANS]
    for row_id, day, kind, level, total, oos, self_pay, extra in ROWS:
        changes.append(upsert("fee_row", row_id, fee_row_data(
            row_id, "P1", day, self_pay, kind=kind, hospital_level=level, total=total,
            out_of_scope=oos, **extra)))
    with store.session() as session:
        apply_changes(session, changes)


def contract_case(program: str, district: str) -> dict[str, Any]:
    """The same case written by hand in the calc contract's JSON."""
    fees = []
    for row_id, day, kind, level, total, oos, self_pay, extra in ROWS:
        fee = {"id": row_id, "receipt_no": f"R{row_id}", "date": day, "kind": kind,
               "hospital_level": level, "total": total, "out_of_scope": oos,
               "self_pay": self_pay, **extra}
        if row_id in SETTLED:
            fee["settled"] = True
        fees.append(fee)
    fees.sort(key=lambda f: (f["date"], f["receipt_no"], f["id"]))
    return {
        "schema": "counter-calc/1", "program": program, "district": district,
        "application_date": APPLICATION_DATE,
        "person": {
            "categories": [{"code": code, "from": start, "to": end}
                           for _sid, code, start, end in SPANS],
            "resident_insurance": True,
            "mutual_aid": {"member_years": [2026], "benefits_from": "2026-01-01",
                           "external_inpatient_insurance": True, "allowance_balance": "80.00"},
        },
        "fees": fees,
    }


@pytest.mark.parametrize(("program", "district"), [
    ("assistance", "changning"), ("assistance", "minhang"), ("assistance", "shanghai"),
    ("mutual_aid", "changning"),
])
def test_the_cached_case_computes_as_the_contract_case(
        store: Store, cached: None, program: str, district: str) -> None:
    params = default_parameters()
    with store.read_session() as session:
        case = case_for(session, "P1", program, district, date.fromisoformat(APPLICATION_DATE),
                        TICKED, SETTLED)
    assert case.program is Program(program) and case.district is District(district)
    assert all(isinstance(f.total, Decimal) for f in case.fees)
    ours = result_to_json(calculate(case, params), params)
    theirs = calculate_text(json.dumps(contract_case(program, district)), params)
    assert ours == theirs
    assert Decimal(ours["payable"]) > 0


def test_a_row_held_by_another_application_counts_as_claimed(
        store: Store, cached: None) -> None:
    ours, other = uuid.uuid4(), uuid.uuid4()
    claim = {"fee_row_id": "C1", "application_id": str(other), "street_code": "310105002",
             "device_id": "D9", "claimed_at": "2026-07-01T10:00:00+08:00", "status": "claimed"}
    held = {"fee_row_id": "H1", "application_id": str(other), "street_code": "310105001",
            "device_id": "D1", "claimed_at": "2026-03-01T10:00:00+08:00", "status": "paid"}
    with store.session() as session:
        apply_changes(session, [upsert("claim", "C1", claim), upsert("claim", "H1", held)])
    day = date.fromisoformat(APPLICATION_DATE)
    with store.read_session() as session:
        rows = {f.id: f for f in case_for(session, "P1", "assistance", "changning", day,
                                          TICKED, SETTLED).fees}
        assert rows["C1"].already_claimed and not rows["C2"].already_claimed
        assert not rows["H1"].already_claimed and rows["H1"].settled  # its own earlier claim
        mine = {f.id: f for f in case_for(session, "P1", "assistance", "changning", day,
                                          TICKED, SETTLED, application_id=other).fees}
        assert not mine["C1"].already_claimed
        others = {f.id: f for f in case_for(session, "P1", "assistance", "changning", day,
                                            TICKED, SETTLED, application_id=ours).fees}
        assert others["C1"].already_claimed


def test_unknown_persons_and_rows_are_refused(store: Store, cached: None,
                                              rnd: random.Random) -> None:
    day = date.fromisoformat(APPLICATION_DATE)
    with store.session() as session:
        apply_changes(session, [upsert("person", "P2", person_data(rnd, "P2", "李四")),
                                upsert("fee_row", "X1", fee_row_data("X1", "P2", "2026-09-01",
                                                                     "10.00"))])
    with store.read_session() as session:
        with pytest.raises(UnknownPerson):
            case_for(session, "P9", "assistance", "changning", day, [], [])
        with pytest.raises(UnknownFeeRow, match="X1"):
            case_for(session, "P1", "assistance", "changning", day, ["C1", "X1"], [])
        with pytest.raises(UnknownFeeRow, match="NOPE"):
            case_for(session, "P1", "assistance", "changning", day, ["NOPE"], [])
        with pytest.raises(ValueError, match="both ticked and settled"):
            case_for(session, "P1", "assistance", "changning", day, ["C1"], ["C1"])
        with pytest.raises(ValueError):
            case_for(session, "P1", "welfare", "changning", day, ["C1"], [])
