"""POST /push: outbox items, each applied exactly once by its idempotency key."""

from __future__ import annotations

from fastapi import APIRouter, Depends

from desktop import wire
from district.api.deps import DbDep, SessionDep, SettingsDep, caller_of, require_session
from district.api.errors import ApiError, documented
from district.services.push import IdempotencyKeyReused, UnhashableItem, apply_push

router = APIRouter(tags=["sync"], dependencies=[Depends(require_session)])


@router.post("/push", response_model=wire.PushResult, responses=documented(409, 413))
def push(body: wire.Push, identity: SessionDep, db: DbDep,
         settings: SettingsDep) -> wire.PushResult:
    """Apply the items; a key already bound to another body refuses the whole request (409)."""
    try:
        return apply_push(db, caller_of(identity, settings), body)
    except IdempotencyKeyReused as reused:
        raise ApiError(409, "idempotency_key_reused",
                       f"提交编号 {reused.key} 已用于另一份内容，本次推送未被接受（其中任何一项"
                       "都没有生效）。同一编号只能重发完全相同的内容，请联系管理员。",
                       f"items.{reused.index}.idempotency_key") from None
    except UnhashableItem as bad:
        raise ApiError(422, "invalid_request",
                       "请求内容不符合要求：数值必须是有限的数字（不能是 NaN 或 Infinity）。",
                       f"items.{bad.index}.payload") from None
