"""The engine's own PDF writer prints what reportlab printed (issue 13): the same drawing calls,
replayed on a bare reportlab canvas, give pages that poppler rasterises to the same pixels, but
for anti-aliasing noise. One 50-row approval form (three pages of boxes and text) and one form
with what `decorate` adds: the page numbers, the copy mark and the rotated grey watermark. The
counter prints through Qt's PDF module (PDFium), which must see the same too."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from reportlab.lib.units import mm

from desktop.printing.documents import application_form_data, approval_form_data
from desktop.printing.forms import load_form
from desktop.printing.render import render_form
from desktop.store import Store
from tests.printing.reportlab_replay import recorded_calls, reportlab_pdf
from tests.printing.test_forms import CONTEXT, saved, store  # noqa: F401  (the fixture)

DPI = 100
TOLERATED = 0.005  # of a page's pixels that may differ by more than a quarter of the grey range


def _pages(pdf: bytes, folder: Path, name: str) -> list[tuple[int, int, bytes]]:
    if shutil.which("pdftoppm") is None:
        pytest.fail("pdftoppm (poppler-utils) is installed by scripts/setup.sh")
    path = folder / f"{name}.pdf"
    path.write_bytes(pdf)
    done = subprocess.run(["pdftoppm", "-gray", "-r", str(DPI), str(path), str(folder / name)],
                          capture_output=True, text=True, check=True, timeout=120)
    assert done.stderr == ""
    pages = []
    for image in sorted(folder.glob(f"{name}-*.pgm")):
        raw = image.read_bytes()
        magic, width, height, depth, pixels = raw.split(maxsplit=4)
        assert (magic, depth) == (b"P5", b"255")
        pages.append((int(width), int(height), pixels))
    return pages


def _qt_pages(pdf: bytes) -> list[tuple[int, int, bytes]]:
    """Each page as PDFium draws it for the printer (desktop/ui/print_preview.py), in grey."""
    from PySide6.QtCore import QSize, Qt
    from PySide6.QtGui import QImage, QPainter
    from PySide6.QtWidgets import QWidget

    from desktop.ui.print_preview import pdf_document

    parent = QWidget()
    document, _buffer = pdf_document(pdf, parent)
    pages = []
    for n in range(document.pageCount()):
        size = document.pagePointSize(n) * DPI / 72
        image = document.render(n, QSize(round(size.width()), round(size.height())))
        paper = QImage(image.size(), QImage.Format.Format_RGB32)  # PDFium leaves it clear
        paper.fill(Qt.GlobalColor.white)
        painter = QPainter(paper)
        painter.drawImage(0, 0, image)
        painter.end()
        grey = paper.convertToFormat(QImage.Format.Format_Grayscale8)
        width, height, line = grey.width(), grey.height(), grey.bytesPerLine()
        raw = bytes(grey.constBits())
        pages.append((width, height, b"".join(raw[y * line:y * line + width]
                                               for y in range(height))))
    document.close()
    parent.deleteLater()
    return pages


def _differing(ours: bytes, theirs: bytes) -> int:
    return sum(1 for a, b in zip(ours, theirs, strict=True) if abs(a - b) > 64)


def _compare(form: Any, data: dict[str, Any], folder: Path | None, **marks: Any) -> None:
    """Poppler's pages into `folder`, or PDFium's without one."""
    calls = recorded_calls(form, data, **marks)
    page = (form.page_size[0] * mm, form.page_size[1] * mm)
    mine, plain = render_form(form, data, **marks), reportlab_pdf(calls, page)
    ours = _qt_pages(mine) if folder is None else _pages(mine, folder, "ours")
    theirs = _qt_pages(plain) if folder is None else _pages(plain, folder, "theirs")
    assert len(ours) == len(theirs) == sum(1 for name, _ in calls if name == "showPage")
    for n, ((width, height, mine), (*size, plain)) in enumerate(zip(ours, theirs, strict=True)):
        assert [width, height] == size
        inked = sum(1 for value in plain if value < 128)
        assert inked > 0.002 * width * height, n  # the page is not blank
        differing = _differing(mine, plain)
        assert differing <= TOLERATED * width * height, (n, differing, inked)


@pytest.mark.slow
def test_fifty_rows_look_as_reportlab_drew_them(store: Store, tmp_path: Path  # noqa: F811
                                               ) -> None:
    data = approval_form_data(store, saved(store, rows=50), CONTEXT)
    _compare(load_form("approval"), data, tmp_path)


@pytest.mark.slow
def test_the_watermark_and_the_copy_mark_look_as_reportlab_drew_them(
        store: Store, tmp_path: Path) -> None:  # noqa: F811
    data = application_form_data(store, saved(store, rows=8), CONTEXT)
    _compare(load_form("changning_application"), data, tmp_path,
             watermark="预览 — 非正式", copy_mark="副本（第 2 次打印）")


@pytest.mark.slow
def test_qt_prints_what_it_printed_from_reportlab(store: Store, qapp: Any) -> None:  # noqa: F811
    data = approval_form_data(store, saved(store, rows=50), CONTEXT)
    _compare(load_form("approval"), data, None, watermark="预览 — 非正式",
             copy_mark="副本（第 2 次打印）")
