"""A stored application from synthetic data, as the counter saves it: what the forms and print
benchmarks start from (bench_forms.py, bench_print.py)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path
from uuid import UUID

from desktop.domain import signing as acts
from desktop.services import signing
from desktop.services.counter import CounterSession
from desktop.store import Store, apply_changes, open_store
from desktop.wire import Change

APPLIED = date(2026, 6, 10)


def stored_application(folder: Path, rows: int) -> tuple[Store, UUID]:
    """A store in `folder` with one person (synthetic) and `rows` outpatient rows, all ticked
    and saved as an application by clerk "li", whose signing key is open as a sign-in leaves
    it. The caller closes the store."""
    store = open_store(folder / "s.sqlite")
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
    for n in range(rows):
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
    private = acts.new_private_key()
    signing.remember(signing.Signer("li", acts.key_id_of(acts.public_key_b64(private)),
                                    "00000000-0000-4000-8000-000000000001", private))
    counter = CounterSession(store, "P1", program="assistance", clerk="li",
                             application_date=APPLIED)
    counter.tick_all(r.id for r in counter.rows if r.tickable)
    application_id = counter.submit(now=datetime(2026, 6, 10, 2, tzinfo=UTC)).application_id
    return store, application_id
