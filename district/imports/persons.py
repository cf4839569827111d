"""`import persons`: the 民政 list into persons and their category spans, whole or not at all.

A person is known by the ID number. Each row is a person, or one category span of a person (the
person's columns then repeat, identically, on each of their rows). For each person in the file:
- new: inserted, with the ID number's sex and birth date, and their spans;
- known: the columns present in the file are compared with the district's row; what differs is
  updated and sent to counters as a change, and nothing is written when nothing differs;
- when the file has the 对象类别 column, the person's spans are exactly the file's: a span is
  known by (category, 认定日期); its end or 文号 is updated, one not in the file is deleted.
What the district keeps itself is protected: the card balance of a member who has applied for
mutual aid (applications take from it, withdrawals give back), and a membership year paid at a
counter. A person who moves street is deleted at the old street's counters and sent, with their
spans, fee rows and claims, to the new street's.
"""

from __future__ import annotations

import time as clock
from collections import defaultdict
from collections.abc import Collection, Iterator
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from sqlalchemy import ColumnElement, RowMapping, Select, bindparam, select, update
from sqlalchemy.orm import Session

from desktop.domain.id_number import IdNumber
from desktop.policy.contract import default_parameters
from district import models
from district.changelog import (
    PendingChange,
    claim_data,
    fee_row_data,
    person_data,
    span_change,
)
from district.imports.cells import Table, open_table
from district.imports.columns import Header, bind_header, person_columns, read_row
from district.imports.errors import Rejection
from district.imports.outcome import ImportResult, Progress, reject
from district.imports.store import (
    Numbering,
    chunks,
    insert_dicts,
    lock_rows,
    record_changes_bulk,
    update_rows,
)
from district.values import from_fen, shanghai_today

PERSON_FIELDS = ("name", "street_code", "phone", "address", "committee", "bank_account",
                 "resident_insurance", "mutual_aid_years", "mutual_aid_benefits_from",
                 "external_inpatient_insurance", "allowance_balance_fen")
NEW_PERSON: dict[str, Any] = {
    "phone": None, "address": None, "committee": None, "bank_account": None,
    "resident_insurance": False, "mutual_aid_years": [], "mutual_aid_benefits_from": None,
    "external_inpatient_insurance": False, "allowance_balance_fen": 0}
PERSONS = models.table_of(models.Person)
SPANS = models.table_of(models.CategorySpan)
FEE_ROWS = models.table_of(models.FeeRow)
WHOLE_TABLE = 5000  # more listed persons than this: read the tables whole, not by keys


@dataclass
class _Span:
    line: int
    code: str
    start: date
    end: date | None
    source: str


@dataclass
class _Listed:
    """A person as the file lists them: the first row's columns, and the spans of all rows."""

    line: int
    id: IdNumber
    fields: dict[str, Any]
    spans: dict[tuple[str, date], _Span] = field(default_factory=dict)


@dataclass
class _State:
    """What the district holds for the listed persons."""

    persons: dict[str, dict[str, Any]]  # id_number -> row
    spans: dict[str, list[dict[str, Any]]]  # person id -> span rows
    applied_for_mutual_aid: set[str]  # person ids with a mutual-aid application
    enrolled: dict[str, set[int]]  # person id -> years enrolled (paid) at a counter


@dataclass
class _Plan:
    listed: _Listed
    row: dict[str, Any]  # the person's row after the import
    diff: dict[str, Any]  # changed columns (every column for a new person)
    new: bool
    moved_from: str | None = None
    span_inserts: list[dict[str, Any]] = field(default_factory=list)
    span_updates: list[dict[str, Any]] = field(default_factory=list)
    span_deletes: list[dict[str, Any]] = field(default_factory=list)
    span_upserts: list[dict[str, Any]] = field(default_factory=list)  # new and updated, after
    spans_after: list[dict[str, Any]] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return bool(self.new or self.diff or self.span_inserts or self.span_updates
                    or self.span_deletes)


