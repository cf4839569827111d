"""Print preview inside the app (QtPdf) and printing through the system's print dialog.

The view shows the PDF the printing layer made; pressing 打印 asks the printing layer for the
counted copy (副本 from the second one, with a reason, audited) and sends exactly that PDF to
the printer, page by page. The print dialog opens on the printer chosen in 设置 (or the
deployment file's), when it is installed here; else on the system's default.

Pages go as pictures at no more than 600 dpi, rendered a band of rows at a time (rows with no
ink are skipped), and the printer is set to grayscale (our forms are black on white; the
watermark is grey): a 1200-dpi page as one colour picture took 2–4 s and 625 MiB, an A4 band of
128 rows at 600 dpi is 2.5 MB (bench/bench_print.py).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from PySide6.QtCore import QBuffer, QByteArray, QIODevice, QRect, QSettings, QSize, Qt
from PySide6.QtGui import QImage, QPainter
from PySide6.QtPrintSupport import QPrintDialog, QPrinter, QPrinterInfo
from PySide6.QtWidgets import (
    QDialog,
    QHBoxLayout,
    QInputDialog,
    QLabel,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from desktop.ui.screen_fit import fit_to_screen
from desktop.ui.widgets import error_label

if TYPE_CHECKING:  # QtPdf is loaded when a PDF is first shown or printed (issue 13: memory)
    from PySide6.QtPdf import QPdfDocument

log = logging.getLogger(__name__)

# (reason or None) -> the PDF to print; raises ValueError with a Chinese message to show
PrintJob = Callable[[str | None], bytes]
MAX_PRINT_DPI = 600  # a form's text and lines look no sharper above it on paper
BAND_ROWS = 128  # pixel rows of a page rendered at a time


@dataclass(frozen=True)
class PrintedPages:
    """What went to the printer: how many pages, at what resolution, in what pieces."""

    pages: int
    dpi: int  # the resolution the pages were rendered at (≤ MAX_PRINT_DPI)
    page_pixels: QSize  # one page at that resolution
    largest_image: QSize  # the largest picture held at once (a band of a page)


def installed_printer(wanted: str, available: Iterable[str]) -> str | None:
    """The configured printer when it is installed here; None: the system's default."""
    wanted = wanted.strip()
    return wanted if wanted and wanted in set(available) else None


def configured_printer(settings: QSettings | None = None) -> str:
    """The printer chosen in 设置, else the deployment file's ("" is the system default)."""
    from desktop.deployment import NO_DEPLOYMENT, DeploymentError, load_deployment
    from desktop.ui.settings_dialog import printer_name

    try:
        deployment = load_deployment()
    except DeploymentError:  # already shown at sign-in; the clerk's choice or the default
        deployment = NO_DEPLOYMENT
    return printer_name(QSettings() if settings is None else settings, deployment)


def new_printer(wanted: str, available: Iterable[str] | None = None) -> QPrinter:
    """A printer set to `wanted` when it is installed (QPrinter would quietly turn a missing
    name into a PDF file), else to the system's default."""
    printer = QPrinter(QPrinter.PrinterMode.HighResolution)
    names = QPrinterInfo.availablePrinterNames() if available is None else available
    name = installed_printer(wanted, names)
    if name is not None:
        printer.setPrinterName(name)
    elif wanted.strip():
        log.info("printer %r is not installed here; using the system's default", wanted)
    return printer


def pdf_document(data: bytes, parent: QWidget) -> tuple[QPdfDocument, QBuffer]:
    """A QPdfDocument over bytes (the buffer must live as long as the document)."""
    from PySide6.QtPdf import QPdfDocument

    buffer = QBuffer(parent)
    buffer.setData(QByteArray(data))
    buffer.open(QIODevice.OpenModeFlag.ReadOnly)
    document = QPdfDocument(parent)
    document.load(buffer)
    return document, buffer


def print_pdf(data: bytes, printer: QPrinter, parent: QWidget) -> PrintedPages:
    """Every page of the PDF onto the printer, fitted to its printable area, at no more than
    MAX_PRINT_DPI whatever the printer claims. Raises ValueError in Chinese."""
    return print_pdfs([data], printer, parent)


