"""The engine's own PDF writer prints what reportlab printed (issue 13): the same drawing calls,
replayed on a bare reportlab canvas, give pages that poppler rasterises to the same pixels, but
for anti-aliasing noise. One 50-row approval form (three pages of boxes and text) and one form
with what `decorate` adds: the page numbers, the copy mark and the rotated grey watermark."""

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


def _differing(ours: bytes, theirs: bytes) -> int:
    return sum(1 for a, b in zip(ours, theirs, strict=True) if abs(a - b) > 64)


def _compare(form: Any, data: dict[str, Any], folder: Path, **marks: Any) -> None:
    calls = recorded_calls(form, data, **marks)
    page = (form.page_size[0] * mm, form.page_size[1] * mm)
    ours = _pages(render_form(form, data, **marks), folder, "ours")
    theirs = _pages(reportlab_pdf(calls, page), folder, "theirs")
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
