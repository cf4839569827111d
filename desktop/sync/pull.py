"""Pull: the district's changes since the cursor, page by page, resumable after any interruption.

Whole pages and the cursor after the last of them are written in one transaction, so an
interruption (network, crash, kill) leaves the cache at a page boundary: the next pull resumes
from the last committed cursor, with no gap and no duplicate. Several pages share a transaction
(up to COMMIT_CHANGES changes or COMMIT_SECONDS): a commit rewrites the indexes' pages it
touched, which costs more than inserting a 1,000-change page.
"""

from __future__ import annotations

import gc
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from types import TracebackType
from typing import Literal

from sqlalchemy import Connection
from sqlalchemy.orm import Session

from desktop import wire
from desktop.store import Store, apply_changes, get_cursor, set_cursor
from desktop.store.deferred_indexes import defer_indexes, needs_indexes, restore_indexes
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
# A transaction of pages ends after this many changes or seconds, whichever comes first: long
# enough that commits cost little, short enough that the UI's own writes (which wait for the
# write lock, up to the store's busy timeout) wait little. An initial pull applies about 50,000
# changes a second here, so the time bounds it; each commit rewrites the index pages it touched
# (20,000 changes a transaction cost it 1–2 s more).
COMMIT_CHANGES = 50_000
COMMIT_SECONDS = 1.0
# Changes asked for per page: the district's most (its MAX_PAGE). An initial pull is 1.4 million
# changes for a street of 100,000 persons; each request costs the district and the counter
# the same whatever its size, and in pages of 1,000 that was a sixth of the pull.
PAGE_SIZE = 5000
PULL_CACHE_KIB = 64 * 1024  # the pull's page cache, while it writes (see PageWriter)
# Objects allocated before the cyclic garbage collector's youngest generation is collected,
# while a pull runs (Python's default: 700). A page read is a few thousand objects, alive until
# it is applied: with the default, collections ran every few hundred changes, promoted each
# page to the oldest generation and scanned the whole heap again and again (a third of the
# time spent reading pages in an initial pull). Pages free their objects by reference count.
PULL_GC_THRESHOLD = 50_000


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
    page_size: int = PAGE_SIZE,
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
    with (fewer_collections(), _Pages(client, page_size) as fetcher,
          PageWriter(store) as writer):
        ahead = fetcher.first(cursor)
        while True:
            page = fetcher.take(ahead)
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
                ahead = fetcher.after(page.next_cursor)
            writer.apply(cursor, page)
            if not page.more:
                writer.commit()
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


_STOPPED = object()  # what a fetch gives when the pull ended before it began


class _Pages:
    """The pages of a pull, fetched ahead in the background, strictly one after another.

    A page's answer names the next cursor in its headers (wire.NEXT_CURSOR_HEADER): the next
    page is asked for then, while this one's body is still read and parsed, so the district
    serves one page while the counter reads the one before (and writes the one before that).
    A district that does not name it is asked after the body, as before. At most LOOKAHEAD
    pages are asked for or held, not yet taken by the pull. Pages are taken in order: a page
    asked for at a cursor the page before does not end at is not used.
    """

    LOOKAHEAD = 2

    def __init__(self, client: DistrictClient, page_size: int) -> None:
        self._client = client
        self._page_size = page_size
        self._executor = ThreadPoolExecutor(max_workers=self.LOOKAHEAD,
                                            thread_name_prefix="pull-fetch")
        self._slots = threading.Semaphore(self.LOOKAHEAD)
        self._lock = threading.Lock()
        self._announced: dict[int, Future[object]] = {}  # cursor -> its page, asked for
        self._stopped = False
        self._trusted = True  # the headers' next cursors have matched the pages'
        self._discarded: set[int] = set()  # cursors announced, then not used

    def first(self, cursor: int) -> Future[object]:
        """The first page of the pull, counting every change after `cursor`."""
        return self._executor.submit(self._fetch, cursor, True, False)

    def after(self, cursor: int) -> Future[object]:
        """The page after `cursor`: asked for already (announced), or asked for now.

        Pages further ahead, announced by that page's own headers, stay announced. A page
        announced at another cursor than the page before ends at (a district whose headers
        and page disagree) is not used, and this pull announces nothing more."""
        stale: dict[int, Future[object]] = {}
        with self._lock:
            future = self._announced.pop(cursor, None)
            if future is None and self._announced:
                stale, self._announced = self._announced, {}
            else:  # pages announced before this cursor: the pull is past them
                stale = {c: f for c, f in self._announced.items() if c < cursor}
                for c in stale:
                    del self._announced[c]
            if stale:
                self._trusted = False
                self._discarded.update(stale)
        for other in stale.values():  # never waited for here
            if not other.cancel():  # under way: its place ahead is freed when it ends
                other.add_done_callback(self._discard)
        return future if future is not None else self._executor.submit(self._fetch, cursor,
                                                                        False, False)

    def take(self, future: Future[object]) -> wire.ChangesPage:
        """The page (or the fetch's error); its place ahead is free again."""
        try:
            page = future.result()
        except BaseException:
            self._slots.release()
            raise
        if page is _STOPPED:
            raise RuntimeError("the pull ended")
        self._slots.release()
        assert isinstance(page, wire.ChangesPage)
        return page

    def _discard(self, future: Future[object]) -> None:
        try:
            page = future.result()
        except BaseException:  # failed after taking its place: a page not used fails nothing
            self._slots.release()
            return
        if page is not _STOPPED:
            self._slots.release()

    def _fetch(self, cursor: int, count: bool, announced: bool) -> object:
        while not self._slots.acquire(timeout=0.1):
            if self._stopped:
                return _STOPPED
        with self._lock:
            dropped = self._stopped or (announced and cursor in self._discarded)
        if dropped:
            self._slots.release()
            return _STOPPED
        return self._client.changes(cursor, self._page_size, count=count,
                                    next_page=self._announce)

    def _announce(self, cursor: int) -> None:
        with self._lock:
            if not self._stopped and self._trusted and cursor not in self._announced:
                self._announced[cursor] = self._executor.submit(self._fetch, cursor, False,
                                                                True)

    def __enter__(self) -> _Pages:
        return self

    def __exit__(self, *exc: object) -> None:
        with self._lock:
            self._stopped = True
        self._executor.shutdown(wait=True)  # a request under way ends by the client's timeout


