"""What the forms say about this counter, from its registration: a light module, so the windows
can carry it without loading the form engine at start-up."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class PrintContext:
    street_name: str | None = None
    street_code: str | None = None  # whose month the reports cover


NO_CONTEXT = PrintContext()
