"""The monthly 免申即享 run (CN-2026 3.3 / POLICY.md §6.4): every person who signed the commitment,
with every new fee row and why it counts or not; the clerk claims them for the person by the 15th.

Where it applies. Only where the district overlay gives the procedure's day
(`procedure.auto_claim_by_day`, 长宁's 医疗救助 in the sources); a committed person of another
district or program is not listed, and the run says the procedure does not apply there.

Who is committed: the person's live commitment record (desktop.services.commitments), given
with an application that carried "免申即享" and ended only by a revocation; pulled from the
district, so every counter of the street and a reinstalled PC list the same persons.

A person's state in the month (one picture; "the month" is the month of `today`)::

    committed ─┬─ a live 免申即享 application dated this month ──────► processed 已办理
               ├─ new rows pay nothing (or none) ─────────────────► nothing_due
               │    本月无可报销费用, recorded once as done (an audit event: day, clerk)
               └─ something payable ─┬─ on or before the day ─────► due 待办理
                                     └─ after the day ────────────► missed 逾期未办理

New rows are the person's fee rows not in one of their live applications at this counter; each
comes with the engine's reason when it cannot count (the counter session decides, as when the
clerk opens the person). Running a month twice pays nothing twice: a row claimed by the first
application is in a live application, so it is no longer new.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from desktop.domain.clock import shanghai_day
from desktop.domain.id_number import mask_id_number
from desktop.domain.streets import district_of
from desktop.policy.contract import default_parameters
from desktop.policy.parameters import PolicyParameters
from desktop.services.applications import LIVE
from desktop.services.approvals import display_names
from desktop.services.commitments import live_commitments
from desktop.services.counter import CounterSession, program_label
from desktop.services.policy_values import current_parameters
from desktop.store import Store, append_audit
from desktop.store.models import (
    ApplicationRecord,
    ApplicationRowRecord,
    AuditEventRecord,
    PersonRecord,
    UserRecord,
)

PROCEDURE_DAY = "procedure.auto_claim_by_day"  # the overlay key that makes the run apply
NOTHING_DUE_ACTION = "auto_run.nothing_due"  # the audit event that records "done, nothing due"

DUE, MISSED, PROCESSED, NOTHING_DUE = "due", "missed", "processed", "nothing_due"
STATE_LABELS = {DUE: "待办理", MISSED: "逾期未办理", PROCESSED: "已办理",
                NOTHING_DUE: "本月无可报销费用"}
SUPERVISOR_ROLES = {"reviewer", "approver"}
COUNTABLE = "可申请"  # a new row that counts, as the run lists it


@dataclass(frozen=True)
class Commitment:
    """A person's standing 免申即享 consent for a program, as this counter knows it."""

    person_id: str
    program: str
    last_applied: date  # the day the commitment was given


@dataclass(frozen=True)
class RunRow:
    """One new fee row of a committed person: counts, or the reason it cannot."""

    id: str
    date: date
    receipt_no: str
    kind_label: str
    institution: str
    self_pay: Decimal
    countable: bool
    reason: str  # COUNTABLE, or why it cannot count, in the office's words
    reason_code: str | None = None  # the engine's code (POLICY.md §3), None when countable


@dataclass(frozen=True)
class AutoEntry:
    person_id: str
    name: str
    id_masked: str
    program: str
    last_applied: date
    rows: tuple[str, ...]  # the rows the clerk can claim now
    self_pay: Decimal  # their self-pay, summed
    payable: Decimal  # what claiming all of them pays, by the engine
    new_rows: tuple[RunRow, ...] = ()  # every new row, countable or not
    state: str = DUE
    done_on: date | None = None  # processed / nothing due: the day it was done
    done_by: str | None = None  # and by whom (the office's name for the clerk)

    @property
    def state_label(self) -> str:
        return STATE_LABELS[self.state]

    @property
    def open(self) -> bool:
        """Something payable that the clerk has not yet claimed this month."""
        return self.state in (DUE, MISSED)


@dataclass(frozen=True)
class MonthlyRun:
    """The run of one month as of `today`; `entries` only where the procedure applies."""

    today: date
    deadline: date | None  # the day of the month the procedure gives; None: not known here
    days_late: int  # days after the deadline, 0 on or before it
    entries: tuple[AutoEntry, ...]
    not_applicable: tuple[str, ...]  # where committed persons were left out, in words

    @property
    def applies(self) -> bool:
        """False when every committed person (or this counter's district) is where the
        procedure does not apply: the run then lists nobody and says so."""
        return bool(self.entries) or not self.not_applicable

    def count(self, state: str) -> int:
        return sum(1 for e in self.entries if e.state == state)

    @property
    def open_entries(self) -> tuple[AutoEntry, ...]:
        return tuple(e for e in self.entries if e.open)


