"""Response shapes of the district API that desktop.wire does not define (server-side reports)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from desktop.wire import Money, Strict


class Health(Strict):
    status: Literal["ok"]
    database: Literal["ok"]
    version: str


class ProgramTotals(Strict):
    """One program's accepted applications of the month at one street."""

    program: Literal["assistance", "mutual_aid"]
    applications: int
    persons: int
    approved: int  # of which the approver has signed
    payable: Money
    buckets: dict[str, Money]  # e.g. {"outpatient": "1200.00", "inpatient": "..."}


class StreetTotals(Strict):
    street_code: str
    street_name: str
    district: str
    applications: int
    payable: Money
    programs: list[ProgramTotals]


class MonthlySummary(Strict):
    """结算汇总表: per street, the month's accepted applications by program and bucket; the
    month is that of the application date."""

    month: str = Field(pattern=r"^[0-9]{4}-(0[1-9]|1[0-2])$")
    streets: list[StreetTotals]
    applications: int
    payable: Money


class EnrolmentCodeRequest(Strict):
    street_code: str = Field(min_length=1, max_length=12)


class EnrolmentCodeIssued(Strict):
    street_code: str
    street_name: str
    enrolment_code: str  # shown once; only its hash is kept
