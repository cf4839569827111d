"""The calculator tab, driven through its real widgets with pytest-qt."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
)
from pytestqt.qtbot import QtBot

from desktop.ui import calc_view
from desktop.ui.calc_view import EXAMPLE_CASE, CalcView


@pytest.fixture
def window(qtbot: QtBot) -> CalcView:
    w = CalcView()
    qtbot.addWidget(w)
    w.show()
    qtbot.waitExposed(w)
    return w


def child(window: CalcView, kind: type[Any], name: str) -> Any:
    found = window.findChild(kind, name)
    assert found is not None, f"no {kind.__name__} named {name}"
    return found


def click(qtbot: QtBot, window: CalcView, name: str) -> None:
    qtbot.mouseClick(child(window, QPushButton, name), Qt.MouseButton.LeftButton)


def text_of(item: QTableWidgetItem | None) -> str:
    return "" if item is None else item.text()


def cells(table: QTableWidget) -> list[list[str]]:
    return [
        [text_of(table.item(r, c)) for c in range(table.columnCount())]
        for r in range(table.rowCount())
    ]


def headers(table: QTableWidget) -> list[str]:
    return [text_of(table.horizontalHeaderItem(c)) for c in range(table.columnCount())]


def calculate(qtbot: QtBot, window: CalcView, case: dict[str, Any] | str) -> None:
    """The case pasted under 高级（JSON） and computed."""
    text = case if isinstance(case, str) else json.dumps(case, ensure_ascii=False)
    child(window, QCheckBox, "advancedToggle").setChecked(True)
    child(window, QPlainTextEdit, "caseEditor").setPlainText(text)
    click(qtbot, window, "calculateButton")


def test_empty_start(window: CalcView) -> None:
    assert child(window, QLabel, "payableLabel").text() == ""
    assert child(window, QLabel, "errorLabel").text() == ""
    assert headers(child(window, QTableWidget, "bucketTable")) == ["项目", "金额（元）"]
    assert headers(child(window, QTableWidget, "rowTable")) == [
        "费用", "是否计入", "不计入原因", "对象类别", "比例", "归入项目"]
    assert child(window, QPlainTextEdit, "traceView").isReadOnly()


def test_example_calculates_600(qtbot: QtBot, window: CalcView) -> None:
    click(qtbot, window, "exampleButton")
    assert json.loads(child(window, QPlainTextEdit, "caseEditor").toPlainText()) == EXAMPLE_CASE
    click(qtbot, window, "calculateButton")

    assert child(window, QLabel, "errorLabel").text() == ""
    payable = child(window, QLabel, "payableLabel").text()
    assert "600.00" in payable
    assert payable == "本次应付：600.00 元"
    assert cells(child(window, QTableWidget, "bucketTable")) == [["门急诊", "600.00"]]
    rows = cells(child(window, QTableWidget, "rowTable"))
    assert len(rows) == 1
    row_id, counted, reason, category, rate, bucket = rows[0]
    # the example fills the form: its rows are the form's lines
    assert (row_id, counted, reason, category) == ("第 1 行", "计入", "", "城乡低保家庭成员")
    assert rate == "60%"
    assert bucket == "门急诊"
    trace = child(window, QPlainTextEdit, "traceView").toPlainText()
    assert "本次应付合计 600.00 元" in trace


def test_self_pay_over_total_shows_path_and_clears_stale_amount(
    qtbot: QtBot, window: CalcView
) -> None:
    calculate(qtbot, window, EXAMPLE_CASE)
    assert "600.00" in child(window, QLabel, "payableLabel").text()

    bad = copy.deepcopy(EXAMPLE_CASE)
    bad["fees"][0]["total"] = "900.00"
    calculate(qtbot, window, bad)

    error = child(window, QLabel, "errorLabel").text()
    assert error.startswith("输入有误：")
    assert "fees[0].self_pay" in error
    assert "600.00" not in child(window, QLabel, "payableLabel").text()
    assert child(window, QTableWidget, "bucketTable").rowCount() == 0
    assert child(window, QTableWidget, "rowTable").rowCount() == 0
    assert child(window, QPlainTextEdit, "traceView").toPlainText() == ""

    calculate(qtbot, window, EXAMPLE_CASE)  # a good case afterwards clears the error
    assert child(window, QLabel, "errorLabel").text() == ""
    assert "600.00" in child(window, QLabel, "payableLabel").text()


@pytest.mark.parametrize("text", ["", "{", '{"schema": "counter-calc/1",}', "NaN"])
def test_invalid_json_is_reported_in_chinese(
    qtbot: QtBot, window: CalcView, text: str
) -> None:
    calculate(qtbot, window, text)
    error = child(window, QLabel, "errorLabel").text()
    assert error.startswith("输入有误：")
    assert "JSON" in error
    assert any("\u4e00" <= ch <= "\u9fff" for ch in error.removeprefix("输入有误："))
    assert child(window, QLabel, "payableLabel").text() == ""


def test_unexpected_exception_does_not_crash(
    qtbot: QtBot, window: CalcView, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(text: str) -> dict[str, Any]:
        raise KeyError("payable")

    monkeypatch.setattr(calc_view, "calculate_text", broken)
    calculate(qtbot, window, EXAMPLE_CASE)
    assert child(window, QLabel, "errorLabel").text() == "内部错误，请联系管理员：KeyError"
    assert child(window, QLabel, "payableLabel").text() == ""


def test_screenshot_is_not_empty(qtbot: QtBot, window: CalcView, tmp_path: Path) -> None:
    calculate(qtbot, window, EXAMPLE_CASE)
    shot = tmp_path / "main_window.png"
    assert window.grab().save(str(shot))
    assert shot.stat().st_size > 0


def test_every_bucket_is_named_in_chinese_and_warnings_appear_once(
    qtbot: QtBot, window: CalcView
) -> None:
    """闵行, 低保 in the resident scheme: 起付线 300 + 60 % × 700 + 50 % × 280 (POLICY.md §1)."""
    case = copy.deepcopy(EXAMPLE_CASE)
    case["district"] = "minhang"
    case["person"]["resident_insurance"] = True
    case["person"]["categories"] = [{"code": "tekun", "from": "2024-03-01", "to": None},
                                    {"code": "dibao", "from": "2024-03-01", "to": None}]
    case["fees"][0]["deductible_part"] = "300.00"
    calculate(qtbot, window, case)
    # 特困 (100 %, an assumption of POLICY D1) wins 就高不重复: all 1000 paid, nothing left
    assert cells(child(window, QTableWidget, "bucketTable")) == [["门急诊", "1,000.00"]]
    trace = child(window, QPlainTextEdit, "traceView").toPlainText()
    assert trace.count("注意：政策未明确，按本区口径") == 1
    case["person"]["categories"] = case["person"]["categories"][1:]
    calculate(qtbot, window, case)
    assert cells(child(window, QTableWidget, "bucketTable")) == [
        ["门急诊", "420.00"],
        ["门急诊起付线补助", "300.00"],
        ["区级医疗救助（二次救助）", "140.00"],
    ]


def test_the_form_answers_how_much_would_i_get(qtbot: QtBot, window: CalcView) -> None:
    """No JSON: category, district and two receipts typed in; the answer follows live."""
    assert not child(window, QPlainTextEdit, "caseEditor").isVisible()
    window.category.setCurrentIndex(window.category.findData("low_income"))
    window.district.setCurrentIndex(window.district.findData("changning"))
    click(qtbot, window, "addRowButton")
    click(qtbot, window, "addRowButton")
    fees = child(window, QTableWidget, "calcFeeTable")
    assert fees.rowCount() == 2
    kind = fees.cellWidget(1, 1)
    assert isinstance(kind, QComboBox)
    kind.setCurrentIndex(kind.findData("inpatient"))
    for row, (total, self_pay) in enumerate((("3000.00", "2000.00"), ("20,000.00", "10000"))):
        fees.item(row, 3).setText(total)
        fees.item(row, 5).setText(self_pay)
    # 低收入: outpatient 50 % of 2,000, inpatient 80 % of 10,000 (POLICY.md §1)
    qtbot.waitUntil(lambda: "9,000.00" in child(window, QLabel, "payableLabel").text())
    assert cells(child(window, QTableWidget, "bucketTable")) == [
        ["门急诊", "1,000.00"], ["住院（含门诊大病）", "8,000.00"]]
    trace = child(window, QPlainTextEdit, "traceView").toPlainText()
    assert "50%" in trace and "沪府办规〔2022〕19号" in trace and "10,000.00" in trace
    assert "assistance:" not in trace and "§" not in trace and "POLICY" not in trace

    fees.selectRow(0)
    click(qtbot, window, "removeRowButton")
    qtbot.waitUntil(lambda: child(window, QLabel, "payableLabel").text() == "本次应付：8,000.00 元")

    fees.item(0, 5).setText("30000.00")  # more than the total: the row is named, not a path
    qtbot.waitUntil(lambda: child(window, QLabel, "errorLabel").text() != "")
    error = child(window, QLabel, "errorLabel").text()
    assert "第 1 行" in error and "fees[" not in error
