"""POST /push: outbox items, each applied exactly once by its idempotency key."""

from __future__ import annotations

from fastapi import APIRouter, Depends

from desktop import wire
from district.api.deps import DbDep, SessionDep, caller_of, require_session
from district.services.push import apply_push

router = APIRouter(tags=["sync"], dependencies=[Depends(require_session)])


@router.post("/push", response_model=wire.PushResult)
def push(body: wire.Push, identity: SessionDep, db: DbDep) -> wire.PushResult:
    return apply_push(db, caller_of(identity), body)
