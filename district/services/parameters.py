"""The policy parameter versions counters pull: the engine's dated values, kept in step at start."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from desktop.policy.contract import default_parameters
from district import models
from district.changelog import PendingChange, parameter_change, parameter_key, parameter_text


def sync_parameter_versions(session: Session) -> list[PendingChange]:
    """Make the table match the shipped parameter files; the changes to record."""
    wanted: dict[tuple[str, date], tuple[str, str]] = {}
    for value in default_parameters().all_values():
        wanted[(parameter_key(value), value.effective_from)] = (parameter_text(value.value),
                                                                value.source)
    existing = {(p.key, p.effective_from): p
                for p in session.scalars(select(models.ParameterVersion))}
    changes: list[PendingChange] = []
    for (key, effective_from), (text, source) in sorted(wanted.items()):
        row = existing.get((key, effective_from))
        if row is None:
            row = models.ParameterVersion(key=key, effective_from=effective_from, value=text,
                                          source=source)
            session.add(row)
        elif (row.value, row.source) != (text, source):
            row.value, row.source = text, source
        else:
            continue
        changes.append(parameter_change(row))
    for (key, effective_from), row in existing.items():
        if (key, effective_from) not in wanted:
            session.delete(row)
            changes.append(PendingChange("parameter_version", f"{key}@{effective_from}", None,
                                         None, op="delete"))
    return changes
