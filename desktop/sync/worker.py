"""The background sync loop: push the outbox, then pull changes; report online/offline.

Runs in its own thread so the counter never waits on the network. Every counter operation works
while the server is unreachable: changes wait in the outbox and the status says how many.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime

from desktop.store import Store, outbox_waiting_count
from desktop.sync.client import DistrictClient, Offline, ServerRefused
from desktop.sync.pull import pull
from desktop.sync.push import OnResult, push

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SyncStatus:
    online: bool
    waiting: int  # outbox items not yet delivered
    last_sync: datetime | None = None
    last_error: str | None = None  # Chinese, for the status bar
    progress: tuple[int, int] | None = None  # (done, total) while pulling


class SyncWorker:
    def __init__(
        self,
        store: Store,
        client: DistrictClient,
        *,
        interval: float = 30.0,
        on_status: Callable[[SyncStatus], None] | None = None,
        on_result: OnResult | None = None,
    ) -> None:
        self.on_result = on_result
        self.store = store
        self.client = client
        self.interval = interval
        self.on_status = on_status
        self._status = SyncStatus(online=False, waiting=self._waiting())
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._lock = threading.Lock()  # one cycle at a time
        self._thread: threading.Thread | None = None

    @property
    def status(self) -> SyncStatus:
        return self._status

    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._loop, name="sync", daemon=True)
            self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    def wake(self) -> None:
        """Sync soon (e.g. right after an application is saved)."""
        self._wake.set()

    def sync_now(self) -> SyncStatus:
        """One cycle in the calling thread: push, then pull."""
        with self._lock:
            try:
                push(self.store, self.client, on_result=self.on_result)
                pull(self.store, self.client, progress=self._progress)
            except Offline:
                self._set(online=False, last_error="区服务器无法连接，已离线工作", progress=None)
            except ServerRefused as exc:
                log.warning("sync refused: %s %s", exc.status, exc.code)
                self._set(online=True, last_error=exc.message, progress=None)
            else:
                self._set(online=True, last_error=None, progress=None,
                          last_sync=datetime.now(UTC))
            return self._status

    def _loop(self) -> None:
        while not self._stop.is_set():
            self.sync_now()
            self._wake.wait(self.interval)
            self._wake.clear()

    def _progress(self, done: int, total: int) -> None:
        self._set(progress=(done, total))

    def _waiting(self) -> int:
        with self.store.session() as session:
            return outbox_waiting_count(session)

    def _set(self, **changes: object) -> None:
        self._status = replace(self._status, waiting=self._waiting(), **changes)  # type: ignore[arg-type]
        if self.on_status is not None:
            self.on_status(self._status)
