"""A synthetic district for demos and tests: people, categories, mutual-aid members, fee rows
with their receipts, and the applications settled in earlier months (no I/O here).

Everything is drawn from one `random.Random`, so a seed gives the same district for the same
day. Money is drawn in integer fen and keeps the invariants of POLICY.md §2; flags are a
realistic minority. ID numbers are generated (valid check character) and must never be taken
for real people's.
"""

from __future__ import annotations

import json
import random
import uuid
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, Literal

from faker import Faker

from desktop.domain.bank_card import luhn_check_digit
from desktop.domain.id_number import SHANGHAI_REGION_CODES, generate_id_number
from desktop.policy.contract import SCHEMA, calculate_text
from district.reference import (
    DISTRICT_NAMES,
    DISTRICT_REGION,
    INSTITUTIONS,
    InstitutionInfo,
    StreetInfo,
)
from district.values import SHANGHAI, from_fen, to_fen

FISCAL_URL = "https://ebill.example/eips-wxapp-service/d?t=504&a=X&d={d}&s=0"
ADULT_CATEGORIES = (("dibao", 34), ("low_income", 26), ("tekun", 12), ("expenditure_2", 10),
                    ("expenditure_1", 6), ("special_relief", 5))
CHILD_CATEGORIES = (("distressed_child", 35), ("dibao", 35), ("low_income", 20), ("orphan", 10))
# A category that changes mid-window changes to a plausible next one.
NEXT_CATEGORY = {"low_income": "dibao", "dibao": "tekun", "expenditure_2": "expenditure_1",
                 "expenditure_1": "dibao", "distressed_child": "orphan", "tekun": "special_relief",
                 "orphan": "dibao", "special_relief": "tekun"}
_BANK_PREFIXES = ("6222", "6217", "6228", "6213", "6226")
_COMMITTEE_SUFFIXES = ("一村", "二村", "三村", "新村", "花园", "小区", "苑")
_HISTORY_DEVICE_NAME = "历史数据导入"


@dataclass
class District:
    """Rows for each table, as dicts of column values, in insertion order."""

    persons: list[dict[str, Any]] = field(default_factory=list)
    spans: list[dict[str, Any]] = field(default_factory=list)
    fee_rows: list[dict[str, Any]] = field(default_factory=list)
    devices: list[dict[str, Any]] = field(default_factory=list)
    applications: list[dict[str, Any]] = field(default_factory=list)
    buckets: list[dict[str, Any]] = field(default_factory=list)
    claims: list[dict[str, Any]] = field(default_factory=list)
    signatures: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class _Person:
    row: dict[str, Any]
    street: StreetInfo
    spans: list[tuple[str, date, date | None]]
    age: int
    fee_rows: list[dict[str, Any]] = field(default_factory=list)


