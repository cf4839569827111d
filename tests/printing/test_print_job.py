"""Sending a form to the printer (issue 11, point 6): the printer chosen in 设置 (or the
deployment file's) is the print dialog's default when it is installed here, and pages go at no
more than 600 dpi, in bands, on white, every page of the PDF."""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import io
import uuid
from pathlib import Path

import pdfplumber
import pytest
from PySide6.QtCore import QSettings, QSize
from PySide6.QtGui import QColor
from PySide6.QtPrintSupport import QPrinter, QPrinterInfo
from PySide6.QtWidgets import QWidget
from pytestqt.qtbot import QtBot

from desktop.printing.jobs import document_pdf, print_copy, prints_so_far
from desktop.store import Store, open_store
from desktop.ui.main_window import CounterUser, MainWindow
from desktop.ui.print_preview import (
    BAND_ROWS,
    MAX_PRINT_DPI,
    PrintPreview,
    configured_printer,
    installed_printer,
    new_printer,
    pdf_document,
    print_pdf,
)
from desktop.ui.settings_dialog import KEY_PRINTER
from tests.printing.test_forms import CONTEXT, saved, store  # noqa: F401  (the fixture)

DEPLOYED = "HP LaserJet 1号窗口"
CHOSEN = "Canon 2号窗口"


@pytest.fixture
def settings(tmp_path: Path) -> QSettings:
    return QSettings(str(tmp_path / "counter.ini"), QSettings.Format.IniFormat)


@pytest.fixture
def deployment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "counter-desk.toml"
    path.write_text(f'printer = "{DEPLOYED}"\n', encoding="utf-8")
    monkeypatch.setenv("COUNTER_DESK_DEPLOYMENT", str(path))
    return path


def file_printer(path: Path, dpi: int = 1200) -> QPrinter:
    """A printer that writes a PDF file and claims `dpi`, as a 1200-dpi office printer does."""
    printer = QPrinter(QPrinter.PrinterMode.HighResolution)
    printer.setOutputFormat(QPrinter.OutputFormat.PdfFormat)
    printer.setOutputFileName(str(path))
    printer.setResolution(dpi)
    return printer


# -- which printer -------------------------------------------------------------------------------

def test_the_configured_printer_is_chosen_only_when_installed() -> None:
    installed = ["Microsoft Print to PDF", DEPLOYED]
    assert installed_printer(DEPLOYED, installed) == DEPLOYED
    assert installed_printer(f" {DEPLOYED} ", installed) == DEPLOYED
    assert installed_printer("HP LaserJet 9号窗口", installed) is None  # not here: the default
    assert installed_printer("", installed) is None  # "" is the system's default
    assert installed_printer(DEPLOYED, []) is None


def test_a_missing_printer_falls_back_to_the_default_quietly(qtbot: QtBot) -> None:
    default = QPrinter(QPrinter.PrinterMode.HighResolution)
    printer = new_printer("已经拆走的打印机")
    assert printer.printerName() == default.printerName()
    assert printer.outputFormat() == default.outputFormat()
    # a name Qt does not know turns a QPrinter into a PDF file; ours never gets one
    assert new_printer(DEPLOYED, available=[]).printerName() == default.printerName()


def test_an_installed_printer_becomes_the_printers_name(qtbot: QtBot) -> None:
    names = QPrinterInfo.availablePrinterNames()
    if not names:
        pytest.skip("no printer is installed on this machine (the offscreen test box)")
    assert new_printer(names[-1]).printerName() == names[-1]


def test_the_printer_in_settings_wins_over_the_deployment_files(
        qtbot: QtBot, tmp_path: Path, settings: QSettings, deployment: Path) -> None:
    assert configured_printer(settings) == DEPLOYED  # nothing chosen: the deployment's default
    settings.setValue(KEY_PRINTER, CHOSEN)
    assert configured_printer(settings) == CHOSEN
    settings.setValue(KEY_PRINTER, "")  # the clerk chose the system's default
    assert configured_printer(settings) == ""
    deployment.write_text("printer = 7\n", encoding="utf-8")  # a bad file: not fatal here
    assert configured_printer(settings) == ""
    settings.remove(KEY_PRINTER)
    assert configured_printer(settings) == ""


def test_the_preview_reads_the_main_windows_settings(qtbot: QtBot, tmp_path: Path,
                                                     settings: QSettings,
                                                     deployment: Path) -> None:
    opened = open_store(tmp_path / "empty.sqlite")
    try:
        window = MainWindow(opened, CounterUser("clerk1", "李经办", ("clerk",)),
                            settings=settings, check_audit=False)
        qtbot.addWidget(window)
        preview = PrintPreview("申请表", _one_page(), lambda _reason: b"", parent=window.counter)
        qtbot.addWidget(preview)
        assert preview.settings() is settings
        assert preview.wanted_printer() == DEPLOYED
        settings.setValue(KEY_PRINTER, CHOSEN)  # changed in 设置 while the preview is open
        assert preview.wanted_printer() == CHOSEN
        # neither is installed on the test box: the dialog opens on the system's default
        assert preview.new_printer().printerName() == QPrinter().printerName()
        given = PrintPreview("申请表", _one_page(), None, printer=DEPLOYED, parent=window.counter)
        qtbot.addWidget(given)
        assert given.wanted_printer() == DEPLOYED
    finally:
        opened.close()


