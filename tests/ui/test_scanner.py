"""The scanner-burst detector on real widgets: scans are caught wherever the focus is and taken
back out of it; typing arrives at once, unchanged and in order; password fields are never touched.

Key events are built with explicit timestamps (as the platform gives them), so the bursts do not
depend on how fast the test machine runs.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
import shiboken6
from PySide6.QtCore import QEvent, QObject, Qt
from PySide6.QtGui import QKeyEvent, QStandardItem, QStandardItemModel
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication, QLineEdit, QTableView, QVBoxLayout, QWidget
from pytestqt.qtbot import QtBot

from desktop.ui.scanner import ScanBurstDetector

FISCAL = ("https://ebill.example/eips-wxapp-service/d?t=504&a=X"
          "&d=31060126_0000012345_a1b2c3_236.21_20260315&s=0")
FAST, SLOW = 12, 220  # ms between keys: a scanner, a person
WAIT = 3000  # generous: waits end as soon as the condition holds

Press, Release = QEvent.Type.KeyPress, QEvent.Type.KeyRelease
NO_MODS = Qt.KeyboardModifier.NoModifier
SHIFT = Qt.KeyboardModifier.ShiftModifier


class Recorder(QObject):
    """What actually reached a widget (a widget's own filter runs after the application's)."""

    def __init__(self, widget: QWidget) -> None:
        super().__init__(widget)
        self.events: list[tuple[QEvent.Type, int, str]] = []
        widget.installEventFilter(self)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if isinstance(event, QKeyEvent) and event.type() in (Press, Release):
            self.events.append((event.type(), event.key(), event.text()))
        return False

    @property
    def pressed_text(self) -> str:
        return "".join(text for kind, _key, text in self.events if kind == Press)


class Keyboard:
    """Sends key events to a widget through the application, with a running timestamp."""

    def __init__(self, start_ms: int = 1_000_000) -> None:
        self.now = start_ms

    def send(self, widget: QWidget, kind: QEvent.Type, key: int, text: str = "",
             modifiers: Qt.KeyboardModifier = NO_MODS, stamp: bool = True) -> None:
        event = QKeyEvent(kind, key, modifiers, text)
        if stamp:
            event.setTimestamp(self.now)
        QApplication.sendEvent(widget, event)

    def type(self, widget: QWidget, text: str, gap_ms: int, *, stamp: bool = True) -> None:
        for char in text:
            self.now += gap_ms
            key = _key_of(char)
            shifted = char.isupper()
            if shifted:
                self.send(widget, Press, Qt.Key.Key_Shift, modifiers=SHIFT, stamp=stamp)
            mods = SHIFT if shifted else NO_MODS
            self.send(widget, Press, key, char, mods, stamp)
            self.send(widget, Release, key, char, mods, stamp)
            if shifted:
                self.send(widget, Release, Qt.Key.Key_Shift, stamp=stamp)

    def press(self, widget: QWidget, key: int, text: str, gap_ms: int = FAST,
              modifiers: Qt.KeyboardModifier = NO_MODS) -> None:
        self.now += gap_ms
        self.send(widget, Press, key, text, modifiers)
        self.send(widget, Release, key, text, modifiers)

    def enter(self, widget: QWidget, gap_ms: int = FAST) -> None:
        self.press(widget, Qt.Key.Key_Return, "\r", gap_ms)


def _key_of(char: str) -> int:
    return ord(char.upper()) if char.isascii() else 0


@pytest.fixture
def detector(qtbot: QtBot) -> Iterator[ScanBurstDetector]:
    found = ScanBurstDetector()
    found.install()
    yield found
    found.uninstall()


@pytest.fixture
def scans(detector: ScanBurstDetector) -> list[str]:
    seen: list[str] = []
    detector.scanned.connect(seen.append)
    return seen


@pytest.fixture
def window(qtbot: QtBot) -> tuple[QWidget, QLineEdit, QTableView]:
    root = QWidget()
    search = QLineEdit()
    search.setObjectName("personSearch")
    model = QStandardItemModel(0, 1, root)
    for name in ("apple", "banana", "cherry", "https"):
        model.appendRow(QStandardItem(name))
    table = QTableView()
    table.setEditTriggers(QTableView.EditTrigger.NoEditTriggers)  # as the counter's tables
    table.setModel(model)
    layout = QVBoxLayout(root)
    layout.addWidget(search)
    layout.addWidget(table)
    qtbot.addWidget(root)
    root.show()
    qtbot.waitExposed(root)
    search.setFocus()
    return root, search, table


def settled(detector: ScanBurstDetector) -> Callable[[], bool]:
    return lambda: not detector.holding


# -- scans ---------------------------------------------------------------------------------------

def test_a_fast_burst_with_enter_is_one_scan_and_types_nothing(
        qtbot: QtBot, detector: ScanBurstDetector, scans: list[str],
        window: tuple[QWidget, QLineEdit, QTableView]) -> None:
    _root, search, _table = window
    seen = Recorder(search)
    returned: list[bool] = []
    search.returnPressed.connect(lambda: returned.append(True))
    keys = Keyboard()
    keys.type(search, FISCAL, FAST)
    # typed at once (nothing held), still watched until the burst is decided
    assert search.text() == FISCAL and not detector.holding and detector.in_burst
    assert scans == []
    keys.enter(search)
    assert scans == [FISCAL]  # upper-case letters and punctuation intact, no Enter
    assert search.text() == "" and returned == []  # taken back out; Enter never reached it
    assert Qt.Key.Key_Return not in [key for _kind, key, _text in seen.events]
    assert not detector.holding and not detector.in_burst


def test_a_scan_leaves_the_field_as_it_was(detector: ScanBurstDetector, scans: list[str],
                                           window: tuple[QWidget, QLineEdit, QTableView]
                                           ) -> None:
    """Scanned in the middle of what the clerk had typed: the text and the cursor come back."""
    _root, search, _table = window
    search.setText("王秀")
    search.setCursorPosition(1)
    changes: list[str] = []
    search.textChanged.connect(changes.append)
    keys = Keyboard()
    keys.type(search, "0000012345", FAST)
    keys.enter(search)
    assert scans == ["0000012345"]
    assert search.text() == "王秀" and search.cursorPosition() == 1
    assert changes[-1] == "王秀"  # whoever follows the field (the search) sees it restored


def test_typing_in_a_text_field_is_not_delayed(detector: ScanBurstDetector, scans: list[str],
                                               window: tuple[QWidget, QLineEdit, QTableView]
                                               ) -> None:
    """The character is in the field as soon as its key event is processed: no timer waits."""
    _root, search, _table = window
    keys = Keyboard()
    for n, char in enumerate("zhang", start=1):
        keys.type(search, char, FAST)  # even at a scanner's pace
        assert search.text() == "zhang"[:n]
    assert not detector.holding and scans == []


def test_space_in_a_table_acts_at_once(detector: ScanBurstDetector, scans: list[str],
                                       window: tuple[QWidget, QLineEdit, QTableView]) -> None:
    """Space ticks a fee row: it is not held (a scan does not start with a space)."""
    _root, _search, table = window
    table.setFocus()
    seen = Recorder(table)
    keys = Keyboard()
    keys.press(table, Qt.Key.Key_Space, " ")
    assert (Press, int(Qt.Key.Key_Space), " ") in seen.events and not detector.holding
    keys.press(table, Qt.Key.Key_Space, " ")  # and again, fast: still at once
    assert seen.pressed_text == "  " and scans == []


def test_a_burst_ended_by_a_pause_is_a_scan(qtbot: QtBot, detector: ScanBurstDetector,
                                            window: tuple[QWidget, QLineEdit, QTableView]
                                            ) -> None:
    _root, search, _table = window
    with qtbot.waitSignal(detector.scanned, timeout=WAIT) as blocker:
        Keyboard().type(search, "0000012345", FAST)  # a 1-D barcode, no suffix
    assert blocker.args == ["0000012345"]
    assert search.text() == ""


def test_a_scan_is_caught_in_a_table_too(qtbot: QtBot, detector: ScanBurstDetector,
                                         scans: list[str],
                                         window: tuple[QWidget, QLineEdit, QTableView]) -> None:
    _root, _search, table = window
    table.setFocus()
    table.setCurrentIndex(table.model().index(0, 0))
    seen = Recorder(table)
    keys = Keyboard()
    keys.type(table, "https://ebill.example/x", FAST)
    keys.press(table, Qt.Key.Key_Tab, "\t")  # a Tab suffix
    assert scans == ["https://ebill.example/x"]
    assert seen.events == [] and table.currentIndex().row() == 0  # no keyboard search, no Tab


def test_a_linefeed_suffix_ends_a_scan(detector: ScanBurstDetector, scans: list[str],
                                       window: tuple[QWidget, QLineEdit, QTableView]) -> None:
    _root, search, _table = window
    keys = Keyboard()
    keys.type(search, "0000020001", FAST)
    keys.press(search, Qt.Key.Key_J, "\n", modifiers=Qt.KeyboardModifier.ControlModifier)
    assert scans == ["0000020001"] and search.text() == ""


def test_two_scans_back_to_back_are_two(detector: ScanBurstDetector, scans: list[str],
                                        window: tuple[QWidget, QLineEdit, QTableView]) -> None:
    _root, search, _table = window
    keys = Keyboard()
    keys.type(search, "0000020001", FAST)
    keys.enter(search)
    keys.type(search, FISCAL, FAST)
    keys.enter(search)
    assert scans == ["0000020001", FISCAL] and search.text() == ""


def test_keys_from_the_platform_are_caught_once(
        qtbot: QtBot, detector: ScanBurstDetector, scans: list[str],
        window: tuple[QWidget, QLineEdit, QTableView]) -> None:
    """Real key events visit the window, then the focus widget: one scan, not two."""
    root, search, _table = window
    root.activateWindow()
    qtbot.waitUntil(search.hasFocus, timeout=WAIT)
    handle = root.windowHandle()
    assert handle is not None
    for char in "0000012345":
        QTest.keyClick(handle, Qt.Key(ord(char)))
    QTest.keyClick(handle, Qt.Key.Key_Return)
    assert scans == ["0000012345"] and search.text() == ""
    for key in (Qt.Key.Key_A, Qt.Key.Key_B):  # too short for a scan: typed, after a moment
        QTest.keyClick(handle, key)
    qtbot.waitUntil(lambda: search.text() == "ab", timeout=WAIT)
    assert scans == ["0000012345"]


# -- typing ----------------------------------------------------------------------------------------

def test_slow_typing_reaches_the_field_unchanged(
        qtbot: QtBot, detector: ScanBurstDetector, scans: list[str],
        window: tuple[QWidget, QLineEdit, QTableView]) -> None:
    _root, search, _table = window
    text = "Zhang San 310105"
    Keyboard().type(search, text, SLOW)
    qtbot.waitUntil(lambda: search.text() == text, timeout=WAIT)
    qtbot.waitUntil(settled(detector), timeout=WAIT)
    assert scans == [] and search.text() == text


def test_a_short_fast_burst_is_typing_and_keeps_its_enter_in_order(
        qtbot: QtBot, detector: ScanBurstDetector, scans: list[str],
        window: tuple[QWidget, QLineEdit, QTableView]) -> None:
    """A fast typist's rolled keys are shorter than a scan: typed, then Enter, in that order."""
    _root, search, _table = window
    at_return: list[str] = []
    search.returnPressed.connect(lambda: at_return.append(search.text()))
    keys = Keyboard()
    keys.type(search, "zs", FAST)
    keys.enter(search)
    assert at_return == ["zs"] and scans == []


