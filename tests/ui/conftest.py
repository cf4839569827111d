"""UI tests run on Qt's offscreen platform unless the caller chose another."""

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from tests.sync.conftest import district  # noqa: F401  (a real server, for a few UI tests)

