"""The scanner-burst detector: a keyboard-wedge scanner's keystrokes told apart from typing.

Installed on the QApplication, it watches printable key presses wherever the focus is. Keys for
a text field reach it at once (typing is never delayed); when a fast burst turns out to be a
scan (RECEIPTS.md "Telling a scan from typing") the field is put back as it was before the
burst, its terminator is swallowed, and `scanned(text)` is emitted. Widgets that act on a
printable key in a way that cannot be taken back (a table's keyboard search, a combo box) still
have those keys held for a moment and replayed if they were typing — except Space when nothing
is held, so Space ticks a fee row at once (a scan payload does not start with a space).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass

import shiboken6
from PySide6.QtCore import QCoreApplication, QElapsedTimer, QEvent, QObject, Qt, QTimer, Signal
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import (
    QApplication,
    QComboBox,
    QLineEdit,
    QPlainTextEdit,
    QTextEdit,
    QWidget,
)

MAX_GAP_MS = 50  # scanners type at ~5-60 ms a key; people are slower (RECEIPTS.md)
END_PAUSE_MS = 150  # a scan with no Enter/Tab ends with this much silence
MIN_LENGTH = 8  # shorter bursts are typing (a fast typist's rolled keys)

_CHORD = (Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.AltModifier
          | Qt.KeyboardModifier.MetaModifier)
_TERMINATOR_KEYS = frozenset({Qt.Key.Key_Return, Qt.Key.Key_Enter, Qt.Key.Key_Tab})
_MODIFIER_KEYS = frozenset({
    Qt.Key.Key_Shift, Qt.Key.Key_Control, Qt.Key.Key_Alt, Qt.Key.Key_Meta, Qt.Key.Key_AltGr,
    Qt.Key.Key_CapsLock, Qt.Key.Key_NumLock,
})
_KEY_EVENTS = (QEvent.Type.KeyPress, QEvent.Type.KeyRelease)


@dataclass(frozen=True)
class _HeldKey:
    """A key event taken from its receiver, with what is needed to deliver it again."""

    receiver: QWidget
    type: QEvent.Type
    key: int
    modifiers: Qt.KeyboardModifier
    native_scan_code: int
    native_virtual_key: int
    native_modifiers: int
    text: str
    auto_repeat: bool
    count: int
    timestamp: int
    in_scan: bool  # a press of the burst's text, or its release: dropped if it is a scan

    @classmethod
    def of(cls, receiver: QWidget, event: QKeyEvent, *, in_scan: bool) -> _HeldKey:
        return cls(receiver, event.type(), event.key(), event.modifiers(),
                   event.nativeScanCode(), event.nativeVirtualKey(), event.nativeModifiers(),
                   event.text(), event.isAutoRepeat(), event.count(), event.timestamp(),
                   in_scan)

    def event(self) -> QKeyEvent:
        event = QKeyEvent(self.type, self.key, self.modifiers, self.native_scan_code,
                          self.native_virtual_key, self.native_modifiers, self.text,
                          self.auto_repeat, self.count)
        event.setTimestamp(self.timestamp)
        return event


@dataclass(frozen=True)
class _FieldBefore:
    """A text field as it was before the burst's first key reached it: put back after a scan."""

    field: QLineEdit | QPlainTextEdit | QTextEdit
    text: str
    cursor: int
    selection: tuple[int, int] | None  # (start, length) of a QLineEdit's selection

    @classmethod
    def of(cls, field: QLineEdit | QPlainTextEdit | QTextEdit) -> _FieldBefore:
        if isinstance(field, QLineEdit):
            selection = ((field.selectionStart(), len(field.selectedText()))
                         if field.hasSelectedText() else None)
            return cls(field, field.text(), field.cursorPosition(), selection)
        return cls(field, field.toPlainText(), field.textCursor().position(), None)

    def restore(self) -> None:
        field = self.field
        if not shiboken6.isValid(field):
            return
        if isinstance(field, QLineEdit):
            if field.text() != self.text:
                field.setText(self.text)
            if self.selection is not None:
                field.setSelection(*self.selection)
            else:
                field.setCursorPosition(self.cursor)
            return
        if field.toPlainText() != self.text:
            field.setPlainText(self.text)
        cursor = field.textCursor()
        cursor.setPosition(min(self.cursor, len(self.text)))
        field.setTextCursor(cursor)


@dataclass(frozen=True)
class _Stamp:
    """When a key came: the event's own timestamp (0 if unknown) and the detector's clock."""

    event_ms: int
    clock_ms: int

    def gap_since(self, earlier: _Stamp) -> int:
        if self.event_ms and earlier.event_ms and self.event_ms >= earlier.event_ms:
            return self.event_ms - earlier.event_ms
        return self.clock_ms - earlier.clock_ms