def test_typing_then_a_scan_then_typing(qtbot: QtBot, detector: ScanBurstDetector,
                                        scans: list[str],
                                        window: tuple[QWidget, QLineEdit, QTableView]) -> None:
    _root, search, _table = window
    keys = Keyboard()
    keys.type(search, "ab", SLOW)
    keys.now += SLOW
    keys.type(search, FISCAL, FAST)
    keys.enter(search)
    keys.type(search, "cd", SLOW)
    qtbot.waitUntil(lambda: search.text() == "abcd", timeout=WAIT)
    assert scans == [FISCAL]


def test_other_keys_keep_their_place_among_typed_ones(
        qtbot: QtBot, detector: ScanBurstDetector, scans: list[str],
        window: tuple[QWidget, QLineEdit, QTableView]) -> None:
    _root, search, _table = window
    keys = Keyboard()
    keys.type(search, "abc", FAST)
    keys.press(search, Qt.Key.Key_Backspace, "\b")
    keys.press(search, Qt.Key.Key_Home, "")
    keys.type(search, "x", SLOW)
    qtbot.waitUntil(lambda: search.text() == "xab", timeout=WAIT)
    assert scans == []


def test_typing_into_a_table_still_searches_it(
        qtbot: QtBot, detector: ScanBurstDetector, scans: list[str],
        window: tuple[QWidget, QLineEdit, QTableView]) -> None:
    _root, _search, table = window
    table.setFocus()
    table.setCurrentIndex(table.model().index(0, 0))
    Keyboard().type(table, "c", SLOW)
    qtbot.waitUntil(lambda: table.currentIndex().row() == 2, timeout=WAIT)  # "cherry"
    assert scans == []


