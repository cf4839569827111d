"""`--demo --screenshots DIR`: the main screens as PNGs, taken under offscreen Qt.

The demo clerk searches, opens a person with rows to claim, ticks them, looks at the trace and
saves the application; then the demo reviewer signs in and the approval queue is shown. Each
step goes through the real widgets, as a clerk's keyboard would.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication, QWidget

if TYPE_CHECKING:
    from desktop.sync.worker import SyncWorker
    from desktop.ui.main_window import MainWindow


class ScreenshotCounter(Protocol):
    """What the screenshots need of the running counter (desktop.ui.app.CounterApp)."""

    window: MainWindow | None
    worker: SyncWorker | None
    demo_users: dict[str, str]

    def sign_in(self, username: str, password: str) -> None: ...

SEARCHES = ("w", "z", "l", "c", "h", "y", "x", "s", "m", "g")  # pinyin initials of surnames


def take_screenshots(counter: ScreenshotCounter, folder: Path, done: Callable[[], None]) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []

    def shot(widget: QWidget, name: str) -> None:
        QApplication.processEvents()
        path = folder / name
        widget.grab().save(str(path))
        written.append(path)

    def when_synced(then: Callable[[], None], waited: int = 0) -> None:
        worker = counter.worker
        if worker is not None and worker.status.last_sync is None and waited < 600:
            QTimer.singleShot(200, lambda: when_synced(then, waited + 1))
            return
        then()

    def run() -> None:
        window = counter.window
        assert window is not None
        window.resize(1440, 860)
        view = window.counter
        opened = False
        for initials in SEARCHES:
            view.search.setText(initials)
            for row in range(len(view.results_model.hits)):
                view.open_row(row)
                session = view.session
                if session is not None and sum(r.tickable for r in session.rows) >= 2:
                    opened = True
                    break
            if opened:
                break
        view.search.setText(view.session.card.name if view.session else "w")
        shot(window, "01-search.png")
        if view.session is not None:
            tickable = [r.id for r in view.session.rows if r.tickable]
            for row_id in tickable[:3]:
                view.tick(row_id)
        shot(window, "02-person-ticked.png")
        view.show_trace()
        dialog = getattr(view, "trace_dialog", None)
        if dialog is not None:
            shot(dialog, "03-trace.png")
            dialog.close()
        if view.submit.isEnabled():
            view.submit_application()
            submit = view.submit_dialog
            submit.confirm_bank_warning = _confirm
            if submit.medical_rows:  # a 住院 or 门诊大病 row: its 病史资料 were received
                submit.records.setChecked(True)
            shot(submit, "04-submit.png")
            submit.accept()
        reviewer = _demo_user(counter, "reviewer")
        if reviewer is not None:
            from desktop.demo import DEMO_PASSWORD

            counter.sign_in(reviewer, DEMO_PASSWORD)
            window = counter.window
            assert window is not None
            window.resize(1440, 860)
            window.show()
            if window.approvals is not None:
                window.tabs.setCurrentWidget(window.approvals)
                QApplication.processEvents()
                shot(window, "05-approval-queue.png")
        for path in written:
            print(f"counter-desk: screenshot {path}", flush=True)
        done()

    when_synced(run)


def _confirm(warning: str) -> bool:
    return True  # the demo's synthetic cards; a clerk is asked in a real run


def _demo_user(counter: ScreenshotCounter, role: str) -> str | None:
    return counter.demo_users.get(role)
