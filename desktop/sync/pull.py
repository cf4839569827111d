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

from desktop import wire
from desktop.store import Store, apply_changes, get_cursor, set_cursor
from desktop.sync.client import DistrictClient

STREAM = "district"
Progress = Callable[[int, int], None]  # (changes done, changes in all)


class MalformedChanges(ValueError):
    """A page whose changes this counter cannot apply (data invalid for its entity, an entity
    it does not know): nothing of the page was written and the cursor stayed where it was."""

    def __init__(self, cursor: int, page: wire.ChangesPage, cause: Exception) -> None:
        seqs = [c.seq for c in page.items]
        first, last = min(seqs), max(seqs)
        super().__init__(f"changes {first}-{last} after cursor {cursor}: {cause}")
        self.cursor = cursor
        self.first_seq = first
        self.last_seq = last
        seq = str(first) if first == last else f"{first}–{last}"
        self.message = f"区服务器发来的变更有误（序号 {seq}），这一页没有写入本机，稍后自动重试。"


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
    done = pages = 0
    total: int | None = None
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="pull-fetch") as fetcher:
        ahead = fetcher.submit(client.changes, cursor, page_size, count=True)
        while True:
            page = ahead.result()
            if total is None:
                total = page.total or 0
            if not page.items:
                break
            if cancel is not None and cancel.is_set():  # the page fetched is not applied
                return PullStats(pages, done, cursor, complete=False)
            if page.more:
                ahead = fetcher.submit(client.changes, page.next_cursor, page_size)
            _apply_page(store, cursor, page)
            cursor = page.next_cursor
            done += len(page.items)
            pages += 1
            if progress is not None:
                progress(done, max(total, done + (1 if page.more else 0)))
            if not page.more:
                break
    if progress is not None:
        progress(done, max(done, total or 0))
    return PullStats(pages, done, cursor, complete=True)


def _apply_page(store: Store, cursor: int, page: wire.ChangesPage) -> None:
    """The page and the cursor after it, in one transaction: all of it or none of it."""
    try:
        with store.session() as session:
            apply_changes(session, page.items)
            set_cursor(session, STREAM, page.next_cursor)
    except (ValueError, TypeError) as exc:  # pydantic's ValidationError, UnknownEntity, ...
        raise MalformedChanges(cursor, page, exc) from exc
