"""Response shapes of the district API that desktop.wire does not define (server-side reports)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from desktop.wire import Money, Strict

MONTH_PATTERN = r"^20[0-9]{2}-(0[1-9]|1[0-2])$"  # a real month of the years 2000-2099
STREET_CODE_PATTERN = r"^[0-9]{1,12}$"


class Health(Strict):
    status: Literal["ok"]
    database: Literal["ok"]
    version: str


class ProgramTotals(Strict):
    """One program's approved applications of the month at one street."""

    program: Literal["assistance", "mutual_aid"]
    applications: int
    persons: int
    approved: int  # approved or paid: every application the summary holds
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
    """结算汇总表: per street, the month's approved applications by program and bucket; an
    application's month is the one in which the district accepted its 审批人's signature,
    Shanghai time (desktop.domain.clock.settlement_month, the counter's rule too)."""

    month: str = Field(pattern=MONTH_PATTERN)
    streets: list[StreetTotals]
    applications: int
    payable: Money


class EnrolmentCodeRequest(Strict):
    street_code: str = Field(pattern=STREET_CODE_PATTERN)


class EnrolmentCodeIssued(Strict):
    street_code: str
    street_name: str
    enrolment_code: str  # shown once; only its hash is kept