def test_qtest_keys_without_timestamps_use_the_clock(qtbot: QtBot,
                                                     window: tuple[QWidget, QLineEdit,
                                                                   QTableView]) -> None:
    """QTest gives widget key events timestamp 0: the detector's own clock decides."""
    _root, search, _table = window
    clock = {"now": 0, "step": 5}  # every key 5 ms after the one before: a scanner

    def tick() -> int:
        clock["now"] += clock["step"]
        return clock["now"]

    detector = ScanBurstDetector(clock=tick)
    detector.install()
    try:
        seen: list[str] = []
        detector.scanned.connect(seen.append)
        QTest.keyClicks(search, "0000012345")
        QTest.keyClick(search, Qt.Key.Key_Return)
        assert seen == ["0000012345"] and search.text() == ""
        clock["step"] = 300  # a person at 300 ms a key
        QTest.keyClicks(search, "li si")
        qtbot.waitUntil(lambda: search.text() == "li si", timeout=WAIT)
        assert seen == ["0000012345"]
    finally:
        detector.uninstall()


# -- hands off -----------------------------------------------------------------------------------

def test_password_fields_are_never_held_or_read(qtbot: QtBot, detector: ScanBurstDetector,
                                                scans: list[str]) -> None:
    password = QLineEdit()
    password.setEchoMode(QLineEdit.EchoMode.Password)
    qtbot.addWidget(password)
    keys = Keyboard()
    keys.type(password, "Secret-Passw0rd", FAST)
    assert password.text() == "Secret-Passw0rd"  # at once, not after a hold
    keys.enter(password)
    assert scans == [] and not detector.holding


