"""Dated policy parameters read from `resources/policy/*.yaml` (POLICY.md §0.1).

Every value has `effective_from`, optional `effective_to`, a `source` citing POLICY.md's keys
and an optional `assumption` flag (POLICY.md §4). A value stays in force after its
`effective_to` until a newer one is loaded, with a warning (POLICY.md D5).
"""

from __future__ import annotations

import itertools
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from fnmatch import fnmatchcase
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

from desktop.paths import resources_dir
from desktop.policy.money import MoneyFormatError, parse_amount

SCHEMA = "counter-policy/1"
PROGRAM_FILES = ("assistance", "mutual_aid", "care", "employee_outpatient", "premium_subsidy")
DISTRICTS = ("shanghai", "changning", "minhang")
_SOURCE = re.compile(r"(MA-2021|SA-2022|CN-2026|MH-2026|EMP-2021|POLICY) \S.*")
_MONTH_DAY = re.compile(r"(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])")

Value = Decimal | int | str | tuple[str, ...] | None


class ParameterFileError(ValueError):
    """A parameter file that cannot be used; the message names the file and the key."""


class ParameterGap(LookupError):
    """No value of a parameter is in force on a date (the date is before its first value)."""

    def __init__(self, key: str, day: date) -> None:
        super().__init__(f"no value of policy parameter {key} is in force on {day.isoformat()}")
        self.key = key
        self.day = day


@dataclass(frozen=True, slots=True)
class ParameterValue:
    """One dated value of a parameter, with where it comes from."""

    key: str
    value: Value
    effective_from: date
    effective_to: date | None
    source: str
    assumption: bool
    file: str
    unit: str = "text"  # rate | money | money-or-null | int | text | category-codes | ...

    def expired_on(self, day: date) -> bool:
        """True when the source's validity has ended before `day` (POLICY.md D5)."""
        return self.effective_to is not None and day > self.effective_to


# The type of every parameter, by program; `*` stands for a category code or a level.
# A key missing here is a typo in a file and is refused.
_RATE, _MONEY, _MONEY_OR_NONE, _INT, _TEXT, _CODES, _MONTH_DAY_T, _KIND = (
    "rate", "money", "money-or-null", "int", "text", "category-codes", "month-day", "kind",
)
SPEC: dict[str, dict[str, str]] = {
    "assistance": {
        "category.*.inpatient_rate": _RATE,
        "category.*.outpatient_rate": _RATE,
        "category.*.inpatient_cap": _MONEY_OR_NONE,
        "category.*.outpatient_cap": _MONEY_OR_NONE,
        "major_outpatient_as": _KIND,
        "deductible_subsidy.categories": _CODES,
        "deductible_subsidy.rate": _RATE,
        "claim_window_months": _INT,
        "major_illness_doc": _TEXT,
        "district_round.rate": _RATE,
        "district_round.cap": _MONEY,
        "expenditure_2_check.ratio": _RATE,
        "expenditure_2_check.months": _INT,
        "expenditure_2_check.spending_basis": _TEXT,
        "procedure.auto_claim_by_day": _INT,
        "procedure.report_by_day": _INT,
        "procedure.payout_by_day": _INT,
    },
    "mutual_aid": {
        "allowance.yearly": _MONEY,
        "outpatient.threshold": _MONEY,
        "outpatient.rate.level_1": _RATE,
        "outpatient.rate.level_2": _RATE,
        "outpatient.rate.level_3": _RATE,
        "inpatient.external.rate": _RATE,
        "inpatient.no_external.rate": _RATE,
        "inpatient.no_external.deductible": _MONEY,
        "inpatient.floor": _RATE,
        "enrolment.from": _MONTH_DAY_T,
        "enrolment.to": _MONTH_DAY_T,
        "enrolment.fee": _MONEY,
        "funding.medical": _MONEY,
        "funding.care": _MONEY,
        "funding.shares.city": _RATE,
        "funding.shares.district": _RATE,
        "funding.town_split.town": _RATE,
    },
    "care": {
        "assessment.fee": _MONEY,
        "assessment.fund_share": _RATE,
        "home.visits_per_week.grade_2_3": _INT,
        "home.visits_per_week.grade_4": _INT,
        "home.visits_per_week.grade_5_6": _INT,
        "home.hours_per_visit": _INT,
        "home.hourly.nurse": _MONEY,
        "home.hourly.medical_carer": _MONEY,
        "home.hourly.carer": _MONEY,
        "home.fund_share": _RATE,
        "institution.daily.grade_2_3": _MONEY,
        "institution.daily.grade_4": _MONEY,
        "institution.daily.grade_5_6": _MONEY,
        "institution.fund_share": _RATE,
    },
    "employee_outpatient": {
        "deductible.in_work": _MONEY,
        "deductible.retired_after_2001": _MONEY,
        "deductible.retired_before_2001": _MONEY,
        "fund_share.*.level_1": _RATE,
        "fund_share.*.level_2": _RATE,
        "fund_share.*.level_3": _RATE,
    },
    "premium_subsidy": {
        "full.categories": _CODES,
        "fixed.categories": _CODES,
        "fixed.min_age": _INT,
        "fixed.personal": _MONEY,
    },
}
# Keys a base file may leave out (district overlays add them).
OPTIONAL = {
    "assistance": ("district_round.*", "procedure.*"),
    "mutual_aid": ("funding.town_split.*",),
}
_ENTRY_FIELDS = {"value", "effective_from", "effective_to", "source", "assumption"}