def import_persons(session: Session, path: Path, *, today: date | None = None,
                   progress: Progress | None = None,
                   streets: Collection[str] | None = None) -> ImportResult:
    """Import the persons file in the session's transaction; ImportRejected (raise it out of
    the transaction) when any row is rejected, FileRejected when the file cannot be read.

    `streets`: the streets the importing user answers for (the console: their district's);
    a row naming another street, or a person already held at another, is rejected. None:
    every street (the command line, run by whoever runs the server)."""
    started = clock.perf_counter()
    progress = progress or Progress(None)
    today = today or shanghai_today()
    table = open_table(path)
    result = ImportResult("persons", path, table.description)
    parameters = default_parameters()
    categories = {code: code for code in parameters.categories}
    categories |= {c.label: code for code, c in parameters.categories.items()}
    known_streets = set(session.scalars(select(models.Street.code)))
    allowed = known_streets if streets is None else known_streets & set(streets)
    header, problems = bind_header(table.header, person_columns(today, allowed, categories))
    result.unknown_columns, result.not_stored_columns = header.unknown, header.not_stored
    if problems:
        reject(result, problems, started)
    listed, rejections = _read(table, header, result, progress)
    state = _load(session, list(listed))
    for person in listed.values():
        held = state.persons.get(person.id.value)
        if held is not None and held["street_code"] not in allowed:
            rejections.append(Rejection(person.line, header.header_of("id_number"),
                                        "该人员属于您无权管理的街镇（其他区），不能由此导入修改",
                                        person.id.value))
    spans_listed = header.has("span_code")
    plans = [_plan(person, state, header, spans_listed, rejections) for person in listed.values()]
    if rejections:
        reject(result, rejections, started)

    known = [p for p in plans if not p.new and p.changed]
    if known and session.get_bind().dialect.name != "sqlite":
        # Counters change persons too (a card balance, a membership year): lock the rows this
        # import updates, then plan them again on what the district holds now.
        lock_rows(session, PERSONS, [p.row["id"] for p in known])
        fresh = _load(session, [p.listed.id.value for p in known])
        replanned = {id(p): _plan(p.listed, fresh, header, spans_listed, rejections)
                     for p in known}
        if rejections:
            reject(result, rejections, started)
        plans = [replanned.get(id(p), p) for p in plans]

    span_ids = Numbering(session, SPANS.c.id, "C", 8)
    person_ids = Numbering(session, PERSONS.c.id, "P", 7)
    for plan in plans:
        if plan.new:
            plan.row["id"] = person_ids.take()
        for span in plan.span_inserts:
            span["id"] = span_ids.take()
            span["person_id"] = plan.row["id"]
    result.changes = _write(session, plans)
    result.counts = {
        "new": sum(p.new for p in plans),
        "updated": sum(p.changed and not p.new for p in plans),
        "unchanged": sum(not p.changed for p in plans),
        "spans_new": sum(len(p.span_inserts) for p in plans),
        "spans_updated": sum(len(p.span_updates) for p in plans),
        "spans_deleted": sum(len(p.span_deletes) for p in plans),
    }
    result.seconds = clock.perf_counter() - started
    return result


# -- reading ---------------------------------------------------------------------------------

def _read(table: Table, header: Header, result: ImportResult, progress: Progress
          ) -> tuple[dict[str, _Listed], list[Rejection]]:
    listed: dict[str, _Listed] = {}
    rejections: list[Rejection] = []
    for line, cells in table.rows:
        result.rows_read += 1
        if result.rows_read % progress.every == 0:
            progress.rows(result.rows_read)
        values = read_row(line, cells, header, rejections)
        if values is None:
            continue
        ok, span = _span(line, values, header, rejections)
        if not ok:
            continue
        number: IdNumber = values["id_number"]
        fields = {f: values[f] for f in PERSON_FIELDS if f in values}
        person = listed.get(number.value)
        if person is None:
            person = listed[number.value] = _Listed(line, number, fields)
        else:
            differing = [f for f, v in fields.items() if person.fields[f] != v]
            for f in differing:
                rejections.append(Rejection(
                    line, header.header_of(f),
                    f"与第 {person.line} 行（同一身份证号码）的内容不一致", _shown(fields[f])))
            if differing:
                continue
        if span is not None:
            _add_span(person, span, rejections)
    return listed, rejections


def _span(line: int, values: dict[str, Any], header: Header,
          rejections: list[Rejection]) -> tuple[bool, _Span | None]:
    """Whether the row's span columns are good, and its span (None for a row without one)."""
    code = values.get("span_code")
    end: date | None = values.get("span_end")
    if code is None:
        if values.get("span_start") is not None or end is not None or values.get("span_source"):
            rejections.append(Rejection(line, "对象类别",
                                        "填写了认定日期、终止日期或认定文号，但没有填对象类别"))
            return False, None
        return True, None
    missing = [(f, name) for f, name in (("span_start", "认定日期"), ("span_source", "认定文号"))
               if not values.get(f)]
    for f, name in missing:
        where = header.header_of(f) if header.has(f) else name
        rejections.append(Rejection(line, where, "填写了对象类别时必填"))
    if missing:
        return False, None
    start: date = values["span_start"]
    if end is not None and end < start:
        rejections.append(Rejection(line, "终止日期", f"早于认定日期 {start.isoformat()}",
                                    end.isoformat()))
        return False, None
    return True, _Span(line, code, start, end, values["span_source"])


