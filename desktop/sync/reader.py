"""Reading a page of pulled changes in one pass, each change's data checked as it is read.

A change's data is the fields of its entity's *Data model (a JSON object on the wire). Read
with pydantic, a page of 5,000 fee rows took 32 ms, most of an initial pull's reading (1.4
million changes). Here msgspec reads it (11 ms) into structs made from the same models: each
known entity's change becomes a struct whose `data` has the model's fields as attributes, the
same types and bounds, a field left out taking the model's default and any other field
refused. The store takes the data of these types (`wire.CHECKED_READ_CHANGES`) as checked.
The data of another entity (an application, with its nested case and rows) is read by pydantic
as before, into a `wire.Change`.

msgspec accepts less than pydantic does (no "2" for an int, no "2026-01-01T00:00:00" for a
date), never more, and gives the same values where both accept (hypothesis tests in
tests/store/test_changes_rows.py). The one place where the two differ, fractions of a second
beyond microseconds (msgspec rounds, pydantic cuts), is read by pydantic's own parser. A page
msgspec refuses is read as `wire.ChangesPage`, each change's data a dict, and the store
validates it change by change with the model and refuses the one that is wrong, with its seq,
as before.
"""

from __future__ import annotations

import datetime as dt
import uuid
from types import NoneType, UnionType
from typing import Annotated, Any, Literal, Union, get_args, get_origin

import annotated_types
import msgspec
from pydantic import BaseModel, TypeAdapter, ValidationError

from desktop import wire

# the entities whose data is read here; any other (an application, with its nested rows) is
# read as a dict and validated by the store
TYPED_DATA: dict[str, type[BaseModel]] = {
    "person": wire.PersonData,
    "category_span": wire.CategorySpanData,
    "institution": wire.InstitutionData,
    "fee_row": wire.FeeRowData,
    "claim": wire.ClaimData,
    "parameter_version": wire.ParameterVersionData,
    "commitment": wire.CommitmentData,
}

_SCALARS = (str, int, bool, dt.date, uuid.UUID)  # read by msgspec as pydantic reads them
_BOUNDS = {annotated_types.Ge: "ge", annotated_types.Gt: "gt", annotated_types.Le: "le",
           annotated_types.Lt: "lt", annotated_types.MinLen: "min_length",
           annotated_types.MaxLen: "max_length"}


class Instant(dt.datetime):
    """A datetime read from the wire by pydantic's own parser (see _read_instant)."""

    __slots__ = ()


_DATETIME = TypeAdapter(dt.datetime)


def _read_instant(kind: type, value: Any) -> Any:
    """msgspec's hook for the types it does not read itself: an Instant, from its text."""
    if kind is not Instant:
        raise TypeError(f"no reader for {kind!r}")
    if type(value) is not str:
        raise TypeError("an instant is ISO 8601 text")  # a number: pydantic's reading decides
    d = _DATETIME.validate_python(value)
    return Instant(d.year, d.month, d.day, d.hour, d.minute, d.second, d.microsecond, d.tzinfo,
                   fold=d.fold)


def _field_type(where: str, annotation: Any) -> Any:
    """The msgspec type reading what pydantic reads for `annotation`; an annotation without one
    is refused here, at import, rather than read differently."""
    origin = get_origin(annotation)
    if annotation is dt.datetime:
        return Instant
    if annotation in _SCALARS or annotation is NoneType:
        return annotation
    if origin is Literal and all(type(a) is str for a in get_args(annotation)):
        return annotation
    if origin in (Union, UnionType):
        return Union[tuple(_field_type(where, a) for a in get_args(annotation))]  # noqa: UP007
    if origin is list:
        (item,) = get_args(annotation)
        return list[_field_type(where, item)]  # type: ignore[misc]
    if origin is Annotated:
        inner, *metadata = get_args(annotation)
        return _constrained(where, _field_type(where, inner), metadata)
    raise TypeError(f"{where}: {annotation!r} has no reader in desktop/sync/reader.py")


def _constrained(where: str, kind: Any, metadata: list[Any]) -> Any:
    bounds: dict[str, Any] = {}
    for item in metadata:
        name = _BOUNDS.get(type(item))
        if name is None:
            raise TypeError(f"{where}: constraint {item!r} has no reader in "
                            "desktop/sync/reader.py")
        bounds[name] = getattr(item, name)
    return Annotated[kind, msgspec.Meta(**bounds)] if bounds else kind