@dataclass(frozen=True, slots=True)
class Category:
    code: str
    label: str
    order: int  # position in the file: the tie-break of 就高不重复 between equal rates


@dataclass
class ProgramParameters:
    """The parameters of one program for one district: the base file with the overlay on top."""

    program: str
    district: str
    series: Mapping[str, tuple[ParameterValue, ...]]
    categories: Mapping[str, Category]
    _cache: dict[tuple[str, date], ParameterValue | None] = field(default_factory=dict, repr=False)
    _changes: tuple[date, ...] | None = field(default=None, repr=False)

    def at(self, key: str, day: date) -> ParameterValue | None:
        """The value in force on `day`: the latest one starting on or before it, or None."""
        hit = self._cache.get((key, day), _MISSING)
        if hit is not _MISSING:
            return hit  # type: ignore[return-value]
        found: ParameterValue | None = None
        for entry in self.series.get(key, ()):
            if entry.effective_from <= day:
                found = entry
            else:
                break
        self._cache[(key, day)] = found
        return found

    def require(self, key: str, day: date) -> ParameterValue:
        found = self.at(key, day)
        if found is None:
            raise ParameterGap(f"{self.program}.{key}", day)
        return found

    def has(self, key: str) -> bool:
        return key in self.series

    def change_dates(self) -> tuple[date, ...]:
        """Every date on which some value of this program starts or stops being the newest.

        Between two consecutive change dates every lookup gives the same entry.
        """
        if self._changes is None:
            days: set[date] = set()
            for entries in self.series.values():
                days.update(e.effective_from for e in entries)
            self._changes = tuple(sorted(days))
        return self._changes


_MISSING = object()


@dataclass(frozen=True)
class PolicyParameters:
    """Everything in `resources/policy/`: base files per program and district overlays."""

    base: Mapping[str, Mapping[str, tuple[ParameterValue, ...]]]
    overlays: Mapping[str, Mapping[str, Mapping[str, tuple[ParameterValue, ...]]]]
    categories: Mapping[str, Category]
    titles: Mapping[str, str]
    _views: dict[tuple[str, str], ProgramParameters] = field(default_factory=dict, compare=False)

    def for_program(self, program: str, district: str) -> ProgramParameters:
        view = self._views.get((program, district))
        if view is None:
            merged = dict(self.base[program])
            merged.update(self.overlays.get(district, {}).get(program, {}))
            view = ProgramParameters(program, district, merged, self.categories)
            self._views[(program, district)] = view
        return view

    def all_values(self) -> Iterable[ParameterValue]:
        """Every dated value of every file, base and overlays."""
        for program in self.base.values():
            for entries in program.values():
                yield from entries
        for district in self.overlays.values():
            for program in district.values():
                for entries in program.values():
                    yield from entries


