"""district/ imports, of the desktop side, only the pure packages and the wire schemas
(ARCHITECTURE.md: "district/ imports these two pure packages and the wire schemas only")."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
ALLOWED = ("desktop.policy", "desktop.domain", "desktop.wire")


def test_district_imports_only_the_pure_desktop_packages() -> None:
    for path in sorted((ROOT / "district").rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            names: list[str] = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
                if node.module == "desktop":
                    names = [f"desktop.{a.name}" for a in node.names]
            for name in names:
                if name == "desktop" or name.startswith("desktop."):
                    assert name.startswith(ALLOWED), f"{path.relative_to(ROOT)} imports {name}"
