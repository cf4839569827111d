"""Benchmark: printing a one-page application form (申请表) to a 1200-dpi printer (issue 11,
point 6: target < 0.5 s per page and < 150 MB extra memory).

The printer is a QPrinter writing a PDF file whose resolution is set to 1200 dpi, as a 1200-dpi
office printer reports; the page goes through `desktop.ui.print_preview.print_pdf`, the code the
打印 button runs. The baseline is the code before issue 11 (the whole page as one colour picture
at the printer's resolution), run the same way. Each variant runs in its own process, so that
one's peak memory (VmHWM in /proc/self/status: Qt's memory, which tracemalloc cannot see) does
not hide the other's; the first print, cold, is measured for memory, then the median and p95
of the following ones for time.

Run: `QT_QPA_PLATFORM=offscreen .venv/bin/python bench/bench_print.py [runs]` (about 30 s; exit
status 1 when a target is missed).
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

TARGET_S = 0.5
TARGET_MB = 150.0
PRINTER_DPI = 1200


def application_pdf(folder: Path) -> bytes:
    """The stored application's form, from synthetic data, as the counter prints it."""
    from stored_application import stored_application

    from desktop.printing.context import PrintContext
    from desktop.printing.jobs import document_pdf

    store, application_id = stored_application(folder, rows=6)
    pdf = document_pdf(store, application_id, "application",
                       context=PrintContext(street_name="华阳路街道"))
    store.close()
    return pdf


def peak_rss_mb() -> float:
    """VmHWM: the process's peak resident memory so far."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmHWM in /proc/self/status (Linux only)")


def old_print_pdf(data: bytes, printer, parent) -> int:  # type: ignore[no-untyped-def]
    """The code before issue 11, kept here as the baseline: each page one ARGB picture at the
    printer's full resolution."""
    from PySide6.QtCore import Qt
    from PySide6.QtGui import QPainter

    from desktop.ui.print_preview import pdf_document

    document, _buffer = pdf_document(data, parent)
    painter = QPainter()
    if not painter.begin(printer):
        raise ValueError("打印机无法开始打印，请检查打印机。")
    try:
        for page in range(document.pageCount()):
            if page:
                printer.newPage()
            target = painter.viewport().size()
            size = document.pagePointSize(page).toSize().scaled(
                target, Qt.AspectRatioMode.KeepAspectRatio)
            painter.drawImage(0, 0, document.render(page, size))
    finally:
        painter.end()
    return document.pageCount()


def measure(variant: str, runs: int) -> str:
    """One variant in this process; returns its result line (key=value ...)."""
    from PySide6.QtPrintSupport import QPrinter
    from PySide6.QtWidgets import QApplication, QWidget

    from desktop.ui.print_preview import print_pdf

    app = QApplication.instance() or QApplication([])
    parent = QWidget()
    with tempfile.TemporaryDirectory() as name:
        folder = Path(name)
        pdf = application_pdf(folder)

        def once(n: int) -> tuple[float, int, str]:
            printer = QPrinter(QPrinter.PrinterMode.HighResolution)
            printer.setOutputFormat(QPrinter.OutputFormat.PdfFormat)
            printer.setOutputFileName(str(folder / f"printed-{n}.pdf"))
            printer.setResolution(PRINTER_DPI)
            began = time.perf_counter()
            if variant == "old":
                pages, dpi = old_print_pdf(pdf, printer, parent), PRINTER_DPI
            else:
                printed = print_pdf(pdf, printer, parent)
                pages, dpi = printed.pages, printed.dpi
            app.processEvents()
            return time.perf_counter() - began, pages, f"{dpi}"

        before = peak_rss_mb()
        first, pages, dpi = once(0)
        extra = peak_rss_mb() - before
        times = [once(n)[0] / pages for n in range(1, runs + 1)]
        size = (folder / "printed-0.pdf").stat().st_size
    return (f"variant={variant} pages={pages} dpi={dpi} first={first:.3f} "
            f"median={statistics.median(times):.3f} "
            f"p95={sorted(times)[round(0.95 * (len(times) - 1))]:.3f} "
            f"extra_mb={extra:.0f} bytes={size}")


def main() -> int:
    if len(sys.argv) > 2 and sys.argv[1] == "--variant":
        print(measure(sys.argv[2], int(sys.argv[3])))
        return 0
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 5
    print(f"print benchmark; a shared 2-core machine, load average "
          f"{' '.join(f'{x:.2f}' for x in os.getloadavg())}; printer: a PDF file at "
          f"{PRINTER_DPI} dpi, QT_QPA_PLATFORM={os.environ['QT_QPA_PLATFORM']}")
    met = True
    for variant in ("old", "new"):
        out = subprocess.run([sys.executable, __file__, "--variant", variant,
                              str(runs if variant == "new" else max(2, runs // 2))],
                             capture_output=True, text=True, timeout=600, check=True)
        line = out.stdout.strip().splitlines()[-1]
        fields = dict(item.split("=") for item in line.split())
        label = ("before issue 11 (one ARGB picture per page at the printer's dpi)"
                 if variant == "old" else "now (grayscale bands at ≤ 600 dpi)")
        ok = float(fields["p95"]) < TARGET_S and float(fields["extra_mb"]) < TARGET_MB
        print(f"{label}: {fields['pages']} page(s) rendered at {fields['dpi']} dpi; per page "
              f"median {float(fields['median']):.2f} s, p95 {float(fields['p95']):.2f} s "
              f"(first, cold: {float(fields['first']):.2f} s); extra peak memory "
              f"{fields['extra_mb']} MB; printed file {int(fields['bytes']):,} bytes"
              + ("" if variant == "old" else
                 f" — targets < {TARGET_S} s and < {TARGET_MB:.0f} MB: "
                 f"{'met' if ok else 'NOT met'}"))
        if variant == "new":
            met = ok
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main())
