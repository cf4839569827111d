"""The calculator tab, driven through its real widgets with pytest-qt."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import QDate, Qt
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDateEdit,
    QLabel,
    QLineEdit,
    QMainWindow,
    QPlainTextEdit,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QWidget,
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
    def broken(text: str, parameters: object = None) -> dict[str, Any]:
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


# -- the other calculators (issue 15, point 4): forms driven by keyboard ----------------------


def form_window(qtbot: QtBot, roles: tuple[str, ...]) -> CalcView:
    w = CalcView(roles=roles)
    qtbot.addWidget(w)
    w.resize(1280, 760)
    w.show()
    qtbot.waitExposed(w)
    return w


def choose_by_keyboard(qtbot: QtBot, window: CalcView, label: str) -> None:
    pick_by_keyboard(qtbot, child(window, QComboBox, "calculatorBox"), label)


def pick_by_keyboard(qtbot: QtBot, box: QComboBox, label: str) -> None:
    box.setFocus()
    labels = [box.itemText(i) for i in range(box.count())]
    qtbot.keyClick(box, Qt.Key.Key_Home)
    for _ in range(labels.index(label)):
        qtbot.keyClick(box, Qt.Key.Key_Down)
    assert box.currentText() == label


def type_into(qtbot: QtBot, edit: QLineEdit, text: str) -> None:
    edit.setFocus()
    edit.selectAll()
    qtbot.keyClick(edit, Qt.Key.Key_Delete)
    qtbot.keyClicks(edit, text)


def shown(window: CalcView, prefix: str) -> tuple[str, str, str]:
    """The form's error, headline and trace; none may hold an engineering word."""
    from tests.test_words import engineering_words

    texts = (child(window, QLabel, f"{prefix}Error").text(),
             child(window, QLabel, f"{prefix}Headline").text(),
             child(window, QPlainTextEdit, f"{prefix}Trace").toPlainText())
    assert engineering_words("\n".join(texts)) == []
    return texts


def calculators(window: CalcView) -> list[str]:
    box = child(window, QComboBox, "calculatorBox")
    return [box.itemText(i) for i in range(box.count())]


def test_a_clerk_has_no_funding_split_a_supervisor_has(qtbot: QtBot) -> None:
    clerk = form_window(qtbot, ("clerk",))
    assert calculators(clerk) == ["医疗救助 / 互助帮困试算", "支出型贫困（第II类）核对",
                                  "职工医保门急诊自负估算", "资助参保"]
    assert clerk.findChild(QWidget, "fundForm") is None
    for role in ("reviewer", "approver"):
        assert calculators(form_window(qtbot, (role,)))[-1] == "互助帮困资金分担"
    # roles taken away again (another user signs in): the form goes
    clerk.set_roles(("approver",))
    clerk.choose("funding")
    clerk.set_roles(("clerk",))
    assert "互助帮困资金分担" not in calculators(clerk)
    assert child(clerk, QComboBox, "calculatorBox").currentIndex() == 0


def test_the_roles_come_from_the_signed_in_user_of_the_window(qtbot: QtBot) -> None:
    from desktop.ui.identity import CounterUser

    class Host(QMainWindow):
        def __init__(self, user: CounterUser) -> None:
            super().__init__()
            self.user = user
            self.setCentralWidget(CalcView())

    for roles, has in ((("clerk",), False), (("clerk", "reviewer"), True)):
        host = Host(CounterUser("demo", "演示", roles))
        qtbot.addWidget(host)
        host.show()
        qtbot.waitExposed(host)
        view = host.centralWidget()
        assert isinstance(view, CalcView)
        assert ("互助帮困资金分担" in calculators(view)) is has


