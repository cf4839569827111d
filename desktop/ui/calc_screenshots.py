"""Screenshots of the 计算器 tab, one per calculator, each with a worked example filled in:
`python -m desktop.ui.calc_screenshots [DIR]` (default docs/screenshots), under offscreen Qt.

The examples are the hand-worked cases of tests/policy/test_calculator_forms.py.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from PySide6.QtCore import QDate
from PySide6.QtWidgets import QApplication, QComboBox

from desktop.ui.calc_forms import (
    EmployeeOutpatientForm,
    Expenditure2Form,
    FundingForm,
    PremiumSubsidyForm,
)
from desktop.ui.calc_view import CalcView

SIZE = (1280, 760)


def _pick(box: QComboBox, code: str) -> None:
    box.setCurrentIndex(box.findData(code))


def take_calculator_screenshots(folder: Path) -> list[Path]:
    """Fill each calculator with its example and save the tab as calc-<name>.png."""
    folder.mkdir(parents=True, exist_ok=True)
    view = CalcView(roles=("approver",))
    view.resize(*SIZE)
    view.show()
    written: list[Path] = []

    def shot(name: str) -> None:
        QApplication.processEvents()
        path = folder / f"calc-{name}.png"
        view.grab().save(str(path))
        written.append(path)

    view.choose("subsidy")
    view.load_example()
    view.calculate()
    shot("subsidy")

    exp2 = view.forms["expenditure_2"]
    assert isinstance(exp2, Expenditure2Form)
    view.choose("expenditure_2")
    exp2.applied_on.setDate(QDate(2026, 6, 10))
    _pick(exp2.income_below, "yes")
    _pick(exp2.assets, "yes")
    exp2.income.setText("60,000.00")
    for day, amount, designated in ((QDate(2026, 1, 5), "20,000.00", True),
                                    (QDate(2026, 2, 5), "5,000.00", False),
                                    (QDate(2026, 3, 18), "3,500.00", True)):
        exp2.bill_date.setDate(day)
        exp2.bill_designated.setChecked(designated)
        exp2.bill_amount.setText(amount)
        exp2.add_bill()
    shot("expenditure-2")

    emp = view.forms["employee_outpatient"]
    assert isinstance(emp, EmployeeOutpatientForm)
    view.choose("employee_outpatient")
    emp.on.setDate(QDate(2026, 6, 10))
    _pick(emp.retired, "retired")
    emp.retired_on.setDate(QDate(2005, 3, 1))
    _pick(emp.level, "2")
    emp.amount.setText("1,000.00")
    emp.used.setText("100.00")
    shot("employee-outpatient")

    prem = view.forms["premium_subsidy"]
    assert isinstance(prem, PremiumSubsidyForm)
    view.choose("premium_subsidy")
    prem.on.setDate(QDate(2026, 6, 10))
    _pick(prem.category, "low_income")
    prem.age.setText("65")
    prem.premium.setText("800.00")
    shot("premium-subsidy")

    fund = view.forms["funding"]
    assert isinstance(fund, FundingForm)
    view.choose("funding")
    fund.on.setDate(QDate(2026, 3, 1))
    _pick(fund.district, "minhang")
    _pick(fund.kind, "town")
    fund.members.setText("1,000")
    shot("funding-minhang")
    _pick(fund.district, "changning")
    shot("funding-changning")
    view.close()
    view.deleteLater()
    return written


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    app = QApplication.instance() or QApplication([])
    from desktop.ui.fonts import apply_ui_font

    assert isinstance(app, QApplication)
    apply_ui_font(app)
    for path in take_calculator_screenshots(Path(args[0] if args else "docs/screenshots")):
        print(f"counter-desk: screenshot {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
