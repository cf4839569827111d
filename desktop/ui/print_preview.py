"""Print preview inside the app (QtPdf) and printing through the system's print dialog.

The view shows the PDF the printing layer made; pressing 打印 asks the printing layer for the
counted copy (副本 from the second one, with a reason, audited) and sends exactly that PDF to
the printer, page by page, at the printer's resolution.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QBuffer, QByteArray, QIODevice, Qt
from PySide6.QtGui import QPainter
from PySide6.QtPdf import QPdfDocument
from PySide6.QtPdfWidgets import QPdfView
from PySide6.QtPrintSupport import QPrintDialog, QPrinter
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

# (reason or None) -> the PDF to print; raises ValueError with a Chinese message to show
PrintJob = Callable[[str | None], bytes]


def pdf_document(data: bytes, parent: QWidget) -> tuple[QPdfDocument, QBuffer]:
    """A QPdfDocument over bytes (the buffer must live as long as the document)."""
    buffer = QBuffer(parent)
    buffer.setData(QByteArray(data))
    buffer.open(QIODevice.OpenModeFlag.ReadOnly)
    document = QPdfDocument(parent)
    document.load(buffer)
    return document, buffer


def print_pdf(data: bytes, printer: QPrinter, parent: QWidget) -> int:
    """Every page of the PDF onto the printer; returns the pages printed."""
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
            image = document.render(page, size)
            painter.drawImage(0, 0, image)
    finally:
        painter.end()
    return document.pageCount()


class PrintPreview(QDialog):
    def __init__(self, title: str, preview: bytes, job: PrintJob | None, *,
                 copies_so_far: int = 0, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(f"打印预览 — {title}")
        self.setObjectName("printPreview")
        self.job = job
        self.copies_so_far = copies_so_far
        self.printed: bytes | None = None
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

    def _choose_printer(self) -> QPrinter | None:
        printer = QPrinter(QPrinter.PrinterMode.HighResolution)
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
            print_pdf(pdf, printer, self)
        except ValueError as exc:
            self.error.setText(str(exc))
            return
        self.printed = pdf
        self.copies_so_far += 1
        self.note.setText(f"已打印 {self.copies_so_far} 次。")
