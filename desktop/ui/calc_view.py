"""The calculator tab: paste a calc case (CALC-CONTRACT.md), compute it, show the answer.

For checking a case by hand (a supervisor, a trainer, an auditor); it shows the contract output
as returned and does no arithmetic of its own.
"""

from __future__ import annotations

import json
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtGui import QFont
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from desktop.policy.contract import CalcInputError, calculate_text

BUCKET_COLUMNS = ("项目", "金额（元）")
ROW_COLUMNS = ("费用编号", "是否计入", "不计入原因", "对象类别", "比例", "归入项目")

# A dibao member's outpatient receipt in Changning: the smallest case that yields a payment.
EXAMPLE_CASE: dict[str, Any] = {
    "schema": "counter-calc/1",
    "program": "assistance",
    "district": "changning",
    "application_date": "2026-06-10",
    "person": {
        "categories": [{"code": "dibao", "from": "2024-03-01", "to": None}],
        "resident_insurance": False,
    },
    "fees": [
        {
            "id": "A",
            "receipt_no": "0099A",
            "date": "2026-04-08",
            "kind": "outpatient",
            "hospital_level": 2,
            "in_shanghai": True,
            "total": "1300.00",
            "out_of_scope": "50.00",
            "self_pay": "1000.00",
        }
    ],
}


class CalcView(QWidget):
    """Case text on the left, the engine's result (payable, buckets, rows, trace) on the right."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("calcView")

        self.case_editor = QPlainTextEdit()
        self.case_editor.setObjectName("caseEditor")
        self.case_editor.setPlaceholderText("在此粘贴计算用例（JSON）")
        self.example_button = QPushButton("载入示例")
        self.example_button.setObjectName("exampleButton")
        self.calculate_button = QPushButton("计算")
        self.calculate_button.setObjectName("calculateButton")
        self.calculate_button.setDefault(True)

        self.error_label = QLabel()
        self.error_label.setObjectName("errorLabel")
        self.error_label.setStyleSheet("color: #c00000;")
        self.error_label.setWordWrap(True)
        self.error_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)

        self.payable_label = QLabel()
        self.payable_label.setObjectName("payableLabel")
        payable_font = QFont(self.payable_label.font())
        payable_font.setPointSizeF(payable_font.pointSizeF() * 1.5)
        payable_font.setBold(True)
        self.payable_label.setFont(payable_font)

        self.bucket_table = _table("bucketTable", BUCKET_COLUMNS)
        self.row_table = _table("rowTable", ROW_COLUMNS)
        self.trace_view = QPlainTextEdit()
        self.trace_view.setObjectName("traceView")
        self.trace_view.setReadOnly(True)

        self._lay_out()
        self.example_button.clicked.connect(self.load_example)
        self.calculate_button.clicked.connect(self.calculate)

    def _lay_out(self) -> None:
        buttons = QHBoxLayout()
        buttons.addWidget(self.example_button)
        buttons.addStretch(1)
        buttons.addWidget(self.calculate_button)
        left = QWidget()
        left_layout = QVBoxLayout(left)
        left_layout.addWidget(QLabel("计算用例（JSON）"))
        left_layout.addWidget(self.case_editor, 1)
        left_layout.addLayout(buttons)

        right = QWidget()
        right_layout = QVBoxLayout(right)
        right_layout.addWidget(self.error_label)
        right_layout.addWidget(self.payable_label)
        right_layout.addWidget(QLabel("分项金额"))
        right_layout.addWidget(self.bucket_table, 1)
        right_layout.addWidget(QLabel("费用明细"))
        right_layout.addWidget(self.row_table, 2)
        right_layout.addWidget(QLabel("计算过程"))
        right_layout.addWidget(self.trace_view, 2)

        splitter = QSplitter(Qt.Orientation.Horizontal)
        splitter.addWidget(left)
        splitter.addWidget(right)
        splitter.setStretchFactor(0, 2)
        splitter.setStretchFactor(1, 3)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(splitter)

    def load_example(self) -> None:
        self.case_editor.setPlainText(json.dumps(EXAMPLE_CASE, ensure_ascii=False, indent=2))

    def calculate(self) -> None:
        """Compute the pasted case and show the result, or say in Chinese what is wrong."""
        try:
            output = calculate_text(self.case_editor.toPlainText())
            self._show_result(output)
        except CalcInputError as exc:
            self._show_error(f"输入有误：{exc.message_zh}")
        except Exception as exc:  # a bug of ours must not take the counter down
            self._show_error(f"内部错误，请联系管理员：{type(exc).__name__}")
        else:
            self.error_label.clear()

    def _show_error(self, text: str) -> None:
        self._clear_result()
        self.error_label.setText(text)

    def _clear_result(self) -> None:
        self.payable_label.clear()
        self.bucket_table.setRowCount(0)
        self.row_table.setRowCount(0)
        self.trace_view.clear()

    def _show_result(self, output: dict[str, Any]) -> None:
        self._clear_result()
        rows: list[dict[str, Any]] = output["rows"]
        bucket_words: dict[str, str] = output.get("bucket_labels", {})
        _fill(self.bucket_table, [
            (bucket_words.get(code, code), amount) for code, amount in output["buckets"].items()
        ])
        _fill(self.row_table, [
            (
                r["id"],
                "计入" if r["counts"] else "不计入",
                _text(r.get("reason_label"), r.get("reason")),
                _text(r.get("category_label"), r.get("category")),
                _text(r.get("rate")),
                _text(r.get("bucket_label"), r.get("bucket")),
            )
            for r in rows
        ])
        # the trace ends with the warnings ("注意：…"), so they are not repeated here
        self.trace_view.setPlainText("\n".join(output["trace"]))
        self.payable_label.setText(f"本次应付：{output['payable']} 元")


def _text(*choices: Any) -> str:
    """The first value present, as shown text; an empty cell when none is."""
    for choice in choices:
        if choice is not None and choice != "":
            return str(choice)
    return ""


def _table(object_name: str, columns: tuple[str, ...]) -> QTableWidget:
    table = QTableWidget(0, len(columns))
    table.setObjectName(object_name)
    table.setHorizontalHeaderLabels(list(columns))
    table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    table.verticalHeader().setVisible(False)
    table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
    table.horizontalHeader().setStretchLastSection(True)
    return table


def _fill(table: QTableWidget, rows: list[tuple[str, ...]]) -> None:
    table.setRowCount(len(rows))
    for r, values in enumerate(rows):
        for c, value in enumerate(values):
            table.setItem(r, c, QTableWidgetItem(value))
