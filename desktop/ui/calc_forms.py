"""The 计算器 tab's forms for the other calculators (POLICY.md §5): 支出型贫困（第II类）核对,
职工医保门急诊自负估算, 资助参保 and, for supervisors, 互助帮困资金分担.

Each form only collects what the clerk typed and shows what `desktop.policy.calculator_forms`
answers (a headline and the trace in the office's words), live on every change; a field typed
wrong is named in red and nothing else happens. No arithmetic here.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

from PySide6.QtCore import QDate, Qt
from PySide6.QtGui import QFont
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QComboBox,
    QDateEdit,
    QFormLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from desktop.policy.calculator_forms import (
    DISTRICT_WORDS,
    KIND_WORDS,
    FormError,
    Outcome,
    employee_outpatient_form,
    expenditure_2_form,
    funding_form,
    premium_subsidy_form,
)
from desktop.policy.calculators import FundingKind
from desktop.policy.contract import default_parameters
from desktop.policy.money import MoneyFormatError, parse_amount

DISTRICTS = (("changning", DISTRICT_WORDS["changning"]), ("minhang", DISTRICT_WORDS["minhang"]),
             ("shanghai", DISTRICT_WORDS["shanghai"]))
ANSWERS = (("", "请选择"), ("yes", "是"), ("no", "否"))
LEVELS = (("1", "一级"), ("2", "二级"), ("3", "三级"))
BILL_COLUMNS = ("日期", "个人实际负担（元）", "本市医保定点医疗机构")


def combo(object_name: str, choices: tuple[tuple[str, str], ...]) -> QComboBox:
    box = QComboBox()
    box.setObjectName(object_name)
    for code, label in choices:
        box.addItem(label, code)
    return box


def date_edit(object_name: str, day: QDate | None = None) -> QDateEdit:
    edit = QDateEdit(day or QDate.currentDate())
    edit.setObjectName(object_name)
    edit.setCalendarPopup(True)
    edit.setDisplayFormat("yyyy-MM-dd")
    return edit


def line_edit(object_name: str, text: str = "", placeholder: str = "") -> QLineEdit:
    edit = QLineEdit(text)
    edit.setObjectName(object_name)
    edit.setPlaceholderText(placeholder)
    return edit


def shown_amount(text: str) -> str:
    """An amount as typed, shown with thousands separators ("20000" → "20,000.00"); text that
    is no amount stays as typed (the computation names it)."""
    try:
        return f"{parse_amount(text.replace(',', '')):,.2f}"
    except MoneyFormatError:
        return text


def as_date(edit: QDateEdit) -> date:
    day = edit.date()
    return date(day.year(), day.month(), day.day())


class CalculatorForm(QWidget):
    """A form on the left, its answer on the right: the headline, then the trace."""

    title = ""
    prefix = ""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName(f"{self.prefix}Form")
        self.params = default_parameters()
        self.form = QFormLayout()
        self.error_label = QLabel()
        self.error_label.setObjectName(f"{self.prefix}Error")
        self.error_label.setStyleSheet("color: #c00000;")
        self.error_label.setWordWrap(True)
        self.headline = QLabel()
        self.headline.setObjectName(f"{self.prefix}Headline")
        self.headline.setWordWrap(True)
        self.headline.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        font = QFont(self.headline.font())
        font.setPointSizeF(font.pointSizeF() * 1.3)
        font.setBold(True)
        self.headline.setFont(font)
        self.trace = QPlainTextEdit()
        self.trace.setObjectName(f"{self.prefix}Trace")
        self.trace.setReadOnly(True)
        self.outcome: Outcome | None = None

    def lay_out(self, extra: QWidget | None = None) -> None:
        left = QWidget()
        left_layout = QVBoxLayout(left)
        left_layout.addWidget(QLabel(self.title))
        left_layout.addLayout(self.form)
        if extra is not None:
            left_layout.addWidget(extra, 1)
        else:
            left_layout.addStretch(1)
        right = QWidget()
        right_layout = QVBoxLayout(right)
        right_layout.addWidget(self.error_label)
        right_layout.addWidget(self.headline)
        right_layout.addWidget(QLabel("计算过程"))
        right_layout.addWidget(self.trace, 1)
        splitter = QSplitter(Qt.Orientation.Horizontal)
        splitter.addWidget(left)
        splitter.addWidget(right)
        splitter.setStretchFactor(0, 2)
        splitter.setStretchFactor(1, 3)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(splitter)

    def watch(self, *widgets: QWidget) -> None:
        """Recompute whenever one of these changes: the answer follows the form."""
        for widget in widgets:
            if isinstance(widget, QLineEdit):
                widget.textChanged.connect(self.recompute)
            elif isinstance(widget, QComboBox):
                widget.currentIndexChanged.connect(self.recompute)
            elif isinstance(widget, QDateEdit):
                widget.dateChanged.connect(self.recompute)
            elif isinstance(widget, QCheckBox):
                widget.toggled.connect(self.recompute)

    def compute(self) -> Outcome:  # pragma: no cover - each form has its own
        raise NotImplementedError

    def recompute(self, *_args: Any) -> None:
        self.outcome = None
        try:
            outcome = self.compute()
        except FormError as exc:
            self._show_error(f"请更正：{exc.message_zh}")
            return
        except Exception as exc:  # a bug of ours must not take the counter down
            self._show_error(f"内部错误，请联系管理员：{type(exc).__name__}")
            return
        self.outcome = outcome
        self.error_label.clear()
        self.headline.setText(outcome.headline)
        self.trace.setPlainText("\n".join(outcome.lines))

    def _show_error(self, text: str) -> None:
        self.error_label.setText(text)
        self.headline.clear()
        self.trace.clear()


class Expenditure2Form(CalculatorForm):
    title = "支出型贫困（第II类）核对（沪府办规〔2022〕19号 四）"
    prefix = "exp2"

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.district = combo("exp2District", DISTRICTS)
        self.applied_on = date_edit("exp2Date")
        self.income_below = combo("exp2IncomeBelow", ANSWERS)
        self.assets = combo("exp2Assets", ANSWERS)
        self.income = line_edit("exp2Income", placeholder="如 60,000.00")
        self.bill_date = date_edit("exp2BillDate", QDate.currentDate().addMonths(-1))
        self.bill_amount = line_edit("exp2BillAmount", placeholder="金额，回车添加")
        self.bill_designated = QCheckBox("本市医保定点医疗机构")
        self.bill_designated.setObjectName("exp2BillDesignated")
        self.bill_designated.setChecked(True)
        self.add_button = QPushButton("添加费用")
        self.add_button.setObjectName("exp2AddBill")
        self.remove_button = QPushButton("删除所选")
        self.remove_button.setObjectName("exp2RemoveBill")
        self.bills = QTableWidget(0, len(BILL_COLUMNS))
        self.bills.setObjectName("exp2Bills")
        self.bills.setHorizontalHeaderLabels(list(BILL_COLUMNS))
        self.bills.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.bills.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.bills.verticalHeader().setVisible(False)
        self.bills.horizontalHeader().setSectionResizeMode(
            QHeaderView.ResizeMode.ResizeToContents)
        self._bills: list[tuple[date, str, bool]] = []

        self.form.addRow("所在区", self.district)
        self.form.addRow("申请日期", self.applied_on)
        self.form.addRow(QLabel("前提条件（按民政部门经济状况核对结果记录）"))
        self.form.addRow("家庭年人均可支配收入低于本市上年度\n全市居民人均可支配收入",
                         self.income_below)
        self.form.addRow("家庭财产符合本市低收入困难家庭\n申请专项救助经济状况认定标准",
                         self.assets)
        self.form.addRow("家庭年可支配收入（元）", self.income)
        entry = QWidget()
        entry_layout = QVBoxLayout(entry)
        entry_layout.setContentsMargins(0, 0, 0, 0)
        entry_layout.addWidget(QLabel("医疗费用（申请之月前 12 个月内，由个人实际负担的部分）"))
        row = QHBoxLayout()
        row.addWidget(self.bill_date)
        row.addWidget(self.bill_amount, 1)
        row.addWidget(self.bill_designated)
        row.addWidget(self.add_button)
        entry_layout.addLayout(row)
        entry_layout.addWidget(self.bills, 1)
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        buttons.addWidget(self.remove_button)
        entry_layout.addLayout(buttons)
        self.lay_out(entry)
        self.watch(self.district, self.applied_on, self.income_below, self.assets, self.income)
        self.bill_amount.returnPressed.connect(self.add_bill)
        self.add_button.clicked.connect(self.add_bill)
        self.remove_button.clicked.connect(self.remove_bills)

    def add_bill(self) -> None:
        text = self.bill_amount.text().strip()
        if not text:
            self._show_error("请更正：医疗费用：请填写金额后再添加")
            return
        bill = (as_date(self.bill_date), text, self.bill_designated.isChecked())
        self._bills.append(bill)
        n = self.bills.rowCount()
        self.bills.insertRow(n)
        for column, shown in enumerate((bill[0].isoformat(), shown_amount(text),
                                        "是" if bill[2] else "否")):
            self.bills.setItem(n, column, QTableWidgetItem(shown))
        self.bill_amount.clear()
        self.recompute()

    def remove_bills(self) -> None:
        for row in sorted({i.row() for i in self.bills.selectedIndexes()}, reverse=True):
            self.bills.removeRow(row)
            del self._bills[row]
        self.recompute()

    def compute(self) -> Outcome:
        return expenditure_2_form(
            self.params, district=str(self.district.currentData()),
            application_date=as_date(self.applied_on), income=self.income.text(),
            income_below_city_average=self.income_below.currentData() or None,
            assets_within_standard=self.assets.currentData() or None,
            bills=list(self._bills))


class EmployeeOutpatientForm(CalculatorForm):
    title = "职工医保门急诊自负估算（沪府办规〔2021〕18号 二(二)）"
    prefix = "emp"

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.district = combo("empDistrict", DISTRICTS)
        self.on = date_edit("empDate")
        self.retired = combo("empRetired", (("in_work", "在职"), ("retired", "退休")))
        self.retired_on = date_edit("empRetiredOn", QDate(2010, 1, 1))
        self.level = combo("empLevel", LEVELS)
        self.amount = line_edit("empAmount", placeholder="如 1,000.00")
        self.used = line_edit("empUsed", "0.00")
        self.form.addRow("所在区", self.district)
        self.form.addRow("就诊日期", self.on)
        self.form.addRow("在职 / 退休", self.retired)
        self.form.addRow("退休日期", self.retired_on)
        self.form.addRow("医疗机构等级", self.level)
        self.form.addRow("本次门急诊医保范围内费用（元）", self.amount)
        self.form.addRow("本年度已累计自负段（元）", self.used)
        self.lay_out()
        self.retired.currentIndexChanged.connect(self._retired_changed)
        self._retired_changed()
        self.watch(self.district, self.on, self.retired, self.retired_on, self.level,
                   self.amount, self.used)

    def _retired_changed(self, *_args: Any) -> None:
        self.retired_on.setEnabled(self.retired.currentData() == "retired")

    def compute(self) -> Outcome:
        retired = self.retired.currentData() == "retired"
        return employee_outpatient_form(
            self.params, district=str(self.district.currentData()), on=as_date(self.on),
            retired=retired, retirement_date=as_date(self.retired_on) if retired else None,
            hospital_level=int(self.level.currentData()), amount=self.amount.text(),
            used=self.used.text())


class PremiumSubsidyForm(CalculatorForm):
    title = "资助参保（沪医保规〔2023〕2号）"
    prefix = "prem"

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        categories = tuple((code, c.label) for code, c in self.params.categories.items())
        self.district = combo("premDistrict", DISTRICTS)
        self.on = date_edit("premDate")
        self.category = combo("premCategory", (*categories, ("", "非救助对象")))
        self.age = line_edit("premAge", placeholder="周岁")
        self.premium = line_edit("premAmount", placeholder="城乡居民医保个人缴费，如 800.00")
        self.form.addRow("所在区", self.district)
        self.form.addRow("参保日期", self.on)
        self.form.addRow("对象类别", self.category)
        self.form.addRow("年龄（周岁）", self.age)
        self.form.addRow("城乡居民医保个人缴费标准（元/年）", self.premium)
        self.lay_out()
        self.watch(self.district, self.on, self.category, self.age, self.premium)

    def compute(self) -> Outcome:
        return premium_subsidy_form(
            self.params, district=str(self.district.currentData()), on=as_date(self.on),
            category=self.category.currentData() or None, age=self.age.text(),
            premium=self.premium.text())


class FundingForm(CalculatorForm):
    title = "市民社区医疗互助帮困资金分担（审核人、审批人）"
    prefix = "fund"

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.district = combo("fundDistrict", DISTRICTS)
        self.on = date_edit("fundDate")
        self.kind = combo("fundKind", tuple(KIND_WORDS.items()))
        self.members = line_edit("fundMembers", "1")
        self.form.addRow("所在区", self.district)
        self.form.addRow("筹资年度日期", self.on)
        self.form.addRow("所属", self.kind)
        self.form.addRow("参加人数", self.members)
        self.lay_out()
        self.watch(self.district, self.on, self.kind, self.members)

    def compute(self) -> Outcome:
        kind: FundingKind = "town" if self.kind.currentData() == "town" else "street"
        return funding_form(self.params, district=str(self.district.currentData()),
                            on=as_date(self.on), kind=kind, members=self.members.text())


FORMS: tuple[tuple[str, str, Callable[[], CalculatorForm]], ...] = (
    ("expenditure_2", "支出型贫困（第II类）核对", Expenditure2Form),
    ("employee_outpatient", "职工医保门急诊自负估算", EmployeeOutpatientForm),
    ("premium_subsidy", "资助参保", PremiumSubsidyForm),
)
SUPERVISOR_FORMS: tuple[tuple[str, str, Callable[[], CalculatorForm]], ...] = (
    ("funding", "互助帮困资金分担", FundingForm),
)
