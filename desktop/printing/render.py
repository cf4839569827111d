"""The small form engine: a FormDefinition and its data in, an A4 PDF (bytes) out.

Every PDF embeds subsets of AR PL UMing (body) and WenQuanYi Micro Hei (titles) from
resources/fonts, so it prints the same on
any PC. The engine does no arithmetic: the data holds the amounts, and formats only write them
(1,234.56; 壹仟贰佰叁拾肆元伍角陆分; 2026年06月10日).
"""

from __future__ import annotations

import io
import zlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from reportlab.lib.colors import Color
from reportlab.lib.rl_accel import fp_str
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont, TTFontFace
from reportlab.pdfgen.canvas import Canvas

from desktop.paths import resources_dir
from desktop.printing.forms import Column, Element, FormDefinition
from desktop.printing.numerals import format_amount, rmb_capital

FONT = "UMing"  # body text: a 宋体-style serif (AR PL UMing, resources/fonts)
TITLE_FONT = "WQY"  # titles and the watermark: a 黑体-style face (WenQuanYi Micro Hei)
TITLE_SIZE = 13.0  # a fixed text at least this big is a title
MIN_SIZE = 6.0
_GREY = Color(0.55, 0.55, 0.55, alpha=0.35)
_registered = False


class FormDataError(ValueError):
    """The data lacks a value the form binds, or holds one it cannot print; names the bind."""


def register_font() -> None:
    """Both faces, loaded and parsed once per process (the files are 21 and 5 MB)."""
    global _registered
    if not _registered:
        fonts = resources_dir() / "fonts"
        for name, file in ((TITLE_FONT, "wqy-microhei.ttc"), (FONT, "uming.ttc")):
            pdfmetrics.registerFont(TTFont(name, str(fonts / file), subfontIndex=0))
            # the registered font: reportlab keeps the first one registered for a face
            pdfmetrics.getFont(name).face.__class__ = _Face
        _registered = True


class _TableSlices:
    """A font table that gives out copies of the slices taken from it, not of itself."""

    __slots__ = ("_view",)

    def __init__(self, view: memoryview) -> None:
        self._view = view

    def __getitem__(self, part: slice) -> bytes:
        return self._view[part].tobytes()

    def __len__(self) -> int:
        return len(self._view)


class _Face(TTFontFace):  # type: ignore[misc]  # reportlab is untyped
    """reportlab's face, making the same subsets (font programs) faster: its subsetter gets
    the `glyf` and `post` tables as slices, not copies (it took the whole 17 MB `glyf` of AR
    PL UMing only to cut a few hundred glyphs out of it: 2–3 ms for each subset of each PDF),
    and each subset is deflated at zlib's fastest level (_QuickFlate)."""

    def get_table(self, tag: str) -> Any:
        if tag in ("glyf", "post"):
            pos, length = self.get_table_pos(tag)
            return _TableSlices(memoryview(self._ttf_data)[pos:pos + length])
        return super().get_table(tag)

    def addSubsetObjects(self, doc: Any, fontname: str, subset: Any) -> Any:
        descriptor = super().addSubsetObjects(doc, fontname, subset)
        outlines = doc.idToObject[f"fontFile:{self.filename}({fontname})"]
        if outlines.filters:
            outlines.filters = [_QUICK_FLATE]
        return descriptor


class _QuickFlate:
    """Deflate at zlib's fastest level, for the font subsets: at the default level a subset of
    AR PL UMing (110 kB of outlines that hardly compress) took 5 ms of the 50-row approval
    form's 15; this takes 2 ms, and the PDF grows by 7 %. Page streams keep the default."""

    pdfname = "FlateDecode"

    def encode(self, data: bytes) -> bytes:
        return zlib.compress(data, 1)

    def decode(self, encoded: bytes) -> bytes:
        return zlib.decompress(encoded)


