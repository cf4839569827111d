"""The policy parameter versions counters pull: the engine's dated values, kept in step with the
shipped files at start, and the values the district publishes in its console (M18).

A published value (published_by set) is validated by the loader's rules
(desktop.policy.parameters.validate_published), kept in `parameter_versions` and sent to every
counter in the change feed; the counters compute with the shipped files plus these values, each
for fee dates from its effective_from. The sync at start keeps published values.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from functools import lru_cache

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from desktop.policy.contract import default_parameters
from desktop.policy.parameters import (
    ParameterValue,
    PolicyParameters,
    PublishedValue,
    PublishedValueError,
    program_of,
    validate_published,
    value_text,
    with_published,
)
from district import models
from district.changelog import (
    PendingChange,
    parameter_change,
    parameter_key,
    parameter_text,
    record_changes,
)
from district.services.states import FINAL, PAYABLE

OPEN_EXCLUDED = (*PAYABLE, *FINAL)  # approved, paid, withdrawn: no longer affected
SOURCE_LENGTH = 120  # models.ParameterVersion.source


def sync_parameter_versions(session: Session) -> list[PendingChange]:
    """Make the shipped rows match the shipped parameter files (values published in the
    console are kept); the changes to record."""
    wanted: dict[tuple[str, date], tuple[str, str, bool]] = {}
    for value in default_parameters().all_values():
        wanted[(parameter_key(value), value.effective_from)] = (
            parameter_text(value.value), value.source, value.assumption)
    existing = {(p.key, p.effective_from): p
                for p in session.scalars(select(models.ParameterVersion))}
    changes: list[PendingChange] = []
    for (key, effective_from), (text, source, assumption) in sorted(wanted.items()):
        row = existing.get((key, effective_from))
        if row is None:
            row = models.ParameterVersion(key=key, effective_from=effective_from, value=text,
                                          source=source, assumption=assumption)
            session.add(row)
        elif row.published_by is not None:
            continue  # the district published this key and date: its value stands
        elif (row.value, row.source, bool(row.assumption)) != (text, source, assumption):
            row.value, row.source, row.assumption = text, source, assumption
        else:
            continue
        changes.append(parameter_change(row))
    for (key, effective_from), row in existing.items():
        if (key, effective_from) not in wanted and row.published_by is None:
            session.delete(row)
            changes.append(PendingChange("parameter_version", f"{key}@{effective_from}", None,
                                         None, op="delete"))
    return changes


def published_values(session: Session) -> list[PublishedValue]:
    return [PublishedValue(p.key, p.effective_from, p.value, p.source, bool(p.assumption))
            for p in session.scalars(select(models.ParameterVersion)
                                     .where(models.ParameterVersion.published_by.is_not(None))
                                     .order_by(models.ParameterVersion.key,
                                               models.ParameterVersion.effective_from))]


_SESSION_KEY = "published_parameters"


def current_parameters(session: Session) -> PolicyParameters:
    """The shipped parameters with the values published in the console: what counters compute
    with once they pulled them (and what the district recomputes an application with). Read
    once per session: a push of a hundred applications asks once (its statement budget)."""
    cached = session.info.get(_SESSION_KEY)
    if cached is None:
        cached = session.info[_SESSION_KEY] = _with_published(tuple(published_values(session)))
    assert isinstance(cached, PolicyParameters)
    return cached


@lru_cache(maxsize=4)
def _with_published(published: tuple[PublishedValue, ...]) -> PolicyParameters:
    return with_published(default_parameters(), published)


def check_value(key: str, effective_from: date | str, value_text_: str, source: str,
                assumption: bool) -> ParameterValue:
    """The value validated by the loader's rules (PublishedValueError names the field), and
    what the table holds (a source of at most 120 characters)."""
    if len(source.strip()) > SOURCE_LENGTH:
        raise PublishedValueError("source", f"不能超过 {SOURCE_LENGTH} 个字符")
    return validate_published(key, effective_from, value_text_, source, assumption,
                              default_parameters().categories)


def publish_parameter(session: Session, actor: str, key: str, effective_from: date | str,
                      value: str, source: str, assumption: bool,
                      now: datetime) -> models.ParameterVersion:
    """Publish one dated value: validated, kept with who published it and when, and recorded
    in the change feed for every counter, in this transaction (the caller audits it)."""
    entry = check_value(key, effective_from, value, source, assumption)
    key = f"{entry.file.removesuffix('.yaml')}:{entry.key}"
    row = session.get(models.ParameterVersion, (key, entry.effective_from))
    if row is None:
        row = models.ParameterVersion(key=key, effective_from=entry.effective_from)
        session.add(row)
    row.value = value_text(entry.value)
    row.source = entry.source
    row.assumption = entry.assumption
    row.published_by = actor
    row.published_at = now
    session.info.pop(_SESSION_KEY, None)
    session.flush()
    record_changes(session, [parameter_change(row)], now)
    return row


@dataclass(frozen=True)
class Scope:
    """Which applications a key concerns: its program, and its district for an overlay."""

    program: str
    district: str | None


def scope_of(key: str) -> Scope | None:
    file, _, name = key.partition(":")
    program = program_of(file, name)
    if program is None:
        return None
    return Scope(program, None if file == program else file)


def affected_open_applications(session: Session, key: str, effective_from: date) -> int:
    """How many applications not yet approved, paid or withdrawn, of the key's program (and
    district, for an overlay's key), claim a fee row dated on or after `effective_from`."""
    scope = scope_of(key)
    if scope is None:
        return 0
    query = (select(func.count(func.distinct(models.Application.id)))
             .select_from(models.Application)
             .join(models.Claim, models.Claim.application_id == models.Application.id)
             .join(models.FeeRow, models.FeeRow.id == models.Claim.fee_row_id)
             .where(models.Application.program == scope.program,
                    models.Application.status.not_in(OPEN_EXCLUDED),
                    models.FeeRow.receipt_date >= effective_from))
    if scope.district is not None:
        query = query.where(models.Application.district == scope.district)
    return int(session.scalar(query) or 0)
