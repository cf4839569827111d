"""What the form engine draws, as reportlab canvas calls: recorded from one render_form run, then
replayed on a bare reportlab Canvas. The pixel comparison (test_same_look.py) and the forms
benchmark's raw baseline (bench/bench_forms.py) start from it."""

from __future__ import annotations

import io
import zlib
from collections.abc import Mapping
from typing import Any

from reportlab.lib.colors import Color
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFontFace
from reportlab.pdfgen.canvas import Canvas

from desktop.printing import render
from desktop.printing.forms import FormDefinition
from desktop.printing.pdfwriter import PdfWriter

Call = tuple[str, tuple[Any, ...]]


class _Recorder(PdfWriter):
    """The engine's writer, noting each drawing call as the canvas calls that draw the same."""

    def __init__(self, width: float, height: float, *, title: str, author: str) -> None:
        super().__init__(width, height, title=title, author=author)
        self.calls: list[Call] = [("setTitle", (title,)), ("setAuthor", (author,))]
        recorders.append(self)

    def text(self, font: str, size: float, x: float, y: float, text: str) -> None:
        self.calls += [("setFont", (font, size)), ("drawString", (x, y, text))]
        super().text(font, size, x, y, text)

    def rect(self, x: float, y: float, width: float, height: float, line_width: float) -> None:
        self.calls += [("setLineWidth", (line_width,)), ("rect", (x, y, width, height))]
        super().rect(x, y, width, height, line_width)

    def watermark(self, font: str, size: float, text: str, x: float, y: float, degrees: float,
                  grey: float, alpha: float) -> None:
        self.calls += [("saveState", ()), ("setFillColor", (Color(grey, grey, grey, alpha),)),
                       ("setFont", (font, size)), ("translate", (x, y)), ("rotate", (degrees,)),
                       ("drawCentredString", (0, 0, text)), ("restoreState", ())]
        super().watermark(font, size, text, x, y, degrees, grey, alpha)

    def show_page(self) -> None:
        self.calls.append(("showPage", ()))
        super().show_page()


recorders: list[_Recorder] = []


def recorded_calls(form: FormDefinition, data: Mapping[str, Any], **marks: Any) -> list[Call]:
    """The canvas calls that draw what render_form draws for `form` and `data` (one run)."""
    recorders.clear()
    setattr(render, "PdfWriter", _Recorder)  # noqa: B010 (the engine's writer, for one run)
    try:
        render.render_form(form, data, **marks)
    finally:
        setattr(render, "PdfWriter", PdfWriter)  # noqa: B010
    return recorders.pop().calls


def reportlab_pdf(calls: list[Call], page: tuple[float, float]) -> bytes:
    """The same calls on a bare reportlab canvas (its fonts, compression and invariant mode)."""
    buffer = io.BytesIO()
    canvas = Canvas(buffer, pagesize=page, pageCompression=1, invariant=1)
    for name, args in calls:  # the last is the last page's showPage
        getattr(canvas, name)(*args)
    canvas.save()
    return buffer.getvalue()


def tune_reportlab_faces() -> None:
    """Give reportlab's faces for the engine's fonts the speed-ups the engine gave them while it
    drew with reportlab (until December 2026), so that the benchmark's baseline stays the one
    it measured then: its subsetter takes the `glyf` and `post` tables as slices, not copies
    of the whole 17 MB, and deflates each subset at zlib's fastest level."""
    render.register_font()
    for name in (render.FONT, render.TITLE_FONT):
        pdfmetrics.getFont(name).face.__class__ = _TunedFace


class _TableSlices:
    """A font table that gives out copies of the slices taken from it, not of itself."""

    __slots__ = ("_view",)

    def __init__(self, view: memoryview) -> None:
        self._view = view

    def __getitem__(self, part: slice) -> bytes:
        return self._view[part].tobytes()

    def __len__(self) -> int:
        return len(self._view)


class _TunedFace(TTFontFace):  # type: ignore[misc]  # reportlab is untyped
    def get_table(self, tag: str) -> Any:
        if tag in ("glyf", "post"):
            pos, length = self.get_table_pos(tag)
            return _TableSlices(memoryview(self._ttf_data)[pos:pos + length])
        return super().get_table(tag)

    def addSubsetObjects(self, doc: Any, fontname: str, subset: Any) -> Any:
        descriptor = super().addSubsetObjects(doc, fontname, subset)
        outlines = doc.idToObject[f"fontFile:{self.filename}({fontname})"]
        if outlines.filters:
            outlines.filters = [_QuickFlate()]
        return descriptor


class _QuickFlate:
    pdfname = "FlateDecode"

    def encode(self, data: bytes) -> bytes:
        return zlib.compress(data, 1)

    def decode(self, encoded: bytes) -> bytes:
        return zlib.decompress(encoded)
