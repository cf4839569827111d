"""`import fees`: the 医保 settlement export into fee rows, whole or not at all, fast.

A fee row is known by (医疗机构编码, 票据号码). The file is read once, row by row; each valid
row is compared with the district's (a hash of the columns the file has, loaded once up front)
and written in chunks as it comes, with the changes counters pull: new rows inserted, changed
rows updated, unchanged rows not touched, so a million rows never sit in memory. Once a row is
rejected nothing more is written, the rest of the file is still checked (the report lists every
problem), and the caller's transaction rolls back what was written. On PostgreSQL the change
sequence is held from the first chunk to the commit: counters' pushes wait for a large import.

A row already claimed by an application (table claims) is never changed: the amounts and flags
the application was computed and paid on would no longer be what the district holds. Such a
row is refused with the claiming application named. An institution the district does not know
is created from the row's code, name, level and 本市定点.
"""

from __future__ import annotations

import time as clock
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from desktop.domain.errors import DomainError
from desktop.domain.id_number import normalize_id_number
from district import models
from district.changelog import institution_change
from district.imports.cells import open_table
from district.imports.columns import Header, bind_header, fee_columns, read_row
from district.imports.errors import Rejection
from district.imports.outcome import ImportResult, Progress, reject
from district.imports.store import (
    ChangeRow,
    Numbering,
    chunks,
    insert_dicts,
    insert_rows,
    lock_rows,
    record_change_rows,
    update_rows,
)
from district.values import from_fen, shanghai_today

FEE_ROWS = models.table_of(models.FeeRow)
INSTITUTIONS = models.table_of(models.Institution)
# The fee row's columns a file sets (all but the ids and what follows from person and
# institution), with the value a new row gets when the file has no such column.
FILE_FIELDS: dict[str, Any] = {
    "institution_code": None, "issuer_code": None, "receipt_no": None, "check_code": None,
    "receipt_qr": None, "receipt_date": None, "kind": None, "hospital_level": None,
    "out_of_province_filed": False, "total_fen": None, "out_of_scope_fen": None,
    "self_pay_fen": None, "deductible_part_fen": 0, "external_deductible_fen": 0,
    "external_reimbursed_fen": 0, "one_stop_settled": False, "already_claimed": False,
    "clearing_pending": False, "major_illness": False, "major_illness_doc": False,
    "means_test_included": False}
DERIVED = ("person_id", "street_code", "in_shanghai")
INSERT_COLUMNS = ("id", *DERIVED, *FILE_FIELDS)
FLUSH_ROWS = 10_000  # rows written (with their changes) at a time
READ_BACK = 5000  # ids per IN (...) when reading updated rows back for their changes
_SEP = "\x1f"  # between the parts of a key: in no code or number


@dataclass(frozen=True)
class _Person:
    id: str
    street_code: str
    name: str


@dataclass
class _Institution:
    code: str
    name: str
    level: int
    in_shanghai: bool
    line: int = 0  # the row that creates it (0: the district has it)