@lru_cache(maxsize=1)
def default_parameters() -> PolicyParameters:
    """The parameters shipped in resources/policy, read once."""
    return load_parameters(resources_dir() / "policy")


def load_parameters(directory: Path) -> PolicyParameters:
    """Read and validate every parameter file; a bad file raises ParameterFileError."""
    base: dict[str, dict[str, tuple[ParameterValue, ...]]] = {}
    categories: dict[str, Category] = {}
    titles: dict[str, str] = {}
    for program in PROGRAM_FILES:
        path = directory / f"{program}.yaml"
        doc = _read(path)
        _expect_keys(path, doc, required={"schema", "program", "title", "parameters"},
                     optional={"categories"})
        if doc["program"] != program:
            _fail(path, "program", f"is {doc['program']!r}, the file name says {program!r}")
        titles[program] = _text(path, "title", doc["title"])
        if program == "assistance":
            categories = _read_categories(path, doc.get("categories"))
        elif "categories" in doc:
            _fail(path, "categories", "only assistance.yaml declares the categories")
        base[program] = _read_tree(path, program, doc["parameters"])
    for program, series in base.items():
        _check_codes(directory / f"{program}.yaml", series, categories, "parameters.")
        _check_required(directory / f"{program}.yaml", program, series, categories)
    overlays: dict[str, dict[str, dict[str, tuple[ParameterValue, ...]]]] = {}
    for district in DISTRICTS:
        path = directory / "districts" / f"{district}.yaml"
        if district == "shanghai":
            if path.exists():
                _fail(path, "district", "shanghai means city rules only and has no overlay")
            continue
        doc = _read(path)
        _expect_keys(path, doc, {"schema", "district", "title", "programs"}, set())
        if doc["district"] != district:
            _fail(path, "district", f"is {doc['district']!r}, the file name says {district!r}")
        titles[district] = _text(path, "title", doc["title"])
        programs = doc["programs"]
        if not isinstance(programs, dict):
            _fail(path, "programs", "must be a mapping of program to parameters")
        overlays[district] = {}
        for program, tree in programs.items():
            if program not in SPEC:
                _fail(path, f"programs.{program}", f"unknown program; known: {', '.join(SPEC)}")
            series = _read_tree(path, program, tree, prefix=f"programs.{program}.")
            _check_codes(path, series, categories, f"programs.{program}.")
            overlays[district][program] = series
    return PolicyParameters(base, overlays, categories, titles)


class _YamlDate(str):
    """An unquoted YAML date, kept as text so that an impossible one names its key."""


class _DuplicateKey(Exception):
    def __init__(self, key: object, line: int) -> None:
        self.key = key
        self.line = line


