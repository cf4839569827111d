"""A batch of forms (issue 12): each counted and audited as a print of its application, one
reason for the batch's copies asked before anything is counted, the pages in one print job."""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from pathlib import Path

import pytest
from PySide6.QtWidgets import QWidget
from pytestqt.qtbot import QtBot

from desktop.printing.batch import copies_in_batch, print_batch
from desktop.printing.jobs import ReprintNeedsReason, prints_so_far
from desktop.store import Store
from desktop.ui.print_preview import print_pdfs
from tests.printing.test_forms import CONTEXT, store  # noqa: F401  (the fixture)
from tests.services.test_today import submit
from tests.ui.test_today_view import file_printer, page_count


def test_a_batch_counts_each_form_and_prints_as_one_job(qtbot: QtBot, store: Store,  # noqa: F811
                                                        tmp_path: Path) -> None:
    ids = [submit(store, [0, 1]), submit(store, [2, 3]), submit(store, [4, 5])]
    first = print_batch(store, ids, clerk="li", context=CONTEXT)
    assert [f.copy for f in first] == [1, 1, 1] and [f.application_id for f in first] == ids
    with pytest.raises(ReprintNeedsReason, match="3 份审批表已打印过"):
        print_batch(store, ids, clerk="li", context=CONTEXT)
    assert [prints_so_far(store, a, "approval") for a in ids] == [1, 1, 1]  # nothing counted
    assert copies_in_batch(store, ids) == 3
    again = print_batch(store, [ids[1], submit(store, [6])], clerk="li", reason="卡纸",
                        context=CONTEXT)
    assert [f.copy for f in again] == [2, 1]
    with pytest.raises(ValueError, match="没有要打印的申请"):
        print_batch(store, [], clerk="li")
    parent = QWidget()
    qtbot.addWidget(parent)
    out = tmp_path / "batch.pdf"
    printed = print_pdfs([f.pdf for f in first], file_printer(out), parent)
    expected = sum(page_count(f.pdf) for f in first)
    assert printed.pages == expected == page_count(out.read_bytes())
    with pytest.raises(ValueError, match="无法读取"):
        print_pdfs([first[0].pdf, b"not a pdf"], file_printer(tmp_path / "x.pdf"), parent)
    assert not (tmp_path / "x.pdf").exists()  # an unreadable document prints nothing
