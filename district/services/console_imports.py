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
"""

from __future__ import annotations

import csv
import io
import logging
import tempfile
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path, PurePosixPath, PureWindowsPath
from typing import Any

from sqlalchemy import select
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
            rows_rejected=None, content=content))
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


def dry_run(db: Database, kind: str, path: Path, progress: Progress | None = None
            ) -> ImportResult:
    """The import, in a transaction that is always rolled back: what it would do or refuse."""
    try:
        with db.write() as session:
            raise _DryRun(IMPORTERS[kind](session, path, progress=progress))
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
        with db.read() as session:
            row = session.get(models.ConsoleImport, import_id)
            if row is None or not preview_pending(row) or row.content is None:
                return
            kind, filename, content, by = row.kind, row.filename, row.content, row.uploaded_by
        LIVE.heads[import_id] = read_head(content, filename)
        with _TempFile(content, filename) as path:
            result = dry_run(db, kind, path, _Tracker(db, import_id, None, write=False))
        summary = "\n".join(_dry(line) for line in _summary(result, filename))
        with db.write() as session:
            row = session.get(models.ConsoleImport, import_id)
            if row is None or not preview_pending(row):
                return
            row.rows_total = result.rows_read
            row.rows_rejected = result.rejected_rows
            row.summary = summary
            row.report = report_csv(result.rejections)
            record_console_event(session, by, "console.import_previewed", import_id,
                                 _detail(row, result), utcnow())
    except Exception as exc:  # the preview itself broke: say so, keep nothing half-done
        log.exception("console import %s: preview failed", import_id)
        _fail(db, import_id, f"预览未完成：{type(exc).__name__}", "console.import_previewed")
    finally:
        LIVE.end(import_id)


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
        other = session.scalars(select(models.ConsoleImport.id).where(
            models.ConsoleImport.kind == row.kind, models.ConsoleImport.status == "running",
            models.ConsoleImport.id != import_id)).first()
        if other is not None and LIVE.rows(other) is not None:
            raise UploadRefused(f"另一份{KINDS[row.kind]}正在导入，请等它完成后再导入。", 409)
        if not LIVE.start(import_id, row.kind):
            raise UploadRefused(f"另一份{KINDS[row.kind]}正在导入，请等它完成后再导入。", 409)
        try:
            row.status = "running"
            row.rows_done = 0
            session.flush()
        except BaseException:
            LIVE.end(import_id, row.kind)
            raise
        kind = row.kind
    thread = threading.Thread(target=_import, args=(db, import_id, kind, username),
                              daemon=True, name=f"console-import-{import_id[:8]}")
    thread.start()


def _import(db: Database, import_id: str, kind: str, username: str) -> None:
    try:
        with db.read() as session:
            row = session.get(models.ConsoleImport, import_id)
            assert row is not None and row.content is not None
            filename, content, total = row.filename, row.content, row.rows_total
        tracker = _Tracker(db, import_id, total, write=True)
        with _TempFile(content, filename) as path:
            try:
                with db.write() as session:
                    result = IMPORTERS[kind](session, path, progress=tracker)
                    row = session.get(models.ConsoleImport, import_id)
                    assert row is not None
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
            row = session.get(models.ConsoleImport, import_id)
            assert row is not None
            _finish(row, result, "rejected", filename)
            record_console_event(session, username, "console.import_run", import_id,
                                 {**_detail(row, result), "outcome": "rejected"}, utcnow())
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
            row = session.get(models.ConsoleImport, import_id)
            if row is None:
                return
            row.status = "failed"
            row.summary = message
            row.finished_at = utcnow()
            record_console_event(session, username or row.uploaded_by, action, import_id,
                                 {"kind": row.kind, "filename": row.filename,
                                  "outcome": "failed"}, utcnow())
    except Exception:
        log.exception("console import %s: failure not recorded", import_id)


def discard(db: Database, username: str, import_id: str) -> models.ConsoleImport:
    with db.write() as session:
        row = session.get(models.ConsoleImport, import_id)
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


def settle(db: Database, row: models.ConsoleImport) -> models.ConsoleImport:
    """An upload as it stands: one left `running` (or mid-preview) by a process that ended is
    marked failed (running) or previewed again (preview); nothing of it was kept."""
    if row.status == "running" and LIVE.rows(row.id) is None:
        _fail(db, row.id, "导入未完成：区服务器在导入过程中停止，整个文件未写入任何数据，"
              "请重新上传。", "console.import_run")
        with db.read() as session:
            fresh = session.get(models.ConsoleImport, row.id,
                                options=[defer(models.ConsoleImport.content)])
            return fresh if fresh is not None else row
    if preview_pending(row) and LIVE.rows(row.id) is None:
        start_preview(db, row.id)
    return row


def live_rows(import_id: str) -> int | None:
    return LIVE.rows(import_id)


def listing(session: Session, uploaded_by: str | None = None,
            limit: int = 200) -> list[models.ConsoleImport]:
    query = (select(models.ConsoleImport).options(defer(models.ConsoleImport.content))
             .order_by(models.ConsoleImport.uploaded_at.desc()))
    if uploaded_by is not None:
        query = query.where(models.ConsoleImport.uploaded_by == uploaded_by)
    return list(session.scalars(query.limit(limit)))
