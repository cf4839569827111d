"""DomainError's shape, and the domain layer's purity: no Qt, database, network or float."""

from __future__ import annotations

from pathlib import Path

import pytest

from desktop.domain.errors import DomainError
from tests.layering import imported_modules

ROOT = Path(__file__).resolve().parents[2]
DOMAIN = ROOT / "desktop" / "domain"
FORBIDDEN = ("PySide6", "sqlalchemy", "sqlite3", "httpx", "keyring", "socket", "requests",
             "desktop.store", "desktop.ui", "desktop.sync", "desktop.services",
             "desktop.printing", "desktop.policy")


def test_domain_error_names_the_field_in_english_and_keeps_the_chinese() -> None:
    err = DomainError("phone", "is empty", "电话号码为空。")
    assert str(err) == "phone: is empty"
    assert (err.field, err.message, err.message_zh) == ("phone", "is empty", "电话号码为空。")
    assert isinstance(err, ValueError)
    with pytest.raises(DomainError, match=r"^phone: is empty$"):
        raise err


def test_domain_sources_import_nothing_forbidden() -> None:
    sources = sorted(DOMAIN.glob("*.py"))
    assert sources
    for path in sources:
        for name in imported_modules(path):
            assert not name.startswith(FORBIDDEN), f"{path.name} imports {name}"


def test_no_float_and_no_io_in_domain_code() -> None:
    for path in sorted(DOMAIN.glob("*.py")):
        text = path.read_text(encoding="utf-8")
        for banned in ("float(", ": float", "open(", "print("):
            assert banned not in text, f"{path.name} contains {banned}"
