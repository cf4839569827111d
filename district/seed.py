"""`seed`: a synthetic district in the database, with its staff and enrolment codes.

The rows are drawn by `district.synthetic`. Persons, their category spans and their fee rows
take the path real data takes: written as the two import files (docs/data-import.md) and loaded
by `district.imports`, so the demo exercises the importer. Streets, institutions (before the fee
rows that name them), staff, devices, enrolment codes and the applications settled before are
written with bulk inserts. All of it is one transaction, with the changes, so counters pull the
seeded district like any other change. Passwords and enrolment codes are printed once; only
their hashes are stored.
"""

from __future__ import annotations

import json
import logging
import tempfile
import time as clock
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from district import models
from district.changelog import (
    PendingChange,
    claim_data,
    institution_change,
    record_changes,
)
from district.db import Database
from district.imports import ImportRejected, import_fees, import_persons
from district.imports.files import write_fees, write_persons
from district.reference import DISTRICT_NAMES, INSTITUTIONS, STREETS, STREETS_BY_CODE, StreetInfo
from district.security import (
    enrolment_code_hash,
    hash_password,
    new_enrolment_code,
    new_password,
)
from district.services.parameters import sync_parameter_versions
from district.synthetic import District, DistrictGenerator
from district.values import shanghai_today, utcnow

log = logging.getLogger(__name__)
_CHUNK = 5000
# Per street: two clerks (the second also reviews), a reviewer, an approver who may review.
STREET_STAFF: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("clerk1", ("clerk",)),
    ("clerk2", ("clerk", "reviewer")),
    ("reviewer", ("reviewer",)),
    ("approver", ("approver", "reviewer")),
)


@dataclass(frozen=True)
class SeedOptions:
    persons: int
    seed: int = 2026
    password: str | None = None
    streets: list[str] | None = None
    devices_per_street: int = 2
    reset: bool = False
    today: date | None = None
    visit_scale: float = 1.0  # more or fewer outpatient fee rows per person (benchmarks)


@dataclass
class Credential:
    username: str
    password: str
    display_name: str
    roles: list[str]
    street_code: str | None
    district: str


@dataclass
class SeedReport:
    database: str
    streets: list[StreetInfo]
    users: list[Credential] = field(default_factory=list)
    enrolment_codes: dict[str, list[str]] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0


def seed_district(db: Database, options: SeedOptions) -> SeedReport:
    """Create the district; ValueError for options that cannot be used or a non-empty database."""
    started = clock.perf_counter()
    streets = _chosen_streets(options.streets)
    if options.persons < 0:
        raise ValueError("--persons must be 0 or more")
    if not 0 <= options.devices_per_street <= 100:
        raise ValueError("--devices-per-street must be 0–100")
    if options.reset:
        db.drop_everything()
    db.migrate()
    with db.read() as session:
        if session.scalar(select(func.count()).select_from(models.Street)):
            raise ValueError("the database already holds a district; use --reset to replace it")

    if options.visit_scale < 0:
        raise ValueError(f"--visit-scale: must be 0 or more, not {options.visit_scale}")
    today = options.today or shanghai_today()
    generator = DistrictGenerator(options.seed, streets, today, options.visit_scale)
    district = generator.generate(options.persons)
    report = SeedReport(db.display_url, streets)
    users = _staff(generator, streets, options.password)
    with ThreadPoolExecutor(max_workers=4) as pool:  # scrypt releases the GIL
        hashes = list(pool.map(hash_password, [u.password for u in users]))
    report.users = users

    with tempfile.TemporaryDirectory(prefix="district-seed-") as folder, \
            db.write() as session:
        persons_file, fees_file = write_files(district, Path(folder))
        now = utcnow()
        _insert(session, models.Street, [
            {"code": s.code, "name": s.name, "district": s.district, "kind": s.kind,
             "slug": s.slug} for s in streets])
        institutions = [models.Institution(code=i.code, name=i.name, level=i.level,
                                           in_shanghai=i.in_shanghai) for i in INSTITUTIONS]
        _insert(session, models.Institution, [
            {"code": i.code, "name": i.name, "level": i.level, "in_shanghai": i.in_shanghai}
            for i in institutions])
        _insert(session, models.Device, district.devices)
        _insert(session, models.User, [
            {"username": u.username, "display_name": u.display_name, "password_hash": h,
             "street_code": u.street_code, "district": u.district, "active": True,
             "failed_logins": 0, "locked_until": None}
            for u, h in zip(users, hashes, strict=True)])
        user_ids = {name: user_id for name, user_id in
                    session.execute(select(models.User.username, models.User.id))}
        _insert(session, models.UserRole, [{"user_id": user_ids[u.username], "role": role}
                                           for u in users for role in u.roles])
        codes = []
        for street in streets:
            report.enrolment_codes[street.code] = [
                new_enrolment_code() for _ in range(options.devices_per_street)]
            codes += [{"code_hash": enrolment_code_hash(c), "street_code": street.code,
                       "created_at": now, "used_at": None, "device_id": None}
                      for c in report.enrolment_codes[street.code]]
        _insert(session, models.EnrolmentCode, codes)
        changes = [institution_change(i) for i in institutions]
        changes += sync_parameter_versions(session)
        record_changes(session, changes, at=now)

        try:
            persons = import_persons(session, persons_file, today=today)
            fees = import_fees(session, fees_file, today=today)
        except ImportRejected as exc:  # a bug in the generator or the importer, not bad input
            first = exc.result.rejections[:5]
            raise RuntimeError(f"the synthetic district fails its own import: {first}") from exc
        _check_numbering(session, district)
        _insert(session, models.Application, district.applications)
        _insert(session, models.ApplicationBucket, district.buckets)
        _insert(session, models.Claim, district.claims)
        _insert(session, models.Signature, district.signatures)
        program_of = {a["id"]: a["program"] for a in district.applications}
        claims = [PendingChange("claim", c["fee_row_id"], c["street_code"],
                                claim_data(_row(c), program_of[c["application_id"]]))
                  for c in district.claims]
        record_changes(session, claims, at=now)

    report.counts = {
        "streets": len(streets), "persons": persons.counts["new"],
        "category_spans": persons.counts["spans_new"], "fee_rows": fees.counts["new"],
        "institutions": len(institutions), "applications": len(district.applications),
        "claims": len(district.claims), "users": len(users),
        "enrolment_codes": len(codes),
        "changes": len(changes) + persons.changes + fees.changes + len(claims),
    }
    report.seconds = round(clock.perf_counter() - started, 2)
    log.info("district seeded", extra={"database": db.display_url, "counts": report.counts,
                                       "seconds": report.seconds})
    return report


