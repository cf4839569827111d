"""Pull: the district's changes since the cursor, page by page, resumable after any interruption.

Each page and the cursor that follows it are written in one transaction, so an interruption
(network, crash, kill) leaves the cache at a page boundary: the next pull resumes from the last
committed cursor, with no gap and no duplicate.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass

from desktop.store import Store, apply_changes, get_cursor, set_cursor
from desktop.sync.client import DistrictClient

STREAM = "district"
Progress = Callable[[int, int], None]  # (changes done, changes in all)


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
    """Pull until the server has nothing newer; raises client.Offline if the network fails."""
    with store.session() as session:
        cursor = get_cursor(session, STREAM)
    done = pages = 0
    total: int | None = None
    while True:
        if cancel is not None and cancel.is_set():
            return PullStats(pages, done, cursor, complete=False)
        page = client.changes(cursor, page_size)
        if total is None:
            total = page.total
        if not page.items:
            break
        with store.session() as session:
            apply_changes(session, page.items)
            set_cursor(session, STREAM, page.next_cursor)
        cursor = page.next_cursor
        done += len(page.items)
        pages += 1
        if progress is not None:
            progress(done, max(total, done + page.remaining))
        if page.remaining == 0:
            break
    if progress is not None:
        progress(done, max(done, total or 0))
    return PullStats(pages, done, cursor, complete=True)
