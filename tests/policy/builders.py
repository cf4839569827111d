"""Builders of contract-shaped cases for the policy tests (synthetic data only)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any


def fee(
    id: str,
    date: str,
    self_pay: str,
    kind: str = "outpatient",
    *,
    total: str | None = None,
    out_of_scope: str = "0.00",
    level: int = 2,
    receipt_no: str | None = None,
    **extra: Any,
) -> dict[str, Any]:
    """A fee row; `total` defaults to self_pay + out_of_scope."""
    if total is None:
        total = str(Decimal(self_pay) + Decimal(out_of_scope))
    row = {"id": id, "receipt_no": receipt_no or f"R{id}", "date": date, "kind": kind,
           "hospital_level": level, "total": total, "out_of_scope": out_of_scope,
           "self_pay": self_pay}
    row.update(extra)
    return row


def assistance(
    fees: list[dict[str, Any]],
    categories: list[tuple[str, str, str | None]] | None = None,
    *,
    district: str = "changning",
    application_date: str = "2026-06-10",
    resident_insurance: bool = False,
) -> dict[str, Any]:
    cats = categories if categories is not None else [("dibao", "2024-01-01", None)]
    return {
        "schema": "counter-calc/1",
        "program": "assistance",
        "district": district,
        "application_date": application_date,
        "person": {
            "categories": [{"code": c, "from": f, "to": t} for c, f, t in cats],
            "resident_insurance": resident_insurance,
        },
        "fees": fees,
    }


def mutual_aid(
    fees: list[dict[str, Any]],
    *,
    district: str = "changning",
    application_date: str = "2026-06-10",
    member_years: list[int] | None = None,
    benefits_from: str | None = "2026-01-01",
    external: bool = False,
    allowance_balance: str = "0.00",
) -> dict[str, Any]:
    return {
        "schema": "counter-calc/1",
        "program": "mutual_aid",
        "district": district,
        "application_date": application_date,
        "person": {
            "categories": [],
            "resident_insurance": False,
            "mutual_aid": {
                "member_years": member_years if member_years is not None else [2026],
                "benefits_from": benefits_from,
                "external_inpatient_insurance": external,
                "allowance_balance": allowance_balance,
            },
        },
        "fees": fees,
    }