def write_files(district: District, folder: Path) -> tuple[Path, Path]:
    """The synthetic persons and fee rows as the two import files (UTF-8 CSV)."""
    spans: dict[str, list[dict[str, Any]]] = {}
    for span in district.spans:
        spans.setdefault(span["person_id"], []).append(span)
    persons_file, fees_file = folder / "persons.csv", folder / "fees.csv"
    write_persons(persons_file, ((p, spans.get(p["id"], [])) for p in district.persons))
    write_fees(fees_file, district.fee_rows,
               {p["id"]: (p["id_number"], p["name"]) for p in district.persons},
               {i.code: (i.name, i.in_shanghai) for i in INSTITUTIONS})
    return persons_file, fees_file


def _check_numbering(session: Session, district: District) -> None:
    """The settled applications name persons and fee rows by the generator's ids: the importer,
    numbering new rows in file order on an empty district, must have given the same ones."""
    persons = {number: person_id for number, person_id in
               session.execute(select(models.Person.id_number, models.Person.id))}
    rows = {(code, number): row_id for row_id, code, number in session.execute(
        select(models.FeeRow.id, models.FeeRow.institution_code, models.FeeRow.receipt_no))}
    if any(persons[p["id_number"]] != p["id"] for p in district.persons) or any(
            rows[(r["institution_code"], r["receipt_no"])] != r["id"]
            for r in district.fee_rows):
        raise RuntimeError("the importer numbered the seeded persons or fee rows unlike the "
                           "generator: the settled applications would name the wrong rows")


def _chosen_streets(codes: list[str] | None) -> list[StreetInfo]:
    if not codes:
        return list(STREETS)
    unknown = [c for c in codes if c not in STREETS_BY_CODE]
    if unknown:
        raise ValueError(f"unknown street codes: {', '.join(unknown)}; known: "
                         + ", ".join(s.code for s in STREETS))
    return [STREETS_BY_CODE[c] for c in dict.fromkeys(codes)]


def _staff(generator: DistrictGenerator, streets: list[StreetInfo],
           password: str | None) -> list[Credential]:
    users = []
    for street in streets:
        for suffix, roles in STREET_STAFF:
            users.append(Credential(f"{street.slug}.{suffix}", password or new_password(),
                                    generator.fake.name(), list(roles), street.code,
                                    street.district))
    for district in sorted({s.district for s in streets}):
        users.append(Credential(f"{district}.admin", password or new_password(),
                                generator.fake.name(), ["district_admin"], None, district))
        # reads the console (the month, the audit, PCs), acts on nothing (district/console)
        users.append(Credential(f"{district}.reviewer", password or new_password(),
                                generator.fake.name(), ["district_reviewer"], None, district))
    return users


def _row(values: dict[str, Any]) -> Any:
    """Column values with attribute access, for the changelog's converters (which only read
    attributes): a hundred thousand ORM instances would cost seconds for nothing."""
    return SimpleNamespace(**values)


def _insert(session: Session, model: type[models.Base], rows: Iterable[dict[str, Any]]) -> None:
    table = models.table_of(model)
    batch = list(rows)
    for start in range(0, len(batch), _CHUNK):
        session.execute(table.insert(), batch[start:start + _CHUNK])


def print_credentials(report: SeedReport, as_json: bool = False) -> None:
    """The one time passwords and enrolment codes are shown."""
    if as_json:
        print(json.dumps({
            "database": report.database, "counts": report.counts, "seconds": report.seconds,
            "streets": [{"code": s.code, "name": s.name, "district": s.district,
                         "enrolment_codes": report.enrolment_codes.get(s.code, [])}
                        for s in report.streets],
            "users": [vars(u) for u in report.users],
        }, ensure_ascii=False, indent=2))
        return
    counts = report.counts
    print(f"已生成模拟辖区（{report.seconds} 秒）：{report.database}")
    print(f"  人员 {counts['persons']}，对象类别 {counts['category_spans']}，"
          f"费用明细 {counts['fee_rows']}，医疗机构 {counts['institutions']}，"
          f"已结算申请 {counts['applications']}（{counts['claims']} 笔明细）")
    print("以下密码和注册码只显示这一次，请妥善保存。")
    for street in report.streets:
        print(f"\n{street.code} {DISTRICT_NAMES[street.district]}{street.name}")
        print(f"  设备注册码: {'  '.join(report.enrolment_codes.get(street.code, []))}")
        for user in report.users:
            if user.street_code == street.code:
                print(f"  {user.username:<26} {user.password:<16} {','.join(user.roles):<20}"
                      f" {user.display_name}")
    admins = [u for u in report.users if u.street_code is None]
    if admins:
        print("\n区管理员")
        for user in admins:
            print(f"  {user.username:<26} {user.password:<16} {','.join(user.roles):<20}"
                  f" {user.display_name}")
