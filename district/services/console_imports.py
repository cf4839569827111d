"""A persons or fee file uploaded in the district console (issue 14), from preview to import.

The uploaded bytes are kept in a `console_imports` row. Its preview is a dry run of the very
importer the import runs (district.imports), in a write transaction that is always rolled
back: the same checks, so a file whose preview is clean imports, unless the district changed
in between (then the import is rejected with its own report and nothing is written).

Both the preview and the import run in a background thread of the district's one process.
Their progress (rows read) is kept in memory here for the page that shows it, and on
PostgreSQL also written to `rows_done` in short transactions of their own. On SQLite it cannot
be: the import's transaction holds the database's only write lock until it ends, so
`rows_done` is written with the outcome. A row left `running` by a process that ended (the
server restarted mid-import) is marked failed when it is next looked at: the import was one
transaction, so nothing of it was kept.

On PostgreSQL several `district serve` processes may answer the console (docs: several
processes on one PostgreSQL), so what this process has in memory does not say whether an upload
is being worked on. There the process working on an upload holds a lease in its row:
`worker` (host and pid) and `heartbeat_at`, stamped when it starts and every HEARTBEAT_EVERY
seconds by a small thread, in short transactions of their own. Another process leaves an upload
with a fresh heartbeat alone; one whose heartbeat is stale (older than LEASE) or missing is
marked failed (or its preview started again) under the row's lock, so only one process does it.
An import starts under an advisory lock of its kind, so one import of a kind runs at a time
across the processes. On SQLite there is one process only, and the import's transaction holds
the only write lock (no heartbeat could be written): the in-process rule stays.
"""

from __future__ import annotations

import csv
import io
import logging
import os
import socket
import tempfile
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path, PurePosixPath, PureWindowsPath
from typing import Any

from sqlalchemy import select, text, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, defer

from district import models
from district.db import Database
from district.imports import (
    FileRejected,
    ImportRejected,
    ImportResult,
    Progress,
    Rejection,
    import_fees,
    import_persons,
)
from district.imports.cells import cell_text, open_table
from district.imports.errors import CellError
from district.imports.outcome import REPORT_HEADER
from district.services.audit import record_console_event
from district.values import utcnow

log = logging.getLogger(__name__)

KINDS = {"persons": "人员名单", "fees": "费用明细"}
SUFFIXES = (".csv", ".xlsx", ".txt")
STATUS_LABELS = {"previewed": "已预览", "running": "导入中", "imported": "已导入",
                 "rejected": "已拒绝", "failed": "失败", "discarded": "已放弃"}
HEAD_ROWS = 20  # the rows of the file the preview shows as read
PROGRESS_STEPS = 100  # the progress is told about this many times per file at most
MAX_FILENAME = 200
HEARTBEAT_EVERY = 5.0  # seconds between two stamps of a worker's lease (PostgreSQL)
LEASE = timedelta(minutes=2)  # a heartbeat older than this: its process is gone
# pg_advisory_xact_lock keys: one import of a kind at a time, across the processes
KIND_LOCKS = {"persons": 8470_1401, "fees": 8470_1402}

Importer = Callable[..., ImportResult]
IMPORTERS: dict[str, Importer] = {"persons": import_persons, "fees": import_fees}


class UploadRefused(Exception):
    """An upload or an action the console refuses, with the reason in Chinese."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


@dataclass
class Head:
    """The first rows of a file as read: its header and up to HEAD_ROWS rows of text."""

    header: list[str]
    rows: list[tuple[int, list[str]]]
    problem: str = ""


class _Live:
    """What this process is doing now: the uploads being previewed or imported, their rows
    read so far, and the kinds being imported (one import of a kind at a time)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.working: dict[str, int] = {}  # import id -> rows read so far
        self.kinds: set[str] = set()
        self.heads: dict[str, Head] = {}

    def start(self, import_id: str, kind: str | None = None) -> bool:
        with self.lock:
            if import_id in self.working or (kind is not None and kind in self.kinds):
                return False
            self.working[import_id] = 0
            if kind is not None:
                self.kinds.add(kind)
            return True

    def end(self, import_id: str, kind: str | None = None) -> None:
        with self.lock:
            self.working.pop(import_id, None)
            if kind is not None:
                self.kinds.discard(kind)

    def rows(self, import_id: str) -> int | None:
        with self.lock:
            return self.working.get(import_id)


