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
from concurrent.futures import ThreadPoolExecutor
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
    """Push until the outbox is empty; raises Offline / ServerRefused and keeps the items.

    Requests go one after the other, in the outbox's order. While the district works on one,
    the counter records the answer to the one before (the two run on the two machines at
    once): a request is sent only after the previous one was answered, and the answers are
    recorded in the order they came.
    """
    counts = {"accepted": 0, "refused": 0, "duplicate": 0}
    sent = 0
    answered: tuple[list[wire.OutboxItem], wire.PushResult] | None = None
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="push") as sender:
        items, last_id = _next_batch(store, batch, None)
        while items:
            request = sender.submit(client.push, items)
            try:
                if answered is not None:
                    _record(store, *answered, on_result)
                    answered = None
            finally:
                try:
                    answer = request.result()  # the request ends before anything is raised
                except (Offline, ServerRefused) as exc:
                    _note_failure(store, items, str(exc))
                    raise
            answered = (items, answer)
            sent += len(answer.results)
            for result in answer.results:
                counts[result.status if result.status in counts else "duplicate"] += 1
            if progress is not None:
                progress(sent, sent + _waiting(store) - len(items))
            if len(answer.results) < len(items):
                break  # the server answered for fewer items: try the rest on the next round
            items, last_id = _next_batch(store, batch, last_id)
        if answered is not None:
            _record(store, *answered, on_result)
    return PushStats(sent, counts["accepted"], counts["refused"], counts["duplicate"])


def _next_batch(store: Store, batch: int, after: int | None
                ) -> tuple[list[wire.OutboxItem], int | None]:
    """The next items waiting, after the outbox row `after` (those sent but not yet recorded
    are still waiting)."""
    with store.session() as session:
        rows = pending_outbox(session, batch, after=after)
        items = [wire.OutboxItem.model_validate(
            {"idempotency_key": r.idempotency_key, "kind": r.kind, "payload": r.payload,
             "created_at": r.created_at}) for r in rows]
    return items, (rows[-1].id if rows else after)


def _record(store: Store, items: list[wire.OutboxItem], answer: wire.PushResult,
            on_result: OnResult | None) -> None:
    by_key = {i.idempotency_key: i for i in items}
    ours = [r for r in answer.results if r.idempotency_key in by_key]  # ignore, not trust
    with store.session() as session:
        mark_all_delivered(session, {r.idempotency_key: r.model_dump(mode="json")
                                     for r in ours})
        if on_result is not None:
            for result in ours:
                on_result(session, by_key[result.idempotency_key], result)


def _note_failure(store: Store, items: list[wire.OutboxItem], error: str) -> None:
    try:
        with store.session() as session:
            _failed(session, items, error)
    except SQLAlchemyError:  # e.g. a full disk: the note is lost, the failure is not
        log.warning("could not note the failed push of %d items", len(items), exc_info=True)


def _failed(session: Session, items: list[wire.OutboxItem], error: str) -> None:
    for item in items:
        mark_attempt_failed(session, item.idempotency_key, error)


def _waiting(store: Store) -> int:
    from desktop.store import outbox_waiting_count

    with store.session() as session:
        return outbox_waiting_count(session)
