"""Benchmark: the approval form (医疗救助帮困审批表) for an application with 50 rows (issue 13:
target < 10 ms), from the stored application to the PDF bytes, as a reprint does; beside it, in
the same run, the raw limit: a bare reportlab canvas (same fonts, page size, compression and
invariant mode) drawing the very strings and boxes the form draws, and nothing else.

Also, for the record: the same form from data already built (the PDF alone), the data alone,
and the application form (申请表) and its unsaved preview.

Run: `.venv/bin/python bench/bench_forms.py [runs]` (about 10 s; exit status 1 when the target
is missed).
"""

from __future__ import annotations

import io
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from reportlab.lib.units import mm
from reportlab.pdfgen.canvas import Canvas
from stored_application import APPLIED, stored_application  # bench/, the script's own folder

from desktop.printing import render
from desktop.printing.context import PrintContext
from desktop.printing.documents import approval_form_data
from desktop.printing.forms import load_form
from desktop.printing.jobs import document_pdf, draft_application_pdf

TARGET_MS = 10.0


class _Recorder(Canvas):  # type: ignore[misc]  # reportlab is untyped
    """A canvas that also notes each drawing call the form engine makes, to replay them."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.calls: list[tuple[str, tuple[Any, ...]]] = []

    def setTitle(self, *args: Any) -> None:
        self.calls.append(("setTitle", args))
        super().setTitle(*args)

    def setAuthor(self, *args: Any) -> None:
        self.calls.append(("setAuthor", args))
        super().setAuthor(*args)

    def setFont(self, *args: Any, **kwargs: Any) -> None:
        self.calls.append(("setFont", args))
        super().setFont(*args, **kwargs)

    def drawString(self, *args: Any, **kwargs: Any) -> None:
        self.calls.append(("drawString", args))
        super().drawString(*args, **kwargs)

    def drawCentredString(self, *args: Any, **kwargs: Any) -> None:
        self.calls.append(("drawCentredString", args))
        super().drawCentredString(*args, **kwargs)

    def drawRightString(self, *args: Any, **kwargs: Any) -> None:
        self.calls.append(("drawRightString", args))
        super().drawRightString(*args, **kwargs)

    def rect(self, *args: Any, **kwargs: Any) -> None:
        self.calls.append(("rect", args))
        super().rect(*args, **kwargs)

    def setLineWidth(self, *args: Any, **kwargs: Any) -> None:
        self.calls.append(("setLineWidth", args))
        super().setLineWidth(*args, **kwargs)

    def showPage(self) -> None:
        self.calls.append(("showPage", ()))
        super().showPage()


def recorded_calls(form: Any, data: dict[str, Any]) -> list[tuple[str, tuple[Any, ...]]]:
    """The canvas calls render_form makes for `form` and `data` (one run, recorded); each line
    of text it writes itself (render._draw_line) as the drawString that writes the same."""
    recorders: list[_Recorder] = []

    def recording(*args: Any, **kwargs: Any) -> _Recorder:
        recorders.append(_Recorder(*args, **kwargs))
        return recorders[-1]

    def line(canvas: Any, font: Any, x: float, y: float, text: str, size: float) -> None:
        canvas.calls.append(("drawString", (x, y, text)))
        draw_line(canvas, font, x, y, text, size)

    draw_line = render._draw_line
    setattr(render, "Canvas", recording)  # noqa: B010 (the engine's canvas, for one run)
    setattr(render, "_draw_line", line)  # noqa: B010
    try:
        render.render_form(form, data)
    finally:
        setattr(render, "Canvas", Canvas)  # noqa: B010
        setattr(render, "_draw_line", draw_line)  # noqa: B010
    return recorders[0].calls


def bare_pdf(calls: list[tuple[str, tuple[Any, ...]]], page: tuple[float, float]) -> bytes:
    """The raw limit: the same calls on a bare canvas."""
    buffer = io.BytesIO()
    canvas = Canvas(buffer, pagesize=page, pageCompression=1, invariant=1)
    for name, args in calls:  # the last is the last page's showPage
        getattr(canvas, name)(*args)
    canvas.save()
    return buffer.getvalue()


def timed(action: Callable[[], object], runs: int) -> tuple[float, float]:
    """Median and p95 in milliseconds."""
    times = []
    for _ in range(runs):
        began = time.perf_counter()
        action()
        times.append((time.perf_counter() - began) * 1000)
    return statistics.median(times), sorted(times)[round(0.95 * (runs - 1))]


def main() -> int:
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 100
    print(f"forms benchmark; 2 CPUs, load average "
          f"{' '.join(f'{x:.2f}' for x in os.getloadavg())} (a shared machine); {runs} runs each")
    with tempfile.TemporaryDirectory() as folder:
        store, application_id = stored_application(Path(folder), rows=50)
        context = PrintContext(street_name="华阳路街道")
        form = load_form("approval")
        data = approval_form_data(store, application_id, context)
        calls = recorded_calls(form, data)
        page = (form.page_size[0] * mm, form.page_size[1] * mm)

        def approval() -> bytes:
            return document_pdf(store, application_id, "approval", context=context)

        pdf, bare = approval(), bare_pdf(calls, page)  # warm: fonts, the definition
        same = bare == render.render_form(form, data)
        strings = sum(1 for name, _ in calls if name.startswith("draw"))
        boxes = sum(1 for name, _ in calls if name == "rect")
        # interleaved, so that a burst of load on the shared machine hits both alike
        whole, raw = [], []
        for _ in range(runs):
            whole.append(timed(approval, 1)[0])
            raw.append(timed(lambda: bare_pdf(calls, page), 1)[0])
        median, p95 = statistics.median(whole), sorted(whole)[round(0.95 * (runs - 1))]
        raw_median, raw_p95 = statistics.median(raw), sorted(raw)[round(0.95 * (runs - 1))]
        pdf_alone = timed(lambda: render.render_form(form, data), runs)
        data_alone = timed(lambda: approval_form_data(store, application_id, context), runs)
        application = timed(lambda: document_pdf(store, application_id, "application",
                                                 context=context), runs)
        person = dict(data["person"])
        fees = [{"date": f"2026-03-{n + 1:02d}", "kind": "outpatient", "total": f"{100 + n}.00"}
                for n in range(6)]
        preview = timed(lambda: draft_application_pdf(
            person, fees, auto_enrolled=False, bank_account=None, applied_on=APPLIED,
            context=context), runs)
        store.close()
    met = p95 < TARGET_MS
    print(f"approval form, 50 rows, stored application → PDF ({len(pdf):,} bytes, "
          f"{pdf.count(b'/Type /Page') - 1} pages): median {median:.1f} ms, p95 {p95:.1f} ms "
          f"— target < {TARGET_MS:.0f} ms (p95): {'met' if met else 'NOT met'}")
    print(f"  raw baseline, same run: a bare reportlab canvas drawing the same {strings} strings "
          f"and {boxes} boxes ({len(bare):,} bytes, {'the same' if same else 'NOT the same'} "
          f"PDF byte for byte): median {raw_median:.1f} ms, p95 "
          f"{raw_p95:.1f} ms — ratio {median / raw_median:.2f}× (median), "
          f"{p95 / raw_p95:.2f}× (p95)")
    print(f"  of which the PDF from data already built: median {pdf_alone[0]:.1f} ms, p95 "
          f"{pdf_alone[1]:.1f} ms; the data from the store: median {data_alone[0]:.1f} ms, "
          f"p95 {data_alone[1]:.1f} ms")
    print(f"for the record: application form (申请表), same application: median "
          f"{application[0]:.1f} ms, p95 {application[1]:.1f} ms; its unsaved preview "
          f"(6 rows, watermarked): median {preview[0]:.1f} ms, p95 {preview[1]:.1f} ms")
    return 0 if met else 1


if __name__ == "__main__":
    raise SystemExit(main())
