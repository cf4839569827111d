"""What the form engine draws, as reportlab canvas calls: recorded from one render_form run, then
replayed on a bare reportlab Canvas. The pixel comparison (test_same_look.py) and the forms
benchmark's raw baseline (bench/bench_forms.py) start from it."""

from __future__ import annotations

import io
from collections.abc import Mapping
from typing import Any

from reportlab.lib.colors import Color
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
