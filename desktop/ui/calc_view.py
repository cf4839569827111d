"""The calculator tab: "how much would I get" for a citizen at the counter.

A small form (program, category, district, application date, a few fee rows) is turned into a
calc case (CALC-CONTRACT.md) and computed by the same engine entry the counter uses; the answer
shows as at the counter: the payable, the buckets, each row and the explanation in the office's
words. The JSON case stays behind the 高级（JSON） switch for supervisors, trainers and auditors.
The 计算器 selector above it opens the other calculators of POLICY.md §5 (`calc_forms`); the
funding split only for a 审核人 or 审批人. The widget does no arithmetic of its own.
"""

from __future__ import annotations

import contextlib
import json
import re
from collections.abc import Iterable
from decimal import Decimal
from typing import Any

from PySide6.QtCore import QDate, Qt, QTimer
from PySide6.QtGui import QFont, QShowEvent
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QComboBox,
    QDateEdit,
    QFormLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QSplitter,
    QStackedWidget,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from desktop.policy.contract import CalcInputError, calculate_text, default_parameters
from desktop.policy.explain import human_lines
from desktop.policy.money import percent
from desktop.policy.parameters import PolicyParameters
from desktop.ui.calc_forms import FORMS, SUPERVISOR_FORMS, CalculatorForm

BUCKET_COLUMNS = ("项目", "金额（元）")
ROW_COLUMNS = ("费用", "是否计入", "不计入原因", "对象类别", "比例", "归入项目")

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


PROGRAMS = (("assistance", "医疗救助（事后救助）"), ("mutual_aid", "市民社区医疗互助帮困"))
DISTRICTS = (("changning", "长宁区"), ("minhang", "闵行区"), ("shanghai", "上海市（市级规则）"))
KINDS = (("outpatient", "门急诊"), ("inpatient", "住院"), ("major_outpatient", "门诊大病"))
FEE_COLUMNS = ("日期", "类别", "医院等级", "总费用（元）", "医保范围外（元）", "自负（元）")
_ROW_ID = re.compile(r"fees\[(\d+)\]\.?")
SUBSIDY = ("subsidy", "医疗救助 / 互助帮困试算")
SUPERVISOR_ROLES = frozenset({"reviewer", "approver"})  # 审核人、审批人 (GLOSSARY.md)


