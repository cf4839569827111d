"""Benchmark: generating the approval form (医疗救助帮困审批表) for an application with 50 rows
(issue 5: target < 200 ms), from the stored application to the PDF bytes, as a reprint does.

Run: `.venv/bin/python bench/bench_forms.py` (a few seconds).
"""

from __future__ import annotations

import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from stored_application import stored_application  # bench/, the script's own folder

from desktop.printing.context import PrintContext
from desktop.printing.documents import approval_form_data
from desktop.printing.forms import load_form
from desktop.printing.jobs import document_pdf
from desktop.printing.render import render_form

TARGET_MS = 200.0


def main() -> int:
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 50
    print(f"forms benchmark; 2 CPUs, load average "
          f"{' '.join(f'{x:.2f}' for x in os.getloadavg())} (a shared machine)")
    with tempfile.TemporaryDirectory() as folder:
        store, application_id = stored_application(Path(folder), rows=50)
        context = PrintContext(street_name="华阳路街道")
        document_pdf(store, application_id, "approval", context=context)  # warm: font, YAML
        whole, render_only = [], []
        form = load_form("approval")
        data = approval_form_data(store, application_id, context)
        for _ in range(runs):
            began = time.perf_counter()
            pdf = document_pdf(store, application_id, "approval", context=context)
            whole.append((time.perf_counter() - began) * 1000)
            began = time.perf_counter()
            render_form(form, data)
            render_only.append((time.perf_counter() - began) * 1000)
        store.close()
    p95 = sorted(whole)[round(0.95 * (len(whole) - 1))]
    print(f"approval form, 50 rows ({len(pdf):,} bytes, {pdf.count(b'/Type /Page') - 1} pages): "
          f"median {statistics.median(whole):.1f} ms, p95 {p95:.1f} ms (the PDF alone, from "
          f"its data: median {statistics.median(render_only):.1f} ms) — target < "
          f"{TARGET_MS:.0f} ms: {'met' if p95 < TARGET_MS else 'NOT met'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
