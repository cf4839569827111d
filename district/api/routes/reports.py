"""GET /monthly-summary: the month's settlement summary per street (结算汇总表)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query
from sqlalchemy import select

from district import models
from district.api.deps import DbDep, SessionDep, require_session
from district.api.errors import ApiError
from district.schemas import MONTH_PATTERN, STREET_CODE_PATTERN, MonthlySummary
from district.services.summary import monthly_summary

router = APIRouter(tags=["reports"], dependencies=[Depends(require_session)])


@router.get("/monthly-summary", response_model=MonthlySummary)
def summary(
    identity: SessionDep,
    db: DbDep,
    month: Annotated[str, Query(pattern=MONTH_PATTERN,
                                description="YYYY-MM (2000-01 to 2099-12): the month in "
                                            "which the district accepted the approver's "
                                            "signature, Shanghai time")],
    street_code: Annotated[str | None, Query(pattern=STREET_CODE_PATTERN)] = None,
) -> MonthlySummary:
    """A street's staff see their street; a district administrator sees every street of the
    district, or one of them."""
    own = identity.device.street_code
    with db.read() as session:
        if "district_admin" in identity.user.roles:
            streets = list(session.scalars(select(models.Street.code).where(
                models.Street.district == identity.user.district)))
            if street_code is not None:
                if street_code not in streets:
                    raise ApiError(403, "forbidden", "只能查看本区的街镇。", "street_code")
                streets = [street_code]
        else:
            if street_code not in (None, own):
                raise ApiError(403, "forbidden", "只能查看本街镇的汇总。", "street_code")
            streets = [own]
        return monthly_summary(session, month, streets)
