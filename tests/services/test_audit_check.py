"""The counter's check of its audit trail against the attack it is for: the append-only triggers
dropped, the table changed, the triggers put back. `audit verify` names the row all the same."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import IntegrityError

from desktop.domain.audit_chain import LOCAL, SENT, AuditContent, Chain, audit_row_hash
from desktop.services.audit_check import verify_audit_chain
from desktop.store import Store, append_audit, open_store
from desktop.store.models import AuditEventRecord
from desktop.store.types import utc_text

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    with open_store(tmp_path / "store.sqlite") as opened:
        yield opened


def _rows(store: Store) -> list[AuditEventRecord]:
    with store.session() as session:
        return list(session.scalars(select(AuditEventRecord).order_by(AuditEventRecord.id)))


def _five_events(store: Store) -> list[AuditEventRecord]:
    """Sent, local, sent, local, sent."""
    with store.session() as session:
        append_audit(session, "li", "user.signed_in", "user:li", {})
        append_audit(session, "li", "receipt.scanned", "scan:1", {"text": "QR"}, push=False)
        append_audit(session, "li", "application.saved", "application:A1",
                     {"payable": "120.50", "rows": ["F1", "F2"]})
        append_audit(session, "district", "application.reviewed", "application:A1", {},
                     push=False)
        append_audit(session, "wang", "application.reviewed", "application:A1", {"名": "王"})
    return _rows(store)


def _behind_the_triggers(path: Path, *statements: tuple[str, tuple[object, ...]]) -> None:
    """The attack: drop the append-only triggers, change the table, put the triggers back."""
    connection = sqlite3.connect(path)
    try:
        triggers = connection.execute(
            "SELECT sql FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'audit_event'"
        ).fetchall()
        assert len(triggers) == 2
        with connection:
            connection.execute("DROP TRIGGER audit_event_no_update")
            connection.execute("DROP TRIGGER audit_event_no_delete")
            for sql, parameters in statements:
                connection.execute(sql, parameters)
            for (sql,) in triggers:
                connection.execute(sql)
    finally:
        connection.close()


def _verify_command(path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "desktop", "audit", "verify", "--cache",
                           str(path)], cwd=ROOT, capture_output=True, text=True, timeout=120,
                          check=False)


def test_a_row_edited_behind_the_triggers_is_named_by_audit_verify(store: Store) -> None:
    """Dropping the triggers, editing a row and recreating them leaves the table looking
    untouched to SQL, but `audit verify` names the row and exits 1."""
    rows = _five_events(store)
    intact = _verify_command(store.path)
    assert intact.returncode == 0, intact.stdout + intact.stderr
    assert "status: intact" in intact.stdout and "rows_checked: 5" in intact.stdout
    _behind_the_triggers(store.path, (
        "UPDATE audit_event SET detail = json_set(detail, '$.payable', '9120.50') WHERE id = ?",
        (rows[2].id,)))
    with pytest.raises(IntegrityError, match="append-only"), store.session() as session:
        session.execute(text("UPDATE audit_event SET actor = 'x'"))  # the triggers are back
    done = _verify_command(store.path)
    assert done.returncode == 1, done.stdout + done.stderr
    assert "status: broken" in done.stdout
    assert f"row_id: {rows[2].id}" in done.stdout
    assert f"event_id: {rows[2].event_id}" in done.stdout
    assert "problem: content_changed" in done.stdout and "被改过" in done.stdout


def test_a_row_deleted_from_the_middle_is_found_at_the_next_link(store: Store) -> None:
    rows = _five_events(store)
    _behind_the_triggers(store.path, ("DELETE FROM audit_event WHERE id = ?", (rows[2].id,)))
    problem = verify_audit_chain(store).problem
    assert problem is not None and problem.problem == "row_deleted"
    assert problem.row_id == rows[4].id  # the next sent event no longer links
    assert f"第 {rows[0].id} 行与它之间有行被删除" in problem.message


def test_a_local_row_deleted_is_found_too(store: Store) -> None:
    rows = _five_events(store)
    _behind_the_triggers(store.path, ("DELETE FROM audit_event WHERE id = ?", (rows[1].id,)))
    problem = verify_audit_chain(store).problem
    assert problem is not None and (problem.problem, problem.row_id) == ("row_deleted",
                                                                          rows[3].id)


def test_a_row_inserted_in_the_middle_is_named_even_with_a_correct_hash(store: Store) -> None:
    """The forger renumbers the later rows to make room and hashes the forged row properly:
    the row after it still links to the row before it."""
    rows = _five_events(store)
    forged_id = rows[2].id
    forged = AuditContent(str(uuid.uuid4()), rows[2].at, "wang", "application.approved",
                          "application:A1", {})
    forged_hash = audit_row_hash(forged, rows[0].row_hash, SENT)
    shift = [("UPDATE audit_event SET id = id + 100 WHERE id >= ?", (forged_id,)),
             ("UPDATE audit_event SET id = id - 99 WHERE id >= ?", (forged_id + 100,))]
    insert = ("INSERT INTO audit_event (id, event_id, at, actor, action, subject, detail, "
              "prev_hash, row_hash) VALUES (?, ?, ?, ?, ?, ?, '{}', ?, ?)",
              (forged_id, uuid.UUID(forged.event_id).hex, utc_text(forged.at), forged.actor,
               forged.action, forged.subject, rows[0].row_hash, forged_hash))
    _behind_the_triggers(store.path, *shift, insert)
    problem = verify_audit_chain(store).problem
    assert problem is not None and problem.problem == "row_inserted"
    assert (problem.row_id, problem.event_id) == (forged_id, forged.event_id)
    assert f"第 {forged_id} 行是后来插入的" in problem.message


def test_a_row_added_without_hashes_is_named(store: Store) -> None:
    _five_events(store)
    _behind_the_triggers(store.path, (
        "INSERT INTO audit_event (event_id, at, actor, action, subject, detail) "
        "VALUES (?, '2026-12-01T00:00:00.000000+00:00', 'li', 'x', 'y', '{}')",
        (uuid.uuid4().hex,)))
    problem = verify_audit_chain(store).problem
    assert problem is not None and (problem.problem, problem.row_id) == ("missing_hash", 6)


def test_a_rewritten_chain_still_differs_from_what_was_sent(store: Store) -> None:
    """A forger who edits a row and recomputes every hash after it (the formula is public)
    leaves a consistent chain, but the outbox keeps each event as it was sent."""
    rows = _five_events(store)
    statements: list[tuple[str, tuple[object, ...]]] = []
    heads: dict[Chain, str | None] = {SENT: None, LOCAL: None}
    for n, row in enumerate(rows):
        chain: Chain = LOCAL if n in (1, 3) else SENT
        detail = {**row.detail, "payable": "9120.50"} if n == 2 else row.detail
        content = AuditContent(str(row.event_id), row.at, row.actor, row.action, row.subject,
                               detail)
        new_hash = audit_row_hash(content, heads[chain], chain)
        statements.append(("UPDATE audit_event SET detail = ?, prev_hash = ?, row_hash = ? "
                           "WHERE id = ?", (json.dumps(detail), heads[chain], new_hash, row.id)))
        heads[chain] = new_hash
    _behind_the_triggers(store.path, *statements)
    problem = verify_audit_chain(store).problem
    assert problem is not None and (problem.problem, problem.row_id) == ("copy_differs",
                                                                          rows[2].id)


def test_a_truncated_tail_is_found_against_the_outbox(store: Store) -> None:
    """The last event is gone but its copy waits in the outbox (or was sent). If the outbox
    copy is removed too, the district finds the cut (tests/district/test_audit_chain.py)."""
    rows = _five_events(store)
    _behind_the_triggers(store.path, ("DELETE FROM audit_event WHERE id >= ?", (rows[4].id,)))
    problem = verify_audit_chain(store).problem
    assert problem is not None and (problem.problem, problem.event_id) == (
        "row_deleted", str(rows[4].event_id))
    assert "已排队发往区里" in problem.message


def test_audit_verify_reads_the_encrypted_cache_with_its_key(
        tmp_path: Path, memory_keyring: object, capsys: pytest.CaptureFixture[str]) -> None:
    """The counter's own cache is SQLCipher under a key in the keyring: the command finds it
    there (in-process here: the test keyring lives in this process)."""
    from desktop.audit_command import run
    from desktop.sync.credentials import load_or_create_cache_key

    path = tmp_path / "sealed.sqlite"
    with open_store(path, key=load_or_create_cache_key(path)) as sealed, \
            sealed.session() as session:
        append_audit(session, "li", "user.signed_in", "user:li", {})
    assert run(["verify", "--cache", str(path)], sys.stdout, sys.stderr) == 0
    assert "status: intact" in capsys.readouterr().out
    assert run(["verify", "--cache", str(tmp_path / "none.sqlite")], sys.stdout, sys.stderr) == 2
    assert "cannot open the cache" in capsys.readouterr().err
    assert not (tmp_path / "none.sqlite").exists()
