"""district/ imports, of the desktop side, only the pure packages and the wire schemas
(ARCHITECTURE.md: "district/ imports these two pure packages and the wire schemas only")."""

from __future__ import annotations

from pathlib import Path

from tests.layering import imported_modules

ROOT = Path(__file__).resolve().parents[2]
ALLOWED = ("desktop.policy", "desktop.domain", "desktop.wire")


def test_district_imports_only_the_pure_desktop_packages() -> None:
    for path in sorted((ROOT / "district").rglob("*.py")):
        for name in imported_modules(path):
            if name == "desktop" or name.startswith("desktop."):
                assert name.startswith(ALLOWED), f"{path.relative_to(ROOT)} imports {name}"
