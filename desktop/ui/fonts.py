"""The counter's font: Chinese fonts a Windows PC has, then a Linux build machine's.

Kept apart from the main window so that the sign-in window can set it without importing the
views (start-up imports only what the sign-in window uses: tests/ui/test_startup_imports.py).
"""

from __future__ import annotations

from PySide6.QtGui import QFont
from PySide6.QtWidgets import QApplication

# Fonts a Windows PC has, then the ones a Linux build machine has; Qt falls back in order.
UI_FONTS = ["Microsoft YaHei UI", "Microsoft YaHei", "SimSun", "WenQuanYi Micro Hei",
            "Noto Sans CJK SC"]


def apply_ui_font(app: QApplication) -> None:
    font = QFont(app.font())
    font.setFamilies(UI_FONTS)
    app.setFont(font)