_gc_lock = threading.Lock()
_gc_pulls = 0  # pulls running (the threshold is the process's)
_gc_threshold: tuple[int, int, int] | None = None  # the one to set back when the last ends


@contextmanager
def fewer_collections() -> Iterator[None]:
    """The garbage collector's youngest generation collected every PULL_GC_THRESHOLD
    allocations while the pull runs, not every 700; set back when the last pull ends."""
    global _gc_pulls, _gc_threshold
    with _gc_lock:
        if _gc_pulls == 0:
            _gc_threshold = gc.get_threshold()
            gc.set_threshold(max(PULL_GC_THRESHOLD, _gc_threshold[0]), *_gc_threshold[1:])
        _gc_pulls += 1
    try:
        yield
    finally:
        with _gc_lock:
            _gc_pulls -= 1
            if _gc_pulls == 0 and _gc_threshold is not None:
                gc.set_threshold(*_gc_threshold)
                _gc_threshold = None


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


class PageWriter:
    """Whole pages, each with the cursor after it, in a transaction that holds several.

    Each page is applied in a savepoint: a page that cannot be applied leaves nothing behind,
    and the pages before it are committed with their cursor when the writer closes, whether
    the pull ends, fails or is cancelled. A crash loses the uncommitted pages and their
    cursor together, so the next pull fetches them again.

    The writer keeps one connection for the pull, with a page cache of PULL_CACHE_KIB while it
    writes (the cache's default 2 MiB): an initial pull inserts into the indexes of 100,000
    persons in no order, and with a small cache each insert reads and decrypts index pages
    again (it took 3× longer). The connection's cache size is set back when the writer closes.
    """

    def __init__(self, store: Store, *, max_changes: int = COMMIT_CHANGES,
                 max_seconds: float = COMMIT_SECONDS) -> None:
        self._store = store
        self._max_changes = max_changes
        self._max_seconds = max_seconds
        self._connection: Connection | None = None
        self._cache_size: int | None = None  # the connection's own, to set back
        self._session: Session | None = None
        self._began = 0.0
        self._changes = 0  # applied since the transaction began
        self._deferred = False  # the tables' indexes are set aside (desktop.store)

    def apply(self, cursor: int, page: wire.ChangesPage) -> None:
        """Apply `page` (pulled after `cursor`) and move the cursor past it; commit when the
        transaction is full. Raises MalformedChanges, having written nothing of the page."""
        session = self._open()
        if self._deferred and needs_indexes(page.items):  # built in this transaction
            self._deferred = False
            restore_indexes(session.connection())
        try:
            with session.begin_nested():
                apply_changes(session, page.items)
                set_cursor(session, STREAM, page.next_cursor)
        except (ValueError, TypeError) as exc:  # pydantic's ValidationError, UnknownEntity, ...
            raise MalformedChanges(cursor, page, exc) from exc
        self._changes += len(page.items)
        if (self._changes >= self._max_changes
                or time.perf_counter() - self._began >= self._max_seconds):
            self.commit()

    def commit(self) -> None:
        """Commit the pages applied so far (nothing to do if there are none)."""
        session, self._session = self._session, None
        self._changes = 0
        if session is not None:
            with session:
                session.commit()

    def _open(self) -> Session:
        if self._connection is None:
            # the store's write transactions: BEGIN IMMEDIATE (see desktop.store.database)
            connection = self._store.engine.execution_options(sqlite_begin="IMMEDIATE").connect()
            self._connection = connection
            self._cache_size = connection.exec_driver_sql("PRAGMA cache_size").scalar()
            connection.exec_driver_sql(f"PRAGMA cache_size = -{PULL_CACHE_KIB}")
            connection.commit()
            # an initial pull: the empty tables' indexes are built when the writer closes
            self._deferred = bool(defer_indexes(connection))
            connection.commit()
        if self._session is None:
            self._session = Session(self._connection, expire_on_commit=False)
            self._session.begin()
            self._began = time.perf_counter()
        return self._session

    def close(self, *, commit: bool = True) -> None:
        """Commit (or roll back) what is applied and give the connection back."""
        committed = False
        try:
            if commit:
                self.commit()
                committed = True
            else:
                session, self._session = self._session, None
                if session is not None:
                    session.close()  # rolls back
        finally:
            connection, self._connection = self._connection, None
            if connection is not None:
                try:
                    # else the next writer or the next open_store builds them
                    if self._deferred and committed:
                        self._deferred = False
                        restore_indexes(connection)
                        connection.commit()
                    if self._cache_size is not None:
                        connection.exec_driver_sql(f"PRAGMA cache_size = {int(self._cache_size)}")
                        connection.commit()
                finally:
                    connection.close()

    def __enter__(self) -> PageWriter:
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 trace: TracebackType | None) -> None:
        # every page in the transaction is whole, with its cursor: kept unless the process
        # is being stopped (KeyboardInterrupt, SystemExit), when nothing more is written
        self.close(commit=kind is None or issubclass(kind, Exception))
