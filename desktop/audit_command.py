"""`counter-desk audit verify [--cache PATH]`: check this PC's audit trail (its hash chains).

Exit 0 when it is intact, 1 when it is broken (the first break is named: its row, its event and
what is wrong), 2 when the cache cannot be opened. Keys in English, explanations in Chinese.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TextIO

from desktop.domain.audit_chain import PROBLEM_TEXT
from desktop.services.audit_check import AuditCheck


def run(args: list[str], stdout: TextIO, stderr: TextIO) -> int:
    parser = argparse.ArgumentParser(prog="counter-desk audit", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    verify = commands.add_parser("verify", help="check the audit trail's hash chains")
    verify.add_argument("--cache", type=Path,
                        help="the cache file (default: this user's counter cache)")
    options = parser.parse_args(args)
    try:
        check = _check(options.cache)
    except Exception as exc:  # a missing file, a missing key, a damaged cache: said in one line
        print(f"error: 无法打开本机缓存 cannot open the cache: {exc}", file=stderr)
        return 2
    print("\n".join(describe(check)), file=stdout)
    return 0 if check.intact else 1


def _check(path: Path | None) -> AuditCheck:
    from desktop.services.audit_check import verify_audit_chain
    from desktop.store import open_store
    from desktop.store.database import cache_format, default_path
    from desktop.sync.credentials import load_or_create_cache_key

    path = default_path() if path is None else path
    found = cache_format(path)
    if found == "missing":
        raise FileNotFoundError(f"{path} 不存在")
    # the key is the one the counter sealed the file with; a plain file is read as it is
    key = load_or_create_cache_key(path) if found == "encrypted" else None
    store = open_store(path, key=key)
    try:
        return verify_audit_chain(store)
    finally:
        store.close()


def describe(check: AuditCheck) -> list[str]:
    lines = [f"status: {'intact' if check.intact else 'broken'}"
             f"  （审计链{'完整' if check.intact else '断裂'}）",
             f"rows_checked: {check.rows}",
             f"sent_head: {check.sent_head}  （最近一条发往区里的事件的哈希，区里应记有同一个）",
             f"local_head: {check.local_head}"]
    problem = check.problem
    if problem is not None:
        lines += [f"problem: {problem.problem}  （{PROBLEM_TEXT[problem.problem]}）",
                  f"row_id: {problem.row_id}", f"event_id: {problem.event_id}",
                  f"说明: {problem.message}"]
    return lines
