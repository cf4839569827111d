"""End-to-end tests drive the real window offscreen against a real district server."""

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
