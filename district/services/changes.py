"""The changes a counter pulls: its street's, plus those every street sees, after a cursor."""

from __future__ import annotations

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from desktop import wire
from district import models


def changes_page(session: Session, street_code: str, cursor: int, limit: int) -> wire.ChangesPage:
    """One page after `cursor`. Counts stop at the newest change visible when the request
    began, so `total` and `remaining` describe the same moment as the items."""
    change = models.Change
    newest = session.scalar(select(func.max(change.seq))) or 0
    visible = (change.seq > cursor, change.seq <= newest,
               or_(change.street_code == street_code, change.street_code.is_(None)))
    items = session.scalars(select(change).where(*visible).order_by(change.seq)
                            .limit(limit)).all()
    total = session.scalar(select(func.count()).select_from(change).where(*visible)) or 0
    next_cursor = items[-1].seq if items else cursor
    return wire.ChangesPage(
        items=[wire.Change(seq=c.seq, entity=c.entity, key=c.key,  # type: ignore[arg-type]
                           op=c.op, data=c.data)  # type: ignore[arg-type]
               for c in items],
        next_cursor=next_cursor, remaining=total - len(items), total=total)
