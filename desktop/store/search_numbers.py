"""Finding what a number at the counter names: a receipt (票据号码) or an application (its
UUID or its human number, 华阳-2026-03-0042), each with the person it belongs to.

Exact matches only, through indexes (fee_row.receipt_no, application.id, application.number):
the counter's search box asks these before it looks for persons.
"""

from __future__ import annotations

import unicodedata
import uuid
from dataclasses import dataclass
from typing import Literal

from sqlalchemy import select
from sqlalchemy.orm import Session

from desktop.store.models import ApplicationRecord, FeeRowRecord

NumberKind = Literal["receipt", "application"]


@dataclass(frozen=True)
class NumberHit:
    """A receipt's fee row or an application, and whose it is."""

    kind: NumberKind
    person_id: str
    fee_row_id: str | None = None
    application_id: uuid.UUID | None = None


def search_numbers(session: Session, query: str, limit: int = 20) -> list[NumberHit]:
    """The receipts and applications `query` names exactly: applications first (their numbers
    are unique), then fee rows with this receipt number (by person, date, id)."""
    text = unicodedata.normalize("NFKC", query).strip()
    if not text or limit <= 0:
        return []
    hits: list[NumberHit] = []
    application = _application(session, text)
    if application is not None:
        hits.append(NumberHit("application", application.person_id,
                              application_id=application.id))
    rows = session.scalars(
        select(FeeRowRecord).where(FeeRowRecord.receipt_no == text)
        .order_by(FeeRowRecord.person_id, FeeRowRecord.date, FeeRowRecord.id)
        .limit(limit)).all()
    hits.extend(NumberHit("receipt", row.person_id, fee_row_id=row.id) for row in rows)
    return hits[:limit]


def _application(session: Session, text: str) -> ApplicationRecord | None:
    try:
        application_id = uuid.UUID(text)
    except ValueError:
        pass
    else:
        found = session.get(ApplicationRecord, application_id)
        if found is not None:
            return found
    return session.scalars(
        select(ApplicationRecord).where(ApplicationRecord.number == text)).first()


__all__ = ["NumberHit", "NumberKind", "search_numbers"]
