"""`python -m district import persons|fees FILE`: one file, one transaction, and what happened
in Chinese — the summary on stdout, progress on stderr, rejections in a report file.

Exit codes: 0 imported; 1 rejected (nothing written; the report lists each problem); 2 the
command could not start (no such file).
"""

from __future__ import annotations

import sys
from datetime import date
from pathlib import Path
from typing import TextIO

from sqlalchemy.exc import IntegrityError

from district.db import Database
from district.imports.errors import FileRejected, ImportRejected, Rejection
from district.imports.fees import import_fees
from district.imports.outcome import ImportResult, Progress, default_report_path, write_report
from district.imports.persons import import_persons

SHOWN_REJECTIONS = 10


def run_import(db: Database, kind: str, path: Path, report: Path | None = None, *,
               today: date | None = None, out: TextIO | None = None,
               err: TextIO | None = None) -> int:
    out = out or sys.stdout
    err = err or sys.stderr
    if not path.is_file():
        print(f"错误：找不到文件 {path}", file=err)
        return 2
    importer = import_persons if kind == "persons" else import_fees
    db.migrate()
    try:
        with db.write() as session:
            result = importer(session, path, today=today, progress=Progress(err))
    except ImportRejected as exc:
        result = exc.result
    except FileRejected as exc:
        result = ImportResult(kind, path, "无法读取",
                              rejections=[Rejection(1, exc.column, exc.message)],
                              rejected_rows=1)
    except IntegrityError as exc:  # another import wrote the same rows at the same time
        print(f"导入未完成：数据库拒绝写入，整个文件未写入任何数据（可能有另一次导入同时进行，请稍后重试）。"
              f"\n{exc.orig}", file=err)
        return 1
    for line in result.summary():
        print(line, file=out)
    if result.accepted:
        return 0
    report_path = report or default_report_path(path)
    write_report(report_path, result.rejections)
    for r in sorted(result.rejections, key=lambda r: r.line)[:SHOWN_REJECTIONS]:
        column = f"【{r.column}】" if r.column else ""
        shown = f"（{r.value}）" if r.value else ""
        print(f"  第 {r.line} 行{column}：{r.reason}{shown}", file=out)
    if len(result.rejections) > SHOWN_REJECTIONS:
        print(f"  ……共 {len(result.rejections):,} 个问题", file=out)
    print(f"错误报告：{report_path.resolve()}", file=out)
    return 1
