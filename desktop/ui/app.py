"""Starts the counter's GUI: one QApplication, the main window, the event loop.

COUNTER_DESK_SMOKE=1 shows the window, reports it on stdout and quits by itself, so the bundle
can be checked on a build machine without anyone clicking.
"""

from __future__ import annotations

import os
import sys

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication

from desktop.ui.main_window import WINDOW_TITLE, MainWindow

SMOKE_ENV = "COUNTER_DESK_SMOKE"
SMOKE_QUIT_MS = 200


def run_gui(argv: list[str]) -> int:
    """Show the main window and run the event loop; returns the process exit code."""
    existing = QApplication.instance()
    app = existing if isinstance(existing, QApplication) else QApplication(argv)
    app.setApplicationName("counter-desk")
    app.setApplicationDisplayName(WINDOW_TITLE)
    window = MainWindow()
    if "--demo" in argv:
        _attach_demo(app, window)
    window.show()
    if os.environ.get(SMOKE_ENV) == "1":
        QTimer.singleShot(SMOKE_QUIT_MS, app.quit)
        app.exec()
        _report(f"counter-desk: window shown: {window.windowTitle()}")
        store_path = os.environ.get("COUNTER_DESK_SMOKE_STORE")
        if store_path:  # the bundle's migrations are found and applied
            from pathlib import Path

            from desktop.store import open_store

            open_store(Path(store_path)).close()
            _report("counter-desk: store ready")
        return 0
    return int(app.exec())


def _attach_demo(app: QApplication, window: MainWindow) -> None:
    """Start the seeded demo district and sync this counter with it in the background."""
    from desktop.demo import start_demo
    from desktop.services.applications import record_push_result
    from desktop.sync.worker import SyncWorker

    _report("counter-desk: 正在生成演示辖区并启动区服务器……")
    demo = start_demo()
    for note in demo.notes:
        _report(f"counter-desk: {note}")
    worker = SyncWorker(demo.store, demo.client, interval=15.0,
                        on_status=window.sync_status.report, on_result=record_push_result)
    worker.start()

    def stop() -> None:
        worker.stop()
        demo.close()

    app.aboutToQuit.connect(stop)


def _report(line: str) -> None:
    # A windowed (no-console) build on Windows has no stdout at all.
    stream = sys.stdout
    if stream is None:
        return
    try:
        print(line, file=stream, flush=True)
    except UnicodeEncodeError:  # a legacy console code page; the smoke test reads UTF-8
        stream.buffer.write((line + "\n").encode("utf-8"))
        stream.flush()
