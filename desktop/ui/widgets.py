"""Small building blocks the dialogs share: a red error line, the buttons, a form's frame."""

from __future__ import annotations

from PySide6.QtWidgets import (
    QAbstractButton,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QLayout,
    QLineEdit,
    QMessageBox,
    QVBoxLayout,
    QWidget,
)


def error_label(object_name: str) -> QLabel:
    """Where a dialog says, in red, why it did not go on."""
    label = QLabel()
    label.setObjectName(object_name)
    label.setStyleSheet("color: #c00000;")
    label.setWordWrap(True)
    return label


def line_edit(object_name: str, accessible_name: str, text: str = "") -> QLineEdit:
    line = QLineEdit(text)
    line.setObjectName(object_name)
    line.setAccessibleName(accessible_name)
    return line


def dialog_frame(dialog: QDialog, form: QFormLayout, error: QLabel, ok_text: str, *,
                 cancel: bool = True, above: QWidget | QLayout | None = None) -> None:
    """The dialog's layout: (something above,) the form, the error line, OK (and 取消)."""
    which = QDialogButtonBox.StandardButton.Ok
    if cancel:
        which |= QDialogButtonBox.StandardButton.Cancel
    buttons = QDialogButtonBox(which)
    buttons.button(QDialogButtonBox.StandardButton.Ok).setText(ok_text)
    if cancel:
        buttons.button(QDialogButtonBox.StandardButton.Cancel).setText("取消")
    buttons.accepted.connect(dialog.accept)
    buttons.rejected.connect(dialog.reject)
    layout = QVBoxLayout(dialog)
    if isinstance(above, QWidget):
        layout.addWidget(above)
    elif above is not None:
        layout.addLayout(above)
    layout.addLayout(form)
    layout.addWidget(error)
    layout.addWidget(buttons)


def unsaved_ticks_question(parent: QWidget, name: str, count: int, what_now: str,
                           keep: str, discard: str) -> tuple[QMessageBox, QAbstractButton]:
    """The question asked before a person's unsubmitted ticks are lost: keep (the default,
    and Esc) or discard; returns the box and its discard button."""
    box = QMessageBox(QMessageBox.Icon.Question, "尚未提交的勾选",
                      f"{name} 已勾选 {count} 行费用，尚未提交申请。\n{what_now}", parent=parent)
    keep_button = box.addButton(keep, QMessageBox.ButtonRole.RejectRole)
    discard_button = box.addButton(discard, QMessageBox.ButtonRole.DestructiveRole)
    box.setDefaultButton(keep_button)
    box.setEscapeButton(keep_button)
    return box, discard_button
