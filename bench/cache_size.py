"""How small the cache of bench_sync.py's district could be: its data in two other layouts.

Not a benchmark of the application: an experiment for issue 13's cache target (≤ 200 MiB for
100,000 persons and 1,030,333 fee rows). It copies the pulled cache (bench_sync.py's
counter.sqlite, sealed, its key from the bench keyring beside it) three ways, each packed
(VACUUM) and then sealed again (sqlcipher_export), and prints every table's and index's size:

- `now`: the cache's own schema, packed;
- `types`: the same tables and indexes, with only the columns' stored forms changed, which the
  ORM would not see (column types): amounts as integer fen, dates as day numbers since
  1970-01-01, instants as integer microseconds, application ids as their 16 bytes, and the
  closed sets (a fee row's kind, a claim's status and program) as small integers;
- `keys`: besides, an integer person key (rowid) in the fee rows, the category spans and their
  indexes instead of the person's text id, and the open codes (institution, issuer, street,
  device, category) by reference to a table of codes.

    python bench/cache_layout.py [--cache PATH] [--work DIR]
"""

from __future__ import annotations

import argparse
import datetime as dt
import sqlite3
import sys
import tempfile
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import sqlcipher3.dbapi2 as sqlcipher  # noqa: E402
from bench_keyring import bench_key  # noqa: E402

DEFAULT = Path("/tmp/counter-bench/sync/counter.sqlite")  # bench_sync.py's, after its pull
KIND = {"outpatient": 0, "inpatient": 1, "major_outpatient": 2}
STATUS = {"claimed": 0, "paid": 1, "released": 2}
PROGRAM = {"assistance": 0, "mutual_aid": 1}
EPOCH = dt.date(1970, 1, 1).toordinal()

PERSON_INDEXES = """
CREATE INDEX ix_person_name_id ON person (name, {id});
CREATE INDEX ix_person_name_pinyin_name_id ON person (name_pinyin, name, {id});
CREATE INDEX ix_person_name_initials_name_id ON person (name_initials, name, {id});
CREATE INDEX ix_person_id_reversed ON person (id_reversed);
CREATE INDEX ix_person_name_from_2 ON person (substr(name, 2), name, {id});
CREATE INDEX ix_person_long_name ON person (name, {id}) WHERE length(name) > 3;
CREATE INDEX ix_person_phone_reversed ON person (phone_reversed) WHERE phone_reversed IS NOT NULL;
CREATE INDEX ix_person_name_from_3 ON person (substr(name, 3), name, {id}) WHERE length(name) > 2;
"""


def day(text: str | None) -> int | None:
    return None if text is None else dt.date.fromisoformat(text).toordinal() - EPOCH


def fen(text: str | None) -> int | None:
    if text is None:
        return None
    whole, _, part = text.partition(".")
    if len(part) > 2:
        raise ValueError(f"not whole fen: {text}")
    sign = -1 if whole.startswith("-") else 1
    return int(whole) * 100 + sign * int((part + "00")[:2])


def micros(text: str) -> int:
    instant = dt.datetime.fromisoformat(text)
    return (instant - dt.datetime(1970, 1, 1, tzinfo=dt.UTC)) // dt.timedelta(microseconds=1)


def functions(connection: sqlite3.Connection) -> None:
    for name, function in (("day", day), ("fen", fen), ("micros", micros),
                           ("uid", lambda h: uuid.UUID(h).bytes),
                           ("kind", KIND.__getitem__), ("status", STATUS.__getitem__),
                           ("program", lambda p: None if p is None else PROGRAM[p])):
        connection.create_function(name, 1, function, deterministic=True)


