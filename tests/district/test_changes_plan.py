"""A street's page reads its own changes, not everyone's, on PostgreSQL (issue 16).

Asked for `street_code = X ... ORDER BY seq`, PostgreSQL may walk the primary key and filter by
street (a street's rows are scattered in the table, so it rates the (street_code, seq) index
dear): a street whose changes came after a million others took 0.3 s a page. And the shared
range (street NULL), which that index does not give in seq order, scanned everything after
the cursor on every page. Now the street's range is bounded and ordered by the pair, which only
its index gives, and the shared range has an index of its own (migration 0007). EXPLAIN
ANALYZE counts what each statement of a page read and threw away: a page of 100 for a street
whose changes come after 300,000 of twelve others must throw away almost nothing.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import event, text

from desktop import wire
from district.db import Database
from district.services.changes import changes_page_json
from tests.district.conftest import PgCluster
from tests.district.harness import run_district

OTHERS = 300_000  # of twelve streets, interleaved as their counters pushed
LATE = "310105099"  # a street whose changes come after everyone else's
LATE_CHANGES = 30_000  # PostgreSQL reckons a walk of the key cheaper than its index


def test_a_street_page_fetches_its_rows_only(pg_cluster: PgCluster) -> None:
    url = pg_cluster.create_database()
    done = run_district("migrate", "--database-url", url)
    assert done.returncode == 0, done.stderr
    db = Database(url)
    try:
        with db.write() as session:
            session.execute(text(
                "INSERT INTO changes (seq, entity, key, op, street_code, data, at) "
                "SELECT g, 'fee_row', 'k' || g, 'upsert', "
                "CASE WHEN g % 50 = 0 THEN NULL ELSE '3101050' || lpad((g % 12 + 1)::text, 2, '0') "
                "END, '{}', now() "
                "FROM generate_series(1, CAST(:others AS bigint)) g"), {"others": OTHERS})
            session.execute(text(
                "INSERT INTO changes (seq, entity, key, op, street_code, data, at) "
                "SELECT g, 'fee_row', 'k' || g, 'upsert', :late, '{}', now() "
                "FROM generate_series(CAST(:first AS bigint), CAST(:last AS bigint)) g"),
                {"late": LATE, "first": OTHERS + 1, "last": OTHERS + LATE_CHANGES})
        # as autovacuum leaves the table after a large import: statistics and the visibility
        # map, which lets the seqs be read from the index alone
        with db.engine.connect() as connection:
            connection.connection.driver_connection.autocommit = True
            connection.exec_driver_sql("VACUUM ANALYZE changes")
        statements: list[tuple[str, Any]] = []

        def seen(_conn: Any, _cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
            statements.append((statement, parameters))

        event.listen(db.engine, "before_cursor_execute", seen)
        with db.read() as session:
            page = wire.ChangesPage.model_validate_json(changes_page_json(
                session, LATE, 0, 100, count=False, protocol=wire.PROTOCOL_VERSION))
        event.remove(db.engine, "before_cursor_execute", seen)
        # the first 100 shared changes (street NULL, every 50th of the others'), and the late
        # street's first 101 to merge them with
        assert [c.seq for c in page.items][:2] == [50, 100] and page.more
        # what each statement read and threw away, by PostgreSQL's own count: asked for
        # `street_code = X ORDER BY seq`, it walked the primary key through the other
        # streets' 300,000 rows
        thrown = 0
        with db.engine.connect() as connection:
            cursor = connection.connection.driver_connection.cursor()
            for statement, parameters in statements:
                if "FROM changes" not in statement:
                    continue
                cursor.execute("EXPLAIN (ANALYZE, FORMAT JSON) " + statement, parameters)
                thrown += _removed(cursor.fetchone()[0][0]["Plan"])
        assert thrown < 1_000, f"a page of 100 read and threw away {thrown} rows"
    finally:
        db.dispose()


def _removed(plan: dict[str, Any]) -> int:
    """Rows a plan node and its children read and dropped by a filter."""
    return int(plan.get("Rows Removed by Filter", 0)) + sum(
        _removed(child) for child in plan.get("Plans", []))