class _Import:
    """One fees import: the district's state loaded once, the file's rows in chunks."""

    def __init__(self, session: Session, header: Header, today: date, result: ImportResult,
                 chunk: int, streets: set[str] | None = None) -> None:
        self.session = session
        self.header = header
        self.today = today
        self.result = result
        self.chunk = chunk
        self.rejections: list[Rejection] = []
        self.fields = [f for f in FILE_FIELDS if header.has(f)]
        self.compared = (*DERIVED, *self.fields)
        self.persons = {number: _Person(pid, street, name) for number, pid, street, name in
                        session.execute(select(models.Person.id_number, models.Person.id,
                                               models.Person.street_code, models.Person.name))
                        if streets is None or street in streets}
        self.streets = streets
        self.foreign: set[str] = set()  # fee rows (keys) held at a street not in `streets`
        self.institutions = {code: _Institution(code, name, level, in_shanghai)
                             for code, name, level, in_shanghai in session.execute(
                                 select(INSTITUTIONS.c.code, INSTITUTIONS.c.name,
                                        INSTITUTIONS.c.level, INSTITUTIONS.c.in_shanghai))}
        self.new_institutions: list[_Institution] = []
        self.pending_institutions: list[_Institution] = []
        # key -> (id, hash of the compared columns); a hash, not the values: a million rows'
        # values would take gigabytes. Equal values hash equal, so a changed row is never
        # missed unless its new values collide with its old ones in 64 bits.
        self.existing: dict[str, tuple[str, int]] = {}
        self.receipts: dict[str, str] = {}  # issuer code + receipt number -> key
        columns = [FEE_ROWS.c[name] for name in self.compared]
        statement = select(FEE_ROWS.c.id, FEE_ROWS.c.institution_code, FEE_ROWS.c.receipt_no,
                           FEE_ROWS.c.issuer_code, *columns)
        for row in session.execute(statement):
            key = f"{row[1]}{_SEP}{row[2]}"
            self.existing[key] = (row[0], hash(tuple(row[4:])))
            if streets is not None and row[5] not in streets:  # compared: person, street, …
                self.foreign.add(key)
            if row[3] is not None:
                self.receipts[f"{row[3]}{_SEP}{row[2]}"] = key
        self.claimed = set(session.scalars(select(models.Claim.fee_row_id)))
        self.seen: dict[str, int] = {}  # key -> the row that had it
        self.numbering = Numbering(session, FEE_ROWS.c.id, "F", 9)
        self.inserts: list[dict[str, Any]] = []
        self.updates: list[dict[str, Any]] = []
        self.update_lines: list[int] = []
        self.new = self.updated = self.unchanged = self.changes = 0

    # -- one row -------------------------------------------------------------------------

    def take(self, line: int, cells: list[Any]) -> None:
        """One row: read, checked, compared with the district's, and buffered for writing."""
        values = read_row(line, cells, self.header, self.rejections)
        if values is None:
            return
        person = self._person(line, values)
        institution = self._institution(line, values)
        if person is None or institution is None or not self._consistent(line, values,
                                                                         institution):
            return
        key = f"{values['institution_code']}{_SEP}{values['receipt_no']}"
        earlier = self.seen.get(key)
        if earlier is not None:
            self._reject(line, "票据号码", f"与第 {earlier} 行重复（同一医疗机构、同一票据号码）",
                         values["receipt_no"])
            return
        self.seen[key] = line
        issuer = values.get("issuer_code")
        if issuer is not None:
            receipt = f"{issuer}{_SEP}{values['receipt_no']}"
            owner = self.receipts.setdefault(receipt, key)
            if owner != key:
                self._reject(line, "票据代码",
                             "同一票据代码和票据号码已属于另一条费用明细（医疗机构编码 "
                             f"{owner.partition(_SEP)[0]}）", issuer)
                return
        values["person_id"] = person.id
        values["street_code"] = person.street_code
        values["in_shanghai"] = institution.in_shanghai
        known = self.existing.get(key)
        if key in self.foreign:
            self._reject(line, "票据号码", "该费用明细属于您无权管理的街镇（其他区），"
                         "不能由此导入修改", values["receipt_no"])
            return
        if known is None:
            values["id"] = self.numbering.take()
            self.inserts.append(values)
        elif hash(tuple(values[name] for name in self.compared)) == known[1]:
            self.unchanged += 1
            return
        elif known[0] in self.claimed:
            self._reject_claimed(line, known[0])
            return
        else:
            update = {name: values[name] for name in self.compared}
            update["_id"] = known[0]
            self.updates.append(update)
            self.update_lines.append(line)
        if len(self.inserts) + len(self.updates) >= self.chunk:
            self.flush()

    def _person(self, line: int, values: dict[str, Any]) -> _Person | None:
        text = values["id_number"]
        person = self.persons.get(text)
        if person is None:
            try:
                person = self.persons.get(normalize_id_number(text, self.today))
            except DomainError as exc:
                self._reject(line, self.header.header_of("id_number"),
                             exc.message_zh.removesuffix("。"), text)
                return None
            if person is None:
                self._reject(line, self.header.header_of("id_number"),
                             "人员库中没有该身份证号码，请先导入人员名单", text)
                return None
        name = values.get("name")
        if name is not None and name != person.name:
            self._reject(line, "姓名",
                         f"与身份证号码对应的人员姓名不一致（人员库中为“{person.name}”）", name)
            return None
        return person

    def _institution(self, line: int, values: dict[str, Any]) -> _Institution | None:
        code = values["institution_code"]
        institution = self.institutions.get(code)
        stated = values.get("institution_in_shanghai")
        if institution is None:
            name = values.get("institution_name")
            if not name:
                self._reject(line, "医疗机构名称",
                             "医疗机构编码不在机构库中；新医疗机构须填写医疗机构名称", code)
                return None
            institution = _Institution(code, name, values["hospital_level"],
                                       True if stated is None else stated, line)
            self.institutions[code] = institution
            self.new_institutions.append(institution)
            self.pending_institutions.append(institution)
        elif stated is not None and stated != institution.in_shanghai:
            where = f"第 {institution.line} 行新增的" if institution.line else "机构库中"
            self._reject(line, "本市定点", f"与{where}该医疗机构不一致"
                         f"（{'本市' if institution.in_shanghai else '外省市'}定点）",
                         "是" if stated else "否")
            return None
        return institution

    def _consistent(self, line: int, v: dict[str, Any], institution: _Institution) -> bool:
        """POLICY.md §2's invariants, and what else the engine would refuse or misread."""
        problems: list[tuple[str, str]] = []
        if v["receipt_date"] > self.today:
            problems.append(("开票日期", "晚于今天"))
        total, oos, self_pay = v["total_fen"], v["out_of_scope_fen"], v["self_pay_fen"]
        if oos > total:
            problems.append(("自费金额", f"超过医疗费用总额（{from_fen(total)}）"))
        elif self_pay > total - oos:
            problems.append(("自负金额", f"超过医疗费用总额减自费金额（{from_fen(total - oos)}）"))
        elif v.get("deductible_part_fen", 0) > self_pay:
            problems.append(("起付线部分", f"超过自负金额（{from_fen(self_pay)}）"))
        if (v.get("external_deductible_fen", 0) + v.get("external_reimbursed_fen", 0)
                > total - oos and oos <= total):
            problems.append(("外省市已报销金额",
                             f"与外省市起付标准之和超过医保范围内费用（{from_fen(total - oos)}）"))
        if v.get("major_illness_doc") and not v.get("major_illness"):
            problems.append(("居保大病材料", "不是居保大病费用，却标了居保大病材料"))
        if v.get("out_of_province_filed") and institution.in_shanghai:
            problems.append(("异地备案", "本市定点医疗机构的费用不涉及异地备案"))
        for column, reason in problems:
            self._reject(line, column, reason, "")
        return not problems

    def _reject(self, line: int, column: str, reason: str, value: str) -> None:
        self.rejections.append(Rejection(line, column, reason, value))

    def _reject_claimed(self, line: int, row_id: str) -> None:
        claim = self.session.scalars(select(models.Claim)
                                     .where(models.Claim.fee_row_id == row_id)).first()
        application = f"（申请 {claim.application_id}）" if claim is not None else ""
        self._reject(line, "", f"该费用明细已被申请认领{application}，金额和标记不能再修改；"
                     "如确需更正，请先撤回该申请", "")

    # -- writing -------------------------------------------------------------------------

    def flush(self) -> None:
        """Write the rows so far and their changes, unless a row was rejected: then nothing
        more is written (and what was is rolled back)."""
        inserts, updates, lines = self.inserts, self.updates, self.update_lines
        self.inserts, self.updates, self.update_lines = [], [], []
        if self.rejections:
            return
        changes: list[ChangeRow] = []
        if self.pending_institutions:
            insert_rows(self.session, INSTITUTIONS, [
                {"code": i.code, "name": i.name, "level": i.level, "in_shanghai": i.in_shanghai}
                for i in self.pending_institutions])
            for i in self.pending_institutions:
                c = institution_change(_row(code=i.code, name=i.name, level=i.level,
                                            in_shanghai=i.in_shanghai))
                changes.append((c.entity, c.key, c.op, c.street_code, c.data))
            self.pending_institutions = []
        if updates:
            self._check_unclaimed(updates, lines)
            if self.rejections:
                return
            ids = [u["_id"] for u in updates]
            streets: dict[str, str] = {}  # a row moved to another street's person leaves the old
            for part in chunks(ids, READ_BACK):
                streets.update((row_id, street) for row_id, street in self.session.execute(
                    select(FEE_ROWS.c.id, FEE_ROWS.c.street_code).where(FEE_ROWS.c.id.in_(part))))
            changes += [("fee_row", u["_id"], "delete", streets[u["_id"]], None)
                        for u in updates if u["street_code"] != streets[u["_id"]]]
            update_rows(self.session, FEE_ROWS, updates)
            for part in chunks(ids, READ_BACK):
                changes += [("fee_row", r.id, "upsert", r.street_code, fee_row_wire(r._mapping))
                            for r in self.session.execute(
                                FEE_ROWS.select().where(FEE_ROWS.c.id.in_(part))
                                .order_by(FEE_ROWS.c.id))]
            self.updated += len(updates)
        if inserts:
            if len(self.fields) < len(FILE_FIELDS):  # a new row gets the defaults
                inserts = [{**FILE_FIELDS, **r} for r in inserts]
            insert_dicts(self.session, FEE_ROWS, INSERT_COLUMNS, inserts)
            changes += [("fee_row", r["id"], "upsert", r["street_code"], fee_row_wire(r))
                        for r in inserts]
            self.new += len(inserts)
        record_change_rows(self.session, changes)
        self.changes += len(changes)

    def _check_unclaimed(self, updates: list[dict[str, Any]], lines: list[int]) -> None:
        """On PostgreSQL, a counter may claim a row after the claims were loaded: lock the
        rows to update (a claim's foreign key waits on the lock) and look again."""
        if self.session.get_bind().dialect.name == "sqlite":
            return
        ids = [u["_id"] for u in updates]
        lock_rows(self.session, FEE_ROWS, ids)
        for part in chunks(ids):
            self.claimed.update(self.session.scalars(
                select(models.Claim.fee_row_id).where(models.Claim.fee_row_id.in_(part))))
        for update, line in zip(updates, lines, strict=True):
            if update["_id"] in self.claimed:
                self._reject_claimed(line, update["_id"])


