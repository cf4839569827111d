"""Form definitions (forms/*.yaml): the page, its boxes, labels and fields bound to data.

A district adjusts a form by editing its YAML, not the code. Positions are millimetres from
the page's top-left corner; `box` is [x, y, width, height]. Loading refuses a definition it
cannot draw, naming the file and the element.

Element types:
- text: fixed words at (x, y): `text`, `size`, `align` (left|center|right)
- field: a bordered box with a label part and a value part bound to the data (`bind`)
- cell: a bordered box with fixed `text` or a bound value, no label
- checks: tick boxes, one per option, ticked when the bound value (or list) holds the option
- table: rows bound to a list, with columns; rows that do not fit continue on extra pages
- lines: a bound list of strings, one per line, in a box (shrinks to fit, then continues)
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import yaml

from desktop.paths import forms_dir

SCHEMA = "counter-form/1"
Format = Literal["text", "amount", "capital", "date", "date_cn", "yes_no", "count"]
FORMATS = ("text", "amount", "capital", "date", "date_cn", "yes_no", "count")


class FormDefinitionError(ValueError):
    """A definition that cannot be drawn; names the file and the element."""


@dataclass(frozen=True)
class Column:
    title: str
    width: float
    bind: str
    format: str = "text"
    align: str = "left"


@dataclass(frozen=True)
class Option:
    value: str
    label: str


@dataclass(frozen=True)
class Element:
    type: str
    box: tuple[float, float, float, float] = (0.0, 0.0, 0.0, 0.0)
    text: str = ""
    bind: str = ""
    format: str = "text"
    label: str = ""
    label_width: float = 0.0
    size: float = 10.0
    align: str = "left"
    options: tuple[Option, ...] = ()
    columns: tuple[Column, ...] = ()
    row_height: float = 7.0
    header_height: float = 7.0
    border: bool = True
    name: str = ""  # for tests and error messages: the element's id in the file


@dataclass(frozen=True)
class FormDefinition:
    id: str
    title: str
    path: Path
    page_size: tuple[float, float]  # mm
    font_size: float
    elements: tuple[Element, ...] = field(default_factory=tuple)

    def element(self, name: str) -> Element:
        for element in self.elements:
            if element.name == name:
                return element
        raise KeyError(name)


PAGE_SIZES = {"A4": (210.0, 297.0), "A4-landscape": (297.0, 210.0)}
_TYPES = ("text", "field", "cell", "checks", "table", "lines")
_ALIGN = ("left", "center", "right")


# libyaml's loader when PyYAML was built with it (the wheels are): 8× faster than the pure one
_YAML_LOADER: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
# each definition parsed once per process: a FormDefinition is immutable (frozen dataclasses and
# tuples), so every print shares it; an edited file (another mtime, size or inode) is read again
_loaded: dict[Path, tuple[tuple[int, int, int], FormDefinition]] = {}


def load_form(name: str, folder: Path | None = None) -> FormDefinition:
    """The definition forms/`name`.yaml (or in `folder`), read and checked once per process
    and again whenever the file changes."""
    path = (folder or forms_dir()) / f"{name}.yaml"
    try:
        stat = path.stat()
    except OSError as exc:
        raise FormDefinitionError(f"{path}: cannot be read ({exc.strerror})") from None
    version = (stat.st_mtime_ns, stat.st_size, stat.st_ino)
    cached = _loaded.get(path)
    if cached is not None and cached[0] == version:
        return cached[1]
    form = read_form(path)
    _loaded[path] = (version, form)
    return form


def read_form(path: Path) -> FormDefinition:
    """The definition in the file `path`, read and checked now (load_form keeps the result)."""
    try:
        raw = yaml.load(path.read_text(encoding="utf-8"), Loader=_YAML_LOADER)
    except OSError as exc:
        raise FormDefinitionError(f"{path}: cannot be read ({exc.strerror})") from None
    except yaml.YAMLError as exc:
        raise FormDefinitionError(f"{path}: not valid YAML ({exc})") from None
    return parse_form(raw, path)


def parse_form(raw: Any, path: Path) -> FormDefinition:
    where = str(path)
    if not isinstance(raw, dict) or raw.get("schema") != SCHEMA:
        raise FormDefinitionError(f"{where}: schema must be {SCHEMA}")
    page = raw.get("page", "A4")
    if page not in PAGE_SIZES:
        raise FormDefinitionError(f"{where}: page must be one of {', '.join(PAGE_SIZES)}")
    width, height = PAGE_SIZES[page]
    elements = []
    for index, item in enumerate(raw.get("elements") or []):
        elements.append(_element(item, f"{where}: elements[{index}]", width, height))
    names = [e.name for e in elements if e.name]
    if len(names) != len(set(names)):
        raise FormDefinitionError(f"{where}: element names must be unique")
    return FormDefinition(str(raw.get("id") or path.stem), str(raw.get("title") or ""), path,
                          (width, height), float(raw.get("font_size", 10)), tuple(elements))


def _element(item: Any, where: str, width: float, height: float) -> Element:
    if not isinstance(item, dict):
        raise FormDefinitionError(f"{where}: must be a mapping")
    kind = item.get("type")
    if kind not in _TYPES:
        raise FormDefinitionError(f"{where}: type must be one of {', '.join(_TYPES)}")
    where = f"{where} ({item.get('name') or kind})"
    box = _box(item, where, width, height)
    fmt = str(item.get("format", "text"))
    if fmt not in FORMATS:
        raise FormDefinitionError(f"{where}: format must be one of {', '.join(FORMATS)}")
    align = str(item.get("align", "left"))
    if align not in _ALIGN:
        raise FormDefinitionError(f"{where}: align must be left, center or right")
    if kind in ("field", "checks", "table", "lines") and not item.get("bind"):
        raise FormDefinitionError(f"{where}: needs bind")
    options = tuple(Option(str(o["value"]), str(o["label"])) for o in item.get("options", []))
    if kind == "checks" and not options:
        raise FormDefinitionError(f"{where}: needs options")
    columns = tuple(_column(c, f"{where}.columns[{n}]") for n, c in
                    enumerate(item.get("columns", [])))
    if kind == "table":
        if not columns:
            raise FormDefinitionError(f"{where}: needs columns")
        total = sum(c.width for c in columns)
        if abs(total - box[2]) > 0.5:
            raise FormDefinitionError(
                f"{where}: the columns' widths ({total:g} mm) must fill the box ({box[2]:g} mm)")
    label_width = float(item.get("label_width", 0))
    if kind in ("field", "checks") and item.get("label") and not 0 < label_width < box[2]:
        raise FormDefinitionError(f"{where}: label_width must be inside the box")
    return Element(kind, box, str(item.get("text", "")), str(item.get("bind", "")), fmt,
                   str(item.get("label", "")), label_width, float(item.get("size", 10)), align,
                   options, columns, float(item.get("row_height", 7)),
                   float(item.get("header_height", 7)), bool(item.get("border", True)),
                   str(item.get("name", "")))


def _box(item: dict[str, Any], where: str, width: float, height: float
         ) -> tuple[float, float, float, float]:
    if item["type"] == "text":
        x, y = item.get("x"), item.get("y")
        if not isinstance(x, int | float) or not isinstance(y, int | float):
            raise FormDefinitionError(f"{where}: needs x and y (mm)")
        return (float(x), float(y), 0.0, 0.0)
    box = item.get("box")
    if (not isinstance(box, list) or len(box) != 4
            or not all(isinstance(v, int | float) for v in box)):
        raise FormDefinitionError(f"{where}: box must be [x, y, width, height] in mm")
    x, y, w, h = (float(v) for v in box)
    if w <= 0 or h <= 0 or x < 0 or y < 0 or x + w > width + 0.01 or y + h > height + 0.01:
        raise FormDefinitionError(f"{where}: box {box} is not inside the page")
    return (x, y, w, h)


def _column(raw: Any, where: str) -> Column:
    if not isinstance(raw, dict) or not raw.get("title") or not raw.get("bind"):
        raise FormDefinitionError(f"{where}: a column needs title, width and bind")
    fmt = str(raw.get("format", "text"))
    if fmt not in FORMATS:
        raise FormDefinitionError(f"{where}: format must be one of {', '.join(FORMATS)}")
    return Column(str(raw["title"]), float(raw.get("width", 0)), str(raw["bind"]), fmt,
                  str(raw.get("align", "left")))
