"""Printing the day's forms in one go: several applications' forms (审批表 by default) as one
print job, each form counted and audited as a print of its application.

Each form is the same PDF printing it alone would give (desktop.printing.jobs.print_copy): the
original the first time, 副本 with its number after. A batch asks one reason for all its copies,
and asks it before anything is counted, so a batch refused for want of a reason leaves no trace.
The pages go to the printer one document after another in one job (desktop.ui.print_preview
.print_pdfs): the printer never needs them merged into one PDF.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from desktop.printing.context import NO_CONTEXT, PrintContext
from desktop.printing.jobs import DOCUMENTS, ReprintNeedsReason, print_copy, prints_so_far
from desktop.store import Store


@dataclass(frozen=True)
class BatchForm:
    """One form of a batch, as it goes to the printer."""

    application_id: uuid.UUID
    copy: int  # 1: the original; 2 and on: 副本
    pdf: bytes


def copies_in_batch(store: Store, application_ids: Sequence[uuid.UUID],
                    kind: str = "approval") -> int:
    """How many of the batch's forms were printed before (each would be a 副本)."""
    return sum(1 for a in application_ids if prints_so_far(store, a, kind))


def print_batch(store: Store, application_ids: Sequence[uuid.UUID], kind: str = "approval", *,
                clerk: str, reason: str | None = None,
                context: PrintContext = NO_CONTEXT) -> list[BatchForm]:
    """The forms to send to the printer as one job, in the order given, each counted and
    audited. Raises ReprintNeedsReason (in Chinese) before counting anything when a form was
    printed before and no reason is given; ValueError when the batch is empty."""
    ids = list(dict.fromkeys(application_ids))
    if not ids:
        raise ValueError("没有要打印的申请。")
    text = (reason or "").strip()
    before = {a: prints_so_far(store, a, kind) for a in ids}
    copies = sum(1 for n in before.values() if n)
    if copies and not text:
        raise ReprintNeedsReason(
            f"其中 {copies} 份{DOCUMENTS[kind][1]}已打印过，重印为副本，须填写原因。")
    forms = []
    for a in ids:
        pdf = print_copy(store, a, kind, clerk=clerk, reason=text if before[a] else None,
                         context=context)
        forms.append(BatchForm(a, before[a] + 1, pdf))
    return forms