def _elapsed_clock() -> Callable[[], int]:
    timer = QElapsedTimer()
    timer.start()
    return timer.elapsed


class ScanBurstDetector(QObject):
    """Emits `scanned(text)` for each scanner burst, whatever widget has the focus.

    A burst is printable key presses each within `max_gap_ms` of the one before, of at least
    `min_length` characters, ended by Enter/Tab/LF (not part of the text) or by `end_pause_ms`
    of silence. Keys for a text field are never delayed: a scan is taken back out of the field
    afterwards. Keys for other widgets are held (at most `typing_hold_ms`) and replayed if they
    were typing, except a Space that starts nothing. Keys for password fields are never held
    or read.
    """

    scanned = Signal(str)

    def __init__(self, parent: QObject | None = None, *, max_gap_ms: int = MAX_GAP_MS,
                 end_pause_ms: int = END_PAUSE_MS, min_length: int = MIN_LENGTH,
                 typing_hold_ms: int | None = None,
                 clock: Callable[[], int] | None = None) -> None:
        super().__init__(parent)
        if min(max_gap_ms, end_pause_ms, min_length) < 1:
            raise ValueError("max_gap_ms, end_pause_ms and min_length must be positive")
        self.max_gap_ms = max_gap_ms
        self.end_pause_ms = max(end_pause_ms, max_gap_ms)
        self.min_length = min_length
        # A little over one gap, so a timer that fires a touch late does not split a burst.
        self.typing_hold_ms = typing_hold_ms if typing_hold_ms is not None \
            else max_gap_ms * 3 // 2
        self._clock = clock or _elapsed_clock()
        self._enabled = True
        self._replaying = False
        self._held: list[_HeldKey] = []
        self._fields: dict[int, _FieldBefore] = {}  # text fields the burst typed into
        self._text: list[str] = []
        self._last: _Stamp | None = None
        self._unreleased: Counter[int] = Counter()  # burst keys pressed, not yet released
        self._passed_unreleased: Counter[int] = Counter()  # of those, let through at once
        self._swallow_release: set[int] = set()  # keys whose press went into a scan
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setTimerType(Qt.TimerType.PreciseTimer)
        self._timer.timeout.connect(self._end_burst)

    # -- switching ---------------------------------------------------------------------------

    @property
    def enabled(self) -> bool:
        return self._enabled

    @enabled.setter
    def enabled(self, on: bool) -> None:
        if not on:
            self.flush()
        self._enabled = on

    def install(self, app: QCoreApplication | None = None) -> None:
        """Watch every key event of `app` (default: the running application)."""
        target = app or QCoreApplication.instance()
        if target is None:
            raise RuntimeError("ScanBurstDetector needs a running QApplication")
        target.installEventFilter(self)

    def uninstall(self, app: QCoreApplication | None = None) -> None:
        self.flush()
        target = app or QCoreApplication.instance()
        if target is not None:
            target.removeEventFilter(self)

    def flush(self) -> None:
        """Deliver whatever is held now, as typing."""
        self._flush_as_typing()

    @property
    def holding(self) -> bool:
        """Whether key events are held, waiting for the burst to be decided."""
        return bool(self._held)

    @property
    def in_burst(self) -> bool:
        """Whether fast keys are being watched (held or already in a text field)."""
        return bool(self._text)

    # -- the filter --------------------------------------------------------------------------

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() not in _KEY_EVENTS or self._replaying or not self._enabled:
            return False
        # A key event visits the window first, then the focus widget: decide at the widget.
        if not isinstance(watched, QWidget) or not isinstance(event, QKeyEvent):
            return False
        if _is_secret(watched):
            self._flush_as_typing()  # keys held for another widget came first
            return False
        if event.type() == QEvent.Type.KeyPress:
            return self._on_press(watched, event)
        return self._on_release(watched, event)

    def _on_press(self, widget: QWidget, event: QKeyEvent) -> bool:
        key = event.key()
        self._swallow_release.discard(key)  # pressed again: that release is not coming
        if _is_terminator(event):
            return self._on_terminator(key)
        if not _is_scan_character(event):
            if self._held and key in _MODIFIER_KEYS:
                self._held.append(_HeldKey.of(widget, event, in_scan=False))
                return True
            if key in _MODIFIER_KEYS:
                return False  # Shift before a capital: the burst goes on
            self._flush_as_typing()
            return False
        stamp = _Stamp(event.timestamp(), self._clock())
        if self._last is not None and stamp.gap_since(self._last) > self.max_gap_ms:
            self._end_burst()  # too slow to belong to the burst held so far
        field = _text_field(widget)
        if field is None and not self._held and event.text() == " ":
            # Space on a table or a button acts at once (it ticks a fee row): a scan does not
            # start with a space, so it starts no burst.
            self._flush_as_typing()
            return False
        self._text.append(event.text())
        self._unreleased[key] += 1
        self._last = stamp
        self._timer.start(self.end_pause_ms if self._is_long_enough() else self.typing_hold_ms)
        if field is not None:  # typed at once; taken back if the burst is a scan
            self._fields.setdefault(id(field), _FieldBefore.of(field))
            self._passed_unreleased[key] += 1
            return False
        self._held.append(_HeldKey.of(widget, event, in_scan=True))
        return True

    def _on_terminator(self, key: int) -> bool:
        if not self._text:
            return False
        if self._is_long_enough():
            self._finish_scan(terminator=key)
            return True
        self._flush_as_typing()
        return False

    def _on_release(self, widget: QWidget, event: QKeyEvent) -> bool:
        key = event.key()
        if key in self._swallow_release and not event.isAutoRepeat():
            self._swallow_release.discard(key)
            return True
        if self._passed_unreleased[key] > 0:  # its press went through: so does its release
            self._passed_unreleased[key] -= 1
            self._unreleased[key] -= 1
            return False
        if not self._held:
            return False
        in_scan = self._unreleased[key] > 0
        if in_scan:
            self._unreleased[key] -= 1
        self._held.append(_HeldKey.of(widget, event, in_scan=in_scan))
        return True

    # -- deciding ----------------------------------------------------------------------------

    def _is_long_enough(self) -> bool:
        return sum(len(part) for part in self._text) >= self.min_length

    def _end_burst(self) -> None:
        if self._is_long_enough():
            self._finish_scan(terminator=None)
        else:
            self._flush_as_typing()

    def _finish_scan(self, *, terminator: int | None) -> None:
        text = "".join(self._text)
        leftovers = [held for held in self._held if not held.in_scan]
        fields = list(self._fields.values())
        held_unreleased = self._unreleased - self._passed_unreleased
        self._swallow_release.update(key for key, n in held_unreleased.items() if n > 0)
        if terminator is not None:
            self._swallow_release.add(terminator)
        self._reset()
        for before in fields:  # the scan's characters out of the fields they went into
            before.restore()
        self._replay(leftovers)  # modifiers and other keys' releases, not the scan's text
        self.scanned.emit(text)

    def _flush_as_typing(self) -> None:
        held = self._held
        self._reset()
        self._replay(held)

    def _reset(self) -> None:
        self._timer.stop()
        self._held = []
        self._fields = {}
        self._text = []
        self._last = None
        self._unreleased.clear()
        self._passed_unreleased.clear()

    def _replay(self, held: list[_HeldKey]) -> None:
        self._replaying = True
        try:
            for key in held:
                if shiboken6.isValid(key.receiver):
                    QApplication.sendEvent(key.receiver, key.event())
        finally:
            self._replaying = False