class _Loader(yaml.SafeLoader):
    """YAML as the parameter files need it: dates as text, a key written twice refused."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: set[Any] = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            if key in seen:
                raise _DuplicateKey(key, key_node.start_mark.line + 1)
            seen.add(key)
        return super().construct_mapping(node, deep)


def _timestamp(loader: yaml.SafeLoader, node: yaml.ScalarNode) -> _YamlDate:
    return _YamlDate(loader.construct_scalar(node))


_Loader.add_constructor("tag:yaml.org,2002:timestamp", _timestamp)


def _read(path: Path) -> dict[str, Any]:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ParameterFileError(f"{path}: cannot be read ({exc.strerror or exc})") from None
    except UnicodeDecodeError:
        raise ParameterFileError(f"{path.name}: is not UTF-8 text") from None
    try:
        doc = yaml.load(text, Loader=_Loader)  # a SafeLoader subclass: no arbitrary objects
    except _DuplicateKey as dup:
        raise ParameterFileError(
            f"{path.name}: {dup.key}: written twice (line {dup.line})") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark is not None else ""
        raise ParameterFileError(f"{path}: not valid YAML{where}") from None
    if not isinstance(doc, dict):
        raise ParameterFileError(f"{path}: must hold a mapping")
    if doc.get("schema") != SCHEMA:
        _fail(path, "schema", f"must be {SCHEMA!r}")
    return doc


def _fail(path: Path, key: str, what: str) -> None:
    raise ParameterFileError(f"{path.name}: {key}: {what}")


def _expect_keys(
    path: Path, doc: Mapping[str, Any], required: set[str], optional: set[str]
) -> None:
    for key in sorted(required - doc.keys()):
        _fail(path, key, "missing")
    for key in sorted(doc.keys() - required - optional):
        _fail(path, str(key), "unknown key")


def _text(path: Path, key: str, value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        _fail(path, key, "must be a non-empty string")
    return str(value)


def _read_categories(path: Path, raw: Any) -> dict[str, Category]:
    if not isinstance(raw, dict) or not raw:
        _fail(path, "categories", "must map each category code to its Chinese name")
    result: dict[str, Category] = {}
    for order, (code, label) in enumerate(raw.items()):
        if not isinstance(code, str) or not re.match(r"^[a-z][a-z0-9_]*$", code):
            _fail(path, f"categories.{code}", "a code is lower-case letters, digits and _")
        result[code] = Category(code, _text(path, f"categories.{code}", label), order)
    return result


def _read_tree(path: Path, program: str, tree: Any, prefix: str = "parameters.") -> dict[
    str, tuple[ParameterValue, ...]
]:
    if not isinstance(tree, dict):
        _fail(path, prefix.rstrip("."), "must be a mapping")
    out: dict[str, tuple[ParameterValue, ...]] = {}

    def walk(node: Any, key: str) -> None:
        if isinstance(node, list):
            out[key] = _read_series(path, program, key, prefix + key, node)
        elif isinstance(node, dict) and node:
            for child, sub in node.items():
                walk(sub, f"{key}.{child}" if key else str(child))
        else:
            _fail(path, prefix + key, "must be a mapping or a list of dated values")

    walk(tree, "")
    return out


def _kind_of(program: str, key: str) -> str | None:
    for pattern, kind in SPEC[program].items():
        if fnmatchcase(key, pattern):
            return kind
    return None


def _read_series(
    path: Path, program: str, key: str, where: str, raw: list[Any]
) -> tuple[ParameterValue, ...]:
    kind = _kind_of(program, key)
    if kind is None:
        _fail(path, where, f"unknown parameter for {program}")
        raise AssertionError  # unreachable, for the type checker
    if not raw:
        _fail(path, where, "needs at least one dated value")
    entries: list[ParameterValue] = []
    for i, item in enumerate(raw):
        at = f"{where}[{i}]"
        if not isinstance(item, dict):
            _fail(path, at, "must be a mapping with value, effective_from and source")
        for missing in sorted({"value", "effective_from", "source"} - item.keys()):
            _fail(path, f"{at}.{missing}", "missing")
        for unknown in sorted(item.keys() - _ENTRY_FIELDS):
            _fail(path, f"{at}.{unknown}", "unknown field")
        start = _date(path, f"{at}.effective_from", item["effective_from"])
        end = None
        if item.get("effective_to") is not None:
            end = _date(path, f"{at}.effective_to", item["effective_to"])
            if end < start:
                _fail(path, f"{at}.effective_to", "must be a date not before effective_from")
        source = item["source"]
        if not isinstance(source, str) or not _SOURCE.fullmatch(source):
            _fail(path, f"{at}.source", "must cite a source key and clause, e.g. 'MH-2026 §八.六'")
        assumption = item.get("assumption", False)
        if not isinstance(assumption, bool):
            _fail(path, f"{at}.assumption", "must be true or false")
        value = _convert(path, f"{at}.value", kind, item["value"])
        entries.append(
            ParameterValue(key, value, start, end, source, assumption, path.name, kind)
        )
    for before, after in itertools.pairwise(entries):
        if after.effective_from <= before.effective_from:
            _fail(path, where, "values must be listed in order of effective_from")
        if before.effective_to is not None and before.effective_to >= after.effective_from:
            _fail(path, where, f"values overlap around {after.effective_from.isoformat()}")
    return tuple(entries)


def _date(path: Path, where: str, raw: Any) -> date:
    if not isinstance(raw, _YamlDate):
        _fail(path, where, "must be an unquoted date like 2026-01-01")
    if not re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", raw):
        _fail(path, where, f"must be a date without a time, like 2026-01-01 (got {raw})")
    try:
        return date.fromisoformat(raw)
    except ValueError:
        _fail(path, where, f"{raw} is not a real date")
        raise AssertionError from None  # unreachable, for the type checker


def _convert(path: Path, where: str, kind: str, raw: Any) -> Value:
    if kind in (_RATE, _MONEY, _MONEY_OR_NONE):
        if raw is None and kind == _MONEY_OR_NONE:
            return None
        if not isinstance(raw, str):
            _fail(path, where, 'must be a quoted decimal string, e.g. "0.90"')
        if kind == _RATE:
            if not re.fullmatch(r"(0|1)(\.[0-9]{1,4})?", raw) or Decimal(raw) > 1:
                _fail(path, where, f"must be a rate between 0 and 1, e.g. \"0.90\" (got {raw!r})")
            return Decimal(raw)
        try:
            return parse_amount(raw)
        except MoneyFormatError as exc:
            _fail(path, where, str(exc))
    if kind == _INT:
        if not isinstance(raw, int) or isinstance(raw, bool) or raw < 0:
            _fail(path, where, "must be a non-negative whole number")
        return int(raw)
    if kind == _TEXT:
        return _text(path, where, raw)
    if kind == _KIND:
        if raw not in ("inpatient", "outpatient"):
            _fail(path, where, "must be inpatient or outpatient")
        return str(raw)
    if kind == _MONTH_DAY_T:
        if not isinstance(raw, str) or not _MONTH_DAY.fullmatch(raw) or not _real_month_day(raw):
            _fail(path, where, "must be a month and day like '10-01'")
        return str(raw)
    if kind == _CODES:
        if not isinstance(raw, list) or not all(isinstance(c, str) for c in raw):
            _fail(path, where, "must be a list of category codes")
        return tuple(raw)
    raise AssertionError(kind)


def _check_codes(
    path: Path,
    series: Mapping[str, tuple[ParameterValue, ...]],
    categories: Mapping[str, Category],
    prefix: str,
) -> None:
    for key, entries in series.items():
        if key.startswith("category."):
            code = key.split(".")[1]
            if code not in categories:
                _fail(path, f"{prefix}{key}", f"unknown category {code!r}")
        for entry in entries:
            if isinstance(entry.value, tuple):
                for code in entry.value:
                    if code not in categories:
                        _fail(path, f"{prefix}{key}", f"unknown category {code!r}")


def _real_month_day(text: str) -> bool:
    month, day = (int(part) for part in text.split("-"))
    try:
        date(2000, month, day)  # a leap year, so 02-29 is a real day
    except ValueError:
        return False
    return True


def _check_required(
    path: Path,
    program: str,
    series: Mapping[str, tuple[ParameterValue, ...]],
    categories: Mapping[str, Category],
) -> None:
    optional = OPTIONAL.get(program, ())
    for pattern in SPEC[program]:
        if any(fnmatchcase(pattern, o) for o in optional):
            continue
        if pattern.startswith("category.*"):
            names = [pattern.replace("*", code, 1) for code in categories]
        elif pattern.startswith("fund_share.*"):
            names = [pattern.replace("*", s, 1)
                     for s in ("in_work", "retired_after_2001", "retired_before_2001")]
        else:
            names = [pattern]
        for name in names:
            if name not in series:
                _fail(path, f"parameters.{name}", "missing")


# -- values published by the district (M18) ------------------------------------------------------

FIELD_LABELS = {"key": "参数", "value": "数值", "effective_from": "生效日期", "source": "依据/来源",
                "assumption": "按本区口径"}


class PublishedValueError(ValueError):
    """A published value the loader's rules refuse; `field` names the form field at fault."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{FIELD_LABELS.get(field, field)}：{message}")
        self.field = field
        self.message = message