def types_layout(c: sqlite3.Connection) -> None:
    c.executescript("""
CREATE TABLE person (id TEXT PRIMARY KEY, id_number TEXT NOT NULL UNIQUE, name TEXT, sex TEXT,
  birth_date INT, phone TEXT, address TEXT, street_code TEXT, committee TEXT, bank_account TEXT,
  resident_insurance INT, mutual_aid_years TEXT, mutual_aid_benefits_from INT,
  external_inpatient_insurance INT, allowance_balance INT, seq INT, name_pinyin TEXT,
  name_initials TEXT, id_reversed TEXT, phone_reversed TEXT);
INSERT INTO person SELECT id, id_number, name, sex, day(birth_date), phone, address, street_code,
  committee, bank_account, resident_insurance, mutual_aid_years, day(mutual_aid_benefits_from),
  external_inpatient_insurance, fen(allowance_balance), seq, name_pinyin, name_initials,
  id_reversed, phone_reversed FROM s.person ORDER BY seq;
CREATE TABLE fee_row (id TEXT PRIMARY KEY, person_id TEXT NOT NULL, institution_code TEXT,
  issuer_code TEXT, receipt_no TEXT NOT NULL, check_code TEXT, date INT NOT NULL, kind INT,
  hospital_level INT, in_shanghai INT, out_of_province_filed INT, total INT, out_of_scope INT,
  self_pay INT, deductible_part INT, external_deductible INT, external_reimbursed INT,
  one_stop_settled INT, already_claimed INT, clearing_pending INT, major_illness INT,
  major_illness_doc INT, means_test_included INT, seq INT NOT NULL);
INSERT INTO fee_row SELECT id, person_id, institution_code, issuer_code, receipt_no, check_code,
  day(date), kind(kind), hospital_level, in_shanghai, out_of_province_filed, fen(total),
  fen(out_of_scope), fen(self_pay), fen(deductible_part), fen(external_deductible),
  fen(external_reimbursed), one_stop_settled, already_claimed, clearing_pending, major_illness,
  major_illness_doc, means_test_included, seq FROM s.fee_row ORDER BY seq;
CREATE TABLE claim (fee_row_id TEXT PRIMARY KEY, application_id BLOB, street_code TEXT,
  device_id TEXT, claimed_at INT, status INT, program INT, seq INT);
INSERT INTO claim SELECT fee_row_id, uid(application_id), street_code, device_id,
  micros(claimed_at), status(status), program(program), seq FROM s.claim ORDER BY seq;
CREATE TABLE category_span (id TEXT PRIMARY KEY, person_id TEXT, code TEXT, start INT,
  "end" INT, source TEXT, seq INT);
INSERT INTO category_span SELECT id, person_id, code, day(start), day("end"), source, seq
  FROM s.category_span ORDER BY seq;
CREATE INDEX ix_fee_row_person_id_date ON fee_row (person_id, date);
CREATE INDEX ix_fee_row_receipt_no_issuer_code ON fee_row (receipt_no, issuer_code);
CREATE INDEX ix_category_span_person_id ON category_span (person_id);
""" + PERSON_INDEXES.format(id="id"))


def keys_layout(c: sqlite3.Connection) -> None:
    c.executescript("""
CREATE TABLE code (n INTEGER PRIMARY KEY, text TEXT UNIQUE);
INSERT OR IGNORE INTO code (text) SELECT institution_code FROM s.fee_row
  WHERE institution_code IS NOT NULL;
INSERT OR IGNORE INTO code (text) SELECT issuer_code FROM s.fee_row WHERE issuer_code IS NOT NULL;
INSERT OR IGNORE INTO code (text) SELECT street_code FROM s.claim;
INSERT OR IGNORE INTO code (text) SELECT device_id FROM s.claim;
INSERT OR IGNORE INTO code (text) SELECT code FROM s.category_span;
INSERT OR IGNORE INTO code (text) SELECT street_code FROM s.person;
CREATE TABLE person (n INTEGER PRIMARY KEY, id TEXT NOT NULL UNIQUE,
  id_number TEXT NOT NULL UNIQUE, name TEXT, sex TEXT, birth_date INT, phone TEXT, address TEXT,
  street INT, committee TEXT, bank_account TEXT, resident_insurance INT, mutual_aid_years TEXT,
  mutual_aid_benefits_from INT, external_inpatient_insurance INT, allowance_balance INT,
  seq INT, name_pinyin TEXT, name_initials TEXT, id_reversed TEXT, phone_reversed TEXT);
INSERT INTO person (id, id_number, name, sex, birth_date, phone, address, street, committee,
  bank_account, resident_insurance, mutual_aid_years, mutual_aid_benefits_from,
  external_inpatient_insurance, allowance_balance, seq, name_pinyin, name_initials, id_reversed,
  phone_reversed)
  SELECT id, id_number, name, sex, day(birth_date), phone, address,
  (SELECT n FROM code WHERE text = street_code), committee, bank_account, resident_insurance,
  mutual_aid_years, day(mutual_aid_benefits_from), external_inpatient_insurance,
  fen(allowance_balance), seq, name_pinyin, name_initials, id_reversed, phone_reversed
  FROM s.person ORDER BY seq;
CREATE TABLE fee_row (id TEXT PRIMARY KEY, person INT NOT NULL, institution INT, issuer INT,
  receipt_no TEXT NOT NULL, check_code TEXT, date INT NOT NULL, kind INT, hospital_level INT,
  in_shanghai INT, out_of_province_filed INT, total INT, out_of_scope INT, self_pay INT,
  deductible_part INT, external_deductible INT, external_reimbursed INT, one_stop_settled INT,
  already_claimed INT, clearing_pending INT, major_illness INT, major_illness_doc INT,
  means_test_included INT, seq INT NOT NULL);
INSERT INTO fee_row SELECT f.id, p.n, (SELECT n FROM code WHERE text = institution_code),
  (SELECT n FROM code WHERE text = issuer_code), receipt_no, check_code, day(f.date), kind(kind),
  hospital_level, in_shanghai, out_of_province_filed, fen(total), fen(out_of_scope),
  fen(self_pay), fen(deductible_part), fen(external_deductible), fen(external_reimbursed),
  one_stop_settled, already_claimed, clearing_pending, major_illness, major_illness_doc,
  means_test_included, f.seq FROM s.fee_row f JOIN person p ON p.id = f.person_id
  ORDER BY f.seq;
CREATE TABLE claim (fee_row_id TEXT PRIMARY KEY, application_id BLOB, street INT, device INT,
  claimed_at INT, status INT, program INT, seq INT);
INSERT INTO claim SELECT fee_row_id, uid(application_id),
  (SELECT n FROM code WHERE text = street_code), (SELECT n FROM code WHERE text = device_id),
  micros(claimed_at), status(status), program(program), seq FROM s.claim ORDER BY seq;
CREATE TABLE category_span (id TEXT PRIMARY KEY, person INT, code INT, start INT, "end" INT,
  source TEXT, seq INT);
INSERT INTO category_span SELECT c.id, p.n, (SELECT n FROM code WHERE text = c.code),
  day(start), day("end"), source, c.seq FROM s.category_span c JOIN person p
  ON p.id = c.person_id ORDER BY c.seq;
CREATE INDEX ix_fee_row_person_date ON fee_row (person, date);
CREATE INDEX ix_fee_row_receipt_no_issuer ON fee_row (receipt_no, issuer);
CREATE INDEX ix_category_span_person ON category_span (person);
""" + PERSON_INDEXES.format(id="n"))