def _one_page() -> bytes:
    from desktop.printing.jobs import draft_application_pdf
    from tests.printing.test_forms import TODAY

    person = {"id": "P1", "name": "杨旭", "id_number": "310105195604121229",
              "committee": "华阳居委", "address": "上海市长宁区宁德路515号",
              "categories": ["dibao"]}
    return draft_application_pdf(person, [], auto_enrolled=False, bank_account=None,
                                 applied_on=TODAY, context=CONTEXT)


# -- what goes to the printer --------------------------------------------------------------------

def _printed_pages(path: Path) -> int:
    return len(pdfplumber.open(io.BytesIO(path.read_bytes())).pages)


def _ink_and_paper(path: Path, parent: QWidget) -> tuple[int, int]:
    """The darkest and the lightest grey on the printed file's first page (0 black, 255 white)."""
    document, _buffer = pdf_document(path.read_bytes(), parent)
    image = document.render(0, QSize(298, 421))  # 36 dpi is enough to see ink and paper
    greys = [QColor(image.pixel(x, y)).lightness() if QColor(image.pixel(x, y)).alpha() else 255
             for x in range(0, image.width(), 2) for y in range(0, image.height(), 2)]
    return min(greys), max(greys)


def test_a_1200_dpi_printer_gets_every_page_at_600_dpi(qtbot: QtBot, store: Store,  # noqa: F811
                                                       tmp_path: Path) -> None:
    parent = QWidget()
    qtbot.addWidget(parent)
    pdf = document_pdf(store, saved(store, rows=50), "approval", context=CONTEXT)
    pages = len(pdfplumber.open(io.BytesIO(pdf)).pages)
    assert pages > 1  # 50 rows continue on further pages
    out = tmp_path / "printed.pdf"
    printer = file_printer(out, dpi=1200)
    printed = print_pdf(pdf, printer, parent)
    assert printed.pages == pages and _printed_pages(out) == pages
    assert printed.dpi == MAX_PRINT_DPI
    a4_at_600 = QSize(round(210 / 25.4 * 600), round(297 / 25.4 * 600))  # 4961 × 7016
    assert 0 < printed.page_pixels.width() <= a4_at_600.width()
    assert 0 < printed.page_pixels.height() <= a4_at_600.height()
    # never a whole page as one picture: a band of rows at a time
    assert printed.largest_image.width() == printed.page_pixels.width()
    assert printed.largest_image.height() == BAND_ROWS
    ink, paper = _ink_and_paper(out, parent)
    assert ink < 100 and paper == 255  # black lines and text on white paper


def test_a_600_dpi_or_lower_printer_is_used_as_it_is(qtbot: QtBot, tmp_path: Path) -> None:
    parent = QWidget()
    qtbot.addWidget(parent)
    printed = print_pdf(_one_page(), file_printer(tmp_path / "300.pdf", dpi=300), parent)
    assert printed.dpi == 300 and printed.pages == 1
    assert _printed_pages(tmp_path / "300.pdf") == 1


def test_printing_from_the_preview_counts_and_prints(qtbot: QtBot, store: Store,  # noqa: F811
                                                     tmp_path: Path) -> None:
    application_id: uuid.UUID = saved(store, rows=3)
    preview = PrintPreview(
        "申请表", document_pdf(store, application_id, "application", context=CONTEXT),
        lambda reason: print_copy(store, application_id, "application", clerk="li",
                                  reason=reason, context=CONTEXT), printer="")
    qtbot.addWidget(preview)
    preview.choose_printer = lambda: file_printer(tmp_path / "original.pdf")
    preview.print_now()
    assert preview.error.text() == "" and preview.printed is not None
    assert preview.last_print is not None and preview.last_print.dpi == MAX_PRINT_DPI
    assert _printed_pages(tmp_path / "original.pdf") == 1
    # a printer that cannot start: said in Chinese, no traceback; the copy was still counted
    preview.ask_reason = lambda: "卡纸"
    preview.choose_printer = lambda: file_printer(tmp_path / "no such folder" / "copy.pdf")
    preview.print_now()
    assert "打印机无法开始打印" in preview.error.text()
    assert "重印时须填写原因" in preview.error.text()
    assert prints_so_far(store, application_id, "application") == 2
    assert preview.copies_so_far == 2
