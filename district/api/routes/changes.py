"""GET /changes: the device's street's changes (and everyone's) after a cursor, in pages."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query

from desktop import wire
from district.api.deps import DbDep, SessionDep, require_session
from district.services.changes import changes_page

router = APIRouter(tags=["sync"], dependencies=[Depends(require_session)])


@router.get("/changes", response_model=wire.ChangesPage)
def changes(
    identity: SessionDep,
    db: DbDep,
    cursor: Annotated[int, Query(ge=0, description="the last seq already applied")] = 0,
    limit: Annotated[int, Query(ge=1, le=5000)] = 500,
) -> wire.ChangesPage:
    with db.read() as session:
        return changes_page(session, identity.device.street_code, cursor, limit)