_QUICK_FLATE = _QuickFlate()


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
        self.buffer = io.BytesIO()
        self.canvas = Canvas(self.buffer, pagesize=(self.width * mm, self.height * mm),
                             pageCompression=1, invariant=1)
        self.canvas.setTitle(form.title)
        self.canvas.setAuthor("医疗救助柜台")
        self.watermark = watermark
        self.copy_mark = copy_mark

    def y(self, top: float) -> float:
        return float((self.height - top) * mm)

    def text(self, x: float, top: float, text: str, size: float, align: str = "left",
             font: str = FONT) -> None:
        c = self.canvas
        c.setFont(font, size)
        baseline = self.y(top) - size * 0.35  # x, top: the text's vertical middle
        left = x * mm
        if align != "left":
            width = pdfmetrics.stringWidth(text, font, size)
            left -= 0.5 * width if align == "center" else width
        _draw_line(c, pdfmetrics.getFont(font), left, baseline, text, size)

    def rect(self, x: float, top: float, w: float, h: float) -> None:
        self.canvas.setLineWidth(0.6)
        self.canvas.rect(x * mm, self.y(top + h), w * mm, h * mm)

    def boxed_text(self, text: str, x: float, top: float, w: float, h: float, size: float,
                   align: str, wrap: bool = True) -> None:
        """Text inside a box: wrapped on lines at `size`; made smaller only while the lines
        do not fit the box's height (a one-line box thus shrinks a long value to fit).
        `wrap=False` (table headings): one line, made smaller until it fits the width."""
        pad = 1.2
        inner = w - 2 * pad
        if not wrap:
            while pdfmetrics.stringWidth(text, FONT, size) > inner * mm and size > MIN_SIZE:
                size -= 0.25
        lines = _wrap(text, inner, size) if wrap else [text]
        while len(lines) * _line_height(size) > h and size > MIN_SIZE:
            size -= 0.5
            lines = _wrap(text, inner, size)
        line_h = _line_height(size)
        first = top + h / 2 - (len(lines) - 1) * line_h / 2
        for n, line in enumerate(lines):
            at = {"left": x + pad, "center": x + w / 2, "right": x + w - pad}[align]
            self.text(at, first + n * line_h, line, size, align)

    def decorate(self, page: int, pages: int) -> None:
        c = self.canvas
        self.text(self.width / 2, self.height - 8, f"第 {page} 页 / 共 {pages} 页", 8, "center")
        if self.copy_mark:
            self.text(self.width - 12, 10, self.copy_mark, 12, "right")
        if self.watermark:
            c.saveState()
            c.setFillColor(_GREY)
            c.setFont(TITLE_FONT, 48)
            c.translate(self.width / 2 * mm, self.height / 2 * mm)
            c.rotate(35)
            c.drawCentredString(0, 0, self.watermark)
            c.restoreState()


def _draw_line(canvas: Canvas, font: Any, x: float, y: float, text: str, size: float) -> None:
    """What reportlab's drawString writes for a TrueType font, operator for operator (a test
    compares them), without the text object it builds and throws away for each string:
    a third of the drawing time of a 50-row form."""
    doc = canvas._doc
    escape = canvas._escape
    tail = f"{fp_str(size)} Tf {fp_str(size * 1.2)} TL"  # reportlab's default leading
    shown = []
    current = -1
    for subset, part in font.splitString(text, doc):
        if subset != current:
            shown.append(f"{font.getSubsetInternalName(subset, doc)} {tail}")
            current = subset
        shown.append(f"({escape(part)}) Tj")
    canvas._code.append(f"BT 1 0 0 1 {fp_str(x, y)} Tm {' '.join(shown)} T* ET")


def _line_height(size: float) -> float:
    return size * 0.3528 * 1.25  # points to mm, with leading


def _wrap(text: str, width: float, size: float) -> list[str]:
    lines: list[str] = []
    limit = width * mm
    for paragraph in text.split("\n"):
        if pdfmetrics.stringWidth(paragraph, FONT, size) <= limit:
            # most cells: no prefix is wider than the whole, so the loop below would not break
            lines.append(paragraph)
            continue
        line = ""
        for char in paragraph:
            if pdfmetrics.stringWidth(line + char, FONT, size) > limit and line:
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
    pdf.canvas.showPage()
    pdf.canvas.save()
    return pdf.buffer.getvalue()


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
        width = 4.2 + pdfmetrics.stringWidth(label, FONT, size) / mm + 3
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
        pdf.canvas.showPage()
        page += 1
        pdf.text(pdf.width / 2, 16, f"{form.title}（续表）", 13, "center", TITLE_FONT)
        _table(pdf, e, e.box[0], 25, overflow.rows[start:start + per_page], size)
        pdf.decorate(page, pages)
    return page