def import_fees(session: Session, path: Path, *, today: date | None = None,
                progress: Progress | None = None, chunk: int = FLUSH_ROWS,
                streets: Collection[str] | None = None) -> ImportResult:
    """Import the fees file in the session's transaction; ImportRejected (raise it out of the
    transaction, which rolls back what was written) when any row is rejected, FileRejected
    when the file cannot be read.

    `streets`: the streets the importing user answers for (the console: their district's);
    a person held at another street is not found, and a fee row held at another is not
    changed. None: every street (the command line)."""
    started = clock.perf_counter()
    progress = progress or Progress(None)
    table = open_table(path)
    result = ImportResult("fees", path, table.description)
    header, problems = bind_header(table.header, fee_columns())
    result.unknown_columns, result.not_stored_columns = header.unknown, header.not_stored
    if problems:
        reject(result, problems, started)
    run = _Import(session, header, today or shanghai_today(), result, chunk,
                  None if streets is None else set(streets))
    every = progress.every
    for line, cells in table.rows:
        result.rows_read += 1
        if result.rows_read % every == 0:
            progress.rows(result.rows_read)
        run.take(line, cells)
    run.flush()
    if run.rejections:
        reject(result, run.rejections, started)
    result.changes = run.changes
    result.counts = {"new": run.new, "updated": run.updated, "unchanged": run.unchanged,
                     "institutions_new": len(run.new_institutions)}
    result.seconds = clock.perf_counter() - started
    return result


