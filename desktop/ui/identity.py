"""Who is signed in at the counter, and the name its windows carry: what the views, the sign-in
window and the main window share, kept apart so that none of them imports another for it."""

from __future__ import annotations

from dataclasses import dataclass

WINDOW_TITLE = "医疗救助柜台"


@dataclass(frozen=True)
class CounterUser:
    username: str
    display_name: str
    roles: tuple[str, ...]
    offline: bool = False
