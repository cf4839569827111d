"""Writing the two import files from table rows (the synthetic district's, or the district's own
for an export): the same columns, headers and cell formats the importer reads back.

CSV in UTF-8 (optionally with a BOM, or GBK), or .xlsx (openpyxl, write-only) by the suffix.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import date
from pathlib import Path
from typing import Any

from desktop.policy.contract import default_parameters
from district.imports.fields import years_text
from district.values import from_fen

PERSON_HEADER = ("身份证号码", "姓名", "街镇代码", "联系电话", "居住地址", "居委会", "银行账号",
                 "城乡居民医保", "对象类别", "认定日期", "终止日期", "认定文号", "互助帮困参加年度",
                 "互助帮困待遇起始日期", "外省市医保", "互助卡补贴余额")
FEE_HEADER = ("身份证号码", "姓名", "医疗机构编码", "医疗机构名称", "医疗机构等级", "本市定点",
              "票据号码", "票据代码", "校验码", "电子票据二维码", "开票日期", "费用类别",
              "医疗费用总额", "自费金额", "自负金额", "起付线部分", "外省市起付标准",
              "外省市已报销金额", "异地备案", "一站式结算", "已救助报销", "清算状态", "居保大病",
              "居保大病材料", "纳入经济状况核对")
KIND_NAMES = {"outpatient": "门急诊", "inpatient": "住院", "major_outpatient": "门诊大病"}
_FLAGS = ("out_of_province_filed", "one_stop_settled", "already_claimed")
_ILLNESS = ("major_illness", "major_illness_doc", "means_test_included")


def _yes(value: Any) -> str:
    return "是" if value else "否"


def _day(value: date | None) -> str:
    return "" if value is None else value.isoformat()


def category_names() -> dict[str, str]:
    """Category code → the Chinese name a 民政 list uses (resources/policy/assistance.yaml)."""
    return {code: c.label for code, c in default_parameters().categories.items()}


def person_cells(person: Mapping[str, Any], spans: Sequence[Mapping[str, Any]],
                 names: Mapping[str, str]) -> Iterator[list[str]]:
    """The person's rows: one per span (the person's columns repeated), or one without;
    `names` gives each category's Chinese name."""
    years = person["mutual_aid_years"]
    common = [person["id_number"], person["name"], person["street_code"],
              person["phone"] or "", person["address"] or "", person["committee"] or "",
              person["bank_account"] or "", _yes(person["resident_insurance"])]
    tail = [years_text(years) if years else "", _day(person["mutual_aid_benefits_from"]),
            _yes(person["external_inpatient_insurance"]),
            from_fen(person["allowance_balance_fen"])]
    if not spans:
        yield [*common, "", "", "", "", *tail]
    for s in spans:
        yield [*common, names[s["code"]], s["start_date"].isoformat(), _day(s["end_date"]),
               s["source"], *tail]


def fee_cells(row: Mapping[str, Any], person: tuple[str, str],
              institution: tuple[str, bool]) -> list[str]:
    """A fee row's cells; `person` is (ID number, name), `institution` (name, in Shanghai)."""
    return [
        person[0], person[1], row["institution_code"], institution[0],
        str(row["hospital_level"]), _yes(institution[1]), row["receipt_no"],
        row["issuer_code"] or "", row["check_code"] or "", row["receipt_qr"] or "",
        row["receipt_date"].isoformat(), KIND_NAMES[row["kind"]],
        from_fen(row["total_fen"]), from_fen(row["out_of_scope_fen"]),
        from_fen(row["self_pay_fen"]), from_fen(row["deductible_part_fen"]),
        from_fen(row["external_deductible_fen"]), from_fen(row["external_reimbursed_fen"]),
        *(_yes(row[f]) for f in _FLAGS), "待清算" if row["clearing_pending"] else "",
        *(_yes(row[f]) for f in _ILLNESS)]


def write_persons(path: Path,
                  people: Iterable[tuple[Mapping[str, Any], Sequence[Mapping[str, Any]]]],
                  encoding: str = "utf-8") -> int:
    """Write (person, spans) pairs (table rows); returns the number of data rows."""
    names = category_names()
    return write_table(path, PERSON_HEADER, (cells for person, spans in people
                                             for cells in person_cells(person, spans, names)),
                       encoding)


def write_fees(path: Path, rows: Iterable[Mapping[str, Any]],
               persons: Mapping[str, tuple[str, str]],
               institutions: Mapping[str, tuple[str, bool]], encoding: str = "utf-8") -> int:
    """Write fee rows (table rows); `persons` maps a person id to (ID number, name),
    `institutions` a code to (name, in Shanghai)."""
    return write_table(path, FEE_HEADER,
                       (fee_cells(r, persons[r["person_id"]], institutions[r["institution_code"]])
                        for r in rows), encoding)


def write_table(path: Path, header: Iterable[str], rows: Iterable[list[str]],
                encoding: str = "utf-8") -> int:
    """A header and rows of text cells as CSV (in `encoding`) or, for a .xlsx path, a sheet of
    text cells (text, so Excel keeps ID numbers and receipt numbers whole)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    count = 0
    if path.suffix.lower() == ".xlsx":
        from openpyxl import Workbook

        book = Workbook(write_only=True)
        sheet = book.create_sheet()
        sheet.append(list(header))
        for cells in rows:
            sheet.append(cells)
            count += 1
        book.save(path)
        return count
    with path.open("w", encoding=encoding, newline="") as stream:
        writer = csv.writer(stream)
        writer.writerow(header)
        for cells in rows:
            writer.writerow(cells)
            count += 1
    return count
