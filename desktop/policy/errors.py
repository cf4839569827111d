"""Errors that are values at the edges: bad input named by its JSON path, in English and Chinese."""

from __future__ import annotations


class CalcInputError(ValueError):
    """The case is wrong; nothing was computed. `path` names the field (e.g. fees[2].self_pay)."""

    def __init__(self, path: str, message: str, message_zh: str | None = None) -> None:
        super().__init__(f"{path}: {message}")
        self.path = path
        self.message = message
        self.message_zh = f"{path}：{message_zh or message}"