def print_pdfs(documents: Sequence[bytes], printer: QPrinter, parent: QWidget) -> PrintedPages:
    """Every page of each PDF in turn onto the printer as ONE job (a batch of forms), fitted
    to its printable area, at no more than MAX_PRINT_DPI. Every document is read before the
    job starts, so an unreadable one prints nothing. Raises ValueError in Chinese."""
    from PySide6.QtPdf import QPdfDocument

    if not documents:
        raise ValueError("没有要打印的文件。")
    opened: list[tuple[QPdfDocument, QBuffer]] = []
    try:
        for data in documents:
            document, buffer = pdf_document(data, parent)
            opened.append((document, buffer))
            if document.status() != QPdfDocument.Status.Ready or document.pageCount() < 1:
                raise ValueError("要打印的文件无法读取，未打印。")
        if printer.resolution() > MAX_PRINT_DPI:  # honoured by most drivers; scaled below if not
            printer.setResolution(MAX_PRINT_DPI)
        printer.setColorMode(QPrinter.ColorMode.GrayScale)  # the forms are black on white
        painter = QPainter()
        if not painter.begin(printer):
            raise ValueError("打印机无法开始打印，请检查打印机。")
        try:
            device_dpi = painter.device().logicalDpiY() or printer.resolution()
            dpi = min(device_dpi, MAX_PRINT_DPI)
            scale = device_dpi / dpi
            page_pixels, largest = QSize(), QSize()
            printed = 0
            for document, _buffer in opened:
                for page in range(document.pageCount()):
                    if printed and not printer.newPage():
                        raise ValueError("打印机无法换页，请检查打印机。")
                    target = painter.viewport().size()
                    fitted = document.pagePointSize(page).toSize().scaled(
                        target, Qt.AspectRatioMode.KeepAspectRatio)
                    page_pixels = QSize(round(fitted.width() / scale),
                                        round(fitted.height() / scale))
                    band = _draw_page(document, page, page_pixels, painter, scale)
                    largest = largest.expandedTo(band)
                    printed += 1
        finally:
            painter.end()
        return PrintedPages(printed, dpi, page_pixels, largest)
    finally:
        for document, buffer in opened:
            document.close()
            document.deleteLater()
            buffer.deleteLater()


def _draw_page(document: QPdfDocument, page: int, size: QSize, painter: QPainter,
               scale: float) -> QSize:
    """One page in bands of BAND_ROWS rows, on white; rows with nothing on them are skipped.
    Each band's edges fall on whole device pixels, so no seam shows between bands. Returns the
    largest band's size."""
    from PySide6.QtPdf import QPdfDocumentRenderOptions

    options = QPdfDocumentRenderOptions()
    options.setScaledSize(size)
    largest = QSize()
    for top in range(0, size.height(), BAND_ROWS):
        rows = min(BAND_ROWS, size.height() - top)
        options.setScaledClipRect(QRect(0, top, size.width(), rows))
        ink = document.render(page, QSize(size.width(), rows), options)  # transparent paper
        if ink.isNull():
            raise ValueError("打印页面生成失败（内存不足？），未打印。")
        largest = largest.expandedTo(ink.size())
        if bytes(ink.constBits()) == bytes(ink.sizeInBytes()):  # all transparent: no ink
            continue
        # on white and opaque: a transparent picture would make the printer's PDF carry a
        # mask beside it, and turned grey without the white it is black
        band = QImage(ink.size(), QImage.Format.Format_RGB32)
        band.fill(Qt.GlobalColor.white)
        onto = QPainter(band)
        onto.drawImage(0, 0, ink)
        onto.end()
        del ink
        y0, y1 = round(top * scale), round((top + rows) * scale)
        painter.drawImage(QRect(0, y0, round(size.width() * scale), y1 - y0), band)
    return largest


