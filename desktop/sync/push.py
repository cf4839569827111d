"""Push: deliver the outbox at least once; the server applies each item exactly once.

Every outbox item was written in the transaction of the change it carries and has a key made
by the counter. Items go in the order they were saved; a result is recorded in one transaction
with its effect on the local application (accepted, or marked for review with the server's
reason). A push cut off half-way is simply repeated: the server answers "duplicate" for what it
already applied, with the original outcome.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from desktop import wire
from desktop.store import Store, mark_all_delivered, mark_attempt_failed, pending_outbox
from desktop.sync.client import DistrictClient, Offline, ServerRefused

Progress = Callable[[int, int], None]
# What the layer above does with a verdict, in the transaction that records it.
OnResult = Callable[[Session, wire.OutboxItem, wire.ItemResult], None]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class PushStats:
    sent: int
    accepted: int
    refused: int
    duplicates: int


def push(
    store: Store,
    client: DistrictClient,
    *,
    batch: int = 200,
    progress: Progress | None = None,
    on_result: OnResult | None = None,
) -> PushStats:
    """Push until the outbox is empty; raises Offline / ServerRefused and keeps the items."""
    sent = accepted = refused = duplicates = 0
    while True:
        with store.session() as session:
            rows = pending_outbox(session, batch)
            items = [wire.OutboxItem.model_validate(
                {"idempotency_key": r.idempotency_key, "kind": r.kind, "payload": r.payload,
                 "created_at": r.created_at}) for r in rows]
        if not items:
            break
        try:
            answer = client.push(items)
        except (Offline, ServerRefused) as exc:
            try:
                with store.session() as session:
                    _failed(session, items, str(exc))
            except SQLAlchemyError:  # e.g. a full disk: the note is lost, the failure is not
                log.warning("could not note the failed push of %d items", len(items),
                            exc_info=True)
            raise
        by_key = {i.idempotency_key: i for i in items}
        ours = [r for r in answer.results if r.idempotency_key in by_key]  # ignore, not trust
        with store.session() as session:
            mark_all_delivered(session, {r.idempotency_key: r.model_dump(mode="json")
                                         for r in ours})
            if on_result is not None:
                for result in ours:
                    on_result(session, by_key[result.idempotency_key], result)
        sent += len(answer.results)
        for result in answer.results:
            if result.status == "accepted":
                accepted += 1
            elif result.status == "refused":
                refused += 1
            else:
                duplicates += 1
        if progress is not None:
            progress(sent, sent + _waiting(store))
        if len(answer.results) < len(items):
            break  # the server answered for fewer items: try the rest on the next round
    return PushStats(sent, accepted, refused, duplicates)


def _failed(session: Session, items: list[wire.OutboxItem], error: str) -> None:
    for item in items:
        mark_attempt_failed(session, item.idempotency_key, error)


def _waiting(store: Store) -> int:
    from desktop.store import outbox_waiting_count

    with store.session() as session:
        return outbox_waiting_count(session)
