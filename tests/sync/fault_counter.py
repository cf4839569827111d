"""A counter in a process of its own, for tests/sync/test_faults.py to kill with SIGKILL.

    python -m tests.sync.fault_counter cycle   # save, push, pull, again and again, until killed
    python -m tests.sync.fault_counter sync    # push and pull once, then exit

It reads its store path, the district's address, its device token and the clerk's credentials
from the environment (the keyring is per process in the tests, so the token comes this way).
It prints `READY` once the store is open and the clerk logged in, `SAVED <application id>` only
after save_application has returned (so the application is committed), `PUSHED ...` after the
push and `SYNCED` after the pull that follows it. Every line is flushed at once: a line the
parent has read is a fact.
"""

from __future__ import annotations

import os
import sys
from datetime import date, timedelta
from pathlib import Path

from sqlalchemy import select

from desktop.services.accounts import sign_in
from desktop.services.applications import (
    NothingToClaim,
    SavedApplication,
    record_push_result,
    save_application,
)
from desktop.store import Store, open_store
from desktop.store.models import ApplicationRecord, ClaimRecord, FeeRowRecord, PersonRecord
from desktop.sync.client import DistrictClient
from desktop.sync.pull import pull
from desktop.sync.push import push

ENV_STORE = "FAULT_STORE"
ENV_URL = "FAULT_URL"
ENV_TOKEN = "FAULT_DEVICE_TOKEN"
ENV_CLERK = "FAULT_CLERK"
ENV_PASSWORD = "FAULT_PASSWORD"


def fresh_candidates(store: Store, today: date) -> list[tuple[str, list[str]]]:
    """Persons this counter has never made an application for, with their unclaimed recent
    rows (most rows first, then by id, so every run walks them in the same order).

    One application per person keeps every application independent of the others: none is
    computed from the history or the allowance another one, still unpushed, has changed.
    """
    with store.session() as session:
        served = set(session.scalars(select(ApplicationRecord.person_id)))
        held = select(ClaimRecord.fee_row_id)
        rows = session.scalars(select(FeeRowRecord).where(
            FeeRowRecord.id.not_in(held),
            FeeRowRecord.date >= today - timedelta(days=150))).all()
        by_person: dict[str, list[str]] = {}
        for row in rows:
            if row.person_id not in served:
                by_person.setdefault(row.person_id, []).append(row.id)
    return sorted(((p, sorted(r)) for p, r in by_person.items()), key=lambda kv: (-len(kv[1]),
                                                                              kv[0]))


def save_next(store: Store, clerk: str, today: date) -> SavedApplication | None:
    """Save an application for the next fresh person with something to claim; None when no
    person is left."""
    for person_id, rows in fresh_candidates(store, today):
        with store.session() as session:
            person = session.get(PersonRecord, person_id)
            assert person is not None
            program = "mutual_aid" if person.mutual_aid_years else "assistance"
        try:
            return save_application(store, person_id=person_id, program=program,
                                    district="changning", application_date=today,
                                    ticked=rows, handler=clerk)
        except NothingToClaim:
            continue
    return None


def say(line: str) -> None:
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


def main(mode: str) -> int:
    store = open_store(Path(os.environ[ENV_STORE]))
    token = os.environ[ENV_TOKEN]
    client = DistrictClient(os.environ[ENV_URL], lambda: token, timeout=10)
    clerk = os.environ[ENV_CLERK]
    sign_in(store, client, clerk, os.environ[ENV_PASSWORD])  # opens the clerk's signing key
    say("READY")
    if mode == "sync":
        push(store, client, on_result=record_push_result)
        pull(store, client)
        say("SYNCED")
    elif mode == "cycle":
        while True:
            saved = save_next(store, clerk, date.today())
            if saved is None:
                say("EXHAUSTED")
                break
            say(f"SAVED {saved.application_id}")
            stats = push(store, client, on_result=record_push_result)
            say(f"PUSHED accepted={stats.accepted} duplicates={stats.duplicates} "
                f"refused={stats.refused}")
            pull(store, client)
            say("SYNCED")
    else:
        raise SystemExit(f"unknown mode {mode!r}: cycle or sync")
    client.close()
    store.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1] if len(sys.argv) > 1 else "cycle"))