def _text_field(widget: QWidget) -> QLineEdit | QPlainTextEdit | QTextEdit | None:
    """The editable text a printable key goes into, when it can be taken back out."""
    if isinstance(widget, QComboBox):
        line = widget.lineEdit() if widget.isEditable() else None
        return line if line is not None and not line.isReadOnly() else None
    if isinstance(widget, QLineEdit | QPlainTextEdit | QTextEdit) and not widget.isReadOnly():
        return widget
    return None


def _is_terminator(event: QKeyEvent) -> bool:
    if event.text() == "\n":  # LF, which some scanners send as Ctrl+J
        return True
    return event.key() in _TERMINATOR_KEYS and not event.modifiers() & _CHORD


def _is_scan_character(event: QKeyEvent) -> bool:
    text = event.text()
    return (bool(text) and text.isprintable() and not event.isAutoRepeat()
            and not event.modifiers() & _CHORD)


def _is_secret(widget: QWidget) -> bool:
    """A password (or other hidden-text) field: its keys are never held or read."""
    if isinstance(widget, QLineEdit) and widget.echoMode() != QLineEdit.EchoMode.Normal:
        return True
    return bool(widget.inputMethodHints() & Qt.InputMethodHint.ImhHiddenText)


__all__ = ["END_PAUSE_MS", "MAX_GAP_MS", "MIN_LENGTH", "ScanBurstDetector"]
