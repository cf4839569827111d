"""The small form engine: a FormDefinition and its data in, an A4 PDF (bytes) out.

Every PDF embeds subsets of AR PL UMing (body) and WenQuanYi Micro Hei (titles) from
resources/fonts, so it prints the same on any PC. The engine lays the text out in its boxes
(reportlab measures it) and hands lines and boxes to its own PDF writer (pdfwriter.py). The
engine does no arithmetic: the data holds the amounts, and formats only write them (1,234.56;
壹仟贰佰叁拾肆元伍角陆分; 2026年06月10日).
"""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont

from desktop.paths import resources_dir
from desktop.printing.forms import Column, Element, FormDefinition
from desktop.printing.numerals import format_amount, rmb_capital
from desktop.printing.pdfwriter import PdfWriter, embed_face
from desktop.printing.truetype import EmbeddedFace

FONT = "UMing"  # body text: a 宋体-style serif (AR PL UMing, resources/fonts)
TITLE_FONT = "WQY"  # titles and the watermark: a 黑体-style face (WenQuanYi Micro Hei)
TITLE_SIZE = 13.0  # a fixed text at least this big is a title
MIN_SIZE = 6.0
LINE_WIDTH = 0.6  # points, every box
WATERMARK_GREY, WATERMARK_ALPHA = 0.55, 0.35
AUTHOR = "医疗救助柜台"
_fonts: dict[str, TTFont] = {}  # the registered fonts, for their string widths
_registering = threading.Lock()
# Where a box's text goes (its lines, their size and place) depends only on the text and the
# box, so it is kept for the next document: labels, headings and the values that recur (a
# hospital, a verdict, a date in the same row) are laid out once per process.
_layouts: dict[tuple[Any, ...], tuple[tuple[float, float, float, str], ...]] = {}
_LAYOUTS_KEPT = 20_000  # beyond which the cache starts again


class FormDataError(ValueError):
    """The data lacks a value the form binds, or holds one it cannot print; names the bind."""


def register_font() -> None:
    """Both faces, loaded and parsed once per process (the files are 21 and 5 MB)."""
    if len(_fonts) == 2:
        return
    with _registering:  # a print in a background operation and a preview may both start it
        fonts = resources_dir() / "fonts"
        for name, file in ((TITLE_FONT, "wqy-microhei.ttc"), (FONT, "uming.ttc")):
            if name in _fonts:
                continue
            pdfmetrics.registerFont(TTFont(name, str(fonts / file), subfontIndex=0))
            # the registered font: reportlab keeps the first one registered for a face
            font = pdfmetrics.getFont(name)
            embed_face(name, EmbeddedFace(font))
            _fonts[name] = font


def string_width(text: str, font: str, size: float) -> float:
    """In points, as the PDF's font widths place the glyphs."""
    return float(_fonts[font].stringWidth(text, size))


# -- values -------------------------------------------------------------------------------------

def resolve(data: Mapping[str, Any], path: str) -> Any:
    value: Any = data
    for part in path.split("."):
        if isinstance(value, Mapping) and part in value:
            value = value[part]
        else:
            raise FormDataError(f"no value for {path!r} (missing {part!r})")
    return value


def formatted(value: Any, fmt: str, bind: str) -> str:
    if value is None:
        return ""
    if fmt == "amount":
        return str(format_amount(_decimal(value, bind)))
    if fmt == "capital":
        return str(rmb_capital(_decimal(value, bind)))
    if fmt in ("date", "date_cn"):
        day = value if isinstance(value, date) else _date(value, bind)
        if isinstance(day, datetime):
            day = day.date()
        return day.isoformat() if fmt == "date" else f"{day.year}年{day.month:02d}月{day.day:02d}日"
    if fmt == "yes_no":
        return "是" if value else "否"
    if fmt == "count":
        return str(int(value))
    return str(value)


def _decimal(value: Any, bind: str) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, Decimal | str | int):
        raise FormDataError(f"{bind}: an amount must be a Decimal or its text, not {value!r}")
    try:
        return Decimal(value)
    except ArithmeticError:
        raise FormDataError(f"{bind}: not an amount: {value!r}") from None


def _date(value: Any, bind: str) -> date:
    try:
        return date.fromisoformat(str(value)[:10])
    except ValueError:
        raise FormDataError(f"{bind}: not a date: {value!r}") from None


# -- pages --------------------------------------------------------------------------------------

@dataclass(frozen=True)
class _Overflow:
    element: Element
    rows: Sequence[Any]


