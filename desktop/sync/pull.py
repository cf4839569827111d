"""Pull: the district's changes since the cursor, page by page, resumable after any interruption.

Each page and the cursor that follows it are written in one transaction, so an interruption
(network, crash, kill) leaves the cache at a page boundary: the next pull resumes from the last
committed cursor, with no gap and no duplicate.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Literal

from desktop import wire
from desktop.store import Store, apply_changes, get_cursor, set_cursor
from desktop.store.resync import (
    district_generation,
    mark_resync_needed,
    resync_needed,
    set_district_generation,
)
from desktop.sync.client import DistrictClient

STREAM = "district"
Progress = Callable[[int, int], None]  # (changes done, changes in all)
Reason = Literal["generation", "cursor_ahead", "changes_missing"]


class MalformedChanges(ValueError):
    """A page whose changes this counter cannot apply (data invalid for its entity, an entity
    it does not know): nothing of the page was written and the cursor stayed where it was."""

    def __init__(self, cursor: int, page: wire.ChangesPage, cause: Exception) -> None:
        seqs = [c.seq for c in page.items] or [page.next_cursor]
        first, last = min(seqs), max(seqs)
        super().__init__(f"changes {first}-{last} after cursor {cursor}: {cause}")
        self.cursor = cursor
        self.first_seq = first
        self.last_seq = last
        seq = str(first) if first == last else f"{first}–{last}"
        self.message = f"区服务器发来的变更有误（序号 {seq}），这一页没有写入本机，稍后自动重试。"


class DistrictRestored(Exception):
    """The district is not the continuation of what this counter synced with: a new
    generation (restored from a backup), a cursor past its newest change, or a pull that
    received fewer changes than it declared. desktop.sync.recover brings the two together."""

    def __init__(self, reason: Reason, detail: str = "") -> None:
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason: Reason = reason


@dataclass(frozen=True)
class PullStats:
    pages: int
    changes: int
    cursor: int
    complete: bool  # False when cancelled before the end


def pull(
    store: Store,
    client: DistrictClient,
    *,
    page_size: int = 1000,
    progress: Progress | None = None,
    cancel: threading.Event | None = None,
) -> PullStats:
    """Pull until the server has nothing newer; raises client.Offline if the network fails,
    MalformedChanges for a page that cannot be applied (the pages before it stay applied).

    The next page is fetched while this one is applied (the server and the network work while
    the counter writes), but pages are applied strictly in order, each with its cursor.
    """
    with store.session() as session:
        cursor = get_cursor(session, STREAM)
        generation = district_generation(session)
        pending = resync_needed(session)
    if pending == "changes_missing":  # found by an earlier pull, whose pages are written
        raise DistrictRestored("changes_missing", "found by an earlier pull")
    done = pages = 0
    total: int | None = None
    newest: int | None = None  # the district's newest seq when the pull began
    in_window = 0  # changes received up to it: the first page's total declares how many
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="pull-fetch") as fetcher:
        ahead = fetcher.submit(client.changes, cursor, page_size, count=True)
        while True:
            page = ahead.result()
            if total is None:
                total = page.total or 0
                newest = page.newest
                _check_district(store, page, cursor, generation)
            if page.count is not None and page.count != len(page.items):
                raise MalformedChanges(cursor, page, ValueError(
                    f"the page declares {page.count} changes and holds {len(page.items)}"))
            if not page.items:
                break
            if cancel is not None and cancel.is_set():  # the page fetched is not applied
                return PullStats(pages, done, cursor, complete=False)
            if page.more:
                ahead = fetcher.submit(client.changes, page.next_cursor, page_size)
            _apply_page(store, cursor, page)
            cursor = page.next_cursor
            done += len(page.items)
            in_window += sum(1 for c in page.items if newest is None or c.seq <= newest)
            pages += 1
            if progress is not None:
                progress(done, max(total, done + (1 if page.more else 0)))
            if not page.more:
                break
    if newest is not None and total is not None and in_window != total:
        with store.session() as session:  # the pages are written: remember to start again
            mark_resync_needed(session, "changes_missing")
        raise DistrictRestored("changes_missing",
                               f"received {in_window} of the {total} changes declared")
    if progress is not None:
        progress(done, max(done, total or 0))
    return PullStats(pages, done, cursor, complete=True)


def _check_district(store: Store, page: wire.ChangesPage, cursor: int,
                    generation: str | None) -> None:
    """The district answering is the one this counter synced with; the first generation seen
    is kept."""
    if page.generation is not None and generation is not None and page.generation != generation:
        raise DistrictRestored("generation", f"{generation} -> {page.generation}")
    if page.newest is not None and cursor > page.newest:
        raise DistrictRestored("cursor_ahead", f"cursor {cursor} > newest {page.newest}")
    if page.generation is not None and generation is None:
        with store.session() as session:
            set_district_generation(session, page.generation)


def _apply_page(store: Store, cursor: int, page: wire.ChangesPage) -> None:
    """The page and the cursor after it, in one transaction: all of it or none of it."""
    try:
        with store.session() as session:
            apply_changes(session, page.items)
            set_cursor(session, STREAM, page.next_cursor)
    except (ValueError, TypeError) as exc:  # pydantic's ValidationError, UnknownEntity, ...
        raise MalformedChanges(cursor, page, exc) from exc
