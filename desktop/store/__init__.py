"""The local SQLite cache: typed models, shipped migrations, repositories and person search.

Nothing above this layer writes SQL. Open it with `open_store()`, work in `store.session()`.
"""

from desktop.store.audit import append_audit
from desktop.store.cases import UnknownFeeRow, UnknownPerson, case_for
from desktop.store.changes import UnknownEntity, apply_changes, get_cursor, set_cursor
from desktop.store.database import Store, default_path, open_store
from desktop.store.models import OutboxRecord, OutboxRow
from desktop.store.outbox import (
    UnknownOutboxItem,
    enqueue,
    mark_all_delivered,
    mark_attempt_failed,
    mark_delivered,
    outbox_waiting_count,
    pending_outbox,
)
from desktop.store.search import MatchKind, PersonHit, search_persons
from desktop.store.search_numbers import NumberHit, search_numbers

__all__ = [
    "MatchKind",
    "NumberHit",
    "OutboxRecord",
    "OutboxRow",
    "PersonHit",
    "Store",
    "UnknownEntity",
    "UnknownFeeRow",
    "UnknownOutboxItem",
    "UnknownPerson",
    "append_audit",
    "apply_changes",
    "case_for",
    "default_path",
    "enqueue",
    "get_cursor",
    "mark_all_delivered",
    "mark_attempt_failed",
    "mark_delivered",
    "open_store",
    "outbox_waiting_count",
    "pending_outbox",
    "search_numbers",
    "search_persons",
    "set_cursor",
]