class _Pdf:
    def __init__(self, form: FormDefinition, watermark: str | None, copy_mark: str | None
                 ) -> None:
        register_font()
        self.form = form
        self.width, self.height = form.page_size
        self.writer = PdfWriter(self.width * mm, self.height * mm, title=form.title,
                                author=AUTHOR)
        self.watermark = watermark
        self.copy_mark = copy_mark

    def y(self, top: float) -> float:
        return float((self.height - top) * mm)

    def text(self, x: float, top: float, text: str, size: float, align: str = "left",
             font: str = FONT) -> None:
        baseline = self.y(top) - size * 0.35  # x, top: the text's vertical middle
        left = x * mm
        if align != "left":
            width = string_width(text, font, size)
            left -= 0.5 * width if align == "center" else width
        self.writer.text(font, size, left, baseline, text)

    def rect(self, x: float, top: float, w: float, h: float) -> None:
        self.writer.rect(x * mm, self.y(top + h), w * mm, h * mm, LINE_WIDTH)

    def boxed_text(self, text: str, x: float, top: float, w: float, h: float, size: float,
                   align: str, wrap: bool = True) -> None:
        """Text inside a box: wrapped on lines at `size`; made smaller only while the lines
        do not fit the box's height (a one-line box thus shrinks a long value to fit).
        `wrap=False` (table headings): one line, made smaller until it fits the width."""
        key = (text, x, top, w, h, size, align, wrap, self.height)
        lines = _layouts.get(key)
        if lines is None:
            if len(_layouts) >= _LAYOUTS_KEPT:
                _layouts.clear()
            lines = _layouts[key] = self._boxed_lines(text, x, top, w, h, size, align, wrap)
        draw = self.writer.text
        for line_size, left, baseline, line in lines:
            draw(FONT, line_size, left, baseline, line)

    def _boxed_lines(self, text: str, x: float, top: float, w: float, h: float, size: float,
                     align: str, wrap: bool) -> tuple[tuple[float, float, float, str], ...]:
        """Each line's size, left end and baseline (points), and text."""
        pad = 1.2
        inner = w - 2 * pad
        if wrap and "\n" not in text and (_line_height(size) <= h or size <= MIN_SIZE):
            # most cells: one line that fits, placed as the general case below would place it
            width = string_width(text, FONT, size)
            if width <= inner * mm:
                left = {"left": x + pad, "center": x + w / 2, "right": x + w - pad}[align] * mm
                if align != "left":
                    left -= 0.5 * width if align == "center" else width
                return ((size, left, self.y(top + h / 2) - size * 0.35, text),)
        if not wrap:
            while string_width(text, FONT, size) > inner * mm and size > MIN_SIZE:
                size -= 0.25
        lines = _wrap(text, inner, size) if wrap else [text]
        while len(lines) * _line_height(size) > h and size > MIN_SIZE:
            size -= 0.5
            lines = _wrap(text, inner, size)
        line_h = _line_height(size)
        first = top + h / 2 - (len(lines) - 1) * line_h / 2
        at = {"left": x + pad, "center": x + w / 2, "right": x + w - pad}[align]
        placed = []
        for n, line in enumerate(lines):
            left = at * mm
            if align != "left":
                width = string_width(line, FONT, size)
                left -= 0.5 * width if align == "center" else width
            placed.append((size, left, self.y(first + n * line_h) - size * 0.35, line))
        return tuple(placed)

    def decorate(self, page: int, pages: int) -> None:
        self.text(self.width / 2, self.height - 8, f"第 {page} 页 / 共 {pages} 页", 8, "center")
        if self.copy_mark:
            self.text(self.width - 12, 10, self.copy_mark, 12, "right")
        if self.watermark:
            self.writer.watermark(TITLE_FONT, 48, self.watermark, self.width / 2 * mm,
                                  self.height / 2 * mm, 35, WATERMARK_GREY, WATERMARK_ALPHA)


def _line_height(size: float) -> float:
    return size * 0.3528 * 1.25  # points to mm, with leading


def _wrap(text: str, width: float, size: float) -> list[str]:
    lines: list[str] = []
    limit = width * mm
    for paragraph in text.split("\n"):
        if string_width(paragraph, FONT, size) <= limit:
            # most cells: no prefix is wider than the whole, so the loop below would not break
            lines.append(paragraph)
            continue
        line = ""
        for char in paragraph:
            if string_width(line + char, FONT, size) > limit and line:
                lines.append(line)
                line = char
            else:
                line += char
        lines.append(line)
    return lines


def render_form(form: FormDefinition, data: Mapping[str, Any], *, watermark: str | None = None,
                copy_mark: str | None = None) -> bytes:
    """The PDF of `form` filled with `data`; FormDataError names a missing or bad value."""
    pdf = _Pdf(form, watermark, copy_mark)
    overflows: list[_Overflow] = []
    for element in form.elements:
        rest = _draw(pdf, element, data, form.font_size)
        if rest is not None:
            overflows.append(rest)
    pages = 1 + sum(_pages_needed(pdf, o) for o in overflows)
    pdf.decorate(1, pages)
    page = 1
    for overflow in overflows:
        page = _continue_table(pdf, overflow, page, pages, form)
    pdf.writer.show_page()
    return pdf.writer.finish()


