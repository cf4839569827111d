"""The 免申即享 tab's states (issue 15 point 3): late in red with the days, a person with nothing
payable shown as done, a row that cannot count shown with its reason, the supervisors' view of
the month, and a district where the procedure does not apply. A real store, real services."""

from __future__ import annotations

import os
import random
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
from pytestqt.qtbot import QtBot

from desktop.store import Store
from desktop.store.models import UserRecord
from desktop.ui.monthly_view import RED, MonthlyView
from desktop.wire import Change
from tests.services.test_monthly import MINHANG, add_person, claim, commit, fill_store
from tests.store.conftest import upsert

LATE_DAY = date(2026, 7, 18)
SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    """A month with every state: 王芳 processed on the 8th; 孙丽 and 赵敏 with rows to claim
    (赵敏's other rows cannot count); 钱进's only new row cannot count; 张伟 has nothing new."""
    rnd = random.Random(15)
    changes: list[Change] = [upsert("institution", "H2", {"code": "H2", "name": "华山医院",
                                                          "level": 2})]
    at = {"institution_code": "H2"}
    add_person(changes, rnd, "A", "王芳", [("A1", "2026-04-01", "100.00"),
                                          ("A2", "2026-06-20", "1000.00")])
    add_person(changes, rnd, "F", "孙丽", [("F1", "2026-04-01", "100.00"),
                                          ("F2", "2026-06-22", "400.00")], F2=at)
    add_person(changes, rnd, "D", "赵敏", [("D1", "2026-04-01", "100.00"),
                                          ("D2", "2026-06-02", "500.00"),
                                          ("D3", "2025-12-01", "300.00"),
                                          ("D4", "2026-06-05", "200.00")],
               D2=at, D3=at, D4={**at, "clearing_pending": True})
    add_person(changes, rnd, "E", "钱进", [("E1", "2026-04-01", "100.00"),
                                          ("E2", "2026-06-09", "800.00")],
               E2={**at, "clearing_pending": True})
    add_person(changes, rnd, "C", "张伟", [("C1", "2026-04-01", "100.00")])
    opened = fill_store(tmp_path, changes)
    for pid in "AFDEC":
        commit(opened, pid)
    claim(opened, "A", ("A2",), date(2026, 7, 8))
    with opened.session() as session:  # the clerk as the office knows them
        session.add(UserRecord(username="clerk1", display_name="李经办", roles=["clerk"]))
    yield opened
    opened.close()


def _view(qtbot: QtBot, store: Store, today: date, **kw: object) -> MonthlyView:
    view = MonthlyView(store, "clerk1", today=lambda: today, **kw)  # type: ignore[arg-type]
    qtbot.addWidget(view)
    view.resize(1100, 640)
    view.show()
    view.refresh()
    qtbot.waitUntil(lambda: view.refresh_button.isEnabled() and view.run is not None,
                    timeout=20_000)
    return view


def _select(view: MonthlyView, name: str) -> None:
    view.table.selectRow(next(i for i, e in enumerate(view.entries) if e.name == name))


def test_after_the_15th_the_run_says_how_many_days_late_in_red(qtbot: QtBot,
                                                               store: Store) -> None:
    view = _view(qtbot, store, LATE_DAY)
    assert view.late.isVisible() and view.late.styleSheet() == RED
    assert "已超过办理期限 3 天" in view.late.text() and "2026-07-15" in view.late.text()
    assert "2 人未办理" in view.late.text()
    assert view.late.toolTip()
    states = {row[0]: row[4] for row in view.model.rows}
    assert states == {"孙丽": "逾期未办理", "赵敏": "逾期未办理", "钱进": "本月无可报销费用",
                      "张伟": "本月无可报销费用", "王芳": "已办理"}
    _select(view, "孙丽")
    assert "已逾期" in view.person_note.text() and view.person_note.styleSheet() == RED
    # Enter on a missed person opens them at the counter with their rows
    opened: list[object] = []
    view.open_requested.connect(opened.append)
    row = next(i for i, e in enumerate(view.entries) if e.name == "孙丽")
    view.table.activated.emit(view.model.index(row, 0))
    assert [e.rows for e in opened] == [("F2",)]  # type: ignore[attr-defined]
    if os.environ.get("SCREENSHOTS"):
        _select(view, "赵敏")
        view.grab().save(str(SCREENSHOTS / "monthly-run-late.png"))


