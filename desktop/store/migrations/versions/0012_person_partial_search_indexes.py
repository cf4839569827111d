"""Person search indexes without the rows they can never find: the phone index without persons
who have no phone, the "name contains from the 3rd character" index without names of fewer than
3 characters.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-05

Every other index on `person` serves one arm of person search and stays (desktop/store/
search.py; tests/store/test_search_plan.py names the index of each arm). The expressions must
stay exactly those of desktop.store.models (NAME_FROM_3, NAME_HAS_3, HAS_PHONE): SQLite uses a
partial or expression index only when the query repeats them.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.drop_index("ix_person_phone_reversed", table_name="person")
    op.create_index("ix_person_phone_reversed", "person", ["phone_reversed"],
                    sqlite_where=sa.text("phone_reversed IS NOT NULL"))
    op.drop_index("ix_person_name_from_3", table_name="person")
    op.create_index("ix_person_name_from_3", "person", [sa.text("substr(name, 3)"), "name", "id"],
                    sqlite_where=sa.text("length(name) > 2"))


def downgrade() -> None:
    op.drop_index("ix_person_name_from_3", table_name="person")
    op.create_index("ix_person_name_from_3", "person", [sa.text("substr(name, 3)"), "name", "id"])
    op.drop_index("ix_person_phone_reversed", table_name="person")
    op.create_index("ix_person_phone_reversed", "person", ["phone_reversed"])
