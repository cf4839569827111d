"""The counter view through its real widgets: search, open, tick by keyboard, the live total."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from PySide6.QtCore import QEvent, QObject, Qt
from PySide6.QtWidgets import (
    QApplication,
    QLabel,
    QLineEdit,
    QPushButton,
    QTableView,
    QTabWidget,
    QWidget,
)
from pytestqt.qtbot import QtBot

from desktop.policy.contract import default_parameters
from desktop.policy.engine import calculate
from desktop.services.applications import settled_rows
from desktop.store import Store, case_for, open_store
from desktop.store.models import ApplicationRecord
from desktop.ui.counter_view import CounterView
from tests.services.test_counter import TODAY, P, fill, row


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    opened = open_store(tmp_path / "counter.sqlite")
    fill(opened, [row("F1", "2026-04-08", "1000.00"), row("F2", "2026-05-08", "500.00"),
                  row("OLD", "2025-10-01", "300.00")])
    yield opened
    opened.close()


@pytest.fixture
def view(qtbot: QtBot, store: Store) -> CounterView:
    v = CounterView(store, "clerk1", today=lambda: TODAY)
    qtbot.addWidget(v)
    v.resize(1300, 760)
    v.show()
    qtbot.waitExposed(v)
    return v


def named(view: CounterView, kind: type, name: str):  # type: ignore[no-untyped-def]
    found = view.findChild(kind, name)
    assert found is not None, name
    return found


def engine_payable(store: Store, ticked: list[str]) -> Decimal:
    with store.read_session() as session:
        history = settled_rows(session, P, "assistance", {2025, 2026}, exclude=ticked)
        case = case_for(session, P, "assistance", "changning", TODAY, ticked, history)
    return calculate(case, default_parameters()).payable


def test_search_by_pinyin_initials_open_and_tick_by_keyboard(qtbot: QtBot, view: CounterView,
                                                             store: Store) -> None:
    search = named(view, QLineEdit, "personSearch")
    qtbot.keyClicks(search, "zs")  # 张三
    assert view.results_model.hits and view.results_model.hits[0].name == "张三"
    assert "*" * 10 in view.results_model.hits[0].masked_id_number
    qtbot.keyClick(search, Qt.Key.Key_Return)
    table = named(view, QTableView, "feeTable")
    assert table.hasFocus() or view.session is not None
    assert view.session is not None and view.session.person_id == P
    card = named(view, QLabel, "personCard").text()
    assert "张三" in card and "城乡低保家庭成员" in card
    # rows in date order: OLD (overdue, greyed, not tickable), F1, F2
    model = table.model()
    assert model.rowCount() == 3
    assert not (model.flags(model.index(0, 0)) & Qt.ItemFlag.ItemIsUserCheckable)
    assert "6个月" in model.index(0, 9).data()
    table.setFocus()
    table.setCurrentIndex(model.index(1, 0))
    qtbot.keyClick(table, Qt.Key.Key_Space)
    total = named(view, QLabel, "subsidyTotal")
    assert "600.00" in total.text()
    assert model.index(1, 0).data(Qt.ItemDataRole.CheckStateRole) == Qt.CheckState.Checked
    qtbot.keyClick(table, Qt.Key.Key_Down)
    qtbot.keyClick(table, Qt.Key.Key_Space)
    expected = engine_payable(store, ["F1", "F2"])
    assert f"{expected:,.2f}" in total.text() and expected == Decimal("900.00")
    # Space on the overdue row says why and changes nothing
    table.setCurrentIndex(model.index(0, 0))
    with qtbot.waitSignal(view.message) as said:
        qtbot.keyClick(table, Qt.Key.Key_Space)
    assert "6个月" in said.args[0]
    assert "900.00" in total.text()
    # untick by the mouse-free path too
    table.setCurrentIndex(model.index(1, 0))
    qtbot.keyClick(table, Qt.Key.Key_Space)
    assert "300.00" in total.text()


def test_the_checkbox_column_ticks_through_the_model(view: CounterView) -> None:
    view.search.setText("张三")
    view.open_selected()
    model = view.fee_table.model()
    assert model.setData(model.index(1, 0), Qt.CheckState.Checked.value,
                         Qt.ItemDataRole.CheckStateRole)
    assert "600.00" in view.total.text()
    assert not model.setData(model.index(0, 0), Qt.CheckState.Checked.value,
                             Qt.ItemDataRole.CheckStateRole)  # the overdue row


def test_filters_by_year_and_kind(view: CounterView) -> None:
    view.search.setText("张三")
    view.open_selected()
    view.year_filter.setCurrentIndex(view.year_filter.findData(2025))
    assert view.fee_table.model().rowCount() == 1
    view.year_filter.setCurrentIndex(0)
    view.kind_filter.setCurrentIndex(view.kind_filter.findData("inpatient"))
    assert view.fee_table.model().rowCount() == 0


def test_submit_saves_offline_with_the_shown_amount(qtbot: QtBot, view: CounterView,
                                                    store: Store) -> None:
    view.search.setText("zhangsan")
    view.open_selected()
    view.tick("F1")
    submit = named(view, QPushButton, "submitApplication")
    assert submit.isEnabled()
    qtbot.keyClick(view.fee_table, Qt.Key.Key_F9)
    dialog = view.submit_dialog
    qtbot.waitExposed(dialog)
    dialog.bank.setText("")
    with qtbot.waitSignal(view.application_saved) as saved:
        dialog.accept()
    with store.read_session() as session:
        app = session.get(ApplicationRecord, __import__("uuid").UUID(saved.args[0]))
        assert app is not None and app.payable == Decimal("600.00") and app.status == "saved"
    # the view reopened the person: F1 is now held by the application
    assert view.session is not None and not view.session.row("F1").tickable


def test_the_proxy_needs_a_valid_id_number(qtbot: QtBot, view: CounterView) -> None:
    view.search.setText("张三")
    view.open_selected()
    view.tick("F1")
    view.submit_application()
    dialog = view.submit_dialog
    dialog.bank.setText("")
    dialog.proxy_name.setText("李四")
    dialog.proxy_id.setText("310105199001011234")  # wrong check character
    dialog.accept()
    assert dialog.isVisible() and "被委托人身份证号码" in dialog.error.text()
    dialog.proxy_id.setText("")
    dialog.accept()
    assert "同时填写" in dialog.error.text()


def test_screenshot(qtbot: QtBot, view: CounterView, tmp_path: Path) -> None:
    view.search.setText("zs")
    view.open_selected()
    view.tick("F1")
    shot = tmp_path / "counter.png"
    assert view.grab().save(str(shot))
    assert shot.stat().st_size > 10_000
    _ = date  # keep the import for type readers


def test_the_trace_speaks_the_offices_words(qtbot: QtBot, view: CounterView) -> None:
    """F4's explanation names parameters by their Chinese name and document, not their keys,
    and amounts carry thousands separators (issue 12: the office's words)."""
    assert view.open_person(P)
    view.tick_all_countable()
    assert view.last_quote is not None
    assert any("assistance:" in line for line in view.last_quote.trace)  # the engine's keys
    view.show_trace()
    shown = view.trace_dialog.text.toPlainText()
    assert "assistance:" not in shown and "POLICY D" not in shown and "CN-2026" not in shown
    assert "1,000.00" in shown and "操作细则" in shown


class _Paints(QObject):
    """Counts the paint events each watched widget receives."""

    def __init__(self) -> None:
        super().__init__()
        self.count: dict[str, int] = {}

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() == QEvent.Type.Paint:
            name = watched.objectName()
            self.count[name] = self.count.get(name, 0) + 1
        return False


def test_a_tick_repaints_the_row_and_the_amount_not_the_window(qtbot: QtBot,
                                                                store: Store) -> None:
    """Issue 13 (Space → total in the real window): a label whose text grows asks its parents
    to lay out again, and a QTabWidget that is asked repaints its whole page. The figures a
    tick changes sit where that request stops, so the search, the person's card and the
    buttons are not painted again at each tick (a test of what is painted, not of time)."""
    tabs = QTabWidget()
    view = CounterView(store, "clerk1", today=lambda: TODAY)
    tabs.addTab(view, "柜台受理")
    qtbot.addWidget(tabs)
    tabs.resize(1300, 760)
    tabs.show()
    qtbot.waitExposed(tabs)
    view.search.setText("张三")
    view.open_selected()
    table = named(view, QTableView, "feeTable")
    model = table.model()
    table.setFocus()
    table.setCurrentIndex(model.index(1, 0))
    # the search's clear button fades in once it has text (an animation of about 160 ms that
    # repaints the field): let it end, or a tick may be counted with one of its frames
    qtbot.wait(400)
    QApplication.processEvents()
    paints = _Paints()
    watched = [w for w in view.findChildren(QWidget) if w.objectName()]
    for widget in watched:
        widget.installEventFilter(paints)
    first = True
    for line in (1, 2, 1, 2):
        table.setCurrentIndex(model.index(line, 0))
        QApplication.processEvents()
        paints.count.clear()
        qtbot.keyClick(table, Qt.Key.Key_Space)
        QApplication.processEvents()
        assert "本次应付" in view.total.text()
        assert paints.count.get("subsidyTotal", 0) >= 1  # the new amount is shown
        if first:  # the person's card finishes its own layout in the first pass after opening
            first = False
            continue
        for still in ("personSearch", "personResults", "personCard", "programChoice",
                      "showTrace", "previewApplication", "scanInput"):
            assert paints.count.get(still, 0) == 0, (still, paints.count)
