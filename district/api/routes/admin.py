"""District administration: enrolment codes for new counter PCs."""

from __future__ import annotations

from fastapi import APIRouter, Depends, status

from district import models
from district.api.deps import DbDep, SessionDep, require_role, require_session
from district.api.errors import ApiError, documented
from district.schemas import EnrolmentCodeIssued, EnrolmentCodeRequest
from district.services.auth import issue_enrolment_code

router = APIRouter(tags=["admin"], dependencies=[Depends(require_session),
                                                 Depends(require_role("district_admin"))])


@router.post("/enrolment-codes", response_model=EnrolmentCodeIssued,
             status_code=status.HTTP_201_CREATED, responses=documented(404, 413))
def new_enrolment_code(body: EnrolmentCodeRequest, identity: SessionDep,
                       db: DbDep) -> EnrolmentCodeIssued:
    with db.write() as session:
        street = session.get(models.Street, body.street_code)
        if street is None or street.district != identity.user.district:
            raise ApiError(404, "unknown_street", "本区没有这个街镇。", "street_code")
        code = issue_enrolment_code(session, street.code)
        return EnrolmentCodeIssued(street_code=street.code, street_name=street.name,
                                   enrolment_code=code)