@dataclass(frozen=True, slots=True)
class PublishedValue:
    """One dated value as the district keeps and sends it: `key` is "file:key" (the file a
    program's or a district overlay's, e.g. "minhang:district_round.rate"), `value` its text."""

    key: str
    effective_from: date
    value: str
    source: str
    assumption: bool = False


def value_text(value: Value) -> str:
    """A value as the wire's text: amounts and rates as decimals, lists as JSON, None as null."""
    if isinstance(value, str):
        return value
    if isinstance(value, Decimal | int):
        return str(value)
    if value is None:
        return "null"
    return json.dumps(list(value), ensure_ascii=False)


def program_of(file: str, key: str) -> str | None:
    """The program whose SPEC holds `key` for a parameter file ("assistance", "minhang"...)."""
    if file in SPEC:
        return file if _kind_of(file, key) is not None else None
    if file in DISTRICTS and file != "shanghai":
        found = [p for p in SPEC if _kind_of(p, key) is not None]
        return found[0] if len(found) == 1 else None
    return None


def validate_published(key: str, effective_from: date | str, value: str, source: str,
                       assumption: bool = False,
                       categories: Mapping[str, Category] | None = None) -> ParameterValue:
    """One published value checked by the loader's rules: the key known to SPEC for its file's
    program (a district overlay: the program that has it), the value read by its unit, the date
    a real date, the source citing a source key and clause. PublishedValueError otherwise."""
    codes = categories if categories is not None else default_parameters().categories
    file, sep, name = key.strip().partition(":")
    if not sep or not name:
        raise PublishedValueError("key", "应写作“文件:参数”，例如 assistance:category.dibao."
                                         "outpatient_rate")
    if file not in SPEC and file not in DISTRICTS[1:]:
        raise PublishedValueError("key", f"没有参数文件 {file}（可选：{'、'.join(SPEC)}、"
                                         f"{'、'.join(DISTRICTS[1:])}）")
    program = program_of(file, name)
    if program is None:
        raise PublishedValueError("key", f"{file} 中没有参数 {name}")
    for part in (name.split(".")[1],) if name.startswith("category.") else ():
        if part not in codes:
            raise PublishedValueError("key", f"没有救助类别 {part}")
    start = _published_date(effective_from)
    source = source.strip()
    if not _SOURCE.fullmatch(source):
        raise PublishedValueError("source", "须写明依据文件代号和条款，例如“MH-2026 §八.六”"
                                            "（代号：MA-2021、SA-2022、CN-2026、MH-2026、"
                                            "EMP-2021、POLICY）")
    kind = _kind_of(program, name)
    assert kind is not None
    parsed = _published_value(kind, value.strip(), codes)
    return ParameterValue(name, parsed, start, None, source, bool(assumption), f"{file}.yaml",
                          kind)