def _row(**values: Any) -> Any:
    """Attribute access for the changelog's converters, without an ORM object."""
    return SimpleNamespace(**values)


def _yuan(fen: int) -> str:
    return "0.00" if fen == 0 else from_fen(fen)  # most of a row's six amounts are zero


def fee_row_wire(r: Mapping[Any, Any]) -> dict[str, Any]:
    """A fee_rows row as `district.changelog.fee_row_data` gives it (wire.FeeRowData in JSON
    form), without building the pydantic model: a million of those cost seconds. The flags
    are bools already (parsed from the file, or read through the Boolean columns).
    tests/district/test_import.py checks the two agree."""
    return {
        "id": r["id"], "person_id": r["person_id"], "institution_code": r["institution_code"],
        "issuer_code": r["issuer_code"], "receipt_no": r["receipt_no"],
        "check_code": r["check_code"], "date": r["receipt_date"].isoformat(),
        "kind": r["kind"], "hospital_level": r["hospital_level"],
        "in_shanghai": r["in_shanghai"],
        "out_of_province_filed": r["out_of_province_filed"],
        "total": _yuan(r["total_fen"]), "out_of_scope": _yuan(r["out_of_scope_fen"]),
        "self_pay": _yuan(r["self_pay_fen"]),
        "deductible_part": _yuan(r["deductible_part_fen"]),
        "external_deductible": _yuan(r["external_deductible_fen"]),
        "external_reimbursed": _yuan(r["external_reimbursed_fen"]),
        "one_stop_settled": r["one_stop_settled"],
        "already_claimed": r["already_claimed"],
        "clearing_pending": r["clearing_pending"],
        "major_illness": r["major_illness"],
        "major_illness_doc": r["major_illness_doc"],
        "means_test_included": r["means_test_included"],
    }

