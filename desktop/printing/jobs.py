"""Printing an application's forms: the PDF, the copy count, the audit trail.

- The same stored application always gives the same PDF, byte for byte (the engine writes no
  date and derives the document's /ID from its content, desktop.printing.pdfwriter): a reprint
  or an auditor's copy next year matches the first print.
- A preview before the application is saved is watermarked “预览 — 非正式”.
- The first print is the original; every later one is marked 副本 with its number, needs a
  reason, and is audited (who, when, which copy, why, the PDF's SHA-256).
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Callable
from datetime import date
from typing import Any

from sqlalchemy import select

from desktop.printing.context import NO_CONTEXT, PrintContext
from desktop.printing.documents import (
    application_form_data,
    application_form_fields,
    approval_form_data,
    enrolment_form_data,
    inpatient_form_data,
    medical_records_wanted,
)
from desktop.printing.forms import load_form
from desktop.printing.render import render_form
from desktop.store import Store, append_audit
from desktop.store.models import AuditEventRecord

PREVIEW_MARK = "预览 — 非正式"
PRINTED = "form.printed"
Builder = Callable[[Store, uuid.UUID, PrintContext], dict[str, Any]]
DOCUMENTS: dict[str, tuple[str, str, Builder]] = {
    # kind: (form file, the form's name for the clerk, data builder)
    "application": ("changning_application", "申请表", application_form_data),
    "approval": ("approval", "审批表", approval_form_data),
    "enrolment": ("mutual_aid_enrolment", "参加人员申请表", enrolment_form_data),  # by enrolment id
    "inpatient": ("mutual_aid_inpatient", "住院医疗费补助申请表", inpatient_form_data),
}


class ReprintNeedsReason(ValueError):
    """A second or later copy is printed only with a reason (it is audited)."""


def document_pdf(store: Store, application_id: uuid.UUID, kind: str, *,
                 context: PrintContext = NO_CONTEXT, watermark: str | None = None,
                 copy_mark: str | None = None) -> bytes:
    form_name, _label, build = DOCUMENTS[kind]
    return render_form(load_form(form_name), build(store, application_id, context),
                       watermark=watermark, copy_mark=copy_mark)


def draft_application_pdf(person: dict[str, Any], fees: list[dict[str, Any]], *,
                          auto_enrolled: bool, bank_account: str | None, applied_on: date,
                          context: PrintContext = NO_CONTEXT) -> bytes:
    """The application form for ticks not yet saved: a preview, watermarked, never counted.
    The bank and household address are those on file (the submit dialog proposes the same);
    the 病史资料 line says which are still to be received."""
    data = application_form_fields(person, fees, auto_enrolled=auto_enrolled,
                                   bank_account=bank_account, proxy=None,
                                   applied_on=applied_on, application_id="（尚未保存）",
                                   context=context,
                                   medical_records=medical_records_wanted(fees))
    return render_form(load_form("changning_application"), data, watermark=PREVIEW_MARK)


def _subject(kind: str, record_id: uuid.UUID) -> str:
    return f"{'enrolment' if kind == 'enrolment' else 'application'}:{record_id}"


def prints_so_far(store: Store, application_id: uuid.UUID, kind: str) -> int:
    with store.read_session() as session:
        events = session.scalars(select(AuditEventRecord.detail).where(
            AuditEventRecord.action == PRINTED,
            AuditEventRecord.subject == _subject(kind, application_id)))
        return sum(1 for detail in events if detail.get("form") == kind)


def print_copy(store: Store, application_id: uuid.UUID, kind: str, *, clerk: str,
               reason: str | None = None, context: PrintContext = NO_CONTEXT) -> bytes:
    """The PDF to send to the printer, counted and audited; 副本 from the second copy on."""
    copy = prints_so_far(store, application_id, kind) + 1
    text = (reason or "").strip()
    if copy > 1 and not text:
        raise ReprintNeedsReason(f"{DOCUMENTS[kind][1]}已打印过 {copy - 1} 次，重印须填写原因。")
    mark = f"副本（第 {copy} 次打印）" if copy > 1 else None
    pdf = document_pdf(store, application_id, kind, context=context, copy_mark=mark)
    with store.session() as session:
        append_audit(session, clerk, PRINTED, _subject(kind, application_id),
                     {"form": kind, "copy": copy, "reason": text or None,
                      "sha256": hashlib.sha256(pdf).hexdigest()})
    return pdf
