"""Person search keys: name pinyin and initials, ID number and phone reversed, with indexes.

Also the indexes "name contains" runs on: the name from its 2nd and from its 3rd character,
and the few names longer than 3 characters.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-24

Existing persons get their keys computed here. The keys come from the application's own
`name_keys`, on purpose: search compares a query with what that function makes of it, so stored
keys must be what the running version computes (a later change to it comes with a migration
that recomputes them).
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from desktop.store.search_keys import name_keys, reversed_key

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BATCH = 5000


def upgrade() -> None:
    with op.batch_alter_table("person") as batch:
        batch.add_column(sa.Column("name_pinyin", sa.String(length=255), server_default="",
                                   nullable=False))
        batch.add_column(sa.Column("name_initials", sa.String(length=64), server_default="",
                                   nullable=False))
        batch.add_column(sa.Column("id_reversed", sa.String(length=18), server_default="",
                                   nullable=False))
        batch.add_column(sa.Column("phone_reversed", sa.String(length=32), nullable=True))
    fill_person_keys()
    op.create_index(op.f("ix_person_name_pinyin_name_id"), "person",
                    ["name_pinyin", "name", "id"])
    op.create_index(op.f("ix_person_name_initials_name_id"), "person",
                    ["name_initials", "name", "id"])
    op.create_index(op.f("ix_person_id_reversed"), "person", ["id_reversed"])
    op.create_index(op.f("ix_person_phone_reversed"), "person", ["phone_reversed"])
    # The expressions must stay exactly those of desktop.store.models (NAME_FROM_2 ...): a query
    # uses an expression index only when it repeats the expression.
    op.create_index("ix_person_name_from_2", "person", [sa.text("substr(name, 2)"), "name", "id"])
    op.create_index("ix_person_name_from_3", "person", [sa.text("substr(name, 3)"), "name", "id"])
    op.create_index("ix_person_long_name", "person", ["name", "id"],
                    sqlite_where=sa.text("length(name) > 3"))


def fill_person_keys() -> None:
    connection = op.get_bind()
    person = sa.table("person", sa.column("id"), sa.column("name"), sa.column("id_number"),
                      sa.column("phone"), sa.column("name_pinyin"), sa.column("name_initials"),
                      sa.column("id_reversed"), sa.column("phone_reversed"))
    update = (
        person.update()
        .where(person.c.id == sa.bindparam("key"))
        .values(name_pinyin=sa.bindparam("pinyin"), name_initials=sa.bindparam("initials"),
                id_reversed=sa.bindparam("id_rev"), phone_reversed=sa.bindparam("phone_rev"))
    )
    last = ""
    while True:
        rows = connection.execute(
            sa.select(person.c.id, person.c.name, person.c.id_number, person.c.phone)
            .where(person.c.id > last).order_by(person.c.id).limit(BATCH)
        ).all()
        if not rows:
            return
        params = []
        for key, name, id_number, phone in rows:
            keys = name_keys(name)
            params.append({"key": key, "pinyin": keys.pinyin, "initials": keys.initials,
                           "id_rev": reversed_key(id_number), "phone_rev": reversed_key(phone)})
        connection.execute(update, params)
        last = rows[-1][0]


def downgrade() -> None:
    for index in ("ix_person_long_name", "ix_person_name_from_3", "ix_person_name_from_2",
                  "ix_person_phone_reversed", "ix_person_id_reversed",
                  "ix_person_name_initials_name_id", "ix_person_name_pinyin_name_id"):
        op.drop_index(index, table_name="person")
    with op.batch_alter_table("person") as batch:
        for column in ("phone_reversed", "id_reversed", "name_initials", "name_pinyin"):
            batch.drop_column(column)