class PrintPreview(QDialog):
    def __init__(self, title: str, preview: bytes, job: PrintJob | None, *,
                 copies_so_far: int = 0, printer: str | None = None,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(f"打印预览 — {title}")
        self.setObjectName("printPreview")
        self.job = job
        self.copies_so_far = copies_so_far
        self.printed: bytes | None = None
        self.printer_name = printer  # None: the one in 设置, read when 打印 is pressed
        self.last_print: PrintedPages | None = None
        from PySide6.QtPdfWidgets import QPdfView

        self.document, self._buffer = pdf_document(preview, self)
        self.view = QPdfView(self)
        self.view.setObjectName("pdfView")
        self.view.setDocument(self.document)
        self.view.setPageMode(QPdfView.PageMode.MultiPage)
        self.view.setZoomMode(QPdfView.ZoomMode.FitToWidth)
        self.note = QLabel("未保存的申请只能预览（带“预览 — 非正式”水印），保存后才能打印。"
                           if job is None else
                           f"已打印 {copies_so_far} 次；再次打印为副本，须填写原因。"
                           if copies_so_far else "打印正本。")
        self.note.setObjectName("printNote")
        self.error = error_label("printError")
        self.print_button = QPushButton("打印(&P)…")
        self.print_button.setObjectName("printButton")
        self.print_button.setEnabled(job is not None)
        close = QPushButton("关闭")
        close.clicked.connect(self.reject)
        self.print_button.clicked.connect(self.print_now)
        buttons = QHBoxLayout()
        buttons.addWidget(self.note, 1)
        buttons.addWidget(self.print_button)
        buttons.addWidget(close)
        layout = QVBoxLayout(self)
        layout.addWidget(self.view, 1)
        layout.addWidget(self.error)
        layout.addLayout(buttons)
        fit_to_screen(self, 820, 960)  # an A4 page at fit-to-width, less on a small screen
        self.ask_reason = self._ask_reason  # replaced in tests
        self.choose_printer = self._choose_printer  # replaced in tests

    def _ask_reason(self) -> str | None:
        text, ok = QInputDialog.getText(self, "重印原因", "此表已打印过，重印为副本。请填写原因：")
        return text if ok else None

    def settings(self) -> QSettings:
        """The main window's settings (the ones 设置 saves to), else the application's."""
        parent = self.parentWidget()
        window = parent.window() if parent is not None else None
        settings = getattr(window, "settings", None)
        return settings if isinstance(settings, QSettings) else QSettings()

    def wanted_printer(self) -> str:
        """The printer given to this preview, else the one in 设置 (or the deployment file's)."""
        return (self.printer_name if self.printer_name is not None
                else configured_printer(self.settings()))

    def new_printer(self) -> QPrinter:
        """A printer on the wanted one when it is installed, else the system's default."""
        return new_printer(self.wanted_printer())

    def _choose_printer(self) -> QPrinter | None:
        printer = self.new_printer()
        dialog = QPrintDialog(printer, self)
        return printer if dialog.exec() == QDialog.DialogCode.Accepted else None

    def print_now(self) -> None:
        if self.job is None:
            return
        reason = None
        if self.copies_so_far:
            reason = self.ask_reason()
            if reason is None:
                return
        printer = self.choose_printer()
        if printer is None:
            return
        try:
            pdf = self.job(reason)  # counted and audited here, before paper comes out
        except (ValueError, LookupError) as exc:
            self.error.setText(str(exc))
            return
        self.copies_so_far += 1  # counted, whether or not the paper comes out
        try:
            self.last_print = print_pdf(pdf, printer, self)
        except (ValueError, OSError, MemoryError) as exc:  # in words, never a traceback
            log.error("printing failed: %r", exc)
            words = str(exc) if isinstance(exc, ValueError) else "打印失败，请检查打印机。"
            self.error.setText(f"{words}此次已计入打印次数，重印时须填写原因。")
            self.note.setText(f"已打印 {self.copies_so_far} 次。")
            return
        self.error.clear()
        self.printed = pdf
        self.note.setText(f"已打印 {self.copies_so_far} 次。")
