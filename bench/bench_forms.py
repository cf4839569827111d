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
from datetime import UTC, date, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from desktop.printing.documents import PrintContext, approval_form_data
from desktop.printing.forms import load_form
from desktop.printing.jobs import document_pdf
from desktop.printing.render import render_form
from desktop.services.counter import CounterSession
from desktop.store import apply_changes, open_store
from desktop.wire import Change

TARGET_MS = 200.0
APPLIED = date(2026, 6, 10)


def main() -> int:
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 50
    print(f"forms benchmark; 2 CPUs, load average "
          f"{' '.join(f'{x:.2f}' for x in os.getloadavg())} (a shared machine)")
    with tempfile.TemporaryDirectory() as folder:
        store = open_store(Path(folder) / "s.sqlite")
        seq = iter(range(1, 10_000))
        changes = [
            Change(seq=next(seq), entity="person", key="P1", op="upsert", data={
                "id": "P1", "id_number": "310105195604121229", "name": "杨旭", "sex": "F",
                "birth_date": "1956-04-12", "street_code": "310105001", "committee": "华阳居委",
                "address": "上海市长宁区宁德路515号"}),
            Change(seq=next(seq), entity="category_span", key="S1", op="upsert", data={
                "id": "S1", "person_id": "P1", "code": "dibao", "start": "2020-01-01",
                "end": None, "source": "民政"}),
            Change(seq=next(seq), entity="institution", key="H1", op="upsert", data={
                "code": "H1", "name": "复旦大学附属华山医院", "level": 3})]
        for n in range(50):
            amount = f"{100 + n * 13}.{n:02d}"
            changes.append(Change(seq=next(seq), entity="fee_row", key=f"F{n:02d}", op="upsert",
                                  data={"id": f"F{n:02d}", "person_id": "P1",
                                        "institution_code": "H1", "receipt_no": f"{n:010d}",
                                        "date": f"2026-{3 + n % 3:02d}-{1 + n % 27:02d}",
                                        "kind": "outpatient", "hospital_level": 3,
                                        "total": amount, "out_of_scope": "0.00",
                                        "self_pay": amount}))
        with store.session() as session:
            apply_changes(session, changes)
        counter = CounterSession(store, "P1", program="assistance", clerk="li",
                                 application_date=APPLIED)
        counter.tick_all(r.id for r in counter.rows if r.tickable)
        application_id = counter.submit(now=datetime(2026, 6, 10, 2, tzinfo=UTC)).application_id
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
