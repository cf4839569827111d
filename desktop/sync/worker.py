"""The background sync loop: push the outbox, then pull changes; report online/offline.

Runs in its own thread so the counter never waits on the network. Every counter operation works
while the server is unreachable: changes wait in the outbox and the status says how many.

The loop never dies. Whatever a cycle raises (no network, a refusal, a page it cannot apply, a
full disk) is caught, shown in Chinese in the status with the count still waiting, and the next
cycle comes after a back-off: 1 s, doubling up to 5 min, back to the normal interval after a good
cycle. A wake() (an application saved) still starts a cycle at once.

A PC the district revoked (`device_revoked`: stolen, retired, replaced) is told so in the
server's own words, and the loop stops retrying every few minutes: syncing is pointless until
the PC is registered again. It tries once an hour (REVOKED_RETRY), or at a wake(), in case it
was; nothing local is deleted, the outbox keeps waiting.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta

from sqlalchemy.exc import DBAPIError, SQLAlchemyError

from desktop.store import Store, outbox_waiting_count
from desktop.store.local_state import note_time_seen
from desktop.sync.client import CertificateRefused, DistrictClient, Offline, ServerRefused
from desktop.sync.pull import DistrictRestored, MalformedChanges, pull
from desktop.sync.push import OnResult, push
from desktop.sync.recover import recover

log = logging.getLogger(__name__)

BACKOFF_FIRST = 1.0  # seconds after the first failed cycle
BACKOFF_MAX = 300.0  # never longer than this between attempts
REVOKED_RETRY = 3600.0  # seconds between attempts of a PC the district revoked
DEVICE_REVOKED = "device_revoked"

OFFLINE = "区服务器无法连接，已离线工作"
DISK_FULL = "本机磁盘已满，同步的数据无法写入：请清理磁盘空间，同步会自动重试"
DATABASE_FAILED = "本机数据库写入失败，同步暂停，稍后自动重试"
REVOKED = ("本机已被区医保事务中心停用，不能再与区服务器同步。本机数据仍保留；"
           "请联系区医保事务中心，用新的注册码重新注册本机。")


@dataclass(frozen=True)
class SyncStatus:
    online: bool
    waiting: int  # outbox items not yet delivered
    last_sync: datetime | None = None
    last_error: str | None = None  # Chinese, for the status bar
    progress: tuple[int, int] | None = None  # (done, total) while pulling
    failures: int = 0  # cycles failed in a row
    retry_at: datetime | None = None  # the next automatic attempt after a failure (UTC)
    notice: str | None = None  # Chinese: what the last recovery did (desktop.sync.recover)
    revoked: bool = False  # the district revoked this PC: no automatic retries (the message)


def backoff_delay(failures: int, first: float = BACKOFF_FIRST, most: float = BACKOFF_MAX
                  ) -> float:
    """Seconds to wait after `failures` failed cycles in a row: first, doubling, at most `most`."""
    if failures <= 0:
        return 0.0
    return min(first * 2.0 ** min(failures - 1, 60), most)


def describe_failure(exc: BaseException) -> str:
    """What the status bar says about a failed cycle, in Chinese."""
    if isinstance(exc, CertificateRefused):
        return str(exc)  # says which certificate to check
    if isinstance(exc, Offline):
        return OFFLINE
    if isinstance(exc, ServerRefused) and exc.code == DEVICE_REVOKED:
        return exc.message or REVOKED
    if isinstance(exc, ServerRefused):
        return exc.message
    if isinstance(exc, MalformedChanges):
        return exc.message
    if _disk_full(exc):
        return DISK_FULL
    if isinstance(exc, SQLAlchemyError | sqlite3.Error):
        return DATABASE_FAILED
    return f"同步出错（{type(exc).__name__}），稍后自动重试"


class SyncWorker:
    def __init__(
        self,
        store: Store,
        client: DistrictClient,
        *,
        interval: float = 30.0,
        on_status: Callable[[SyncStatus], None] | None = None,
        on_result: OnResult | None = None,
        backoff_first: float = BACKOFF_FIRST,
        backoff_max: float = BACKOFF_MAX,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.on_result = on_result
        self.store = store
        self.client = client
        self.interval = interval
        self.on_status = on_status
        self.backoff_first = backoff_first
        self.backoff_max = backoff_max
        self.clock = clock
        self._waiting_known = 0
        self._status = SyncStatus(online=False, waiting=self._waiting())
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._lock = threading.Lock()  # one cycle at a time
        self._thread: threading.Thread | None = None
        self._next_delay = interval

    @property
    def status(self) -> SyncStatus:
        return self._status

    def is_alive(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def start(self) -> None:
        if self._thread is None:
            self._stop.clear()
            self._thread = threading.Thread(target=self._loop, name="sync", daemon=True)
            self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    def wake(self) -> None:
        """Sync soon (e.g. right after an application is saved), back-off or not."""
        self._wake.set()

    def sync_now(self) -> SyncStatus:
        """One cycle in the calling thread: push, then pull. Never raises for a failed cycle:
        the status says what went wrong and when the loop tries again."""
        with self._lock:
            try:
                push(self.store, self.client, on_result=self.on_result)
                try:
                    pull(self.store, self.client, progress=self._progress)
                except DistrictRestored as restored:
                    recovery = recover(self.store, self.client, restored.reason,
                                       on_result=self.on_result, progress=self._progress)
                    self._set(notice=recovery.message)
                with self.store.session() as session:
                    note_time_seen(session, self.clock())
            except Exception as exc:
                self._failed(exc)
            else:
                self._next_delay = self.interval
                self._set(online=True, last_error=None, progress=None, failures=0,
                          retry_at=None, last_sync=datetime.now(UTC), revoked=False)
            return self._status

    def _failed(self, exc: Exception) -> None:
        failures = self._status.failures + 1
        delay = backoff_delay(failures, self.backoff_first, self.backoff_max)
        self._next_delay = delay
        changes: dict[str, object] = {
            "last_error": describe_failure(exc), "progress": None, "failures": failures,
            "retry_at": datetime.now(UTC) + timedelta(seconds=delay)}
        if isinstance(exc, Offline):
            changes["online"] = False
            log.info("sync offline: %s", exc)
        elif isinstance(exc, ServerRefused) and exc.code == DEVICE_REVOKED:
            # no retry every few minutes: pointless until the PC is registered again
            self._next_delay = REVOKED_RETRY
            changes.update(online=True, revoked=True, retry_at=None)
            log.warning("sync refused: this PC was revoked by the district")
        elif isinstance(exc, ServerRefused):
            changes["online"] = True  # it answered
            log.warning("sync refused: %s %s", exc.status, exc.code)
        elif isinstance(exc, MalformedChanges):
            changes["online"] = True
            log.error("sync: a page could not be applied: %s", exc)
        else:  # a local fault: whether the server answered is not known, keep what was shown
            log.exception("sync cycle failed")
        self._set(**changes)

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                self.sync_now()
            except Exception:  # only a bug gets here; the loop goes on all the same
                log.exception("sync loop")
                self._next_delay = self.backoff_max
            self._wake.wait(self._next_delay)
            self._wake.clear()

    def _progress(self, done: int, total: int) -> None:
        self._set(progress=(done, total))

    def _waiting(self) -> int:
        """The outbox items not yet delivered; the last count known if it cannot be read."""
        try:
            with self.store.read_session() as session:
                self._waiting_known = outbox_waiting_count(session)
        except SQLAlchemyError:
            log.warning("could not count the outbox", exc_info=True)
        return self._waiting_known

    def _set(self, **changes: object) -> None:
        self._status = replace(self._status, waiting=self._waiting(), **changes)  # type: ignore[arg-type]
        if self.on_status is not None:
            try:
                self.on_status(self._status)
            except Exception:  # the listener's fault must not stop the sync
                log.exception("sync status listener")


def _disk_full(exc: BaseException) -> bool:
    """SQLite's SQLITE_FULL: the disk (or the database's page limit) is full."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        error = current.orig if isinstance(current, DBAPIError) else current
        if getattr(error, "sqlite_errorcode", None) == sqlite3.SQLITE_FULL:
            return True
        if "database or disk is full" in str(error):
            return True
        current = current.__cause__ or current.__context__
    return False