def procedure_day(program: str, district: str, today: date,
                  parameters: PolicyParameters | None = None) -> int | None:
    """The day of the month by which the run's claims are made in `district` for `program`, or
    None where the overlay does not give the 免申即享 procedure (CN-2026 3.3: 长宁 医疗救助)."""
    params = (parameters or default_parameters()).for_program(program, district)
    found = params.at(PROCEDURE_DAY, today) if params.has(PROCEDURE_DAY) else None
    return found.value if found is not None and isinstance(found.value, int) else None


def deadline(today: date, *, program: str = "assistance", district: str = "changning",
             parameters: PolicyParameters | None = None) -> date | None:
    day = procedure_day(program, district, today, parameters)
    return None if day is None else today.replace(day=day)


def committed_persons(session: Session) -> list[Commitment]:
    """Who has a standing 免申即享 consent: the live commitment records (made here or pulled
    from the district for the street: desktop.services.commitments). Only a revocation ends
    one; what becomes of the application it was given with does not."""
    return [Commitment(c.person_id, c.program, c.given_on)
            for c in live_commitments(session)]


def month_run(store: Store, *, today: date, clerk: str, street_code: str | None = None,
              parameters: PolicyParameters | None = None, now: datetime | None = None
              ) -> MonthlyRun:
    """The month's run as of `today`. Persons whose new rows pay nothing are recorded as done
    (once a month, by `clerk`, in the same call). With `street_code` (the counter's street) the
    run applies only if that street's district has the procedure."""
    parameters = parameters or current_parameters(store)  # with the pulled values (M18)
    month = today.strftime("%Y-%m")
    with store.read_session() as session:
        commitments = committed_persons(session)
        persons = {p.id: p for p in session.scalars(select(PersonRecord).where(
            PersonRecord.id.in_({c.person_id for c in commitments})))} if commitments else {}
        claimed_here = _claimed_here(session, set(persons))
        processed = _processed(session, today)
        recorded = _nothing_due_recorded(session, month)
        names = display_names(session, {by for _d, by in [*processed.values(),
                                                           *recorded.values()]} | {clerk})
    counter_district = district_of(street_code) if street_code else None
    left_out: dict[tuple[str, str], int] = {}
    days: set[int] = set()
    entries: list[AutoEntry] = []
    for c in commitments:
        person = persons.get(c.person_id)
        if person is None:
            continue  # withdrawn by the district; nothing to claim here
        district = counter_district or district_of(person.street_code)
        day = procedure_day(c.program, district, today, parameters)
        if day is None:
            left_out[(district, c.program)] = left_out.get((district, c.program), 0) + 1
            continue
        days.add(day)
        entries.append(_entry(store, c, person, clerk, today, day, parameters,
                               claimed_here.get(c.person_id, set()),
                               processed.get((c.person_id, c.program)),
                               recorded.get((c.person_id, c.program)), names))
    if counter_district is not None:
        here = procedure_day("assistance", counter_district, today, parameters)
        if here is None:
            left_out.setdefault((counter_district, "assistance"), 0)
        else:
            days.add(here)
    newly_done = [e for e in entries
                  if e.state == NOTHING_DUE and (e.person_id, e.program) not in recorded]
    if newly_done:
        _record_nothing_due(store, newly_done, clerk, today, now)
    entries.sort(key=lambda e: (_ORDER[e.state], e.last_applied, e.name, e.person_id))
    due = today.replace(day=min(days)) if days else None
    late = max(0, (today - due).days) if due is not None else 0
    return MonthlyRun(today, due, late, tuple(entries),
                      tuple(_not_applicable(left_out, parameters)))


def sees_month_overview(store: Store, username: str) -> bool:
    """The month's overview (processed, nothing due, missed) is the supervisors' view."""
    with store.read_session() as session:
        user = session.get(UserRecord, username)
    return user is not None and bool(SUPERVISOR_ROLES & set(user.roles or ()))


def auto_enrolled_due(store: Store, *, today: date, clerk: str) -> list[AutoEntry]:
    """The run's persons with something payable not yet claimed this month."""
    return list(month_run(store, today=today, clerk=clerk).open_entries)


_ORDER = {MISSED: 0, DUE: 1, NOTHING_DUE: 2, PROCESSED: 3}