def test_expenditure_2_by_keyboard(qtbot: QtBot) -> None:
    w = form_window(qtbot, ("clerk",))
    choose_by_keyboard(qtbot, w, "支出型贫困（第II类）核对")
    child(w, QDateEdit, "exp2Date").setDate(QDate(2026, 6, 10))
    # unanswered preconditions are named, nothing is computed
    error, headline, _ = shown(w, "exp2")
    assert error.startswith(
        "请更正：家庭年人均可支配收入低于本市上年度全市居民人均可支配收入：请选择")
    assert headline == ""
    pick_by_keyboard(qtbot, child(w, QComboBox, "exp2IncomeBelow"), "是")
    pick_by_keyboard(qtbot, child(w, QComboBox, "exp2Assets"), "是")
    type_into(qtbot, child(w, QLineEdit, "exp2Income"), "60000")
    bill_date = child(w, QDateEdit, "exp2BillDate")
    amount = child(w, QLineEdit, "exp2BillAmount")
    designated = child(w, QCheckBox, "exp2BillDesignated")
    for day, typed, at_designated in ((QDate(2026, 1, 5), "20000", True),
                                      (QDate(2026, 2, 5), "5000", False)):
        bill_date.setDate(day)
        if designated.isChecked() != at_designated:
            designated.setFocus()
            qtbot.keyClick(designated, Qt.Key.Key_Space)
        type_into(qtbot, amount, typed)
        qtbot.keyClick(amount, Qt.Key.Key_Return)
    assert cells(child(w, QTableWidget, "exp2Bills")) == [
        ["2026-01-05", "20,000.00", "是"], ["2026-02-05", "5,000.00", "否"]]
    # SA-2022 四: only the 本市医保定点 20,000 counts; 40 % × 60,000 = 24,000; short by 4,000
    error, headline, trace = shown(w, "exp2")
    assert error == ""
    assert headline == "未达到第二类支出型贫困家庭标准（还差 4,000.00 元）"
    assert "不计入 1 笔：不是本市医保定点医疗机构发生的费用" in trace
    assert "= 24,000.00 元" in trace
    # a precondition answered 否 refuses the case whatever the spending
    designated.setFocus()
    qtbot.keyClick(designated, Qt.Key.Key_Space)  # this one at a 本市定点 institution again
    assert designated.isChecked()
    type_into(qtbot, amount, "10000")
    qtbot.keyClick(amount, Qt.Key.Key_Return)
    pick_by_keyboard(qtbot, child(w, QComboBox, "exp2Assets"), "否")
    _, headline, trace = shown(w, "exp2")
    assert headline.startswith("不符合支出型贫困家庭条件：家庭财产不符合")
    assert "家庭财产符合本市低收入困难家庭申请专项救助经济状况认定标准：否" in trace
    pick_by_keyboard(qtbot, child(w, QComboBox, "exp2Assets"), "是")
    assert shown(w, "exp2")[1].startswith("可按第二类支出型贫困家庭申请")
    # bad input: the field is named, nothing crashes
    type_into(qtbot, child(w, QLineEdit, "exp2Income"), "6w")
    error, headline, trace = shown(w, "exp2")
    assert error.startswith("请更正：家庭年可支配收入（元）：")
    assert (headline, trace) == ("", "")


def test_employee_outpatient_by_keyboard(qtbot: QtBot) -> None:
    w = form_window(qtbot, ("clerk",))
    choose_by_keyboard(qtbot, w, "职工医保门急诊自负估算")
    child(w, QDateEdit, "empDate").setDate(QDate(2026, 6, 10))
    pick_by_keyboard(qtbot, child(w, QComboBox, "empRetired"), "退休")
    child(w, QDateEdit, "empRetiredOn").setDate(QDate(2005, 3, 1))
    pick_by_keyboard(qtbot, child(w, QComboBox, "empLevel"), "二级")
    type_into(qtbot, child(w, QLineEdit, "empAmount"), "1000")
    type_into(qtbot, child(w, QLineEdit, "empUsed"), "100")
    # EMP-2021 二(二)2: 300 − 100 = 200 left; (1,000 − 200) × 80 % = 640; self-pay 360
    error, headline, trace = shown(w, "emp")
    assert error == ""
    assert headline == "估算个人自负 360.00 元，统筹基金支付 640.00 元（估算，非结算数）"
    assert "沪府办规〔2021〕18号" in trace
    type_into(qtbot, child(w, QLineEdit, "empAmount"), "1000.001")
    assert shown(w, "emp")[0].startswith("请更正：本次门急诊医保范围内费用（元）：")


