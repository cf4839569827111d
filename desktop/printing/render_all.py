"""`python -m desktop.printing.render_all OUTDIR`: every form, filled for synthetic demo data.

Builds a throw-away store with made-up persons (invented names and addresses, ID numbers with
valid check characters — never a real person), saves applications and an enrolment through the
counter's own services, has one reviewed and approved, and writes each form and the month's
reports as PDF (and PNG where pdftoppm is installed) and the month's workbook.
"""

from __future__ import annotations

import random
import shutil
import subprocess
import sys
import tempfile
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from desktop.domain.id_number import generate_id_number
from desktop.printing.context import PrintContext
from desktop.printing.jobs import DOCUMENTS, document_pdf
from desktop.printing.reports_pdf import payout_pdf, summary_pdf
from desktop.printing.xlsx import write_monthly_xlsx
from desktop.services.numbering import remember_registration
from desktop.store import Store, apply_changes, open_store
from desktop.wire import Change

APPLIED = date(2026, 6, 10)
PASSWORD = "demo-pass-2026"
SAMPLE_DEVICE = "00000000-0000-4000-8000-00000000d3e0"  # the demo district's PC id


def demo_store(folder: Path) -> tuple[Store, str]:
    """A store with one dibao recipient of 长宁区华阳路街道 and twelve fee rows; the person id."""
    rnd = random.Random(2026)
    birth = date(1956, 4, 12)
    person = {"id": "P1", "id_number": generate_id_number(rnd, "310105", birth, "F"),
              "name": "杨秀兰", "sex": "F", "birth_date": birth.isoformat(),
              "phone": f"139{rnd.randrange(10**8):08d}", "street_code": "310105001",
              "committee": "华阳居委",
              "address": f"上海市长宁区示例路{rnd.randrange(1, 900)}号",
              "bank_account": "6222021234567890128"}
    seq = iter(range(1, 1000))
    changes = [Change(seq=next(seq), entity="person", key="P1", op="upsert", data=person),
               Change(seq=next(seq), entity="category_span", key="S1", op="upsert", data={
                   "id": "S1", "person_id": "P1", "code": "dibao", "start": "2020-01-01",
                   "end": None, "source": "长民救〔2020〕0042号"}),
               Change(seq=next(seq), entity="institution", key="H1", op="upsert", data={
                   "code": "H1", "name": "复旦大学附属华山医院", "level": 3}),
               Change(seq=next(seq), entity="institution", key="H2", op="upsert", data={
                   "code": "H2", "name": "华阳路社区卫生服务中心", "level": 1})]
    for n in range(12):
        day = APPLIED - timedelta(days=9 + 11 * n)
        kind = "inpatient" if n == 5 else "outpatient"
        yuan = rnd.randrange(80, 900 if kind == "outpatient" else 9000)
        amount = f"{yuan}.{rnd.randrange(100):02d}"
        changes.append(Change(seq=next(seq), entity="fee_row", key=f"F{n}", op="upsert", data={
            "id": f"F{n}", "person_id": "P1", "institution_code": "H1" if n % 3 else "H2",
            "issuer_code": "31060126", "receipt_no": f"{31200 + n:010d}", "check_code": "a1b2c3",
            "date": day.isoformat(), "kind": kind, "hospital_level": 3 if n % 3 else 1,
            "total": amount, "out_of_scope": "0.00", "self_pay": amount}))
    member_birth = date(1950, 9, 3)
    changes.append(Change(seq=next(seq), entity="person", key="P2", op="upsert", data={
        "id": "P2", "id_number": generate_id_number(rnd, "310105", member_birth, "M"),
        "name": "刘建华", "sex": "M", "birth_date": member_birth.isoformat(),
        "phone": f"137{rnd.randrange(10**8):08d}", "street_code": "310105001",
        "committee": "华阳居委", "mutual_aid_years": [2025, 2026],
        "mutual_aid_benefits_from": "2025-01-01", "external_inpatient_insurance": True}))
    changes.append(Change(seq=next(seq), entity="fee_row", key="M1", op="upsert", data={
        "id": "M1", "person_id": "P2", "institution_code": "H1", "issuer_code": "31060126",
        "receipt_no": "0000041001", "date": "2026-05-20", "kind": "inpatient",
        "hospital_level": 3, "total": "23456.70", "out_of_scope": "1234.50",
        "self_pay": "22222.20", "external_deductible": "800.00",
        "external_reimbursed": "17500.00"}))
    store = open_store(folder / "demo.sqlite")
    # a PC numbered 1 in its street: the samples carry human application numbers
    remember_registration(store, "华阳路街道", 1)
    with store.session() as session:
        apply_changes(session, changes)
    return store, "P1"


def _district_accepts(store: Store, application_id: object) -> None:
    """The demo district's answer to the application, recorded as a push records it."""
    from sqlalchemy import select

    from desktop import wire
    from desktop.services.applications import record_push_result
    from desktop.store import mark_all_delivered
    from desktop.store.models import OutboxRecord

    with store.session() as session:
        row = next(r for r in session.scalars(select(OutboxRecord).where(
            OutboxRecord.kind == "application"))
            if r.payload["application_id"] == str(application_id))
        item = wire.OutboxItem(idempotency_key=row.idempotency_key, kind="application",
                               payload=row.payload, created_at=row.created_at)
        result = wire.ItemResult(idempotency_key=row.idempotency_key, status="accepted")
        mark_all_delivered(session, {row.idempotency_key: result.model_dump(mode="json")})
        record_push_result(session, item, result)