def _entry(store: Store, c: Commitment, person: PersonRecord, clerk: str, today: date,
           day: int, parameters: PolicyParameters, claimed_here: set[str],
           processed: tuple[date, str] | None, recorded: tuple[date, str] | None,
           names: dict[str, str]) -> AutoEntry:
    counter = CounterSession(store, c.person_id, program=c.program, clerk=clerk,
                             application_date=today, parameters=parameters)
    new = tuple(RunRow(v.id, v.date, v.receipt_no, v.kind_label, v.institution, v.self_pay,
                       v.tickable, COUNTABLE if v.tickable else (v.reason or ""),
                       None if v.tickable else v.reason_code)
                for v in counter.rows if v.id not in claimed_here)
    countable = tuple(r.id for r in new if r.countable)
    quote = counter.tick_all(countable)
    payable = quote.payable if quote.error is None else Decimal("0.00")
    if quote.error is not None:  # the rules cannot compute this case: say so on each row
        new = tuple(RunRow(r.id, r.date, r.receipt_no, r.kind_label, r.institution,
                           r.self_pay, False, quote.error, "no_rule") if r.countable else r
                    for r in new)
        countable = ()
    done_on: date | None = None
    done_by: str | None = None
    if processed is not None:
        state = PROCESSED
        done_on, done_by = processed[0], names.get(processed[1], processed[1])
    elif payable <= 0:
        state = NOTHING_DUE
        done_on, by = recorded if recorded is not None else (today, clerk)
        done_by = names.get(by, by)
    else:
        state = MISSED if today.day > day else DUE
    return AutoEntry(c.person_id, person.name, mask_id_number(person.id_number), c.program,
                     c.last_applied, countable if payable > 0 else (),
                     quote.ticked_self_pay if payable > 0 else Decimal("0.00"), payable,
                     new, state, done_on, done_by)


def _claimed_here(session: Session, person_ids: set[str]) -> dict[str, set[str]]:
    """The fee rows in each person's live applications at this counter: not new any more."""
    out: dict[str, set[str]] = {}
    if not person_ids:
        return out
    for person_id, fee_row_id in session.execute(
            select(ApplicationRecord.person_id, ApplicationRowRecord.fee_row_id)
            .join(ApplicationRowRecord,
                  ApplicationRowRecord.application_id == ApplicationRecord.id)
            .where(ApplicationRecord.person_id.in_(person_ids),
                   ApplicationRecord.status.in_(LIVE))):
        out.setdefault(person_id, set()).add(fee_row_id)
    return out


def _application_day(a: ApplicationRecord) -> date:
    raw: Any = (a.case or {}).get("application_date")
    return date.fromisoformat(raw) if isinstance(raw, str) else shanghai_day(a.created_at)


def _processed(session: Session, today: date) -> dict[tuple[str, str], tuple[date, str]]:
    """Live 免申即享 applications whose 申请日期 is in the month: (person, program) → the day and
    the clerk of the latest."""
    out: dict[tuple[str, str], tuple[date, str]] = {}
    for a in session.scalars(select(ApplicationRecord).where(
            ApplicationRecord.auto_enrolled.is_(True), ApplicationRecord.status.in_(LIVE))):
        day = _application_day(a)
        if (day.year, day.month) == (today.year, today.month):
            key = (a.person_id, a.program)
            if key not in out or out[key][0] <= day:
                out[key] = (day, a.created_by)
    return out


def _nothing_due_recorded(session: Session, month: str
                          ) -> dict[tuple[str, str], tuple[date, str]]:
    out: dict[tuple[str, str], tuple[date, str]] = {}
    for event in session.scalars(select(AuditEventRecord)
                                 .where(AuditEventRecord.action == NOTHING_DUE_ACTION)
                                 .order_by(AuditEventRecord.id)):
        detail = event.detail or {}
        if detail.get("month") == month:
            key = (str(detail.get("person_id")), str(detail.get("program")))
            out.setdefault(key, (date.fromisoformat(str(detail["day"])), event.actor))
    return out


def _record_nothing_due(store: Store, entries: Sequence[AutoEntry], clerk: str, today: date,
                        now: datetime | None) -> None:
    """One transaction: each person done for the month with nothing payable, and why."""
    with store.session() as session:
        recorded = _nothing_due_recorded(session, today.strftime("%Y-%m"))
        for e in entries:
            if (e.person_id, e.program) in recorded:
                continue  # recorded meanwhile (another run of the same month)
            reasons: dict[str, int] = {}  # by code, not per row: the district keeps 8 KB
            for r in e.new_rows:
                code = r.reason_code or "unknown"
                reasons[code] = reasons.get(code, 0) + 1
            append_audit(session, clerk, NOTHING_DUE_ACTION, f"person:{e.person_id}", {
                "month": today.strftime("%Y-%m"), "day": today.isoformat(),
                "person_id": e.person_id, "program": e.program,
                "new_rows": len(e.new_rows), "reasons": reasons}, at=now)


def _not_applicable(left_out: dict[tuple[str, str], int],
                    parameters: PolicyParameters) -> list[str]:
    lines = []
    for (district, program), persons in sorted(left_out.items()):
        where = parameters.titles.get(district, "本市")
        line = f"{where}{program_label(program)}不适用免申即享办理程序"
        if persons:
            line += f"（已签署承诺的 {persons} 人不列入本月办理）"
        lines.append(line + "。")
    return lines

