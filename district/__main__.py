"""`python -m district serve | seed | migrate | import | restored | audit verify`: the district
server's commands."""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from district.config import DEFAULT_HOST, SettingsError, load_settings
from district.log import configure_logging

if TYPE_CHECKING:
    from district.db import Database

log = logging.getLogger("district")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m district", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    serve = commands.add_parser("serve", help="run the API server (migrates the database first)")
    serve.add_argument("--host", help=f"address to listen on (default {DEFAULT_HOST})")
    serve.add_argument("--port", type=int, help="port (default 8470)")
    serve.add_argument("--database-url", help="sqlite:///PATH or postgresql+psycopg://…")

    seed = commands.add_parser("seed", help="fill the database with a synthetic district")
    seed.add_argument("--persons", type=int, default=1000, help="how many persons (default 1000)")
    seed.add_argument("--database-url", help="sqlite:///PATH or postgresql+psycopg://…")
    seed.add_argument("--seed", type=int, default=2026, help="random seed (default 2026)")
    seed.add_argument("--password", help="one password for every user (demo); "
                      "otherwise each gets a random one, printed once")
    seed.add_argument("--streets", help="comma-separated street codes (default: all 23)")
    seed.add_argument("--devices-per-street", type=int, default=2,
                      help="one-time enrolment codes per street (default 2)")
    seed.add_argument("--reset", action="store_true", help="empty the database first")
    seed.add_argument("--visit-scale", type=float, default=1.0,
                      help="multiply each person's outpatient visits (default 1.0; the sync "
                           "benchmark uses 1.6 for about 10 fee rows a person)")
    seed.add_argument("--json", action="store_true",
                      help="print the credentials as JSON instead of a table")

    migrate = commands.add_parser("migrate", help="bring the database schema up to date")
    migrate.add_argument("--database-url", help="sqlite:///PATH or postgresql+psycopg://…")

    imports = commands.add_parser(
        "import", help="import a real data file whole or not at all (docs/data-import.md)")
    imports.add_argument("kind", choices=("persons", "fees"),
                         help="persons: the 民政 list; fees: the 医保 settlement export")
    imports.add_argument("file", type=Path, help=".csv (UTF-8 or GBK) or .xlsx")
    imports.add_argument("--report", type=Path,
                         help="where to write the rejection report (default: beside FILE)")
    imports.add_argument("--database-url", help="sqlite:///PATH or postgresql+psycopg://…")

    restored = commands.add_parser(
        "restored", help="mark the database as restored from a backup (a new generation): run "
                         "it after the restore, before starting the servers")
    restored.add_argument("--database-url", help="sqlite:///PATH or postgresql+psycopg://…")

    audit = commands.add_parser("audit", help="the audit trail")
    audit_commands = audit.add_subparsers(dest="audit_command", required=True)
    verify = audit_commands.add_parser(
        "verify", help="check the audit trail's hash chains; exit 1 and name the first break")
    verify.add_argument("--database-url", help="sqlite:///PATH or postgresql+psycopg://…")

    args = parser.parse_args(argv)
    try:
        settings = load_settings(database_url=args.database_url,
                                 host=getattr(args, "host", None),
                                 port=getattr(args, "port", None))
    except SettingsError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    configure_logging(settings.log_level, settings.log_format)

    from district.db import Database

    db = Database(settings.database_url)
    try:
        if args.command == "serve":
            from district.server import serve as run_server

            return run_server(settings, db)
        if args.command == "seed":
            from district.seed import SeedOptions, print_credentials, seed_district

            options = SeedOptions(persons=args.persons, seed=args.seed, password=args.password,
                                  streets=args.streets.split(",") if args.streets else None,
                                  devices_per_street=args.devices_per_street, reset=args.reset,
                                  visit_scale=args.visit_scale)
            try:
                report = seed_district(db, options)
            except ValueError as exc:
                print(f"error: {exc}", file=sys.stderr)
                return 2
            print_credentials(report, as_json=args.json)
            return 0
        if args.command == "import":
            from district.imports.command import run_import

            return run_import(db, args.kind, args.file, args.report)
        if args.command == "audit":
            return _verify_audit(db)
        if args.command == "restored":
            from district.services.generation import mark_restored

            db.migrate()
            generation = mark_restored(db)
            print(f"已标记为从备份恢复：新的数据代号 {generation}。各柜台下次同步时会重新下载"
                  "全部数据，并重新提交区服务器丢失的内容。")
            return 0
        db.migrate()
        log.info("schema up to date", extra={"database": db.display_url})
        return 0
    finally:
        db.dispose()


def _verify_audit(db: Database) -> int:
    """Print what the check found; 0 when the trail is intact, 1 when it is broken."""
    from district.services.audit import describe, verify_audit_trail

    with db.read() as session:
        verdict = verify_audit_trail(session)
    print("\n".join(describe(verdict)))
    return 0 if verdict.intact else 1


if __name__ == "__main__":
    sys.exit(main())
