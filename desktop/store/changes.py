"""Applying the district's change pages to the cache, and the pull cursors.

Each change carries the server's seq, and the cache ends in the state of the server's log
whatever order, repetition or page cuts the changes arrive in:
- a row keeps the seq that last wrote it, a key keeps the seq of its newest delete (a
  tombstone), and a change not newer than both is skipped;
- deleting a person ends the versions of their category spans and fee rows older than the
  delete, as the database's cascade does, including versions that arrive after the delete;
- a span or fee row whose person is not here yet is parked and applied when the person arrives.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from functools import cache, lru_cache
from typing import Any, TypeVar, cast

from pydantic import BaseModel
from sqlalchemy import (
    Boolean,
    Column,
    Date,
    Integer,
    String,
    Table,
    bindparam,
    inspect,
    select,
    tuple_,
)
from sqlalchemy.engine import Connection, Dialect
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import BindParameter

from desktop.store.application_feed import apply_application_changes
from desktop.store.models import (
    Base,
    CategorySpanRecord,
    ClaimRecord,
    CommitmentRecord,
    FeeRowRecord,
    InstitutionRecord,
    ParameterVersionRecord,
    ParkedChangeRecord,
    PersonRecord,
    SyncCursorRecord,
    SyncedBase,
    TombstoneRecord,
)
from desktop.store.search_keys import name_keys, reversed_key
from desktop.store.types import (
    EPOCH_DAY,
    FEN_TEXT,
    Choice,
    Code,
    DayNumber,
    Fen,
    Money,
    UtcDateTime,
    UtcMicros,
    code_of,
    day_number,
    fen_of,
    money_text,
    utc_now,
)
from desktop.wire import (
    CHECKED_READ_CHANGES,
    AnyChange,
    CategorySpanData,
    ClaimData,
    CommitmentData,
    FeeRowData,
    InstitutionData,
    ParameterVersionData,
    PersonData,
)


@dataclass(frozen=True)
class _Entity:
    """How one wire entity maps onto a cached table."""

    schema: type[BaseModel]
    model: type[SyncedBase]
    key_field: str  # the column the change key fills
    fields: Callable[[Any], dict[str, Any]]  # columns from the validated data
    person_of: Callable[[Any], str] | None = None  # the person it belongs to, if any


def _fields(data: BaseModel, *drop: str) -> dict[str, Any]:
    return {name: getattr(data, name) for name in type(data).model_fields if name not in drop}


def _person_fields(data: PersonData) -> dict[str, Any]:
    fields = _fields(data, "id", "mutual_aid_years")
    fields["mutual_aid_years"] = sorted(set(data.mutual_aid_years))
    return fields


_CLAIM_FIELDS = ("application_id", "street_code", "device_id", "claimed_at", "status", "program")


def _claim_fields(data: ClaimData) -> dict[str, Any]:
    return {name: getattr(data, name) for name in _CLAIM_FIELDS}


ENTITIES: dict[str, _Entity] = {
    "person": _Entity(PersonData, PersonRecord, "id", _person_fields),
    "category_span": _Entity(CategorySpanData, CategorySpanRecord, "id",
                             lambda d: _fields(d, "id"), person_of=lambda d: d.person_id),
    "institution": _Entity(InstitutionData, InstitutionRecord, "code",
                           lambda d: _fields(d, "code")),
    "fee_row": _Entity(FeeRowData, FeeRowRecord, "id", lambda d: _fields(d, "id"),
                       person_of=lambda d: d.person_id),
    "claim": _Entity(ClaimData, ClaimRecord, "fee_row_id", _claim_fields),
    "parameter_version": _Entity(ParameterVersionData, ParameterVersionRecord, "id",
                                 lambda d: _fields(d)),
    # protocol 4: a person's 免申即享 commitment, as the district holds it (issue 15)
    "commitment": _Entity(CommitmentData, CommitmentRecord, "id", lambda d: _fields(d, "id"),
                          person_of=lambda d: d.person_id),
}


T = TypeVar("T", bound=Base)
_LOAD_CHUNK = 400  # keys per IN (...) lookup


class UnknownEntity(ValueError):
    """A change for an entity this version of the counter does not know."""


class UnstorableValue(ValueError):
    """A change's value its column has no stored form for: an amount with part of a fen, a
    word outside its closed set. The page is refused, nothing of it written."""


def check_storable(name: str, seq: int, data: Any, dialect: Dialect) -> None:
    """Raise UnstorableValue, naming the change and the field, for a value of the validated
    `data` its column would refuse (the wire lets amounts through as text)."""
    for field, process in _refusing_columns(name, dialect):
        try:
            process(getattr(data, field))
        except (ValueError, TypeError) as error:
            raise UnstorableValue(f"change {seq}: {name}.{field}: {error}") from None


_REFUSING = (Money, Fen, DayNumber, Choice, UtcDateTime, UtcMicros)  # types whose forms refuse


@cache
def _refusing_columns(name: str, dialect: Dialect) -> tuple[tuple[str, Converter], ...]:
    entity = ENTITIES[name]
    table = cast(Table, entity.model.__table__)
    found = []
    for field in entity.schema.model_fields:
        column = table.c.get(field)
        if column is not None and isinstance(column.type, _REFUSING):
            process = column.type.dialect_impl(dialect).bind_processor(dialect)
            if process is not None:
                found.append((field, process))
    return tuple(found)


def apply_changes(session: Session, changes: Sequence[AnyChange], *, bulk: bool = True
                  ) -> int:
    """Apply a pulled page in the session's transaction; return how many changes took effect.

    Applying a page again, or an older change after a newer one, takes no effect. A malformed
    change raises (pydantic's ValidationError, UnknownEntity) and the caller's transaction
    rolls back with the whole page. `bulk=False` applies change by change even where a bulk
    insert would do (the tests compare the two).
    """
    for change in changes:
        if change.entity not in ENTITIES and change.entity != "application":
            raise UnknownEntity(f"change {change.seq}: unknown entity {change.entity!r}")
    applications = [c for c in changes if c.entity == "application"]
    if applications:  # after the rest of the page: their rows and claims are in by then
        changes = [c for c in changes if c.entity != "application"]
        return apply_changes(session, changes, bulk=bulk) + apply_application_changes(
            session, applications)
    if bulk and _insert_new(session, changes):
        return len(changes)
    page = _Page(session, changes)
    applied = 0
    for change in sorted(changes, key=lambda c: c.seq):
        if change.op == "delete":
            took = _delete(page, change.entity, change.key, change.seq)
        else:
            took = _upsert(page, change.entity, change.key, change.data or {}, change.seq)
        session.flush()
        applied += took
    return applied


def _insert_new(session: Session, changes: Sequence[AnyChange]) -> bool:
    """Apply a page of rows the cache has never seen with one bulk INSERT per table.

    An initial pull is a million such changes, and going through the ORM costs several
    times the insert. Only for a page where every change is an upsert of a key that is in
    neither the table, the tombstones nor the parked changes, appearing once in the page, and
    whose person (for spans and fee rows) is cached or arrives earlier in the page, with no
    delete of that person after it: there, the general path would insert exactly these rows.
    Returns False, having written nothing, for any other page.

    While the cache holds no tombstone and no parked change (an initial pull, until the log
    brings a delete or a part before its person), the keys are not looked up: the tables'
    primary keys refuse a key already there and the foreign keys a part whose person is not
    cached, the inserts are rolled back to a savepoint, and the page goes the general way.
    """
    if not changes or any(c.op != "upsert" for c in changes):
        return False
    ordered = sorted(changes, key=_seq)
    keys = [(c.entity, c.key) for c in ordered]
    if len(set(keys)) != len(keys):
        return False
    connection = session.connection()
    constrained = _nothing_held(connection)
    if not constrained:
        if _any_present(session, TombstoneRecord, keys) or _any_present(
                session, ParkedChangeRecord, keys):
            return False
        by_entity: dict[str, list[str]] = defaultdict(list)
        for entity_name, key in keys:
            by_entity[entity_name].append(key)
        for kind, entity_keys in by_entity.items():
            if _any_present(session, ENTITIES[kind].model, entity_keys):
                return False
    rows: dict[str, list[tuple[Any, ...]]] = defaultdict(list)
    arrived: dict[str, int] = {}  # persons of this page: id -> seq
    owners: dict[str, int] = {}  # person id -> the lowest seq of a part that needs them
    unchecked: set[str] = set()  # persons of parts no foreign key checks (constrained only)
    dialect = connection.dialect
    plans = {name: _insert_plan(name, dialect) for name in {c.entity for c in ordered}}
    for change in ordered:
        name = change.entity
        entity = ENTITIES[name]
        plan = plans[name]
        data: Any = change.data
        # checked as the pull read it (its fields as attributes), or validated here
        if (type(change) not in CHECKED_READ_CHANGES or data is None) and (
                type(data) is not entity.schema):
            data = entity.schema.model_validate(data or {})
        try:
            row = plan.row(change.key, change.seq, data)
        except (ValueError, TypeError):
            check_storable(name, change.seq, data, dialect)  # names the change and the field
            raise
        person_id = entity.person_of(data) if entity.person_of is not None else ""
        if entity.person_of is not None:
            if person_id in arrived:
                if arrived[person_id] > change.seq:
                    return False
            else:
                owners.setdefault(person_id, change.seq)  # in seq order: the lowest first
                if not plan.person_checked:
                    unchecked.add(person_id)
        if name == "person":
            arrived[change.key] = change.seq
        rows[name].append(row)
    if not constrained:
        if owners and not _persons_ready(session, owners):
            return False
        if _any_present(session, ParkedChangeRecord, sorted(arrived),
                        ParkedChangeRecord.person_id):
            return False  # parts waiting for a person of this page: the general path releases
        _write_rows(connection, rows)
    else:
        if any(person_id in arrived for person_id in owners):
            return False  # a part before its person in the page: parked, then released
        if unchecked and not _persons_cached(connection, unchecked):
            return False
        try:
            with connection.begin_nested():  # a SAVEPOINT at once (the session's is lazy)
                _write_rows(connection, rows)
        except IntegrityError:
            return False  # a key already cached, a part whose person is not: the general way
    session.expire_all()  # a fee row already loaded shows its new claim
    return True


def _seq(change: AnyChange) -> int:
    return change.seq


def _write_rows(connection: Connection, rows: dict[str, list[tuple[Any, ...]]]) -> None:
    dialect = connection.dialect
    for table in ENTITIES:  # persons before their parts, for the foreign keys
        if rows.get(table):
            connection.exec_driver_sql(_insert_plan(table, dialect).sql, rows[table])


def _nothing_held(connection: Connection) -> bool:
    """No tombstone, no parked change, and the foreign keys enforced: a bulk insert may leave
    the keys' checks to the tables' constraints."""
    return (connection.exec_driver_sql(_ANY_TOMBSTONE).first() is None
            and connection.exec_driver_sql(_ANY_PARKED).first() is None
            and connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1)


def _persons_cached(connection: Connection, ids: set[str]) -> bool:
    wanted = sorted(ids)
    for start in range(0, len(wanted), _LOAD_CHUNK):
        chunk = wanted[start:start + _LOAD_CHUNK]
        sql = (f"SELECT count(*) FROM {_PERSON_TABLE} "
               f"WHERE id IN ({', '.join('?' for _ in chunk)})")
        if connection.exec_driver_sql(sql, tuple(chunk)).scalar() != len(chunk):
            return False
    return True


_ANY_TOMBSTONE = f"SELECT 1 FROM {TombstoneRecord.__tablename__} LIMIT 1"
_ANY_PARKED = f"SELECT 1 FROM {ParkedChangeRecord.__tablename__} LIMIT 1"
_PERSON_TABLE = PersonRecord.__tablename__


# -- the rows of a bulk insert -----------------------------------------------------------------
#
# A row is the change's key, its validated data's fields and the derived columns, each in the
# form its column type stores. SQLAlchemy converts each value through its type's processor; a
# plan does the same with converters chosen once per column: none where the stored form is the
# value itself (text, integers); booleans become 0 and 1 (see _flag), as the Boolean type does.
# plain_row is the straightforward way (a dict of columns, every value through its processor);
# a property test checks that both give identical rows.

Converter = Callable[[Any], Any]
# amounts already in their stored form (money_text would give them back unchanged): an optional
# minus, no leading zero, ASCII digits (Decimal also reads other scripts' digits), no exponent
_CANONICAL_MONEY = re.compile(r"-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?")
_PERSON_KEYS = ("name_pinyin", "name_initials", "id_reversed", "phone_reversed")


def _money_text(value: Any) -> Any:
    if isinstance(value, str) and _CANONICAL_MONEY.fullmatch(value):
        return value
    return None if value is None else money_text(value)


def _flag(value: Any) -> Any:
    """A boolean as the integer the Boolean type stores. sqlite3 binds only exact ints, floats,
    strings and bytes directly: a bool goes through its adaptation protocol, which costs about
    a microsecond each (looking for `__conform__` raises and catches an AttributeError); an
    initial pull binds eight million of them (a fee row has eight flags)."""
    return value if value is None else 1 if value else 0


def _date_text(value: Any) -> Any:
    return value if value is None else date.isoformat(value)


def _fen(value: Any) -> Any:
    return None if value is None else fen_of(value)


def _day_number(value: Any) -> Any:
    return None if value is None else day_number(value)


@lru_cache(maxsize=4096)
def _repeated_code(value: str) -> Any:
    """code_of for the codes a page repeats (institutions, issuers, streets, devices)."""
    return code_of(value)


_UNIQUE_CODES = {("fee_row", "receipt_no")}  # one a row: not worth remembering


def _column_converter(column: Column[Any], dialect: Dialect) -> Converter | None:
    kind = column.type
    if isinstance(kind, Boolean):
        return _flag
    if isinstance(kind, String | Integer):
        return None
    if isinstance(kind, Money):
        return _money_text
    if isinstance(kind, Fen):
        return _fen
    if isinstance(kind, DayNumber):
        return _day_number
    if isinstance(kind, Code):
        return code_of
    if type(kind) is Date:
        return _date_text
    return kind.dialect_impl(dialect).bind_processor(dialect)  # JSON, UUID, UTC instants


def _sorted_years(convert: Converter | None) -> Converter:
    """The mutual-aid years sorted once each (as the general path stores them), as JSON."""
    if convert is not None and convert([]) == "[]" and convert([2025, 2026]) == "[2025, 2026]":
        def as_json(years: Any) -> Any:  # the column's serializer's form for ints, made directly
            return "[" + ", ".join(str(int(year)) for year in sorted(set(years))) + "]"
        return as_json

    def converted(years: Any) -> Any:
        years = sorted(set(years))
        return years if convert is None else convert(years)
    return converted


@dataclass(frozen=True)
class _InsertPlan:
    """One entity's bulk INSERT and how to build its rows; made once per dialect."""

    entity: str
    sql: str
    columns: tuple[str, ...]
    # (key, seq, validated data) -> the row: one expression made for the entity's columns. The
    # data is the entity's model, or what the pull read (its fields as attributes, checked)
    row: Callable[[str, int, Any], tuple[Any, ...]]
    person_checked: bool  # a foreign key refuses a row whose person is not cached


@cache
def _insert_plan(name: str, dialect: Dialect) -> _InsertPlan:
    entity = ENTITIES[name]
    table = cast(Table, entity.model.__table__)
    packed = _packed(entity)
    bits = {bit for names in packed.values() for bit in names}
    fields = tuple(f for f in entity.schema.model_fields if f != entity.key_field
                   and f not in bits and (name != "claim" or f in _CLAIM_FIELDS))
    columns = (entity.key_field, *fields, *packed, "seq",
               *(_PERSON_KEYS if name == "person" else ()))
    scope: dict[str, Any] = {"name_keys": name_keys, "reversed_key": reversed_key,
                             "money_text": _money_text, "canonical": _CANONICAL_MONEY.fullmatch,
                             "date": date, "_date_text": _date_text, "fen_text": FEN_TEXT,
                             "fen": _fen, "day_number": _day_number, "epoch_day": EPOCH_DAY,
                             "code_of": code_of, "repeated_code": _repeated_code}
    key = "key"
    if isinstance(table.c[entity.key_field].type, Code):
        key = "code_of(key)"
    row = [key]
    for field in fields:
        if not field.isidentifier():
            raise AssertionError(f"{name}.{field} is not a name")
        convert = _column_converter(table.c[field], dialect)
        if name == "person" and field == "mutual_aid_years":
            convert = _sorted_years(convert)
        if convert is None:
            row.append(f"data.{field}")
        elif convert is _flag:
            row.append(f"(None if (v := data.{field}) is None else 1 if v else 0)")
        elif convert is _money_text:  # most amounts are stored as they come: no call
            row.append(f"(v if (v := data.{field}).__class__ is str and (v == '0.00' or "
                       f"canonical(v)) else money_text(v))")
        elif convert is _date_text:
            row.append(f"(v.isoformat() if (v := data.{field}).__class__ is date "
                       f"else _date_text(v))")
        elif convert is _fen:  # "268.25" -> 26825 without a Decimal
            row.append(f"(0 if (v := data.{field}) == '0.00' else int(v.replace('.', '', 1)) "
                       f"if v.__class__ is str and fen_text(v) else fen(v))")
        elif convert is _day_number:
            row.append(f"(v.toordinal() - epoch_day if (v := data.{field}).__class__ is date "
                       f"else day_number(v))")
        elif convert is code_of:  # text checked as str: no None test needed where required
            function = "code_of" if (name, field) in _UNIQUE_CODES else "repeated_code"
            row.append(f"(None if (v := data.{field}) is None else {function}(v))")
        elif isinstance(choice := table.c[field].type, Choice):  # a word -> its position
            scope[f"positions_{field}"] = choice.positions
            scope[f"convert_{field}"] = convert
            row.append(f"(p if (p := positions_{field}.get(v := data.{field})) is not None "
                       f"else convert_{field}(v))")
        else:
            scope[f"convert_{field}"] = convert
            row.append(f"convert_{field}(data.{field})")
    for names in packed.values():  # yes/no fields, one bit each (FeeRowRecord.flags)
        for bit in names:
            if not bit.isidentifier():
                raise AssertionError(f"{name}.{bit} is not a name")
        row.append("(" + " | ".join(f"({1 << n} if data.{bit} else 0)"
                                    for n, bit in enumerate(names)) + ")")
    row.append("seq")
    if name == "person":
        row += ["*name_keys(data.name)", "reversed_key(data.id_number) or ''",
                "reversed_key(data.phone)"]
    # the row as one tuple expression, compiled once (as namedtuple builds its methods)
    source = f"def row(key, seq, data):\n    return ({', '.join(row)},)\n"
    exec(compile(source, f"<insert plan {name}>", "exec"), scope)
    person = table.c.get("person_id")
    checked = person is not None and any(
        key.column.table.name == PersonRecord.__tablename__ for key in person.foreign_keys)
    quote = dialect.identifier_preparer.quote
    sql = (f"INSERT INTO {quote(table.name)} ({', '.join(quote(c) for c in columns)}) "
           f"VALUES ({', '.join('?' for _ in columns)})")
    return _InsertPlan(name, sql, columns, scope["row"], checked)


def plain_row(name: str, key: str, seq: int, data: BaseModel, dialect: Dialect
              ) -> tuple[Any, ...]:
    """The row the bulk insert writes for a change, the straightforward way: the columns the
    general path sets, each value through its column type's bind processor."""
    entity = ENTITIES[name]
    table = cast(Table, entity.model.__table__)
    values = entity.fields(data)
    values[entity.key_field] = key
    values["seq"] = seq
    for column, names in _packed(entity).items():  # through the model's own bits
        record = entity.model()
        for bit in names:
            setattr(record, bit, values.pop(bit))
        values[column] = getattr(record, column)
    if name == "person":
        values["name_pinyin"], values["name_initials"] = name_keys(values["name"])
        values["id_reversed"] = reversed_key(values["id_number"]) or ""
        values["phone_reversed"] = reversed_key(values["phone"])
    row = []
    for column in _insert_plan(name, dialect).columns:
        process = table.c[column].type.dialect_impl(dialect).bind_processor(dialect)
        value = values.pop(column)
        row.append(value if process is None else process(value))
    if values:
        raise AssertionError(f"columns the plan leaves out: {sorted(values)}")
    return tuple(row)


def _packed(entity: _Entity) -> dict[str, tuple[str, ...]]:
    """The model's columns that pack several fields (column -> its fields, bit 0 first)."""
    packed: dict[str, tuple[str, ...]] = getattr(entity.model, "PACKED", {})
    return packed


def bulk_row(name: str, key: str, seq: int, data: BaseModel, dialect: Dialect
             ) -> tuple[Any, ...]:
    """The row the bulk insert writes for a change, through the entity's plan."""
    return _insert_plan(name, dialect).row(key, seq, data)


def _any_present(session: Session, model: type[Base], keys: list[Any],
                 column: Any = None) -> bool:
    """Whether any of `keys` is in the table: by primary key, or by `column`.

    (entity, key) pairs are looked up as keys IN (...) per entity: an IN of row values costs
    SQLAlchemy more to render than SQLite to answer, and so do literal lists, hence the
    expanding parameter (compiled once, cached). An empty table (tombstones and parked
    changes, in an initial pull) answers at once.
    """
    columns = [column] if column is not None else list(inspect(model).primary_key)
    if session.execute(select(columns[0]).limit(1)).first() is None:
        return False
    groups: dict[Any, list[Any]] = defaultdict(list)
    for k in keys:
        if len(columns) == 1:
            groups[None].append(k)
        else:
            groups[k[0]].append(k[1])
    wanted = columns[-1].in_(bindparam("keys", expanding=True))
    for group, values in groups.items():
        if group is None:
            query, params = select(columns[-1]).where(wanted).limit(1), {}
        else:
            query = select(columns[-1]).where(columns[0] == bindparam("group"), wanted).limit(1)
            params = {"group": group}
        for start in range(0, len(values), _LOAD_CHUNK):
            chunk = values[start:start + _LOAD_CHUNK]
            if session.execute(query, {**params, "keys": chunk}).first() is not None:
                return True
    return False


def _persons_ready(session: Session, owners: dict[str, int]) -> bool:
    """Every person is cached and was not deleted after the first part that needs them."""
    ids = sorted(owners)
    chunk_ids: BindParameter[list[str]] = bindparam("ids", expanding=True)
    persons = select(PersonRecord.id).where(PersonRecord.id.in_(chunk_ids))
    deleted = select(TombstoneRecord.key, TombstoneRecord.seq).where(
        TombstoneRecord.entity == "person", TombstoneRecord.key.in_(chunk_ids))
    for start in range(0, len(ids), _LOAD_CHUNK):
        chunk = ids[start:start + _LOAD_CHUNK]
        found = set(session.scalars(persons, {"ids": chunk}))
        if len(found) != len(chunk):
            return False
        if any(seq > owners[key] for key, seq in session.execute(deleted, {"ids": chunk})):
            return False
    return True


class _Page:
    """The session, with the rows a page's changes look up loaded in a few queries.

    One lookup per change and kind of row would cost more than applying the change.
    """

    def __init__(self, session: Session, changes: Sequence[AnyChange]) -> None:
        self.session = session
        self._absent: set[Any] = set()  # identity keys known not to be in the database
        # The page's rows, held: the session's identity map holds unchanged rows weakly only,
        # and a row dropped from it would be selected again at its next lookup.
        self._held: list[Base] = []
        wanted: dict[type[Base], set[Any]] = defaultdict(set)
        for change in changes:
            entity = ENTITIES[change.entity]
            wanted[entity.model].add(change.key)
            wanted[TombstoneRecord].add((change.entity, change.key))
            wanted[ParkedChangeRecord].add((change.entity, change.key))
            data = change.data  # a dict, or the entity's model (a page typed as it was read)
            person_id = (data.get("person_id") if isinstance(data, dict)
                         else getattr(data, "person_id", None))
            if entity.person_of is not None and isinstance(person_id, str):
                wanted[PersonRecord].add(person_id)
                wanted[TombstoneRecord].add(("person", person_id))
        for model, keys in wanted.items():
            self._load(model, sorted(keys))

    def _load(self, model: type[Base], keys: list[Any]) -> None:
        columns = inspect(model).primary_key
        for start in range(0, len(keys), _LOAD_CHUNK):
            chunk = keys[start:start + _LOAD_CHUNK]
            where = columns[0].in_(chunk) if len(columns) == 1 else tuple_(*columns).in_(chunk)
            rows = self.session.scalars(select(model).where(where)).all()
            self._held.extend(rows)
            found = {self.session.identity_key(instance=row) for row in rows}
            self._absent.update(key for key in (self.session.identity_key(model, k)
                                                for k in chunk) if key not in found)

    def get(self, model: type[T], key: Any) -> T | None:
        identity = self.session.identity_key(model, key)
        held = self.session.identity_map.get(identity)
        if held is not None:
            return held  # type: ignore[no-any-return]
        if identity in self._absent:
            return None
        row = self.session.get(model, key)
        if row is not None:
            self._held.append(row)
        return row

    def add(self, row: Base) -> None:
        self.session.add(row)
        self._held.append(row)
        self._absent.discard(self.session.identity_key(instance=row))


def _upsert(page: _Page, name: str, key: str, raw: Any, seq: int) -> bool:
    """`raw`: the change's data, a dict or already its entity's model."""
    entity = ENTITIES[name]
    row = page.get(entity.model, key)
    parked = page.get(ParkedChangeRecord, (name, key))
    held = [_tombstone_seq(page, name, key)]
    held += [row.seq if row is not None else None, parked.seq if parked is not None else None]
    if any(s is not None and s >= seq for s in held):
        return False
    # a dict, or the data a pull read (its fields as attributes: desktop.sync.reader)
    data = entity.schema.model_validate(raw, from_attributes=True)
    check_storable(name, seq, data, page.session.get_bind().dialect)  # before it may be parked
    if entity.person_of is not None:
        person_id = entity.person_of(data)
        ended = _tombstone_seq(page, "person", person_id)
        if ended is not None and ended > seq:
            # Written before its person was deleted: that delete's cascade ended this version.
            # Only this one and older: a newer version may belong to another person.
            _end_version(page, name, key, seq, row, parked)
            return True
        if page.get(PersonRecord, person_id) is None:
            if row is not None:
                page.session.delete(row)  # its newest version belongs to a person not here yet
            _park(page, name, key, seq, person_id, data.model_dump(mode="json"))
            return True
    if parked is not None:
        page.session.delete(parked)
    if row is None:
        row = entity.model(**{entity.key_field: key})
        page.add(row)
    for field, value in entity.fields(data).items():
        setattr(row, field, value)
    row.seq = seq
    if name == "commitment":  # the district holds it: one made here is accepted
        commitment = cast(CommitmentRecord, row)
        commitment.status, commitment.server_reason, commitment.server_message = (
            "accepted", None, None)
    if name == "claim":
        _refresh_fee_row_claim(page, key)
    if name == "person":
        page.session.flush()
        _release_parked(page, key)
    return True


def _delete(page: _Page, name: str, key: str, seq: int) -> bool:
    entity = ENTITIES[name]
    ended = _tombstone_seq(page, name, key)
    if ended is not None and ended >= seq:
        return False
    _set_tombstone(page, name, key, seq)
    row = page.get(entity.model, key)
    removing = row is not None and row.seq < seq
    if name == "person":
        _end_person_parts(page, key, seq, person_removed=removing)
    if removing:
        page.session.delete(row)
    parked = page.get(ParkedChangeRecord, (name, key))
    if parked is not None and parked.seq < seq:
        page.session.delete(parked)
    if name == "claim":
        _refresh_fee_row_claim(page, key)
    return True


def _end_person_parts(page: _Page, person_id: str, seq: int, *,
                      person_removed: bool) -> None:
    """A person's delete at `seq` ends their spans and fee rows written before it.

    Those written after it wait (parked) for the person to come back, as if they had arrived
    after the delete. Done through the session, before the person goes, so the database's
    cascade finds nothing left to delete behind the session's back.
    """
    for name, part in _parts_of(page, person_id):
        if part.seq < seq:
            _set_tombstone(page, name, part.id, part.seq)
        elif person_removed:
            _park(page, name, part.id, part.seq, person_id, _as_data(name, part))
        else:
            continue
        page.session.delete(part)
    for parked in page.session.scalars(select(ParkedChangeRecord).where(
            ParkedChangeRecord.person_id == person_id, ParkedChangeRecord.seq < seq)):
        _set_tombstone(page, parked.entity, parked.key, parked.seq)
        page.session.delete(parked)
    page.session.flush()


def _end_version(page: _Page, name: str, key: str, seq: int, row: SyncedBase | None,
                 parked: ParkedChangeRecord | None) -> None:
    """The version `seq` of a row is gone, and with it every older one."""
    if row is not None:
        page.session.delete(row)
    if parked is not None:
        page.session.delete(parked)
    _set_tombstone(page, name, key, seq)


def _parts_of(page: _Page, person_id: str
              ) -> list[tuple[str, CategorySpanRecord | FeeRowRecord]]:
    spans = page.session.scalars(select(CategorySpanRecord)
                            .where(CategorySpanRecord.person_id == person_id))
    rows = page.session.scalars(select(FeeRowRecord).where(FeeRowRecord.person_id == person_id))
    return [("category_span", s) for s in spans] + [("fee_row", r) for r in rows]


def _as_data(name: str, row: SyncedBase) -> dict[str, Any]:
    """A cached row back in its wire form."""
    schema = ENTITIES[name].schema
    values = {field: getattr(row, field) for field in schema.model_fields}
    for field, value in values.items():
        if isinstance(value, Decimal):
            values[field] = money_text(value)  # the wire's money is text
    return schema.model_validate(values).model_dump(mode="json")


def _tombstone_seq(page: _Page, name: str, key: str) -> int | None:
    tombstone = page.get(TombstoneRecord, (name, key))
    return None if tombstone is None else tombstone.seq


def _set_tombstone(page: _Page, name: str, key: str, seq: int) -> None:
    tombstone = page.get(TombstoneRecord, (name, key))
    if tombstone is None:
        page.add(TombstoneRecord(entity=name, key=key, seq=seq))
    else:
        tombstone.seq = max(tombstone.seq, seq)


def _park(page: _Page, name: str, key: str, seq: int, person_id: str,
          data: dict[str, Any]) -> None:
    parked = page.get(ParkedChangeRecord, (name, key))
    if parked is None:
        parked = ParkedChangeRecord(entity=name, key=key)
        page.add(parked)
    parked.seq, parked.person_id, parked.data = seq, person_id, data


def _release_parked(page: _Page, person_id: str) -> None:
    """Apply the spans and fee rows that were waiting for this person."""
    waiting = page.session.scalars(select(ParkedChangeRecord)
                              .where(ParkedChangeRecord.person_id == person_id)
                              .order_by(ParkedChangeRecord.seq)).all()
    for parked in waiting:
        name, key, seq, data = parked.entity, parked.key, parked.seq, parked.data
        page.session.delete(parked)
        page.session.flush()
        _upsert(page, name, key, data, seq)


def _refresh_fee_row_claim(page: _Page, fee_row_id: str) -> None:
    """A fee row already loaded shows its new claim (the relationship is read-only)."""
    page.session.flush()
    fee_row = page.session.identity_map.get(page.session.identity_key(FeeRowRecord, fee_row_id))
    if fee_row is not None:
        page.session.expire(fee_row, ["claim"])


# -- cursors ------------------------------------------------------------------------------------

def get_cursor(session: Session, stream: str) -> int:
    """The last seq pulled on `stream` (0: nothing yet)."""
    row = session.get(SyncCursorRecord, stream)
    return 0 if row is None else row.cursor


def set_cursor(session: Session, stream: str, cursor: int) -> None:
    """Record the last seq pulled; in the page's transaction, so the cursor and data agree."""
    row = session.get(SyncCursorRecord, stream)
    if row is None:
        session.add(SyncCursorRecord(stream=stream, cursor=cursor, updated_at=utc_now()))
    else:
        row.cursor = cursor
        row.updated_at = utc_now()