def test_premium_subsidy_by_keyboard(qtbot: QtBot) -> None:
    w = form_window(qtbot, ("clerk",))
    choose_by_keyboard(qtbot, w, "资助参保")
    child(w, QDateEdit, "premDate").setDate(QDate(2026, 6, 10))
    category = child(w, QComboBox, "premCategory")
    pick_by_keyboard(qtbot, category, category.itemText(category.findData("low_income")))
    type_into(qtbot, child(w, QLineEdit, "premAge"), "65")
    type_into(qtbot, child(w, QLineEdit, "premAmount"), "800")
    # 沪医保规〔2023〕2号 一(二): a 低收入 person aged 60+ pays 120; 800 − 120 = 680 is paid
    assert shown(w, "prem")[:2] == ("", "资助 680.00 元，个人缴费 120.00 元")
    type_into(qtbot, child(w, QLineEdit, "premAge"), "")
    assert shown(w, "prem")[0] == "请更正：年龄（周岁）：请填写"


def test_funding_split_minhang_and_changning(qtbot: QtBot) -> None:
    w = form_window(qtbot, ("approver",))
    choose_by_keyboard(qtbot, w, "互助帮困资金分担")
    child(w, QDateEdit, "fundDate").setDate(QDate(2026, 3, 1))
    pick_by_keyboard(qtbot, child(w, QComboBox, "fundDistrict"), "闵行区")
    pick_by_keyboard(qtbot, child(w, QComboBox, "fundKind"), "镇（工业区）")
    type_into(qtbot, child(w, QLineEdit, "fundMembers"), "1000")
    # MH-2026 §七.二 with 闵府抄〔2009〕68号: 市 50 % / 区 25 % / 镇 25 %
    error, headline, trace = shown(w, "fund")
    assert error == ""
    assert headline == ("1,000 人共筹资 3,240,000.00 元：个人缴费 130,000.00 元，"
                        "市级财政 1,555,000.00 元，区级财政 777,500.00 元，"
                        "镇（工业区）财政 777,500.00 元")
    assert "区级财政 25%" in trace and "镇（工业区）财政 25%" in trace
    pick_by_keyboard(qtbot, child(w, QComboBox, "fundDistrict"), "长宁区")
    _, headline, trace = shown(w, "fund")
    assert headline.endswith("市级财政 1,555,000.00 元，区级财政 1,555,000.00 元")
    assert "政策未明确，按本区口径：长宁区没有区、镇分担规定" in trace
    type_into(qtbot, child(w, QLineEdit, "fundMembers"), "1.5")
    assert shown(w, "fund")[0].startswith("请更正：参加人数：")


def test_the_calculators_speak_the_offices_words(qtbot: QtBot, tmp_path: Path) -> None:
    from desktop.ui.calc_screenshots import take_calculator_screenshots
    from tests.test_words import engineering_words

    written = take_calculator_screenshots(tmp_path)
    assert [p.name for p in written] == [
        "calc-subsidy.png", "calc-expenditure-2.png", "calc-employee-outpatient.png",
        "calc-premium-subsidy.png", "calc-funding-minhang.png", "calc-funding-changning.png"]
    assert all(p.stat().st_size > 10_000 for p in written)
    w = form_window(qtbot, ("approver",))
    texts: list[str] = []
    for code in list(w.forms):
        w.choose(code)
        form = w.forms[code]
        texts += [label.text() for label in form.findChildren(QLabel)]
        texts += [box.itemText(i) for box in form.findChildren(QComboBox)
                  for i in range(box.count())]
        texts += [edit.placeholderText() for edit in form.findChildren(QLineEdit)]
    assert engineering_words("\n".join(texts)) == []