def _draw(pdf: _Pdf, e: Element, data: Mapping[str, Any], base: float) -> _Overflow | None:
    x, top, w, h = e.box
    size = e.size or base
    if e.type == "text":
        pdf.text(x, top, e.text, size, e.align,
                 TITLE_FONT if size >= TITLE_SIZE else FONT)
    elif e.type == "cell":
        if e.border:
            pdf.rect(x, top, w, h)
        value = e.text if not e.bind else formatted(resolve(data, e.bind), e.format, e.bind)
        pdf.boxed_text(value, x, top, w, h, size, e.align)
    elif e.type == "field":
        if e.border:
            pdf.rect(x, top, w, h)
        value = formatted(resolve(data, e.bind), e.format, e.bind)
        if e.label:
            if e.border:
                pdf.rect(x, top, e.label_width, h)
            pdf.boxed_text(e.label, x, top, e.label_width, h, size, "center")
        pdf.boxed_text(value, x + e.label_width, top, w - e.label_width, h, size, e.align)
    elif e.type == "checks":
        _checks(pdf, e, resolve(data, e.bind), size)
    elif e.type == "lines":
        lines = resolve(data, e.bind)
        if e.border:
            pdf.rect(x, top, w, h)
        if not isinstance(lines, list):
            raise FormDataError(f"{e.bind}: must be a list of lines")
        pdf.boxed_text("\n".join(str(line) for line in lines), x, top, w, h, size, "left")
    elif e.type == "table":
        rows = resolve(data, e.bind)
        if not isinstance(rows, list):
            raise FormDataError(f"{e.bind}: must be a list of rows")
        fits = max(0, int((h - e.header_height) // e.row_height))
        _table(pdf, e, x, top, rows[:fits], size)
        if len(rows) > fits:
            rest = len(rows) - fits
            pdf.text(x + w, top + h + 3, f"（明细共 {len(rows)} 条，其余 {rest} 条见续表）", 8,
                     "right")
            return _Overflow(e, rows[fits:])
    return None


def _checks(pdf: _Pdf, e: Element, value: Any, size: float) -> None:
    x, top, w, h = e.box
    chosen = {str(v) for v in value} if isinstance(value, list | tuple | set) else {str(value)}
    if e.border:
        pdf.rect(x, top, w, h)
    left = x
    if e.label:
        pdf.rect(x, top, e.label_width, h)
        pdf.boxed_text(e.label, x, top, e.label_width, h, size, "center")
        left = x + e.label_width
    # options flow left to right, on as many lines as the box needs
    line_h = size * 0.3528 * 1.6
    cx, cy = left + 2, top + line_h / 2 + 1
    for option in e.options:
        label = option.label
        width = 4.2 + string_width(label, FONT, size) / mm + 3
        if cx + width > x + w and cx > left + 2:
            cx, cy = left + 2, cy + line_h
        box = 3.0
        pdf.rect(cx, cy - box / 2, box, box)
        if option.value in chosen:
            pdf.text(cx + box / 2, cy, "√", size, "center")
        pdf.text(cx + box + 1, cy, label, size)
        cx += width


def _table(pdf: _Pdf, e: Element, x: float, top: float, rows: Sequence[Any], size: float) -> None:
    cx = x
    for column in e.columns:
        pdf.rect(cx, top, column.width, e.header_height)
        pdf.boxed_text(column.title, cx, top, column.width, e.header_height, size, "center",
                       wrap=False)
        cx += column.width
    for n, row in enumerate(rows):
        row_top = top + e.header_height + n * e.row_height
        cx = x
        for column in e.columns:
            pdf.rect(cx, row_top, column.width, e.row_height)
            pdf.boxed_text(_cell(row, column, e.bind), cx, row_top, column.width, e.row_height,
                           size, column.align)
            cx += column.width


def _cell(row: Any, column: Column, bind: str) -> str:
    if not isinstance(row, Mapping):
        raise FormDataError(f"{bind}: each row must be a mapping")
    return formatted(resolve(row, column.bind), column.format, f"{bind}[].{column.bind}")


def _pages_needed(pdf: _Pdf, overflow: _Overflow) -> int:
    per_page = _rows_per_continuation(pdf, overflow.element)
    return -(-len(overflow.rows) // per_page)


def _rows_per_continuation(pdf: _Pdf, e: Element) -> int:
    usable = pdf.height - 30 - 20 - e.header_height
    return max(1, int(usable // e.row_height))


def _continue_table(pdf: _Pdf, overflow: _Overflow, page: int, pages: int,
                    form: FormDefinition) -> int:
    e = overflow.element
    per_page = _rows_per_continuation(pdf, e)
    size = e.size or form.font_size
    for start in range(0, len(overflow.rows), per_page):
        pdf.writer.show_page()
        page += 1
        pdf.text(pdf.width / 2, 16, f"{form.title}（续表）", 13, "center", TITLE_FONT)
        _table(pdf, e, e.box[0], 25, overflow.rows[start:start + per_page], size)
        pdf.decorate(page, pages)
    return page
