"""What a source file imports, for the tests that keep ARCHITECTURE.md's layers apart."""

from __future__ import annotations

import ast
from pathlib import Path


def imported_modules(path: Path) -> list[str]:
    """Every module `path` imports; `from desktop import wire` counts as `desktop.wire`."""
    names: list[str] = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module:
            if node.module == "desktop":
                names += [f"desktop.{alias.name}" for alias in node.names]
            else:
                names.append(node.module)
    return names
