"""POST /push: outbox items, each applied exactly once by its idempotency key."""

from __future__ import annotations

from dataclasses import replace

from fastapi import APIRouter, Depends, Request, Response
from sqlalchemy import select

from desktop import wire
from district import models
from district.api.deps import DbDep, SessionDep, SettingsDep, caller_of, require_session
from district.api.errors import ApiError, documented
from district.services.generation import current_generation
from district.services.push import IdempotencyKeyReused, UnhashableItem, apply_push

router = APIRouter(tags=["sync"], dependencies=[Depends(require_session)])


@router.post("/push", response_model=wire.PushResult, responses=documented(409, 413))
def push(request: Request, body: wire.Push, identity: SessionDep, db: DbDep,
         settings: SettingsDep) -> Response:
    """Apply the items; a key already bound to another body refuses the whole request (409).
    The answer says the district's generation (protocol 2)."""
    try:
        caller = replace(caller_of(identity, settings), protocol=request.state.protocol)
        result = apply_push(db, caller, body)
    except IdempotencyKeyReused as reused:
        raise ApiError(409, "idempotency_key_reused",
                       f"提交编号 {reused.key} 已用于另一份内容，本次推送未被接受（其中任何一项"
                       "都没有生效）。同一编号只能重发完全相同的内容，请联系管理员。",
                       f"items.{reused.index}.idempotency_key") from None
    except UnhashableItem as bad:
        raise ApiError(422, "invalid_request",
                       "请求内容不符合要求：数值必须是有限的数字（不能是 NaN 或 Infinity）。",
                       f"items.{bad.index}.payload") from None
    if request.state.protocol < wire.FIELDS_SINCE["generation"]:
        return Response(result.model_dump_json(exclude={"generation"}),
                        media_type="application/json")
    with db.read() as session:
        generation = current_generation(session)
    return Response(result.model_copy(update={"generation": generation}).model_dump_json(),
                    media_type="application/json")


@router.post("/push/known", response_model=wire.KnownAnswer)
def known(body: wire.KnownItems, identity: SessionDep, db: DbDep) -> wire.KnownAnswer:
    """Which of these keys, pushed from this PC, the district holds: after a restore from a
    backup, a counter asks about everything it had delivered and pushes again what is lost.
    Keys of other PCs are never confirmed."""
    keys = {str(k) for k in body.keys}
    with db.read() as session:
        held = set(session.scalars(select(models.PushItem.idempotency_key).where(
            models.PushItem.idempotency_key.in_(keys),
            models.PushItem.device_id == identity.device.id))) if keys else set()
        generation = current_generation(session)
    return wire.KnownAnswer(known=sorted((k for k in body.keys if str(k) in held), key=str),
                            generation=generation)