def _published_date(raw: date | str) -> date:
    if isinstance(raw, date):
        return raw
    text = raw.strip()
    if not re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", text):
        raise PublishedValueError("effective_from", f"须为日期，如 2026-07-01（填的是“{text}”）")
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise PublishedValueError("effective_from", f"{text} 不是真实的日期") from None


_UNIT_HINTS = {_RATE: "0 到 1 之间的比例，最多四位小数，如 0.90",
               _MONEY: "金额，如 30000.00", _MONEY_OR_NONE: "金额，如 30000.00，或 null 表示不封顶",
               _INT: "非负整数", _TEXT: "非空文字", _KIND: "inpatient 或 outpatient",
               _MONTH_DAY_T: "月-日，如 10-01", _CODES: "救助类别代码列表，如 [\"dibao\"]"}


def _published_value(kind: str, text: str, codes: Mapping[str, Category]) -> Value:
    hint = _UNIT_HINTS[kind]
    bad = PublishedValueError("value", f"须为{hint}（填的是“{text}”）")
    if kind == _MONEY_OR_NONE and text in ("null", "", "不封顶"):
        return None
    if kind == _RATE:
        if not re.fullmatch(r"(0|1)(\.[0-9]{1,4})?", text) or Decimal(text) > 1:
            raise bad
        return Decimal(text)
    if kind in (_MONEY, _MONEY_OR_NONE):
        try:
            return parse_amount(text).quantize(Decimal("0.01"))  # fen, as the files write it
        except MoneyFormatError:
            raise bad from None
    if kind == _INT:
        if not re.fullmatch(r"[0-9]{1,9}", text):
            raise bad
        return int(text)
    if kind == _TEXT:
        if not text:
            raise bad
        return text
    if kind == _KIND:
        if text not in ("inpatient", "outpatient"):
            raise bad
        return text
    if kind == _MONTH_DAY_T:
        if not _MONTH_DAY.fullmatch(text) or not _real_month_day(text):
            raise bad
        return text
    if kind == _CODES:
        try:
            raw = json.loads(text) if text.startswith("[") else [
                c for c in re.split(r"[,，、\s]+", text) if c]
        except ValueError:
            raise bad from None
        if not isinstance(raw, list) or not all(isinstance(c, str) for c in raw):
            raise bad
        unknown = [c for c in raw if c not in codes]
        if unknown:
            raise PublishedValueError("value", f"没有救助类别 {'、'.join(unknown)}")
        return tuple(raw)
    raise AssertionError(kind)


