"""How the district answered a pushed item: what the use cases that take its verdicts share
(applications, enrolment), kept apart so that neither imports the other for it."""

from __future__ import annotations

from desktop import wire


def accepted(result: wire.ItemResult) -> bool:
    """Whether the district took the item: accepted now, or earlier (a repeated push answers
    "duplicate" with the first verdict)."""
    status = result.status
    if status == "duplicate" and result.detail:
        status = result.detail.get("original_status", "accepted")
    return status in ("accepted", "duplicate")
