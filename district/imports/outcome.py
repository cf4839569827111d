"""What an import reports: its progress on stderr, the summary, and the rejection report file
(CSV in UTF-8 with a BOM, so Excel opens it with the Chinese intact)."""

from __future__ import annotations

import csv
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import NoReturn, TextIO

from district.imports.errors import ImportRejected, Rejection

PROGRESS_EVERY = 50_000
REPORT_HEADER = ("行号", "列", "原因", "单元格内容")
# what a spreadsheet takes for the start of a formula (or, after a tab or return, may)
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def spreadsheet_text(value: object) -> object:
    """A report cell as Excel will show it and never run it: text that would start a formula
    (a cell of the uploaded file, echoed in the report) gets a leading apostrophe."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


class Progress:
    """A line every PROGRESS_EVERY rows: rows read so far and the rate."""

    def __init__(self, stream: TextIO | None, every: int | None = None) -> None:
        self.stream = stream
        self.every = every or PROGRESS_EVERY
        self.started = time.perf_counter()

    def rows(self, count: int) -> None:
        if self.stream is None:
            return
        elapsed = max(time.perf_counter() - self.started, 1e-9)
        print(f"已读取 {count:,} 行（{count / elapsed:,.0f} 行/秒）", file=self.stream, flush=True)

    def say(self, text: str) -> None:
        if self.stream is not None:
            print(text, file=self.stream, flush=True)


@dataclass
class ImportResult:
    """What an import did (or would have done: `rejections` non-empty means nothing was kept)."""

    kind: str  # persons | fees
    path: Path
    description: str
    rows_read: int = 0
    counts: dict[str, int] = field(default_factory=dict)
    changes: int = 0
    unknown_columns: list[str] = field(default_factory=list)
    not_stored_columns: list[str] = field(default_factory=list)
    rejections: list[Rejection] = field(default_factory=list)
    rejected_rows: int = 0
    seconds: float = 0.0

    @property
    def accepted(self) -> bool:
        return not self.rejections

    def summary(self) -> list[str]:
        """The lines printed at the end, in Chinese."""
        what = "人员名单" if self.kind == "persons" else "费用明细"
        lines = [f"{what}：{self.path}（{self.description}），读取 {self.rows_read:,} 行，"
                 f"用时 {self.seconds:.1f} 秒"]
        if self.unknown_columns:
            lines.append(f"  未识别的列（已忽略）：{'、'.join(self.unknown_columns)}")
        if self.not_stored_columns:
            names = "、".join(self.not_stored_columns)
            lines.append(f"  数据库中没有对应字段的列（未保存）：{names}")
        if not self.accepted:
            lines.append(f"导入未完成：拒绝 {self.rejected_rows:,} 行"
                         f"（{len(self.rejections):,} 个问题），"
                         "整个文件未写入任何数据。请改正后重新导入。")
            return lines
        c = self.counts
        if self.kind == "persons":
            lines.append(f"  人员：新增 {c['new']:,}，更新 {c['updated']:,}，"
                         f"未变 {c['unchanged']:,}；对象类别：新增 {c['spans_new']:,}，"
                         f"更新 {c['spans_updated']:,}，删除 {c['spans_deleted']:,}")
        else:
            lines.append(f"  费用明细：新增 {c['new']:,}，更新 {c['updated']:,}，"
                         f"未变 {c['unchanged']:,}；新增医疗机构 {c['institutions_new']:,}")
        lines.append(f"导入完成：新增 {c['new']:,}，更新 {c['updated']:,}，"
                     f"未变 {c['unchanged']:,}，拒绝 0；记录变更 {self.changes:,} 条。")
        return lines


def reject(result: ImportResult, rejections: list[Rejection], started: float) -> NoReturn:
    """End the import: ImportRejected, raised out of the transaction, so nothing is kept."""
    result.rejections = rejections
    result.rejected_rows = len({r.line for r in rejections})
    result.seconds = time.perf_counter() - started
    raise ImportRejected(result)


def write_report(path: Path, rejections: list[Rejection]) -> None:
    """The rejections, by row, as CSV with a BOM (Excel reads it as UTF-8)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8-sig", newline="") as stream:
        writer = csv.writer(stream)
        writer.writerow(REPORT_HEADER)
        for r in sorted(rejections, key=lambda r: r.line):
            writer.writerow([spreadsheet_text(v) for v in (r.line, r.column, r.reason, r.value)])


def default_report_path(source: Path) -> Path:
    """Beside the imported file: persons.csv → persons.错误报告.csv."""
    return source.with_name(f"{source.stem}.错误报告.csv")