def data_struct_type(schema: type[BaseModel]) -> type[msgspec.Struct]:
    """A struct with the fields of `schema` as pydantic reads them from JSON: their types and
    bounds, the model's defaults, no other field. The model must have no validators of its own
    (a test checks); a setting or an alias the struct would not follow stops the import."""
    if dict(schema.model_config) != {"extra": "forbid", "frozen": True}:
        raise TypeError(f"{schema.__name__}: settings {dict(schema.model_config)} have no "
                        "reader in desktop/sync/reader.py")
    fields: list[Any] = []
    for name, info in schema.model_fields.items():
        where = f"{schema.__name__}.{name}"
        if info.alias or info.validation_alias:
            raise TypeError(f"{where}: an alias has no reader in desktop/sync/reader.py")
        kind = _constrained(where, _field_type(where, info.annotation), info.metadata)
        if info.is_required():
            fields.append((name, kind))
        else:
            default = info.get_default(call_default_factory=True)
            if isinstance(default, list | dict | set):
                if default:
                    raise TypeError(f"{where}: a non-empty mutable default")
                fields.append((name, kind, msgspec.field(default_factory=type(default))))
            else:
                fields.append((name, kind, default))
    return msgspec.defstruct(f"{schema.__name__}Fields", fields, kw_only=True, frozen=True,
                             forbid_unknown_fields=True, gc=False)


class _Change(msgspec.Struct, frozen=True, gc=False, tag_field="entity",
              forbid_unknown_fields=True):
    """A change as read: seq, key, op and data; `entity` is its type's tag."""

    seq: int
    key: str
    op: Literal["upsert", "delete"]
    entity = ""  # set for each type made below; on the wire, the tag


def _change_types() -> list[Any]:
    kinds = []
    for entity, schema in TYPED_DATA.items():
        read = msgspec.defstruct(f"Read{schema.__name__}Change",
                                 [("data", data_struct_type(schema) | None)],
                                 bases=(_Change,), tag=entity, namespace={"entity": entity})
        wire.CHECKED_READ_CHANGES.add(read)
        kinds.append(read)
    for entity in sorted(set(get_args(wire.Entity)) - set(TYPED_DATA)):
        # its data kept as the JSON text it is, read by pydantic (see _as_change)
        kinds.append(msgspec.defstruct(f"Read{entity.title()}Change",
                                       [("data", msgspec.Raw)], bases=(_Change,), tag=entity,
                                       namespace={"entity": entity}))
    return kinds


_PAGE = msgspec.defstruct("ReadChangesPage", [
    ("items", list[Union[tuple(_change_types())]]),  # type: ignore[misc]  # noqa: UP007
    ("next_cursor", int), ("more", bool), ("total", int | None, None),
    ("generation", str | None, None), ("newest", int | None, None), ("count", int | None, None),
], forbid_unknown_fields=True, gc=False)
_DECODER = msgspec.json.Decoder(_PAGE, dec_hook=_read_instant)
_PAGE_FIELDS = tuple(wire.ChangesPage.model_fields)
_DATA = TypeAdapter(dict[str, Any] | None)  # wire.Change's data, as pydantic reads it


def _as_change(change: Any) -> Any:
    """A change of a known entity as read; another's as wire.Change, its data read by pydantic
    from its JSON text, exactly as a page read by pydantic holds it."""
    if type(change) in wire.CHECKED_READ_CHANGES:
        return change
    return wire.Change.model_construct(seq=change.seq, entity=change.entity, key=change.key,
                                       op=change.op, data=_DATA.validate_json(bytes(change.data)))


def parse_changes_page(content: bytes | str) -> wire.ChangesPage:
    """A page of changes, each change's data checked for its entity where it can be."""
    try:
        read: Any = _DECODER.decode(content)
        items = [_as_change(c) for c in read.items]
    # not as the district writes it (RecursionError: nested deeper than msgspec reads):
    # pydantic reads it, or says why
    except (msgspec.MsgspecError, ValidationError, RecursionError):
        return wire.ChangesPage.model_validate_json(content)
    fields = {name: getattr(read, name) for name in _PAGE_FIELDS}
    return wire.ChangesPage.model_construct(**(fields | {"items": items}))
