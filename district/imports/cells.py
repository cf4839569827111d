"""Reading an import file: a CSV (UTF-8 with or without BOM, else GBK) or an .xlsx sheet, as a
header and numbered rows of cells (docs/data-import.md "文件格式").

Row numbers are those Excel shows: the header is row 1, the first data row is row 2. A CSV cell
is text; an xlsx cell is what openpyxl reads (text, int, float, date), turned into text by
`cell_text` only where a column reads it, so a bad cell is reported in its own column.
"""

from __future__ import annotations

import codecs
import csv
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

from district.imports.errors import CellError, FileRejected

_BOM = codecs.BOM_UTF8
# GBK is read as GB18030, its superset: the same bytes give the same characters, and the rarer
# characters of some names, which GBK lacks, are read too.
GBK = "gb18030"
ENCODING_NAMES = {"utf-8-sig": "UTF-8（带 BOM）", "utf-8": "UTF-8", GBK: "GBK"}
_CHUNK = 1 << 20
# A float holds every integer below 2**53 exactly; above, Excel has already rounded the number
# (an 18-digit ID number typed into a number cell loses its last digits).
_EXACT_FLOAT = 2**53
# An .xlsx is a zip: what it unpacks to is bounded before openpyxl reads it, so a small file
# that inflates to gigabytes (a "zip bomb") is refused, not read into memory. openpyxl keeps
# the shared strings whole in memory; the sheet itself is streamed. Python's zipfile never
# unpacks a member past the size its directory declares, so the declared sizes are the bound.
MAX_XLSX_UNPACKED = 2 << 30
MAX_XLSX_SHARED_STRINGS = 256 << 20


@dataclass
class Table:
    """A file's header and an iterator over its data rows: (row number, cells)."""

    path: Path
    format: str  # "csv" | "xlsx"
    encoding: str | None  # for a CSV: "utf-8-sig", "utf-8" or GBK
    header: list[str]
    rows: Iterator[tuple[int, list[Any]]]

    @property
    def description(self) -> str:
        if self.format == "xlsx":
            return "Excel 工作簿（.xlsx，第一个工作表）"
        return f"CSV，{ENCODING_NAMES.get(self.encoding or '', self.encoding)} 编码"


def open_table(path: Path) -> Table:
    """The header and rows of `path`; FileRejected when it cannot be read as a table."""
    suffix = path.suffix.lower()
    if suffix == ".xlsx":
        return _open_xlsx(path)
    if suffix in (".csv", ".txt"):
        return _open_csv(path)
    shown = path.suffix or "（无扩展名）"
    raise FileRejected(f"不支持的文件类型“{shown}”：请使用 .csv 或 .xlsx 文件。")


def detect_encoding(path: Path) -> str:
    """"utf-8-sig" for a BOM, else "utf-8" if every byte decodes as UTF-8, else GBK; the whole
    file is checked (in chunks), so a row never fails half-way through the import."""
    with path.open("rb") as stream:
        if stream.read(len(_BOM)) == _BOM:
            return "utf-8-sig" if _decodes(stream, "utf-8") else _undecodable()
        stream.seek(0)
        if _decodes(stream, "utf-8"):
            return "utf-8"
        stream.seek(0)
        if _decodes(stream, GBK):
            return GBK
    return _undecodable()


def _decodes(stream: Any, encoding: str) -> bool:
    decoder = codecs.getincrementaldecoder(encoding)()
    try:
        while chunk := stream.read(_CHUNK):
            decoder.decode(chunk)
        decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        return False
    return True


def _undecodable() -> str:
    raise FileRejected("无法识别文件编码：CSV 文件应为 UTF-8 或 GBK 编码。")


def _open_csv(path: Path) -> Table:
    encoding = detect_encoding(path)
    stream = path.open("r", encoding=encoding, newline="")
    reader = csv.reader(stream)
    try:
        header = next(reader)
    except StopIteration:
        stream.close()
        raise FileRejected("文件是空的：第 1 行应为表头。") from None
    except csv.Error as exc:
        stream.close()
        raise FileRejected(f"CSV 格式错误：{exc}") from None

    def rows() -> Iterator[tuple[int, list[Any]]]:
        number = 1
        try:
            for cells in reader:
                number += 1
                if any(cells):
                    yield number, cells
        except csv.Error as exc:
            raise FileRejected(f"CSV 格式错误（第 {number + 1} 行附近）：{exc}") from None
        finally:
            stream.close()

    return Table(path, "csv", encoding, header, rows())


def _open_xlsx(path: Path) -> Table:
    from openpyxl import load_workbook  # only the xlsx path pays for openpyxl's import

    _check_unpacked_size(path)
    try:
        book = load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # a damaged or mislabelled file: openpyxl raises many kinds
        raise FileRejected(f"无法读取 Excel 文件：{type(exc).__name__}: {exc}") from None
    if not book.worksheets:
        book.close()
        raise FileRejected("Excel 文件中没有工作表。")
    rows_iter = book.worksheets[0].iter_rows(values_only=True)
    try:
        first = next(rows_iter)
    except StopIteration:
        book.close()
        raise FileRejected("文件是空的：第 1 行应为表头。") from None
    header = ["" if v is None else str(v).strip() for v in first]

    def rows() -> Iterator[tuple[int, list[Any]]]:
        try:
            for number, cells in enumerate(rows_iter, start=2):
                if any(v is not None and v != "" for v in cells):
                    yield number, list(cells)
        finally:
            book.close()

    return Table(path, "xlsx", None, header, rows())


def _check_unpacked_size(path: Path) -> None:
    try:
        with zipfile.ZipFile(path) as archive:
            members = archive.infolist()
    except (zipfile.BadZipFile, OSError):
        return  # not a zip at all: openpyxl says what is wrong with it
    total = sum(m.file_size for m in members)
    shared = sum(m.file_size for m in members
                 if m.filename.lower().endswith("sharedstrings.xml"))
    if total > MAX_XLSX_UNPACKED or shared > MAX_XLSX_SHARED_STRINGS:
        raise FileRejected(f"Excel 文件解压后过大（{total // (1 << 20)} MB）：请分成几个文件，"
                           "或另存为 CSV 后上传。")


def cell_text(value: Any) -> str:
    """An xlsx cell as the text a person sees in it; CellError for a number Excel has rounded.

    A float is written as its shortest decimal that reads back as the same float, which is the
    number Excel shows (12.34 → "12.34"), so no amount is ever computed in binary floating point.
    """
    if value is None:
        return ""
    if isinstance(value, str):
        return value.strip()
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if abs(value) >= _EXACT_FLOAT:
            raise CellError("单元格是数字格式，超过 15 位的数字已被 Excel 改变"
                            "（如身份证号码的末几位）：请把该列设为文本格式后重新录入")
        if value.is_integer():
            return str(int(value))
        return repr(value)
    if isinstance(value, datetime):  # a settlement time: the day is what the columns read
        return value.date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    raise CellError(f"无法识别的单元格内容（{type(value).__name__}）")
