"""Entry point: `counter-desk` opens the counter window; `counter-desk calc CASE.json` computes;
`counter-desk audit …` checks the audit trail; `counter-desk enrol --server URL --code CODE`
registers this PC with the district (scripted installs)."""

from __future__ import annotations

import sys


def main(argv: list[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if args and args[0] == "calc":
        from desktop.calc_command import run

        return run(args[1:], sys.stdin, sys.stdout, sys.stderr)
    if args and args[0] == "audit":
        from desktop.audit_command import run as run_audit

        return run_audit(args[1:], sys.stdout, sys.stderr)
    if args and args[0] == "enrol":
        from desktop.enrol_command import run as run_enrol

        return run_enrol(args[1:], sys.stdout, sys.stderr)
    from desktop.ui.app import run_gui

    return int(run_gui([sys.argv[0], *args]))


if __name__ == "__main__":
    raise SystemExit(main())