def sizes(path: Path) -> list[tuple[str, float]]:
    with sqlite3.connect(path) as c:
        return c.execute("SELECT name, sum(pgsize) / 1048576.0 FROM dbstat GROUP BY name "
                         "ORDER BY 2 DESC").fetchall()


def sealed_size(path: Path, work: Path) -> float:
    sealed = work / f"{path.stem}-sealed.sqlite"
    sealed.unlink(missing_ok=True)
    c = sqlcipher.connect(str(path))
    c.execute(f"ATTACH DATABASE '{sealed}' AS sealed KEY \"x'{'01' * 32}'\"")
    c.execute("SELECT sqlcipher_export('sealed')")
    c.execute("DETACH DATABASE sealed")
    c.close()
    size = sealed.stat().st_size / 2**20
    sealed.unlink()
    return size


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cache", type=Path, default=DEFAULT)
    parser.add_argument("--work", type=Path, default=None)
    args = parser.parse_args()
    if not args.cache.exists():
        print(f"{args.cache} does not exist: run bench/bench_sync.py --initial-only first")
        return 2
    with tempfile.TemporaryDirectory(prefix="cache-layout-", dir=args.work) as folder:
        work = Path(folder)
        plain = work / "now.sqlite"
        c = sqlcipher.connect(str(args.cache))
        c.execute(f"PRAGMA key = \"x'{bench_key(args.cache).hex()}'\"")
        c.execute(f"ATTACH DATABASE '{plain}' AS plain KEY ''")
        c.execute("SELECT sqlcipher_export('plain')")
        c.execute("DETACH DATABASE plain")
        c.close()
        print(f"the cache: {args.cache} ({args.cache.stat().st_size / 2**20:.1f} MiB sealed, "
              "as the pull wrote it)")
        for name, build in (("now", None), ("types", types_layout), ("keys", keys_layout)):
            path = work / f"{name}.sqlite"
            if build is not None:
                c = sqlite3.connect(path)
                functions(c)
                c.execute(f"ATTACH DATABASE '{plain}' AS s")
                c.execute("PRAGMA journal_mode = OFF")
                build(c)
                c.commit()
                c.execute("DETACH DATABASE s")
                c.close()
            with sqlite3.connect(path) as c:
                c.execute("VACUUM")
            parts = sizes(path)
            total = path.stat().st_size / 2**20
            print(f"\n{name}: {total:.1f} MiB plain and packed, "
                  f"{sealed_size(path, work):.1f} MiB sealed and packed")
            for part, mib in parts:
                if mib >= 1:
                    print(f"  {part:40s} {mib:6.1f} MiB")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