class CalcView(QWidget):
    """The case as a form (or JSON) on the left, the engine's answer on the right."""

    def __init__(self, parent: QWidget | None = None, *,
                 roles: Iterable[str] | None = None,
                 parameters: PolicyParameters | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("calcView")
        # the shipped files, with the values pulled from the district when the window gives
        # them (desktop.services.policy_values, M18)
        self.parameters = parameters or default_parameters()
        self.calculator_box = QComboBox()
        self.calculator_box.setObjectName("calculatorBox")
        self.pages = QStackedWidget()
        self.pages.setObjectName("calculatorPages")
        self.forms: dict[str, CalculatorForm] = {}
        self._roles: frozenset[str] | None = None
        self._categories = {code: c.label for code, c in default_parameters().categories.items()}

        self.program = _combo("programBox", PROGRAMS)
        self.category = _combo("categoryBox", tuple(self._categories.items()))
        self.district = _combo("districtBox", DISTRICTS)
        self.applied_on = QDateEdit(QDate.currentDate())
        self.applied_on.setObjectName("appliedOn")
        self.applied_on.setCalendarPopup(True)
        self.applied_on.setDisplayFormat("yyyy-MM-dd")
        self.resident = QCheckBox("参加城乡居民医保")
        self.resident.setObjectName("residentBox")
        self.external = QCheckBox("有外省市或原单位职工医保（互助帮困住院）")
        self.external.setObjectName("externalBox")
        self.fee_table = QTableWidget(0, len(FEE_COLUMNS))
        self.fee_table.setObjectName("calcFeeTable")
        self.fee_table.setHorizontalHeaderLabels(list(FEE_COLUMNS))
        self.fee_table.verticalHeader().setVisible(False)
        self.fee_table.horizontalHeader().setSectionResizeMode(
            QHeaderView.ResizeMode.ResizeToContents)
        self.add_row_button = QPushButton("添加费用")
        self.add_row_button.setObjectName("addRowButton")
        self.remove_row_button = QPushButton("删除所选")
        self.remove_row_button.setObjectName("removeRowButton")

        self.advanced = QCheckBox("高级（JSON）")
        self.advanced.setObjectName("advancedToggle")
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

        # live: the answer follows the form, a moment after the last change
        self._live = QTimer(self)
        self._live.setSingleShot(True)
        self._live.setInterval(300)
        self._live.timeout.connect(self._calculate_live)

        self._lay_out()
        self.example_button.clicked.connect(self.load_example)
        self.calculate_button.clicked.connect(self.calculate)
        self.add_row_button.clicked.connect(lambda: self.add_fee_row())
        self.remove_row_button.clicked.connect(self.remove_fee_rows)
        self.advanced.toggled.connect(self._show_advanced)
        for box in (self.program, self.category, self.district):
            box.currentIndexChanged.connect(self._changed)
        self.applied_on.dateChanged.connect(self._changed)
        self.resident.toggled.connect(self._changed)
        self.external.toggled.connect(self._changed)
        self.fee_table.itemChanged.connect(self._changed)
        self._show_advanced(False)
        for code, label, make in FORMS:
            self._add_calculator(code, label, make())
        self.calculator_box.currentIndexChanged.connect(self._calculator_chosen)
        if roles is not None:
            self.set_roles(roles)

    # -- the calculators ---------------------------------------------------------------------

    def _add_calculator(self, code: str, label: str, form: CalculatorForm) -> None:
        form.params = self.parameters
        self.forms[code] = form
        self.pages.addWidget(form)
        self.calculator_box.addItem(label, code)

    def set_roles(self, roles: Iterable[str]) -> None:
        """The signed-in user's roles: a 审核人 or 审批人 also gets the funding split."""
        self._roles = frozenset(roles)
        supervisor = bool(SUPERVISOR_ROLES & self._roles)
        for code, label, make in SUPERVISOR_FORMS:
            index = self.calculator_box.findData(code)
            if supervisor and index < 0:
                self._add_calculator(code, label, make())
            elif not supervisor and index >= 0:
                if self.calculator_box.currentIndex() == index:
                    self.calculator_box.setCurrentIndex(0)
                self.calculator_box.removeItem(index)
                form = self.forms.pop(code)
                self.pages.removeWidget(form)
                form.deleteLater()

    def showEvent(self, event: QShowEvent) -> None:
        # Not told the roles (the main window builds the tab before it is shown): read them
        # from the window's signed-in user, if it has one.
        if self._roles is None:
            roles = getattr(getattr(self.window(), "user", None), "roles", None)
            if isinstance(roles, tuple):
                self.set_roles(roles)
        super().showEvent(event)

    def choose(self, code: str) -> None:
        """Show the calculator `code` ("subsidy", "expenditure_2", …)."""
        index = self.calculator_box.findData(code)
        if index < 0:
            raise KeyError(code)
        self.calculator_box.setCurrentIndex(index)

    def _calculator_chosen(self, index: int) -> None:
        self.pages.setCurrentIndex(index)
        widget = self.pages.currentWidget()
        if isinstance(widget, CalculatorForm):
            widget.recompute()

    def _lay_out(self) -> None:
        form = QFormLayout()
        form.addRow("申请项目", self.program)
        form.addRow("对象类别", self.category)
        form.addRow("所在区", self.district)
        form.addRow("申请日期", self.applied_on)
        form.addRow("", self.resident)
        form.addRow("", self.external)
        row_buttons = QHBoxLayout()
        row_buttons.addWidget(self.add_row_button)
        row_buttons.addWidget(self.remove_row_button)
        row_buttons.addStretch(1)
        self.form_panel = QWidget()
        self.form_panel.setObjectName("calcForm")
        form_layout = QVBoxLayout(self.form_panel)
        form_layout.setContentsMargins(0, 0, 0, 0)
        form_layout.addLayout(form)
        form_layout.addWidget(QLabel("费用（每张票据一行）"))
        form_layout.addWidget(self.fee_table, 1)
        form_layout.addLayout(row_buttons)

        self.json_panel = QWidget()
        json_layout = QVBoxLayout(self.json_panel)
        json_layout.setContentsMargins(0, 0, 0, 0)
        json_layout.addWidget(QLabel("计算用例（JSON）"))
        json_layout.addWidget(self.case_editor, 1)

        buttons = QHBoxLayout()
        buttons.addWidget(self.example_button)
        buttons.addWidget(self.advanced)
        buttons.addStretch(1)
        buttons.addWidget(self.calculate_button)
        left = QWidget()
        left_layout = QVBoxLayout(left)
        left_layout.addWidget(self.form_panel, 1)
        left_layout.addWidget(self.json_panel, 1)
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
        self.pages.addWidget(splitter)
        self.calculator_box.addItem(SUBSIDY[1], SUBSIDY[0])
        chooser = QHBoxLayout()
        chooser.addWidget(QLabel("计算器"))
        chooser.addWidget(self.calculator_box)
        chooser.addStretch(1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(chooser)
        layout.addWidget(self.pages, 1)

    # -- the form --------------------------------------------------------------------------

    def _show_advanced(self, on: bool) -> None:
        self.form_panel.setVisible(not on)
        self.json_panel.setVisible(on)
        if on and not self.case_editor.toPlainText().strip():
            self.case_editor.setPlainText(json.dumps(self.case_from_form(), ensure_ascii=False,
                                                     indent=2))

    def add_fee_row(self, day: str | None = None, kind: str = "outpatient", level: int = 2,
                    total: str = "", out_of_scope: str = "0.00", self_pay: str = "") -> None:
        table = self.fee_table
        table.blockSignals(True)
        n = table.rowCount()
        table.insertRow(n)
        when = QDateEdit(QDate.fromString(day, "yyyy-MM-dd") if day
                         else self.applied_on.date().addDays(-7))
        when.setDisplayFormat("yyyy-MM-dd")
        when.dateChanged.connect(self._changed)
        table.setCellWidget(n, 0, when)
        kinds = _combo(f"feeKind{n}", KINDS)
        kinds.setCurrentIndex([k for k, _ in KINDS].index(kind))
        kinds.currentIndexChanged.connect(self._changed)
        table.setCellWidget(n, 1, kinds)
        levels = _combo(f"feeLevel{n}", (("1", "一级"), ("2", "二级"), ("3", "三级")))
        levels.setCurrentIndex(level - 1)
        levels.currentIndexChanged.connect(self._changed)
        table.setCellWidget(n, 2, levels)
        for column, value in ((3, total), (4, out_of_scope), (5, self_pay)):
            shown = value  # left as given when it is no amount: the computation names it
            with contextlib.suppress(ArithmeticError):
                shown = format_amount(value) if value else value  # 1,000.00, as typed back
            table.setItem(n, column, QTableWidgetItem(shown))
        table.blockSignals(False)
        self._changed()

    def remove_fee_rows(self) -> None:
        for row in sorted({i.row() for i in self.fee_table.selectedIndexes()}, reverse=True):
            self.fee_table.removeRow(row)
        self._changed()

    def case_from_form(self) -> dict[str, Any]:
        """The calc case the form describes (CALC-CONTRACT.md); amounts as typed, the engine
        checks them."""
        applied = self.applied_on.date().toString("yyyy-MM-dd")
        year = int(applied[:4])
        program = str(self.program.currentData())
        person: dict[str, Any] = {
            "categories": [{"code": str(self.category.currentData()), "from": "2000-01-01",
                            "to": None}],
            "resident_insurance": self.resident.isChecked(),
        }
        if program == "mutual_aid":
            years = sorted({year, *(self._fee_year(r) for r in range(self.fee_table.rowCount()))})
            person["mutual_aid"] = {
                "member_years": years, "benefits_from": f"{years[0]}-01-01",
                "external_inpatient_insurance": self.external.isChecked(),
                "allowance_balance": "0.00"}
        fees = []
        for r in range(self.fee_table.rowCount()):
            when = self.fee_table.cellWidget(r, 0)
            kind = self.fee_table.cellWidget(r, 1)
            level = self.fee_table.cellWidget(r, 2)
            assert isinstance(when, QDateEdit) and isinstance(kind, QComboBox)
            assert isinstance(level, QComboBox)
            fees.append({
                "id": str(r + 1), "receipt_no": f"第{r + 1}行",
                "date": when.date().toString("yyyy-MM-dd"),
                "kind": str(kind.currentData()), "hospital_level": int(level.currentData()),
                "in_shanghai": True, "total": self._cell(r, 3) or "0.00",
                "out_of_scope": self._cell(r, 4) or "0.00", "self_pay": self._cell(r, 5) or "0.00",
            })
        return {"schema": "counter-calc/1", "program": program,
                "district": str(self.district.currentData()), "application_date": applied,
                "person": person, "fees": fees}

    def _fee_year(self, row: int) -> int:
        when = self.fee_table.cellWidget(row, 0)
        return when.date().year() if isinstance(when, QDateEdit) else 0

    def _cell(self, row: int, column: int) -> str:
        item = self.fee_table.item(row, column)
        return "" if item is None else item.text().strip().replace(",", "")

    def fill_form(self, case: dict[str, Any]) -> None:
        """The form showing a calc case (the example; a case pasted in 高级)."""
        for box, value in ((self.program, case["program"]), (self.district, case["district"]),
                           (self.category, case["person"]["categories"][0]["code"])):
            index = box.findData(value)
            if index >= 0:
                box.setCurrentIndex(index)
        self.applied_on.setDate(QDate.fromString(case["application_date"], "yyyy-MM-dd"))
        self.resident.setChecked(bool(case["person"].get("resident_insurance")))
        self.fee_table.setRowCount(0)
        for fee in case["fees"]:
            self.add_fee_row(fee["date"], fee["kind"], int(fee.get("hospital_level", 2)),
                             fee["total"], fee.get("out_of_scope", "0.00"), fee["self_pay"])

    # -- computing -------------------------------------------------------------------------

    def _changed(self, *_args: Any) -> None:
        if not self.advanced.isChecked():
            self._live.start()

    def _calculate_live(self) -> None:
        if self.fee_table.rowCount():
            self.calculate()

    def load_example(self) -> None:
        self.case_editor.setPlainText(json.dumps(EXAMPLE_CASE, ensure_ascii=False, indent=2))
        self.fill_form(EXAMPLE_CASE)

    def calculate(self) -> None:
        """Compute the form's case (or the JSON one under 高级) and show the result, or say in
        Chinese what is wrong."""
        from_form = not self.advanced.isChecked()
        try:
            text = (json.dumps(self.case_from_form()) if from_form
                    else self.case_editor.toPlainText())
            output = calculate_text(text, self.parameters)
            self._show_result(output, from_form)
        except CalcInputError as exc:
            message = exc.message_zh
            if from_form:
                message = _ROW_ID.sub(lambda m: f"第 {int(m.group(1)) + 1} 行 ", message)
            self._show_error(f"输入有误：{message}")
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

    def _show_result(self, output: dict[str, Any], from_form: bool = False) -> None:
        self._clear_result()
        rows: list[dict[str, Any]] = output["rows"]
        bucket_words: dict[str, str] = output.get("bucket_labels", {})
        _fill(self.bucket_table, [
            (bucket_words.get(code, code), format_amount(amount))
            for code, amount in output["buckets"].items()
        ])
        _fill(self.row_table, [
            (
                f"第 {r['id']} 行" if from_form else str(r["id"]),
                "计入" if r["counts"] else "不计入",
                _text(r.get("reason_label"), r.get("reason")),
                _text(r.get("category_label"), r.get("category")),
                percent(Decimal(r["rate"])) if r.get("rate") else "",
                _text(r.get("bucket_label"), r.get("bucket")),
            )
            for r in rows
        ])
        # the trace ends with the warnings ("注意：…"), so they are not repeated here
        self.trace_view.setPlainText("\n".join(human_lines(output["trace"], self._categories)))
        self.payable_label.setText(f"本次应付：{format_amount(output['payable'])} 元")


def _text(*choices: Any) -> str:
    """The first value present, as shown text; an empty cell when none is."""
    for choice in choices:
        if choice is not None and choice != "":
            return str(choice)
    return ""


def _combo(object_name: str, choices: tuple[tuple[str, str], ...]) -> QComboBox:
    box = QComboBox()
    box.setObjectName(object_name)
    for code, label in choices:
        box.addItem(label, code)
    return box


def format_amount(amount: str) -> str:
    """"1000.00" → "1,000.00": amounts on screen carry thousands separators."""
    return f"{Decimal(amount):,.2f}"


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