class DistrictGenerator:
    def __init__(self, seed: int, streets: list[StreetInfo], today: date,
                 visit_scale: float = 1.0) -> None:
        self.rnd = random.Random(seed)
        self.visit_scale = visit_scale  # multiplies each person's outpatient visits
        self.fake = Faker("zh_CN")
        self.fake.seed_instance(seed)
        self.streets = streets
        self.today = today
        self.window_start = today - timedelta(days=425)  # fee rows of the last ~14 months
        self.institutions = INSTITUTIONS
        self._ids: set[str] = set()
        self._receipt_counters: dict[str, int] = {}
        # (institution, receipt number) taken: the import knows a fee row by that pair, and
        # two issuers (years) of one institution could otherwise draw the same number
        self._receipts_taken: set[int] = set()
        self._institution_index = {i.code: n for n, i in enumerate(self.institutions)}
        self._span_seq = 0
        self._fee_seq = 0
        self._source_seq: dict[str, int] = defaultdict(int)

    # -- people --------------------------------------------------------------------------

    def generate(self, count: int) -> District:
        district = District()
        history_devices = {s.code: self._history_device(s) for s in self.streets}
        district.devices.extend(history_devices.values())
        for person, spans in self._people(count):
            district.persons.append(person.row)
            district.spans.extend(spans)
            district.fee_rows.extend(person.fee_rows)
            self._history(person, district, history_devices[person.street.code]["id"])
        return district

    def people(self, count: int) -> Iterator[tuple[dict[str, Any], list[dict[str, Any]],
                                                   list[dict[str, Any]]]]:
        """(person, spans, fee rows) one person at a time, without the settled applications:
        for files of a million fee rows (bench/bench_import.py), which `generate` would hold
        in memory."""
        for person, spans in self._people(count):
            yield person.row, spans, person.fee_rows

    def _people(self, count: int) -> Iterator[tuple[_Person, list[dict[str, Any]]]]:
        for index in range(1, count + 1):
            person = self._person(index)
            spans = []
            for code, start, end in person.spans:
                self._span_seq += 1
                spans.append({
                    "id": f"C{self._span_seq:08d}", "person_id": person.row["id"], "code": code,
                    "start_date": start, "end_date": end,
                    "source": self._category_source(person.street, start)})
            person.fee_rows = self._fee_rows(person)
            yield person, spans

    def _person(self, index: int) -> _Person:
        rnd = self.rnd
        street = rnd.choice(self.streets)
        profile = rnd.choices(("recipient", "member", "none"), weights=(55, 20, 25))[0]
        if profile == "member":  # returnees who supported other provinces: born 1945–1965
            birth = _random_day(rnd, date(1945, 1, 1), date(1965, 12, 31))
        else:
            birth = _random_day(rnd, date(1940, 1, 1), date(2015, 12, 31))
        age = _age(birth, self.today)
        sex: Literal["M", "F"] = "M" if rnd.random() < 0.48 else "F"
        name = self.fake.name_male() if sex == "M" else self.fake.name_female()
        spans: list[tuple[str, date, date | None]] = []
        if profile == "recipient" or (profile == "member" and rnd.random() < 0.1):
            spans = self._category_history(age, birth)
        row: dict[str, Any] = {
            "id": f"P{index:07d}",
            "id_number": self._id_number(street, birth, sex),
            "name": name, "sex": sex, "birth_date": birth,
            "phone": self._phone(), "address": self._address(street),
            "street_code": street.code, "committee": self._committee(street),
            "bank_account": self._bank_account() if rnd.random() < 0.8 else None,
            "resident_insurance": rnd.random() < (0.9 if age < 18 else 0.5 if age >= 60 else 0.35),
            "mutual_aid_years": [], "mutual_aid_benefits_from": None,
            "external_inpatient_insurance": False, "allowance_balance_fen": 0,
        }
        if profile == "member":
            self._membership(row)
        return _Person(row, street, spans, age)

    def _id_number(self, street: StreetInfo, birth: date, sex: Literal["M", "F"]) -> str:
        own = DISTRICT_REGION[street.district]
        for _ in range(50):
            region = own if self.rnd.random() < 0.7 else self.rnd.choice(
                sorted(SHANGHAI_REGION_CODES))
            value = generate_id_number(self.rnd, region, birth, sex)
            if value not in self._ids:
                self._ids.add(value)
                return value
        raise RuntimeError("could not find a free ID number")  # 500 sequences a day: unreachable

    def _phone(self) -> str | None:
        roll = self.rnd.random()
        if roll < 0.07:
            return None
        if roll < 0.12:
            return f"021-{self.rnd.randint(5, 6)}{self.rnd.randrange(10**6, 10**7)}"
        return f"1{self.rnd.choice('3456789')}{self.rnd.randrange(10**8, 10**9)}"

    def _address(self, street: StreetInfo) -> str:
        rnd = self.rnd
        road = rnd.choice(street.roads)
        return (f"上海市{DISTRICT_NAMES[street.district]}{road}{rnd.randint(1, 1500)}弄"
                f"{rnd.randint(1, 60)}号{rnd.randint(1, 6)}0{rnd.randint(1, 4)}室")

    def _committee(self, street: StreetInfo) -> str:
        road = self.rnd.choice(street.roads).removesuffix("公路").removesuffix("路")
        return f"{road}{self.rnd.choice(_COMMITTEE_SUFFIXES)}居委会"

    def _bank_account(self) -> str:
        body = self.rnd.choice(_BANK_PREFIXES) + "".join(
            str(self.rnd.randint(0, 9)) for _ in range(14))
        return body + luhn_check_digit(body)

    def _category_history(self, age: int, birth: date) -> list[tuple[str, date, date | None]]:
        rnd = self.rnd
        table = CHILD_CATEGORIES if age < 18 else ADULT_CATEGORIES
        code = rnd.choices([c for c, _ in table], weights=[w for _, w in table])[0]
        earliest = max(date(2016, 1, 1), birth + timedelta(days=30))
        established = _random_day(rnd, earliest,
                                  max(earliest, self.window_start - timedelta(days=5)))
        roll = rnd.random()
        if roll < 0.70:
            return [(code, established, None)]
        if roll < 0.82:  # changes in the window, e.g. 低收入 → 低保
            change = _random_day(rnd, self.window_start + timedelta(days=30),
                                 self.today - timedelta(days=30))
            nxt = NEXT_CATEGORY[code]
            if nxt in ("orphan", "distressed_child") and age >= 18:
                nxt = "dibao"
            return [(code, established, change - timedelta(days=1)), (nxt, change, None)]
        if roll < 0.90:  # new this year: rows before the start may be in the means test
            start = _random_day(rnd, date(self.today.year, 1, 15), self.today - timedelta(days=30))
            return [(code, max(start, earliest), None)]
        if roll < 0.95:  # ended in the window
            end = _random_day(rnd, self.window_start + timedelta(days=20),
                              self.today - timedelta(days=40))
            return [(code, established, end)]
        gap_start = _random_day(rnd, self.window_start, self.today - timedelta(days=90))
        gap_end = gap_start + timedelta(days=rnd.randint(20, 60))
        return [(code, established, gap_start), (code, gap_end, None)]

    def _category_source(self, street: StreetInfo, start: date) -> str:
        prefix = "长" if street.district == "changning" else "闵"
        self._source_seq[prefix] += 1
        return f"{prefix}民救〔{start.year}〕{self._source_seq[prefix] % 10000:04d}号"

    def _membership(self, row: dict[str, Any]) -> None:
        rnd = self.rnd
        year = self.today.year
        last = year if rnd.random() < 0.85 else year - 1
        first = rnd.randint(2016, last)
        row["mutual_aid_years"] = list(range(first, last + 1))
        if rnd.random() < 0.15:  # mid-year enrolment: benefits from the month after payment
            first = last
            row["mutual_aid_years"] = [last]
            month = rnd.randint(3, 10 if last < year else max(3, min(10, self.today.month)))
            row["mutual_aid_benefits_from"] = date(last, month, 1)
        else:
            row["mutual_aid_benefits_from"] = date(first, 1, 1)
        row["external_inpatient_insurance"] = rnd.random() < 0.35
        carried = rnd.randint(0, 3) * 15000 + (15000 if last == year else 0)
        row["allowance_balance_fen"] = max(0, carried - rnd.randint(0, 20000))

    # -- fee rows ------------------------------------------------------------------------

    def _fee_rows(self, person: _Person) -> list[dict[str, Any]]:
        rnd = self.rnd
        row = person.row
        member = bool(row["mutual_aid_years"])
        if person.spans:
            visits, stays = rnd.randint(0, 12), rnd.choices((0, 1, 2), weights=(67, 25, 8))[0]
        elif member:
            visits, stays = rnd.randint(2, 16), rnd.choices((0, 1, 2), weights=(75, 20, 5))[0]
        else:
            visits, stays = rnd.randint(0, 4), rnd.choices((0, 1), weights=(95, 5))[0]
        chronic = (person.spans or member) and rnd.random() < 0.12
        visits = round(visits * self.visit_scale)
        plan: list[tuple[str, date]] = [("outpatient", self._fee_day()) for _ in range(visits)]
        plan += [("inpatient", self._fee_day()) for _ in range(stays)]
        if chronic:
            months = rnd.randint(4, 14)
            for k in range(months):
                day = self.today - timedelta(days=30 * k + rnd.randint(1, 25))
                if day >= self.window_start:
                    plan.append(("major_outpatient", day))
        plan.sort(key=lambda p: p[1])
        deductible_left: dict[int, int] = {}
        rows = []
        for kind, day in plan:
            rows.append(self._fee_row(person, kind, day, member, deductible_left))
        return rows

    def _fee_day(self) -> date:
        return _random_day(self.rnd, self.window_start, self.today - timedelta(days=1))

    def _institution(self, person: _Person, kind: str, member: bool) -> InstitutionInfo:
        rnd = self.rnd
        away = 0.08 if member else 0.02
        if rnd.random() < away:
            return rnd.choice([i for i in self.institutions if not i.in_shanghai])
        local = [i for i in self.institutions if i.in_shanghai]
        if kind == "outpatient" and rnd.random() < 0.5:
            centre = f"{person.street.short_name}社区卫生服务中心"
            return next(i for i in local if i.name == centre)
        level = rnd.choices((2, 3), weights=(45, 55))[0]
        return rnd.choice([i for i in local if i.level == level])

    def _fee_row(self, person: _Person, kind: str, day: date, member: bool,
                 deductible_left: dict[int, int]) -> dict[str, Any]:
        rnd = self.rnd
        inst = self._institution(person, kind, member)
        level = inst.level
        if kind == "outpatient":
            lo, hi = {1: (3000, 40000), 2: (8000, 120000), 3: (15000, 250000)}[level]
        elif kind == "inpatient":
            lo, hi = {1: (200000, 1500000), 2: (400000, 6000000), 3: (800000, 15000000)}[level]
        else:
            lo, hi = (30000, 600000)
        total = min(rnd.randint(lo, hi), rnd.randint(lo, hi))  # skewed towards cheaper
        out_of_scope = 0 if rnd.random() < 0.55 else total * rnd.randint(1, 18) // 100
        in_scope = total - out_of_scope
        share = {"outpatient": (30, 60) if person.row["resident_insurance"] else (15, 45),
                 "inpatient": (10, 35), "major_outpatient": (8, 30)}[kind]
        self_pay = in_scope * rnd.randint(*share) // 100
        ext_deductible = ext_reimbursed = 0
        if kind == "inpatient" and person.row["external_inpatient_insurance"]:
            ext_deductible = min(in_scope // 10, 150000)
            ext_reimbursed = in_scope * rnd.randint(40, 65) // 100
            self_pay = in_scope - ext_reimbursed - ext_deductible // 2
        deductible = 0
        if kind == "outpatient":
            if day.year not in deductible_left:
                deductible_left[day.year] = (30000 if person.row["resident_insurance"]
                                             or person.age >= 60 else 50000)
            deductible = min(self_pay, deductible_left[day.year])
            deductible_left[day.year] -= deductible
        in_shanghai = inst.in_shanghai
        recent = (self.today - day).days < 90
        stay = kind != "outpatient"
        major = stay and person.row["resident_insurance"] and rnd.random() < 0.35
        first_span = min((s[1] for s in person.spans), default=None)
        self._fee_seq += 1
        issuer = f"{inst.province}06{day.year % 100:02d}{int(inst.code[-2:]):02d}"
        receipt_no = self._next_receipt_no(issuer, inst.code)
        check = "".join(rnd.choice("0123456789abcdef") for _ in range(6))
        return {
            "id": f"F{self._fee_seq:09d}", "person_id": person.row["id"],
            "street_code": person.street.code, "institution_code": inst.code,
            "issuer_code": issuer, "receipt_no": receipt_no, "check_code": check,
            "receipt_qr": FISCAL_URL.format(
                d=f"{issuer}_{receipt_no}_{check}_{from_fen(total)}_{day:%Y%m%d}"),
            "receipt_date": day, "kind": kind, "hospital_level": level,
            "in_shanghai": in_shanghai,
            "out_of_province_filed": not in_shanghai and rnd.random() < 0.6,
            "total_fen": total, "out_of_scope_fen": out_of_scope, "self_pay_fen": self_pay,
            "deductible_part_fen": deductible, "external_deductible_fen": ext_deductible,
            "external_reimbursed_fen": ext_reimbursed,
            "one_stop_settled": rnd.random() < 0.05,
            "already_claimed": rnd.random() < 0.03,
            "clearing_pending": rnd.random() < (0.12 if stay and recent else 0.01),
            "major_illness": major,
            "major_illness_doc": major and rnd.random() < 0.7,
            "means_test_included": (first_span is not None and first_span.year == day.year
                                    and day < first_span and rnd.random() < 0.5),
        }

    def _next_receipt_no(self, issuer: str, institution: str) -> str:
        current = self._receipt_counters.get(issuer)
        if current is None:
            current = self.rnd.randrange(10**5, 10**8)
        taken = self._institution_index[institution] << 40
        current += self.rnd.randint(1, 40)
        while (taken | current) in self._receipts_taken:
            current += self.rnd.randint(1, 40)
        self._receipts_taken.add(taken | current)
        self._receipt_counters[issuer] = current
        return f"{current:010d}"

    # -- applications settled before ----------------------------------------------------

    def _history_device(self, street: StreetInfo) -> dict[str, Any]:
        device_id = str(uuid.UUID(int=self.rnd.getrandbits(128), version=4))
        moment = datetime.combine(self.window_start, time(9), SHANGHAI).astimezone(UTC)
        return {"id": device_id, "name": _HISTORY_DEVICE_NAME, "street_code": street.code,
                "token_hash": f"{self.rnd.getrandbits(256):064x}", "registered_at": moment,
                "revoked_at": moment}

    def _history(self, person: _Person, district: District, device_id: str) -> None:
        """Earlier months' applications of some people, computed by the engine, with their
        claims and signatures, so the claim registry and the summaries have a past."""
        rnd = self.rnd
        member = bool(person.row["mutual_aid_years"])
        if not person.fee_rows or not (person.spans or member) or rnd.random() > 0.45:
            return
        program = "assistance" if person.spans and (not member or rnd.random() < 0.5) \
            else "mutual_aid"
        cutoff = self.today - timedelta(days=35)
        groups: dict[tuple[int, int], list[dict[str, Any]]] = defaultdict(list)
        for row in person.fee_rows:
            if row["receipt_date"] < cutoff and _clean(row):
                groups[(row["receipt_date"].year, row["receipt_date"].month)].append(row)
        settled: list[dict[str, Any]] = []
        balance = person.row["allowance_balance_fen"]
        for (year, month), rows in sorted(groups.items()):
            if rnd.random() > 0.7:
                continue
            first_next = date(year + month // 12, month % 12 + 1, 1)
            applied = first_next + timedelta(days=rnd.randint(1, 20))
            if applied > self.today - timedelta(days=5):
                continue
            case = self._case(person, program, applied, rows, settled, balance)
            result = calculate_text(json.dumps(case))
            if to_fen(result["payable"]) == 0:
                continue
            buckets = {k: to_fen(v) for k, v in result["buckets"].items() if to_fen(v)}
            balance -= buckets.get("allowance", 0)
            self._record(district, person, program, applied, rows, case, result, buckets,
                         device_id)
            settled.extend(rows)
        if program == "mutual_aid":
            person.row["allowance_balance_fen"] = max(0, balance)

    def _case(self, person: _Person, program: str, applied: date, rows: list[dict[str, Any]],
              settled: list[dict[str, Any]], balance: int) -> dict[str, Any]:
        p = person.row
        data: dict[str, Any] = {
            "categories": [{"code": c, "from": s.isoformat(), "to": e.isoformat() if e else None}
                           for c, s, e in person.spans],
            "resident_insurance": p["resident_insurance"],
        }
        if p["mutual_aid_years"]:
            data["mutual_aid"] = {
                "member_years": p["mutual_aid_years"],
                "benefits_from": (p["mutual_aid_benefits_from"].isoformat()
                                  if p["mutual_aid_benefits_from"] else None),
                "external_inpatient_insurance": p["external_inpatient_insurance"],
                "allowance_balance": from_fen(max(0, balance)),
            }
        fees = [case_fee(r, settled=True) for r in settled
                if r["receipt_date"].year in {x["receipt_date"].year for x in rows}]
        fees += [case_fee(r) for r in rows]
        return {"schema": SCHEMA, "program": program, "district": person.street.district,
                "application_date": applied.isoformat(), "person": data, "fees": fees}

    def _record(self, district: District, person: _Person, program: str, applied: date,
                rows: list[dict[str, Any]], case: dict[str, Any], result: dict[str, Any],
                buckets: dict[str, int], device_id: str) -> None:
        rnd = self.rnd
        app_id = str(uuid.UUID(int=rnd.getrandbits(128), version=4))
        moment = datetime.combine(applied, time(9 + rnd.randint(0, 7), rnd.randint(0, 59)),
                                  SHANGHAI).astimezone(UTC)
        slug = person.street.slug
        age = (self.today - applied).days
        signers = [("handler", f"{slug}.clerk{rnd.randint(1, 2)}", 0)]
        if age > 10:
            signers.append(("reviewer", f"{slug}.reviewer", 2))
        if age > 20:
            signers.append(("approver", f"{slug}.approver", 5))
        handler = signers[0][1]
        status = {1: "accepted", 2: "reviewed", 3: "approved"}[len(signers)]
        district.applications.append({
            "id": app_id, "program": program, "district": person.street.district,
            "person_id": person.row["id"], "street_code": person.street.code,
            "device_id": device_id, "handler": handler, "application_date": applied,
            "payable_fen": to_fen(result["payable"]),
            "parameter_versions": [f"{p['key']}@{p['effective_from']}"
                                   for p in result["parameters"]],
            "case_json": case, "proxy_name": None, "proxy_id_number": None,
            "auto_enrolled": False, "status": status, "created_at": moment,
            "received_at": moment})
        district.buckets.extend({"application_id": app_id, "bucket": b, "amount_fen": v}
                                for b, v in buckets.items())
        district.claims.extend({"fee_row_id": r["id"], "application_id": app_id,
                                "street_code": person.street.code, "device_id": device_id,
                                "claimed_at": moment, "status": "paid" if age > 30 else "claimed"}
                               for r in sorted(rows, key=lambda r: r["id"]))
        for role, username, days in signers:
            signed = moment + timedelta(days=days)
            district.signatures.append({"application_id": app_id, "role": role,
                                        "username": username, "signed_at": signed,
                                        "device_id": device_id, "received_at": signed})


def case_fee(row: dict[str, Any], settled: bool = False) -> dict[str, Any]:
    """A fee row (table columns) as a calc-contract fee."""
    fee: dict[str, Any] = {
        "id": row["id"], "receipt_no": row["receipt_no"],
        "date": row["receipt_date"].isoformat(), "kind": row["kind"],
        "hospital_level": row["hospital_level"], "in_shanghai": row["in_shanghai"],
        "total": from_fen(row["total_fen"]), "out_of_scope": from_fen(row["out_of_scope_fen"]),
        "self_pay": from_fen(row["self_pay_fen"]),
        "deductible_part": from_fen(row["deductible_part_fen"]),
        "external_deductible": from_fen(row["external_deductible_fen"]),
        "external_reimbursed": from_fen(row["external_reimbursed_fen"]),
    }
    for flag in ("out_of_province_filed", "one_stop_settled", "already_claimed",
                 "clearing_pending", "major_illness", "major_illness_doc", "means_test_included"):
        fee[flag] = row[flag]
    if settled:
        fee["settled"] = True
    return fee


def _clean(row: dict[str, Any]) -> bool:
    """A row a clerk would tick: nothing on it says it was paid or is not ready."""
    return not (row["already_claimed"] or row["one_stop_settled"] or row["clearing_pending"]
                or (row["major_illness"] and not row["major_illness_doc"])
                or (not row["in_shanghai"] and not row["out_of_province_filed"]))


def _random_day(rnd: random.Random, first: date, last: date) -> date:
    if last <= first:
        return first
    return first + timedelta(days=rnd.randint(0, (last - first).days))


def _age(birth: date, today: date) -> int:
    return today.year - birth.year - ((today.month, today.day) < (birth.month, birth.day))
