"""Console pages: 数据导入 — upload a persons or fee file, preview it, import it (issue 14).

- GET  /data                 the uploads so far, and the upload form (district_admin);
- POST /data/upload          keep the file and start its preview (a dry run of the importer);
- GET  /data/{id}            the preview (first rows, every rejected row), the import's
                             progress, or its outcome; refreshes itself while work goes on;
- POST /data/{id}/import     import a clean preview (background thread, one transaction);
- POST /data/{id}/discard    give up an upload that was not imported;
- GET  /data/{id}/report.csv the rejected rows, CSV in UTF-8 with a BOM (Excel).

A district_reviewer reads the list, the previews and the reports; only a district_admin
uploads, imports or discards. A file may hold rows of every street (a fee row's street is its
person's), and the importers cannot be limited to one street, so a console user who belongs
to a street cannot upload at all, and sees no district-wide uploads. The work itself is in
district.services.console_imports.
"""

from __future__ import annotations

import csv
import io
from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, File, Form, Request, UploadFile
from fastapi.responses import HTMLResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import defer

from district import models
from district.console.web import (
    SECURITY_HEADERS,
    Admin,
    Console,
    ConsoleError,
    ConsoleIdentity,
    DbDep,
    render,
    see_other,
)
from district.imports.outcome import spreadsheet_text
from district.services import console_imports as imports

router = APIRouter()
NOTICES = {"uploaded": "文件已上传，正在预览（试运行导入，不写入任何数据）。",
           "started": "导入已开始。",
           "discarded": "已放弃这次上传，文件已删除。"}
STREET_REFUSED = ("街镇账号不能导入数据：人员名单和费用明细可含全区各街镇的行，"
                  "导入程序不能只导入一个街镇的行。请由区管理员（不属于某个街镇的账号）导入。")


def _may_upload(identity: ConsoleIdentity) -> None:
    identity.require_admin()
    if identity.street_code is not None:
        raise ConsoleError(403, STREET_REFUSED)


def _one(db: DbDep, identity: ConsoleIdentity, import_id: str) -> models.ConsoleImport:
    """The upload (without its file), if this user may see it: one made by a user of their
    own district (a street's user: only their own)."""
    with db.read() as session:
        row = session.get(models.ConsoleImport, import_id,
                          options=[defer(models.ConsoleImport.content)])
        uploader = (session.scalar(select(models.User.district)
                                   .where(models.User.username == row.uploaded_by))
                    if row is not None else None)
    if row is None or uploader != identity.district or (
            identity.street_code is not None and row.uploaded_by != identity.username):
        raise ConsoleError(404, "没有这次上传，或您无权查看。")
    return row


@router.get("/data", response_class=HTMLResponse)
def data_page(request: Request, identity: Console, db: DbDep, notice: str = "") -> Response:
    return _data_page(request, identity, db, notice)


def _data_page(request: Request, identity: ConsoleIdentity, db: DbDep, notice: str = "",
               error: str = "", status: int = 200) -> Response:
    with db.read() as session:
        rows = imports.listing(session, identity.username if identity.street_code else None,
                               district=identity.district)
    rows = [imports.settle(db, row) for row in rows]
    may_upload = identity.is_admin and identity.street_code is None
    return render(request, "data.html", identity, status=status, uploads=rows,
                  may_upload=may_upload, street_refused=STREET_REFUSED, kinds=imports.KINDS,
                  labels=imports.STATUS_LABELS, notice_text=NOTICES.get(notice, ""),
                  error=error)


@router.post("/data/upload", response_class=HTMLResponse)
def upload(request: Request, identity: Admin, db: DbDep,
           kind: Annotated[str, Form(max_length=16)] = "",
           file: Annotated[UploadFile | None, File()] = None) -> Response:
    _may_upload(identity)
    try:
        content = file.file.read() if file is not None else b""
        import_id = imports.upload(db, identity.username, kind,
                                   file.filename or "" if file is not None else "", content)
    except imports.UploadRefused as exc:
        return _data_page(request, identity, db, error=exc.message, status=exc.status)
    return see_other(f"/data/{import_id}", "uploaded")


@router.get("/data/{import_id}", response_class=HTMLResponse)
def upload_page(request: Request, identity: Console, db: DbDep, import_id: str,
                notice: str = "") -> Response:
    row = imports.settle(db, _one(db, identity, import_id))
    working = imports.preview_pending(row) or row.status == "running"
    head = imports.head_of(db, row)
    done = imports.live_rows(row.id)
    if done is None:
        done = row.rows_done
    rejections = imports.report_rows(row.report)
    response = render(
        request, "data_upload.html", identity, upload=row, kinds=imports.KINDS,
        labels=imports.STATUS_LABELS, working=working, previewing=imports.preview_pending(row),
        head=head, done=done, rejections=rejections,
        summary=(row.summary or "").splitlines(),
        may_act=identity.is_admin and identity.street_code is None,
        notice_text=NOTICES.get(notice, ""))
    if working:
        response.headers["Refresh"] = "1"
    return response


@router.post("/data/{import_id}/import", response_class=HTMLResponse)
def run_import(identity: Admin, db: DbDep, import_id: str) -> Response:
    _may_upload(identity)
    _one(db, identity, import_id)
    try:
        imports.run(db, identity.username, import_id)
    except imports.UploadRefused as exc:
        raise ConsoleError(exc.status, exc.message) from exc
    return see_other(f"/data/{import_id}", "started")


@router.post("/data/{import_id}/discard", response_class=HTMLResponse)
def discard(identity: Admin, db: DbDep, import_id: str) -> Response:
    _may_upload(identity)
    _one(db, identity, import_id)
    try:
        imports.discard(db, identity.username, import_id)
    except imports.UploadRefused as exc:
        raise ConsoleError(exc.status, exc.message) from exc
    return see_other("/data", "discarded")


def _neutral_csv(report: str) -> str:
    """The stored report as it is downloaded: no cell Excel would take for a formula (a
    rejected cell of the uploaded file is echoed in it)."""
    out = io.StringIO()
    writer = csv.writer(out)
    for line in csv.reader(io.StringIO(report)):
        writer.writerow([spreadsheet_text(cell) for cell in line])
    return out.getvalue()


@router.get("/data/{import_id}/report.csv")
def report(identity: Console, db: DbDep, import_id: str) -> Response:
    row = _one(db, identity, import_id)
    if row.report is None:
        raise ConsoleError(404, "这次上传还没有报告（预览尚未完成）。")
    stem = row.filename.rsplit(".", 1)[0]
    name = f"{stem}.错误报告.csv"
    headers = {**SECURITY_HEADERS,
               "Content-Disposition": f"attachment; filename=\"report.csv\"; "
                                      f"filename*=UTF-8''{quote(name)}"}
    return Response(("\ufeff" + _neutral_csv(row.report)).encode("utf-8"),
                    media_type="text/csv; charset=utf-8", headers=headers)
