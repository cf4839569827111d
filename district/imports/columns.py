"""The two files' columns, declared once as data: Chinese header, model field, parser, required.

docs/data-import.md documents each of them (a test checks that every header is there). A column
that is absent from a file leaves its field as it is on rows already in the district (a new row
gets the default); a column that is present sets it, and an empty cell sets the default.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from district.imports import fields
from district.imports.cells import cell_text
from district.imports.errors import CellError, Rejection
from district.imports.fields import Choice

_TEXT_CODE = r"[0-9A-Za-z]+"
REQUIRED = "必填，不能为空"


@dataclass(frozen=True)
class Column:
    header: str
    field: str
    parse: Callable[[str], Any] | None  # None: read by the importer itself, or not stored
    required: bool = False
    default: Any = None
    aliases: tuple[str, ...] = ()
    stored: bool = True  # False: known, read, but the model has no field for it
    memo: bool = False  # few distinct values (dates, institution codes): parse each once

    @property
    def headers(self) -> tuple[str, ...]:
        return (self.header, *self.aliases)


def person_columns(today: date, streets: set[str], categories: dict[str, str]) -> list[Column]:
    """The persons file (民政 list): one row per person, or per category span of a person.

    `streets` are the district's street codes, `categories` maps codes and Chinese names to
    category codes.
    """
    return [
        Column("身份证号码", "id_number", lambda t: fields.id_number(t, today), required=True,
               aliases=("公民身份号码", "身份证号")),
        Column("姓名", "name", fields.text(32), required=True),
        Column("街镇代码", "street_code",
               fields.one_of({s: s for s in streets}, "不是本区的街镇代码"), required=True),
        Column("联系电话", "phone", fields.phone),
        Column("居住地址", "address", fields.text(128)),
        Column("户籍地址", "registered_address", None, stored=False),
        Column("居委会", "committee", fields.text(64)),
        Column("银行账号", "bank_account", fields.bank_account),
        Column("城乡居民医保", "resident_insurance", fields.boolean, default=False),
        Column("对象类别", "span_code", fields.one_of(categories, "未知的对象类别")),
        Column("认定日期", "span_start", fields.day, memo=True),
        Column("终止日期", "span_end", fields.day, memo=True),
        Column("认定文号", "span_source", fields.text(64)),
        Column("互助帮困参加年度", "mutual_aid_years", fields.years, default=[]),
        Column("互助帮困待遇起始日期", "mutual_aid_benefits_from", fields.day, memo=True),
        Column("外省市医保", "external_inpatient_insurance", fields.boolean, default=False),
        Column("互助卡补贴余额", "allowance_balance_fen", fields.fen, default=0),
    ]


def fee_columns() -> list[Column]:
    """The fees file (医保 settlement export): one row per receipt (or settlement line)."""
    return [
        Column("身份证号码", "id_number", None, required=True,
               aliases=("公民身份号码", "身份证号")),
        Column("姓名", "name", fields.text(32), memo=True),
        Column("医疗机构编码", "institution_code",
               fields.code(16, _TEXT_CODE, "医疗机构编码应为最多 16 位字母或数字"), required=True,
               memo=True),
        Column("医疗机构名称", "institution_name", fields.text(64), memo=True),
        Column("医疗机构等级", "hospital_level", fields.level, required=True),
        Column("本市定点", "institution_in_shanghai", fields.boolean),
        Column("票据号码", "receipt_no",
               fields.code(20, r"[0-9A-Za-z-]+", "票据号码应为最多 20 位字母、数字或“-”"),
               required=True),
        Column("票据代码", "issuer_code",
               fields.code(8, _TEXT_CODE, "票据代码应为最多 8 位字母或数字"), memo=True),
        Column("校验码", "check_code", fields.code(8, _TEXT_CODE, "校验码应为最多 8 位字母或数字")),
        Column("电子票据二维码", "receipt_qr", fields.text(256)),
        Column("开票日期", "receipt_date", fields.day, required=True, memo=True),
        Column("就诊日期", "visit_date", None, stored=False),
        Column("入院日期", "admission_date", None, stored=False),
        Column("出院日期", "discharge_date", None, stored=False),
        Column("结算日期", "settlement_date", None, stored=False),
        Column("费用类别", "kind", fields.kind, required=True),
        Column("医疗费用总额", "total_fen", fields.fen, required=True),
        Column("自费金额", "out_of_scope_fen", fields.fen, required=True),
        Column("自负金额", "self_pay_fen", fields.fen, required=True),
        Column("起付线部分", "deductible_part_fen", fields.fen, default=0),
        Column("外省市起付标准", "external_deductible_fen", fields.fen, default=0),
        Column("外省市已报销金额", "external_reimbursed_fen", fields.fen, default=0),
        Column("异地备案", "out_of_province_filed", fields.boolean, default=False),
        Column("一站式结算", "one_stop_settled", fields.boolean, default=False),
        Column("已救助报销", "already_claimed", fields.boolean, default=False),
        Column("清算状态", "clearing_pending", fields.clearing_pending, default=False),
        Column("居保大病", "major_illness", fields.boolean, default=False),
        Column("居保大病材料", "major_illness_doc", fields.boolean, default=False),
        Column("纳入经济状况核对", "means_test_included", fields.boolean, default=False),
    ]


_MISSING = object()
# How one present column is read, precomputed since a file may have a million rows: field,
# index in the row, a Choice's words (looked up without a call), the parsed values of a memo
# column (for this file only), the parser, required, default, the column.
_Step = tuple[str, int, Mapping[str, Any] | None, dict[str, Any] | None, Any, bool, Any, Column]


@dataclass(frozen=True)
class Header:
    """Where each known column is in a file, and what else the file has."""

    positions: dict[str, int]  # field -> index in the row
    columns: dict[str, Column]  # field -> column, for the columns present and stored
    unknown: list[str]  # headers of columns this import does not know (ignored)
    not_stored: list[str]  # known headers with no field in the model (ignored)
    steps: list[_Step] = field(default_factory=list)

    def has(self, field: str) -> bool:
        return field in self.positions

    def header_of(self, field: str) -> str:
        return self.columns[field].header


def bind_header(cells: list[str], columns: list[Column]) -> tuple[Header, list[Rejection]]:
    """The header row against the columns; problems (missing or repeated columns) on row 1."""
    by_name = {name: column for column in columns for name in column.headers}
    positions: dict[str, int] = {}
    present: dict[str, Column] = {}
    unknown: list[str] = []
    not_stored: list[str] = []
    problems: list[Rejection] = []
    for index, raw in enumerate(cells):
        name = raw.strip().lstrip("\ufeff").strip()
        if not name:
            continue
        column = by_name.get(name)
        if column is None:
            unknown.append(name)
            continue
        if column.field in positions or column.header in not_stored:
            problems.append(Rejection(1, name, "表头中该列出现了两次"))
            continue
        if not column.stored:
            not_stored.append(column.header)
            continue
        positions[column.field] = index
        present[column.field] = column
    for column in columns:
        if column.required and column.field not in positions:
            names = "”或“".join(column.headers)
            problems.append(Rejection(1, column.header, f"缺少必需的列“{names}”"))
    steps: list[_Step] = [
        (f, positions[f], c.parse.values if isinstance(c.parse, Choice) else None,
         {} if c.memo else None, c.parse, c.required, c.default, c)
        for f, c in present.items()]
    return Header(positions, present, unknown, not_stored, steps), problems


def read_row(line: int, cells: list[Any], header: Header,
             rejections: list[Rejection]) -> dict[str, Any] | None:
    """The row's values by field (present columns only; an empty optional cell gives its
    column's default), or None when a cell is bad (each bad cell is added to `rejections`)."""
    values: dict[str, Any] = {}
    ok = True
    width = len(cells)
    for name, index, choices, cache, parse, required, default, column in header.steps:
        raw = cells[index] if index < width else ""
        if type(raw) is str:
            text = raw.strip()
        else:
            try:
                text = cell_text(raw)
            except CellError as exc:
                rejections.append(Rejection(line, column.header, str(exc), repr(raw)))
                ok = False
                continue
        if not text:
            if required:
                rejections.append(Rejection(line, column.header, REQUIRED))
                ok = False
            else:
                values[name] = list(default) if type(default) is list else default
        elif choices is not None:
            value = choices.get(text, _MISSING)
            if value is _MISSING:
                rejections.append(Rejection(line, column.header, parse.message, text))
                ok = False
            else:
                values[name] = value
        elif cache is not None and text in cache:
            values[name] = cache[text]
        elif parse is None:
            values[name] = text
        else:
            try:
                value = parse(text)
            except CellError as exc:
                rejections.append(Rejection(line, column.header, str(exc), text))
                ok = False
                continue
            if cache is not None:
                cache[text] = value
            values[name] = value
    return values if ok else None