def test_switched_off_it_lets_everything_through(qtbot: QtBot, detector: ScanBurstDetector,
                                                 scans: list[str],
                                                 window: tuple[QWidget, QLineEdit,
                                                               QTableView]) -> None:
    _root, search, table = window
    keys = Keyboard()
    table.setFocus()
    table.setCurrentIndex(table.model().index(0, 0))
    keys.type(table, "c", FAST)  # a table's keyboard search is held a moment
    assert detector.holding and table.currentIndex().row() == 0
    detector.enabled = False  # what is held is delivered first
    assert table.currentIndex().row() == 2 and not detector.enabled
    search.setFocus()
    keys.type(search, "ab", FAST)
    assert search.text() == "ab"
    keys.type(search, "0000012345", FAST)
    keys.enter(search)
    assert search.text() == "ab0000012345" and scans == []
    detector.enabled = True
    search.clear()
    keys.type(search, "0000012345", FAST)
    keys.enter(search)
    assert scans == ["0000012345"] and search.text() == ""


def test_held_keys_for_a_closed_widget_are_dropped_safely(
        qtbot: QtBot, detector: ScanBurstDetector, scans: list[str]) -> None:
    table = QTableView()
    Keyboard().type(table, "ab", FAST)
    assert detector.holding
    table.deleteLater()
    qtbot.waitUntil(settled(detector), timeout=WAIT)
    assert scans == []


def test_a_field_closed_during_a_scan_is_left_alone(
        qtbot: QtBot, detector: ScanBurstDetector, scans: list[str]) -> None:
    field, other = QLineEdit(), QLineEdit()
    qtbot.addWidget(other)
    keys = Keyboard()
    keys.type(field, "00000", FAST)
    shiboken6.delete(field)  # closed mid-burst, before the scan is taken back out of it
    keys.type(other, "12345", FAST)
    keys.enter(other)
    assert scans == ["0000012345"] and other.text() == ""


def test_settings_are_checked() -> None:
    with pytest.raises(ValueError):
        ScanBurstDetector(min_length=0)
    tuned = ScanBurstDetector(max_gap_ms=80, end_pause_ms=40, min_length=6)
    assert (tuned.max_gap_ms, tuned.end_pause_ms, tuned.min_length) == (80, 80, 6)