LIVE = _Live()


def worker_name() -> str:
    """This process, as a lease names it: host and pid."""
    return f"{socket.gethostname()[:50]}:{os.getpid()}"[:64]


def leased(db: Database) -> bool:
    """Whether uploads carry a lease: on PostgreSQL, where several processes may serve."""
    return db.engine.dialect.name == "postgresql"


def fresh(heartbeat_at: datetime | None, now: datetime | None = None) -> bool:
    """A heartbeat young enough that its process is taken to be working still."""
    return heartbeat_at is not None and (now or utcnow()) - heartbeat_at < LEASE


class _Heartbeat:
    """While a preview or import runs (PostgreSQL): stamps its lease every HEARTBEAT_EVERY
    seconds from a thread of its own, each stamp its own short transaction. Only while the row
    names this process: one that took it over (this one's lease had gone stale) keeps it."""

    def __init__(self, db: Database, import_id: str) -> None:
        self.db = db
        self.import_id = import_id
        self.worker = worker_name()
        self.stop = threading.Event()
        self.thread: threading.Thread | None = None

    def __enter__(self) -> _Heartbeat:
        if leased(self.db):
            self.beat()
            self.thread = threading.Thread(target=self._run, daemon=True,
                                           name=f"console-heartbeat-{self.import_id[:8]}")
            self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        if self.thread is not None:
            self.thread.join(30)

    def _run(self) -> None:
        while not self.stop.wait(HEARTBEAT_EVERY):
            self.beat()

    def beat(self) -> None:
        try:
            with self.db.write() as session:
                session.execute(update(models.ConsoleImport)
                                .where(models.ConsoleImport.id == self.import_id,
                                       models.ConsoleImport.worker == self.worker)
                                .values(heartbeat_at=utcnow()))
        except Exception:  # a missed stamp is made up by the next one
            log.exception("console import %s: heartbeat not written", self.import_id)


def _claim(db: Database, row: models.ConsoleImport) -> None:
    """Name this process as the upload's worker, as of now (in the caller's transaction)."""
    if leased(db):
        row.worker = worker_name()
        row.heartbeat_at = utcnow()


def _counter_first(session: Session) -> None:
    """Take the change counter's row lock before an upload's row lock: the order an import
    takes them in (its changes, then its outcome), so two transactions never deadlock."""
    session.execute(select(models.ChangeCounter.id)
                    .where(models.ChangeCounter.id == 1).with_for_update()).scalar_one()


def _mine(db: Database, row: models.ConsoleImport) -> bool:
    """Whether this process still holds the upload's lease (always, on SQLite)."""
    return not leased(db) or row.worker == worker_name()


