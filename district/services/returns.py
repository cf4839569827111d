"""A send-back (退回): a 审核人 or 审批人 returns an application to its 经办人, signed."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from desktop import wire
from district.services.outcome import Caller, Outcome, Refusal


def apply_return(session: Session, caller: Caller, item: wire.OutboxItem,
                 now: datetime) -> Outcome:
    raise Refusal("not_implemented", "区服务器暂不支持退回。")