def with_published(parameters: PolicyParameters,
                   published: Iterable[PublishedValue]) -> PolicyParameters:
    """The shipped parameters with the district's published values: each one more dated entry
    of its series (the same key and date replaces the shipped entry, unless it is the same
    value). A district overlay's first value of a key continues the city's series. A value the
    rules refuse is left out (the district validated it; an older counter may not know it)."""
    base = {p: dict(s) for p, s in parameters.base.items()}
    overlays = {d: {p: dict(s) for p, s in progs.items()}
                for d, progs in parameters.overlays.items()}
    changed = False
    for item in published:
        try:
            entry = validate_published(item.key, item.effective_from, item.value, item.source,
                                       item.assumption, parameters.categories)
        except PublishedValueError:
            continue
        file = entry.file.removesuffix(".yaml")
        program = program_of(file, entry.key)
        assert program is not None
        if file in base:
            target = base[file]
            series = target.get(entry.key, ())
        else:
            target = overlays.setdefault(file, {}).setdefault(program, {})
            series = target.get(entry.key) or base.get(program, {}).get(entry.key, ())
        same = [e for e in series if e.effective_from == entry.effective_from]
        if same and value_text(same[0].value) == value_text(entry.value) \
                and same[0].source == entry.source and same[0].assumption == entry.assumption:
            continue
        kept = [e for e in series if e.effective_from != entry.effective_from]
        target[entry.key] = tuple(sorted([*kept, entry], key=lambda e: e.effective_from))
        changed = True
    if not changed:
        return parameters
    return PolicyParameters(base, overlays, parameters.categories, parameters.titles)