class _Tracker(Progress):
    """The importer's Progress hook: rows read, into LIVE (and rows_done on PostgreSQL)."""

    def __init__(self, db: Database, import_id: str, total: int | None, write: bool) -> None:
        super().__init__(None, max(1, (total or 0) // PROGRESS_STEPS) if total else 1000)
        self.db = db
        self.import_id = import_id
        self.write = write and not db.is_sqlite

    def rows(self, count: int) -> None:
        with LIVE.lock:
            if self.import_id in LIVE.working:
                LIVE.working[self.import_id] = count
        if self.write:  # its own short transaction, beside the import's
            try:
                with self.db.write() as session:
                    row = session.get(models.ConsoleImport, self.import_id)
                    if row is not None:
                        row.rows_done = count
            except Exception:  # progress is a nicety: never the reason an import fails
                log.exception("console import %s: progress not written", self.import_id)


# -- reading a file ------------------------------------------------------------------------

def clean_filename(name: str | None) -> str:
    """The file's own name, without any folder a browser sent, at most MAX_FILENAME long."""
    base = PureWindowsPath(PurePosixPath(name or "").name).name.strip()
    if len(base) > MAX_FILENAME:
        stem, dot, suffix = base.rpartition(".")
        base = stem[:MAX_FILENAME - len(suffix) - 1] + dot + suffix if dot else base[:200]
    return base


class _TempFile:
    """The upload's bytes in a temporary file with its suffix (the importers read a path)."""

    def __init__(self, content: bytes, filename: str) -> None:
        self.folder = tempfile.TemporaryDirectory(prefix="console-import-")
        self.path = Path(self.folder.name) / ("upload" + Path(filename).suffix.lower())
        self.path.write_bytes(content)

    def __enter__(self) -> Path:
        return self.path

    def __exit__(self, *exc: object) -> None:
        self.folder.cleanup()


def read_head(content: bytes, filename: str) -> Head:
    """The header and the first HEAD_ROWS rows as the importer reads them."""
    try:
        with _TempFile(content, filename) as path:
            table = open_table(path)
            rows: list[tuple[int, list[str]]] = []
            for line, cells in table.rows:
                rows.append((line, [_shown(c) for c in cells]))
                if len(rows) >= HEAD_ROWS:
                    break
            close = getattr(table.rows, "close", None)
            if close is not None:
                close()
            return Head([_shown(c) for c in table.header], rows)
    except FileRejected as exc:
        return Head([], [], exc.message)


def _shown(value: Any) -> str:
    try:
        return cell_text(value)
    except CellError:
        return str(value)


def head_of(db: Database, row: models.ConsoleImport) -> Head | None:
    """The preview's first rows: kept in memory once read, else read from the kept file."""
    head = LIVE.heads.get(row.id)
    if head is None and row.status == "previewed":
        with db.read() as session:
            content = session.scalar(select(models.ConsoleImport.content)
                                     .where(models.ConsoleImport.id == row.id))
        if content is not None:
            head = LIVE.heads[row.id] = read_head(content, row.filename)
    return head


def report_csv(rejections: list[Rejection]) -> str:
    """The rejections by row, as CSV text (the BOM is added when it is downloaded)."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(REPORT_HEADER)
    for r in sorted(rejections, key=lambda r: (r.line, r.column)):
        writer.writerow((r.line, r.column, r.reason, r.value))
    return out.getvalue()


def report_rows(report: str | None) -> list[list[str]]:
    """The stored report's rows, without its header."""
    if not report:
        return []
    return list(csv.reader(io.StringIO(report)))[1:]


# -- upload, preview -----------------------------------------------------------------------

def upload(db: Database, username: str, kind: str, filename: str, content: bytes) -> str:
    """Keep the file (status previewed, its dry run to come) and start its dry run."""
    if kind not in KINDS:
        raise UploadRefused("请选择导入的数据类型（人员名单或费用明细）。")
    name = clean_filename(filename)
    if not name:
        raise UploadRefused("请选择要导入的文件。")
    if Path(name).suffix.lower() not in SUFFIXES:
        raise UploadRefused(f"不支持的文件类型“{Path(name).suffix or '（无扩展名）'}”："
                            "请上传 .csv 或 .xlsx 文件。")
    if not content:
        raise UploadRefused("上传的文件是空的。")
    import_id = str(uuid.uuid4())
    with db.write() as session:
        session.add(models.ConsoleImport(
            id=import_id, kind=kind, filename=name, uploaded_by=username,
            uploaded_at=utcnow(), status="previewed", rows_total=None, rows_done=0,
            rows_rejected=None, content=content,
            worker=worker_name() if leased(db) else None,
            heartbeat_at=utcnow() if leased(db) else None))
    start_preview(db, import_id)
    return import_id


def preview_pending(row: models.ConsoleImport) -> bool:
    """A previewed upload whose dry run has not ended yet."""
    return row.status == "previewed" and row.rows_rejected is None


def start_preview(db: Database, import_id: str) -> bool:
    if not LIVE.start(import_id):
        return False
    thread = threading.Thread(target=_preview, args=(db, import_id), daemon=True,
                              name=f"console-preview-{import_id[:8]}")
    thread.start()
    return True


class _DryRun(Exception):
    """Raised out of the dry run's transaction so that whatever it wrote is rolled back."""

    def __init__(self, result: ImportResult) -> None:
        super().__init__("dry run")
        self.result = result


def streets_of(session: Session, username: str) -> list[str]:
    """The streets an upload may touch: those of its uploader's district (none if the uploader
    is gone), so one district's administrator never writes another district's people."""
    district = select(models.User.district).where(models.User.username == username)
    return list(session.scalars(select(models.Street.code)
                                .where(models.Street.district.in_(district))))


def dry_run(db: Database, kind: str, path: Path, progress: Progress | None = None,
            uploaded_by: str | None = None) -> ImportResult:
    """The import, in a transaction that is always rolled back: what it would do or refuse."""
    try:
        with db.write() as session:
            streets = None if uploaded_by is None else streets_of(session, uploaded_by)
            raise _DryRun(IMPORTERS[kind](session, path, progress=progress, streets=streets))
    except _DryRun as done:
        return done.result
    except ImportRejected as exc:
        return exc.result
    except FileRejected as exc:
        return _unreadable(kind, path, exc)


def _unreadable(kind: str, path: Path, exc: FileRejected) -> ImportResult:
    return ImportResult(kind, path, "无法读取", rejections=[Rejection(1, exc.column, exc.message)],
                        rejected_rows=1)


def _preview(db: Database, import_id: str) -> None:
    try:
        with _Heartbeat(db, import_id):
            _previewed(db, import_id)
    except Exception as exc:  # the preview itself broke: say so, keep nothing half-done
        log.exception("console import %s: preview failed", import_id)
        _fail(db, import_id, f"预览未完成：{type(exc).__name__}", "console.import_previewed")
    finally:
        LIVE.end(import_id)


def _previewed(db: Database, import_id: str) -> None:
    with db.read() as session:
        row = session.get(models.ConsoleImport, import_id)
        if row is None or not preview_pending(row) or row.content is None:
            return
        kind, filename, content, by = row.kind, row.filename, row.content, row.uploaded_by
    LIVE.heads[import_id] = read_head(content, filename)
    with _TempFile(content, filename) as path:
        result = dry_run(db, kind, path, _Tracker(db, import_id, None, write=False), by)
    summary = "\n".join(_dry(line) for line in _summary(result, filename))
    with db.write() as session:
        _counter_first(session)
        row = session.get(models.ConsoleImport, import_id, with_for_update=True)
        if row is None or not preview_pending(row) or not _mine(db, row):
            return  # given up, or previewed again by another process that took it over
        row.rows_total = result.rows_read
        row.rows_rejected = result.rejected_rows
        row.summary = summary
        row.report = report_csv(result.rejections)
        record_console_event(session, by, "console.import_previewed", import_id,
                             _detail(row, result), utcnow())


def _summary(result: ImportResult, filename: str) -> list[str]:
    """The importer's Chinese summary, naming the uploaded file rather than a temporary one."""
    result.path = Path(filename)
    return result.summary()


def _dry(line: str) -> str:
    """A line of the importer's summary as the preview says it: nothing was written yet."""
    for said, meant in (("导入完成：", "预览：可以导入，预计"),
                        ("导入未完成：", "预览：不能导入，")):
        if line.startswith(said):
            return meant + line.removeprefix(said)
    return line


def _detail(row: models.ConsoleImport, result: ImportResult) -> dict[str, Any]:
    """What the audit keeps of an upload: its kind, name and counts, never its content."""
    return {"kind": row.kind, "filename": row.filename, "rows": result.rows_read,
            "rejected_rows": result.rejected_rows, "problems": len(result.rejections),
            **{k: v for k, v in result.counts.items()}, "changes": result.changes}


# -- import --------------------------------------------------------------------------------

def run(db: Database, username: str, import_id: str) -> None:
    """Start the import of a clean preview; UploadRefused when it cannot start."""
    with db.write() as session:
        row = session.get(models.ConsoleImport, import_id)
        if row is None:
            raise UploadRefused("没有这次上传。", 404)
        if preview_pending(row):
            raise UploadRefused("预览尚未完成，请稍候。", 409)
        if row.status != "previewed":
            raise UploadRefused(f"这次上传已{STATUS_LABELS.get(row.status, row.status)}，"
                                "不能再次导入；如需导入请重新上传文件。", 409)
        if row.rows_rejected:
            raise UploadRefused("预览中有被拒绝的行：请改正文件后重新上传。", 409)
        busy = UploadRefused(f"另一份{KINDS[row.kind]}正在导入，请等它完成后再导入。", 409)
        if leased(db):  # the processes start their imports of a kind one after the other
            session.execute(text("SELECT pg_advisory_xact_lock(:key)"),
                            {"key": KIND_LOCKS[row.kind]})
        now = utcnow()
        for other in session.execute(select(
                models.ConsoleImport.id, models.ConsoleImport.heartbeat_at).where(
                models.ConsoleImport.kind == row.kind, models.ConsoleImport.status == "running",
                models.ConsoleImport.id != import_id)):
            if LIVE.rows(other.id) is not None or (leased(db) and fresh(other.heartbeat_at, now)):
                raise busy
        if not LIVE.start(import_id, row.kind):
            raise busy
        try:
            session.refresh(row, with_for_update=True)  # as it stands under the kind's lock
            if row.status != "previewed":
                raise UploadRefused(f"这次上传已{STATUS_LABELS.get(row.status, row.status)}，"
                                    "不能再次导入；如需导入请重新上传文件。", 409)
            row.status = "running"
            row.rows_done = 0
            _claim(db, row)
            session.flush()
        except BaseException:
            LIVE.end(import_id, row.kind)
            raise
        kind = row.kind
    thread = threading.Thread(target=_import, args=(db, import_id, kind, username),
                              daemon=True, name=f"console-import-{import_id[:8]}")
    thread.start()


class _TakenOver(Exception):
    """The upload is no longer this process's to import: another process marked it failed
    (this one's lease had gone stale). Raised out of the import's transaction: nothing kept."""


def _import(db: Database, import_id: str, kind: str, username: str) -> None:
    try:
        with _Heartbeat(db, import_id):
            _imported(db, import_id, kind, username)
    except _TakenOver:
        log.error("console import %s: taken over by another process (its lease had gone "
                  "stale), nothing of it was written", import_id)
    except IntegrityError:
        log.exception("console import %s: refused by the database", import_id)
        _fail(db, import_id, "导入未完成：数据库拒绝写入（可能有另一次导入同时进行），"
              "整个文件未写入任何数据，请稍后重新上传。", "console.import_run", username)
    except Exception as exc:
        log.exception("console import %s failed", import_id)
        _fail(db, import_id, f"导入未完成：区服务器出错（{type(exc).__name__}），"
              "整个文件未写入任何数据。", "console.import_run", username)
    finally:
        LIVE.end(import_id, kind)
        LIVE.heads.pop(import_id, None)


def _running_here(db: Database, session: Session, import_id: str) -> models.ConsoleImport:
    """The upload under its row lock, in the import's transaction, if still this process's."""
    row = session.get(models.ConsoleImport, import_id, with_for_update=True,
                      populate_existing=True)
    if row is None or row.status != "running" or not _mine(db, row):
        raise _TakenOver(import_id)
    return row


def _imported(db: Database, import_id: str, kind: str, username: str) -> None:
    with db.read() as session:
        row = session.get(models.ConsoleImport, import_id)
        assert row is not None and row.content is not None
        filename, content, total = row.filename, row.content, row.rows_total
        uploaded_by = row.uploaded_by
    tracker = _Tracker(db, import_id, total, write=True)
    with _TempFile(content, filename) as path:
        try:
            with db.write() as session:
                result = IMPORTERS[kind](session, path, progress=tracker,
                                         streets=streets_of(session, uploaded_by))
                _counter_first(session)
                row = _running_here(db, session, import_id)
                _finish(row, result, "imported", filename)
                row.content = None  # the district holds the data now
                record_console_event(session, username, "console.import_run", import_id,
                                     {**_detail(row, result), "outcome": "imported"},
                                     utcnow())
            return
        except ImportRejected as exc:
            result = exc.result
        except FileRejected as exc:
            result = _unreadable(kind, path, exc)
    with db.write() as session:  # the district changed since the preview
        _counter_first(session)
        row = _running_here(db, session, import_id)
        _finish(row, result, "rejected", filename)
        record_console_event(session, username, "console.import_run", import_id,
                             {**_detail(row, result), "outcome": "rejected"}, utcnow())


def _finish(row: models.ConsoleImport, result: ImportResult, status: str, filename: str) -> None:
    row.status = status
    row.rows_total = result.rows_read
    row.rows_done = result.rows_read
    row.rows_rejected = result.rejected_rows
    row.summary = "\n".join(_summary(result, filename))
    row.report = report_csv(result.rejections)
    row.finished_at = utcnow()


def _fail(db: Database, import_id: str, message: str, action: str,
          username: str | None = None) -> None:
    try:
        with db.write() as session:
            _counter_first(session)
            row = session.get(models.ConsoleImport, import_id, with_for_update=True)
            if row is None or not _mine(db, row):
                return  # another process took it over: its outcome is that process's to say
            _mark_failed(session, row, message, action, username)
    except Exception:
        log.exception("console import %s: failure not recorded", import_id)


def _mark_failed(session: Session, row: models.ConsoleImport, message: str, action: str,
                 username: str | None = None) -> None:
    row.status = "failed"
    row.summary = message
    row.finished_at = utcnow()
    record_console_event(session, username or row.uploaded_by, action, row.id,
                         {"kind": row.kind, "filename": row.filename, "outcome": "failed"},
                         utcnow())


def discard(db: Database, username: str, import_id: str) -> models.ConsoleImport:
    with db.write() as session:
        _counter_first(session)
        row = session.get(models.ConsoleImport, import_id, with_for_update=True)
        if row is None:
            raise UploadRefused("没有这次上传。", 404)
        if row.status != "previewed":
            raise UploadRefused(f"这次上传已{STATUS_LABELS.get(row.status, row.status)}，"
                                "不能放弃。", 409)
        row.status = "discarded"
        row.content = None
        row.finished_at = utcnow()
        record_console_event(session, username, "console.import_discarded", import_id,
                             {"kind": row.kind, "filename": row.filename,
                              "rows": row.rows_total, "rejected_rows": row.rows_rejected},
                             utcnow())
    LIVE.heads.pop(import_id, None)
    return row


STOPPED = "导入未完成：区服务器在导入过程中停止，整个文件未写入任何数据，请重新上传。"


def settle(db: Database, row: models.ConsoleImport) -> models.ConsoleImport:
    """An upload as it stands: one left `running` (or mid-preview) by a process that ended is
    marked failed (running) or previewed again (preview); nothing of it was kept.

    On SQLite (one process) that is one this process is not working on. On PostgreSQL another
    process may be: only a stale or missing lease says its process is gone, and the row is
    taken over under its lock, so two processes never both do it."""
    if not (row.status == "running" or preview_pending(row)) or LIVE.rows(row.id) is not None:
        return row
    if not leased(db):
        if row.status == "running":
            _fail(db, row.id, STOPPED, "console.import_run")
            return _reread(db, row)
        start_preview(db, row.id)
        return row
    if fresh(row.heartbeat_at):
        return row  # another process's, working on it
    preview = False
    with db.write() as session:
        _counter_first(session)
        locked = session.get(models.ConsoleImport, row.id, with_for_update=True,
                             options=[defer(models.ConsoleImport.content)])
        if locked is None or fresh(locked.heartbeat_at) or LIVE.rows(row.id) is not None:
            pass  # another process took it over meanwhile (or it was never gone)
        elif locked.status == "running":
            _mark_failed(session, locked, STOPPED, "console.import_run")
            log.warning("console import %s: its worker %s stopped (last heartbeat %s); "
                        "marked failed", row.id, locked.worker, locked.heartbeat_at)
        elif preview_pending(locked):
            preview = True
            _claim(db, locked)
    if preview:
        start_preview(db, row.id)
    return _reread(db, row)


def _reread(db: Database, row: models.ConsoleImport) -> models.ConsoleImport:
    with db.read() as session:
        fresh_row = session.get(models.ConsoleImport, row.id,
                                options=[defer(models.ConsoleImport.content)])
        return fresh_row if fresh_row is not None else row


def live_rows(import_id: str) -> int | None:
    return LIVE.rows(import_id)


def listing(session: Session, uploaded_by: str | None = None, limit: int = 200, *,
            district: str | None = None) -> list[models.ConsoleImport]:
    """The uploads, newest first: of one user, and/or of the users of one district."""
    query = (select(models.ConsoleImport).options(defer(models.ConsoleImport.content))
             .order_by(models.ConsoleImport.uploaded_at.desc()))
    if district is not None:
        query = query.where(models.ConsoleImport.uploaded_by.in_(
            select(models.User.username).where(models.User.district == district)))
    if uploaded_by is not None:
        query = query.where(models.ConsoleImport.uploaded_by == uploaded_by)
    return list(session.scalars(query.limit(limit)))