def _keys_registered(store: Store, usernames: list[str]) -> None:
    """Each user's signing key, as an online sign-in leaves it (sealed under their verifier,
    registered by the demo district): the sample forms carry real signatures."""
    from desktop.domain import signing as acts
    from desktop.services import signing
    from desktop.services.accounts import open_verifier
    from desktop.store.models import UserRecord

    now = datetime.now(UTC)
    for username in usernames:
        with store.read_session() as session:
            verifier = session.get_one(UserRecord, username).password_verifier
        opened = open_verifier(verifier, PASSWORD)
        assert opened is not None
        private = acts.new_private_key()
        record = signing.key_record(username, private, opened, now, registered_at=now,
                                    device_id=SAMPLE_DEVICE)
        with store.session() as session:
            session.add(record)
        signing.remember(signing.Signer(username, record.key_id, SAMPLE_DEVICE, private))


def render_all(out: Path) -> list[Path]:
    from desktop.services.accounts import remember_user
    from desktop.services.approvals import sign
    from desktop.services.counter import CounterSession
    from desktop.services.enrolment import EnrolmentForm, enrol
    from desktop.services.reports import monthly_summary, payout_list

    out.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    with tempfile.TemporaryDirectory() as folder:
        store, person_id = demo_store(Path(folder))
        staff = (("li", "李经办", "clerk"), ("zhao", "赵审核", "reviewer"),
                 ("wang", "王审批", "approver"))
        for username, name, role in staff:
            remember_user(store, username, name, [role], PASSWORD)
        _keys_registered(store, [username for username, _, _ in staff])
        counter = CounterSession(store, person_id, program="assistance", clerk="li",
                                 application_date=APPLIED)
        counter.tick_all(r.id for r in counter.rows if r.tickable)
        saved = counter.submit(bank_account="6222021234567890128",
                               bank_name="中国工商银行上海长宁支行",
                               household_address="上海市长宁区示例路 12 弄 3 号 201 室",
                               medical_records=counter.needing_medical_records(),
                               now=datetime(2026, 6, 10, 2, tzinfo=UTC))
        _district_accepts(store, saved.application_id)
        sign(store, saved.application_id, role="reviewer", username="zhao", password=PASSWORD,
             now=datetime(2026, 6, 11, 2, tzinfo=UTC))
        sign(store, saved.application_id, role="approver", username="wang", password=PASSWORD,
             now=datetime(2026, 6, 12, 2, tzinfo=UTC))
        enrolled = enrol(store, person_id, EnrolmentForm(
            person_attribute="zhinei", hukou_district="长宁区", hukou_street="华阳路街道",
            contact_district="长宁区", contact_street="华阳路街道",
            external_inpatient_insurance=True, phone="13912345678", postcode="200050",
            original_employer="上海第三钢铁厂", other_province_employer="贵州某机械厂"),
            handler="li", paid_on=date(2026, 11, 24))
        member = CounterSession(store, "P2", program="mutual_aid", clerk="li",
                                application_date=APPLIED)
        member.tick("M1")
        inpatient = member.submit(medical_records=member.needing_medical_records(),
                                  now=datetime(2026, 6, 10, 3, tzinfo=UTC))
        context = PrintContext(street_name="华阳路街道")
        records = {"enrolment": enrolled.enrolment_id, "inpatient": inpatient.application_id}
        for kind in DOCUMENTS:
            record = records.get(kind, saved.application_id)
            path = out / f"{kind}.pdf"
            path.write_bytes(document_pdf(store, record, kind, context=context))
            written.append(path)
        summary = monthly_summary(store, street_code="310105001", year=2026, month=6)
        payout = payout_list(store, street_code="310105001", year=2026, month=6)
        kept = {"street_name": "华阳路街道", "prepared_by": "李经办",
                "prepared_on": date(2026, 7, 3)}
        for name, report in (("monthly_summary", summary_pdf(summary, **kept)),
                             ("payout_list", payout_pdf(payout, **kept))):
            path = out / f"{name}.pdf"
            path.write_bytes(report)
            written.append(path)
        workbook = out / "monthly_report.xlsx"
        write_monthly_xlsx(summary, payout, workbook, street_name="华阳路街道",
                           prepared_by="李经办", prepared_on=date(2026, 7, 3))
        store.close()
    if shutil.which("pdftoppm"):
        for pdf in list(written):
            subprocess.run(["pdftoppm", "-png", "-r", "80", str(pdf), str(pdf.with_suffix(""))],
                           check=True, timeout=120)
            written += sorted(out.glob(f"{pdf.stem}-*.png"))
    return [*written, out / "monthly_report.xlsx"]


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        print("usage: python -m desktop.printing.render_all OUTDIR", file=sys.stderr)
        return 2
    for path in render_all(Path(args[0])):
        print(path)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
