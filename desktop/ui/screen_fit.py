"""Top-level windows sized for the counter's screen: a preferred size, never larger than the
available area of the screen the window shows on (taskbar excluded) less its frame, and centred.

Counter PCs run anything from 1366×768 at 100 % to 1920×1080 at 125 % (1536×864 logical): a
window sized for the developer's monitor puts its status bar under the taskbar (issue 11).
"""

from __future__ import annotations

from PySide6.QtCore import QMargins, QRect, QSize
from PySide6.QtGui import QGuiApplication, QScreen
from PySide6.QtWidgets import QWidget

# Before a window is first shown Qt does not know its frame; Windows 10/11 adds about this much
# (a 31 px title bar and the 8 px resize borders, in logical pixels at any scaling).
FRAME_ESTIMATE = QMargins(8, 31, 8, 8)
# Room left around the window so that it does not touch the screen's (or the taskbar's) edges.
SCREEN_MARGIN = 8


def fitted_geometry(preferred: QSize, available: QRect, *, frame: QMargins = FRAME_ESTIMATE,
                    margin: int = SCREEN_MARGIN) -> QRect:
    """The client-area rectangle for a window: `preferred`, shrunk so the window with its
    `frame` and `margin` lies inside `available`, and centred there."""
    room = available.marginsRemoved(QMargins(margin, margin, margin, margin))
    width = max(1, min(preferred.width(), room.width() - frame.left() - frame.right()))
    height = max(1, min(preferred.height(), room.height() - frame.top() - frame.bottom()))
    outer_width = width + frame.left() + frame.right()
    outer_height = height + frame.top() + frame.bottom()
    x = room.x() + max(0, (room.width() - outer_width) // 2) + frame.left()
    y = room.y() + max(0, (room.height() - outer_height) // 2) + frame.top()
    return QRect(x, y, width, height)


def screen_of(window: QWidget) -> QScreen:
    """The screen the window will show on: its parent's, its own, else the primary one."""
    parent = window.parentWidget()
    screen = (parent.window() if parent is not None else window).screen()
    return screen if screen is not None else QGuiApplication.primaryScreen()


def available_area(window: QWidget) -> QRect:
    return screen_of(window).availableGeometry()


def frame_margins(window: QWidget) -> QMargins:
    """The window's real frame once it has been shown, the estimate before."""
    outer, inner = window.frameGeometry(), window.geometry()
    if window.isVisible() and outer != inner:
        return QMargins(inner.left() - outer.left(), inner.top() - outer.top(),
                        outer.right() - inner.right(), outer.bottom() - inner.bottom())
    return FRAME_ESTIMATE


def fit_to_screen(window: QWidget, width: int, height: int) -> None:
    """Size a top-level window at `width`×`height`, or less on a small screen; centre it on
    the screen unless it has a parent (Qt shows a dialog over its parent, inside the screen).

    Layout minimums larger than the screen are capped too: a window cannot be made smaller
    than its minimum size, which would push the status bar or the buttons off the screen.
    """
    target = fitted_geometry(QSize(width, height), available_area(window),
                             frame=frame_margins(window))
    cap_minimum(window, target.size())
    if window.parentWidget() is None:
        window.setGeometry(target)
    else:
        window.resize(target.size())


def keep_on_screen(window: QWidget) -> None:
    """Bring a shown window back inside its screen when it is not (a geometry saved on a larger
    screen: Qt's restoreGeometry leaves the frame a few pixels over); else leave it alone."""
    area = available_area(window)
    frame = frame_margins(window)
    if area.contains(window.geometry().marginsAdded(frame)):
        return
    target = fitted_geometry(window.size(), area, frame=frame, margin=0)
    cap_minimum(window, target.size())
    window.setGeometry(target)


def cap_minimum(window: QWidget, largest: QSize) -> None:
    """Never let the window's minimum size exceed `largest` (it would overflow the screen)."""
    minimum = window.minimumSizeHint().expandedTo(window.minimumSize())
    if minimum.width() > largest.width() or minimum.height() > largest.height():
        window.setMinimumSize(minimum.boundedTo(largest))


__all__ = ["FRAME_ESTIMATE", "SCREEN_MARGIN", "available_area", "cap_minimum",
           "fit_to_screen", "fitted_geometry", "frame_margins", "keep_on_screen",
           "screen_of"]