def test_in_time_there_is_no_late_warning(qtbot: QtBot, store: Store) -> None:
    view = _view(qtbot, store, date(2026, 7, 10))
    assert not view.late.isVisible()
    assert "2026-07-15 前" in view.heading.text()
    assert {row[0]: row[4] for row in view.model.rows}["孙丽"] == "待办理"


def test_a_person_with_nothing_payable_shows_it_and_is_done(qtbot: QtBot,
                                                             store: Store) -> None:
    view = _view(qtbot, store, LATE_DAY)
    _select(view, "钱进")
    note = view.person_note.text()
    assert note.startswith("本月无可报销费用") and "已办结（2026-07-18，经办人 李经办）" in note
    assert view.rows_model.rows == [("2026-06-09", "RE2", "门急诊", "华山医院", "800.00",
                                     view.entries[next(i for i, e in enumerate(view.entries)
                                                       if e.name == "钱进")].new_rows[0].reason)]
    assert view.rows_model.rows[0][-1] != "可申请"
    opened: list[object] = []
    view.open_requested.connect(opened.append)
    row = next(i for i, e in enumerate(view.entries) if e.name == "钱进")
    view.table.activated.emit(view.model.index(row, 0))
    assert opened == []  # nothing to claim: Enter does not open the counter
    _select(view, "张伟")  # nothing new at all
    assert view.person_note.text().startswith("本月无可报销费用")
    assert view.rows_model.rows == []


def test_a_row_that_cannot_count_is_shown_with_its_reason(qtbot: QtBot, store: Store) -> None:
    view = _view(qtbot, store, LATE_DAY)
    _select(view, "赵敏")
    reasons = {row[1]: row[-1] for row in view.rows_model.rows}
    assert set(reasons) == {"RD2", "RD3", "RD4"}
    assert reasons["RD2"] == "可申请"
    assert reasons["RD3"] not in ("", "可申请") and reasons["RD4"] not in ("", "可申请")
    listed = {row[0]: row[5] for row in view.model.rows}
    assert listed["赵敏"] == "3 笔（2 笔不能申请）"
    # the tooltip of a cell is its whole text (the reason may be elided in the column)
    index = view.rows_model.index(1, 5)
    assert view.rows_model.data(index, 3) == view.rows_model.rows[1][5]  # ToolTipRole


def test_the_supervisor_sees_the_month(qtbot: QtBot, store: Store) -> None:
    view = _view(qtbot, store, LATE_DAY, supervisor=True)
    assert view.overview_button.isVisible() and view.overview_button.toolTip()
    view.overview_button.click()
    assert view.pages.currentWidget() is view.overview
    overview = view.overview
    assert ("已办理 1 人，本月无可报销费用 2 人，逾期未办理 2 人"
            in overview.counts.text())
    assert overview.missed.isVisible() and overview.missed.styleSheet() == RED
    assert not view.late.isVisible()  # the overview says it itself
    assert "3 天" in overview.missed.text()
    rows = {row[0]: row for row in overview.model.rows}
    assert rows["王芳"][3:6] == ("已办理", "2026-07-08", "李经办")
    assert rows["钱进"][3:5] == ("本月无可报销费用", "2026-07-18")
    assert rows["孙丽"][3] == "逾期未办理" and rows["孙丽"][-1] == "240.00"
    if os.environ.get("SCREENSHOTS"):
        view.grab().save(str(SCREENSHOTS / "monthly-overview.png"))
    view.overview_button.click()
    assert view.pages.currentIndex() == 0 and view.late.isVisible()


def test_a_clerk_does_not_see_the_supervisors_view(qtbot: QtBot, store: Store) -> None:
    view = _view(qtbot, store, LATE_DAY)  # clerk1 is no reviewer or approver here
    assert not view.overview_button.isVisible()
    with store.session() as session:
        user = session.get(UserRecord, "clerk1")
        assert user is not None
        user.roles = ["clerk", "reviewer"]
    assert _view(qtbot, store, LATE_DAY).overview_button.isVisible()


def test_where_the_procedure_does_not_apply_the_run_lists_nobody(qtbot: QtBot,
                                                                  store: Store) -> None:
    view = _view(qtbot, store, LATE_DAY, street_code=MINHANG)
    assert "不适用免申即享" in view.heading.text()
    assert view.not_applicable.isVisible() and "闵行区" in view.not_applicable.text()
    assert view.model.rows == [] and not view.late.isVisible()