def _add_span(person: _Listed, span: _Span, rejections: list[Rejection]) -> None:
    key = (span.code, span.start)
    twin = person.spans.get(key)
    if twin is not None:
        rejections.append(Rejection(span.line, "对象类别",
                                    f"与第 {twin.line} 行重复（同一对象类别、同一认定日期）"))
        return
    for other in person.spans.values():
        if other.code == span.code and _overlap(other, span):
            rejections.append(Rejection(
                span.line, "认定日期",
                f"与第 {other.line} 行的同一对象类别时间重叠（{_period(other)}）",
                span.start.isoformat()))
            return
    person.spans[key] = span


def _overlap(a: _Span, b: _Span) -> bool:
    return a.start <= (b.end or date.max) and b.start <= (a.end or date.max)


def _period(span: _Span) -> str:
    return f"{span.start.isoformat()} 至 {span.end.isoformat() if span.end else '今'}"


def _shown(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


# -- comparing with the district ----------------------------------------------------------------

def _load(session: Session, id_numbers: list[str]) -> _State:
    """The listed persons, their spans, and who applied for mutual aid or enrolled: by keys for
    a short list, in one pass over the tables for a long one (a whole district's list)."""
    whole = len(id_numbers) > WHOLE_TABLE
    listed = set(id_numbers)
    persons = {row["id_number"]: dict(row) for row in _rows(
        session, PERSONS.select(), PERSONS.c.id_number, None if whole else id_numbers)
        if row["id_number"] in listed}
    ids = {p["id"] for p in persons.values()}
    keys = None if whole else sorted(ids)
    spans: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for row in _rows(session, SPANS.select().order_by(SPANS.c.id), SPANS.c.person_id, keys):
        if row["person_id"] in ids:
            spans[row["person_id"]].append(dict(row))
    application = models.table_of(models.Application)
    applied = {row["person_id"] for row in _rows(
        session, select(application.c.person_id).distinct()
        .where(application.c.program == "mutual_aid"), application.c.person_id, keys)
        if row["person_id"] in ids}
    enrolment = models.table_of(models.Enrolment)
    enrolled: dict[str, set[int]] = defaultdict(set)
    for row in _rows(session, select(enrolment.c.person_id, enrolment.c.year),
                     enrolment.c.person_id, keys):
        if row["person_id"] in ids:
            enrolled[row["person_id"]].add(row["year"])
    return _State(persons, spans, applied, enrolled)


def _rows(session: Session, statement: Select[Any], column: ColumnElement[Any],
          keys: list[str] | None) -> Iterator[RowMapping]:
    """The statement's rows whose `column` is one of `keys`, or all of them (keys None)."""
    if keys is None:
        yield from session.execute(statement).mappings()
        return
    for part in chunks(keys):
        yield from session.execute(statement.where(column.in_(part))).mappings()


def _plan(person: _Listed, state: _State, header: Header, spans_listed: bool,
          rejections: list[Rejection]) -> _Plan:
    existing = state.persons.get(person.id.value)
    if existing is None:
        row = {"id": None, "id_number": person.id.value, "sex": person.id.sex,
               "birth_date": person.id.birth_date, **NEW_PERSON, **person.fields}
        row["mutual_aid_years"] = list(row["mutual_aid_years"])
        plan = _Plan(person, row, dict(row), new=True)
        plan.span_inserts = [_span_row(s) for s in person.spans.values()]
        plan.span_upserts = plan.spans_after = list(plan.span_inserts)
        return plan
    diff = {f: v for f, v in person.fields.items() if _differs(existing[f], v)}
    person_id = existing["id"]
    if "allowance_balance_fen" in diff and person_id in state.applied_for_mutual_aid:
        rejections.append(Rejection(
            person.line, header.header_of("allowance_balance_fen"),
            "该人员已有互助帮困申请，卡内余额由区里随申请扣减、随撤回退回，不能由导入修改"
            f"（现为 {from_fen(existing['allowance_balance_fen'])} 元）",
            from_fen(diff["allowance_balance_fen"])))
    if "mutual_aid_years" in diff:
        dropped = sorted(state.enrolled.get(person_id, set()) - set(diff["mutual_aid_years"]))
        if dropped:
            rejections.append(Rejection(
                person.line, header.header_of("mutual_aid_years"),
                f"{'、'.join(map(str, dropped))} 年度已在柜台登记缴费，不能从参加年度中删除",
                ",".join(map(str, diff["mutual_aid_years"]))))
    row = {**existing, **diff}
    plan = _Plan(person, row, diff, new=False)
    if "street_code" in diff:
        plan.moved_from = existing["street_code"]
    held = state.spans.get(person_id, [])
    if not spans_listed:
        plan.spans_after = held
        return plan
    by_key = {(s["code"], s["start_date"]): s for s in held}
    for key, span in person.spans.items():
        current = by_key.pop(key, None)
        if current is None:
            new = _span_row(span)
            plan.span_inserts.append(new)
            plan.span_upserts.append(new)
            plan.spans_after.append(new)
        elif (current["end_date"], current["source"]) != (span.end, span.source):
            plan.span_updates.append({"_id": current["id"], "end_date": span.end,
                                      "source": span.source})
            after = {**current, "end_date": span.end, "source": span.source}
            plan.span_upserts.append(after)
            plan.spans_after.append(after)
        else:
            plan.spans_after.append(current)
    plan.span_deletes = list(by_key.values())
    return plan


def _differs(old: Any, new: Any) -> bool:
    if isinstance(new, list):
        return sorted(old or []) != new
    return bool(old != new)


def _span_row(span: _Span) -> dict[str, Any]:
    return {"id": None, "person_id": None, "code": span.code, "start_date": span.start,
            "end_date": span.end, "source": span.source}


# -- writing -----------------------------------------------------------------------------------

def _write(session: Session, plans: list[_Plan]) -> int:
    """The rows, then their changes; returns how many changes were recorded."""
    insert_dicts(session, PERSONS, list(PERSONS.c.keys()), [p.row for p in plans if p.new])
    update_rows(session, PERSONS, ({"_id": p.row["id"], **p.diff}
                                   for p in plans if not p.new and p.diff))
    insert_dicts(session, SPANS, list(SPANS.c.keys()), [s for p in plans for s in p.span_inserts])
    update_rows(session, SPANS, [s for p in plans for s in p.span_updates])
    deleted = [s["id"] for p in plans for s in p.span_deletes]
    for part in chunks(deleted):
        session.execute(SPANS.delete().where(SPANS.c.id.in_(part)))
    moved = [p for p in plans if p.moved_from is not None]
    if moved:
        session.execute(update(FEE_ROWS).where(FEE_ROWS.c.person_id == bindparam("_person"))
                        .values(street_code=bindparam("_street")),
                        [{"_person": p.row["id"], "_street": p.row["street_code"]}
                         for p in moved])

    changes = [PendingChange("person", p.row["id"], p.moved_from, None, op="delete")
               for p in moved]
    changes += [PendingChange("person", p.row["id"], p.row["street_code"],
                              person_data(_row(p.row)))
                for p in plans if p.new or p.diff or p.moved_from]
    for p in plans:
        street = p.row["street_code"]
        spans = p.spans_after if p.moved_from else p.span_upserts
        changes += [span_change(_row(s), street) for s in spans]
        changes += [PendingChange("category_span", s["id"], street, None, op="delete")
                    for s in p.span_deletes]
    changes += _moved_parts(session, moved)
    record_changes_bulk(session, changes)
    return len(changes)


def _row(values: dict[str, Any]) -> Any:
    """Column values with attribute access, for the changelog's converters (which only read
    attributes), as the seed gives them: no ORM object per row."""
    return SimpleNamespace(**values)


def _moved_parts(session: Session, moved: list[_Plan]) -> list[PendingChange]:
    """A moved person's fee rows and their claims, for the new street's counters."""
    if not moved:
        return []
    street_of = {p.row["id"]: p.row["street_code"] for p in moved}
    changes = []
    rows = session.scalars(select(models.FeeRow).where(models.FeeRow.person_id.in_(street_of))
                           .order_by(models.FeeRow.id)).all()
    changes += [PendingChange("fee_row", r.id, street_of[r.person_id], fee_row_data(r))
                for r in rows]
    claims = session.execute(
        select(models.Claim, models.Application.program, models.FeeRow.person_id)
        .join(models.Application, models.Application.id == models.Claim.application_id)
        .join(models.FeeRow, models.FeeRow.id == models.Claim.fee_row_id)
        .where(models.FeeRow.person_id.in_(street_of)).order_by(models.Claim.fee_row_id)).all()
    changes += [PendingChange("claim", c.fee_row_id, street_of[person_id],
                              claim_data(c, program))
                for c, program, person_id in claims]
    return changes
