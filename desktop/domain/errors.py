"""The one error the domain validators raise: a field name and what is wrong, for the clerk too."""

from __future__ import annotations


class DomainError(ValueError):
    """Input that is not a valid value for `field`; `message_zh` is what the clerk reads.

    `str(err)` is `f"{field}: {message}"` (English, for logs and tests).
    """

    def __init__(self, field: str, message: str, message_zh: str) -> None:
        super().__init__(field, message, message_zh)
        self.field = field
        self.message = message
        self.message_zh = message_zh

    def __str__(self) -> str:
        return f"{self.field}: {self.message}"
