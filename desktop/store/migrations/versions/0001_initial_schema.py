"""Initial schema: the district's entities, the counter's work, sync state, append-only audit.

Revision ID: 0001
Revises:
Create Date: 2026-11-24

Types are written out as stored (money and instants as text) rather than imported from the
application, so this file keeps meaning the same schema whatever the code becomes.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

MONEY = sa.String(length=32)  # Decimal digits, exact (desktop.store.types.Money)
INSTANT = sa.String(length=32)  # ISO 8601 UTC (desktop.store.types.UtcDateTime)


def upgrade() -> None:
    _district_entities()
    _counter_work()
    _sync_state()


def _district_entities() -> None:
    op.create_table(
        "person",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("id_number", sa.String(length=18), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("sex", sa.String(length=1), nullable=False),
        sa.Column("birth_date", sa.Date(), nullable=False),
        sa.Column("phone", sa.String(length=32), nullable=True),
        sa.Column("address", sa.String(length=255), nullable=True),
        sa.Column("street_code", sa.String(length=32), nullable=False),
        sa.Column("committee", sa.String(length=64), nullable=True),
        sa.Column("bank_account", sa.String(length=32), nullable=True),
        sa.Column("resident_insurance", sa.Boolean(), nullable=False),
        sa.Column("mutual_aid_years", sa.JSON(), nullable=False),
        sa.Column("mutual_aid_benefits_from", sa.Date(), nullable=True),
        sa.Column("external_inpatient_insurance", sa.Boolean(), nullable=False),
        sa.Column("allowance_balance", MONEY, nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.CheckConstraint("sex IN ('M', 'F')", name=op.f("ck_person_sex")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_person")),
        sa.UniqueConstraint("id_number", name=op.f("uq_person_id_number")),
    )
    op.create_index(op.f("ix_person_name_id"), "person", ["name", "id"])

    op.create_table(
        "category_span",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("person_id", sa.String(length=64), nullable=False),
        sa.Column("code", sa.String(length=32), nullable=False),
        sa.Column("start", sa.Date(), nullable=False),
        sa.Column("end", sa.Date(), nullable=True),
        sa.Column("source", sa.String(length=255), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["person_id"], ["person.id"], ondelete="CASCADE",
                                name=op.f("fk_category_span_person_id_person")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_category_span")),
    )
    op.create_index(op.f("ix_category_span_person_id"), "category_span", ["person_id"])

    op.create_table(
        "institution",
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("level", sa.Integer(), nullable=False),
        sa.Column("in_shanghai", sa.Boolean(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("code", name=op.f("pk_institution")),
    )

    op.create_table(
        "fee_row",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("person_id", sa.String(length=64), nullable=False),
        sa.Column("institution_code", sa.String(length=64), nullable=True),
        sa.Column("issuer_code", sa.String(length=32), nullable=True),
        sa.Column("receipt_no", sa.String(length=64), nullable=False),
        sa.Column("check_code", sa.String(length=32), nullable=True),
        sa.Column("date", sa.Date(), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("hospital_level", sa.Integer(), nullable=False),
        sa.Column("in_shanghai", sa.Boolean(), nullable=False),
        sa.Column("out_of_province_filed", sa.Boolean(), nullable=False),
        sa.Column("total", MONEY, nullable=False),
        sa.Column("out_of_scope", MONEY, nullable=False),
        sa.Column("self_pay", MONEY, nullable=False),
        sa.Column("deductible_part", MONEY, nullable=False),
        sa.Column("external_deductible", MONEY, nullable=False),
        sa.Column("external_reimbursed", MONEY, nullable=False),
        sa.Column("one_stop_settled", sa.Boolean(), nullable=False),
        sa.Column("already_claimed", sa.Boolean(), nullable=False),
        sa.Column("clearing_pending", sa.Boolean(), nullable=False),
        sa.Column("major_illness", sa.Boolean(), nullable=False),
        sa.Column("major_illness_doc", sa.Boolean(), nullable=False),
        sa.Column("means_test_included", sa.Boolean(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["person_id"], ["person.id"], ondelete="CASCADE",
                                name=op.f("fk_fee_row_person_id_person")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_fee_row")),
    )
    op.create_index(op.f("ix_fee_row_person_id_date"), "fee_row", ["person_id", "date"])
    op.create_index(op.f("ix_fee_row_receipt_no_issuer_code"), "fee_row",
                    ["receipt_no", "issuer_code"])

    op.create_table(
        "claim",
        sa.Column("fee_row_id", sa.String(length=64), nullable=False),
        sa.Column("application_id", sa.Uuid(), nullable=False),
        sa.Column("street_code", sa.String(length=32), nullable=False),
        sa.Column("device_id", sa.String(length=64), nullable=False),
        sa.Column("claimed_at", INSTANT, nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("program", sa.String(length=16), nullable=True),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("fee_row_id", name=op.f("pk_claim")),
    )

    op.create_table(
        "parameter_version",
        sa.Column("id", sa.String(length=255), nullable=False),
        sa.Column("key", sa.String(length=255), nullable=False),
        sa.Column("effective_from", sa.Date(), nullable=False),
        sa.Column("value", sa.Text(), nullable=False),
        sa.Column("source", sa.String(length=255), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_parameter_version")),
        sa.UniqueConstraint("key", "effective_from",
                            name=op.f("uq_parameter_version_key_effective_from")),
    )


def _counter_work() -> None:
    op.create_table(
        "scanned_receipt",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("raw_text", sa.Text(), nullable=False),
        sa.Column("scanned_at", INSTANT, nullable=False),
        sa.Column("clerk", sa.String(length=64), nullable=False),
        sa.Column("person_id", sa.String(length=64), nullable=True),
        sa.Column("format", sa.String(length=32), nullable=True),
        sa.Column("issuer_code", sa.String(length=32), nullable=True),
        sa.Column("receipt_no", sa.String(length=64), nullable=True),
        sa.Column("check_code", sa.String(length=32), nullable=True),
        sa.Column("amount", MONEY, nullable=True),
        sa.Column("receipt_date", sa.Date(), nullable=True),
        sa.Column("fee_row_id", sa.String(length=64), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.CheckConstraint("status IN ('pending', 'matched', 'dismissed')",
                           name=op.f("ck_scanned_receipt_status")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_scanned_receipt")),
    )
    op.create_index(op.f("ix_scanned_receipt_receipt_no"), "scanned_receipt", ["receipt_no"])
    op.create_index(op.f("ix_scanned_receipt_status_scanned_at"), "scanned_receipt",
                    ["status", "scanned_at"])

    op.create_table(
        "application",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("program", sa.String(length=16), nullable=False),
        sa.Column("district", sa.String(length=16), nullable=False),
        sa.Column("person_id", sa.String(length=64), nullable=False),
        sa.Column("proxy_name", sa.String(length=64), nullable=True),
        sa.Column("proxy_id_number", sa.String(length=18), nullable=True),
        sa.Column("auto_enrolled", sa.Boolean(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("payable", MONEY, nullable=False),
        sa.Column("buckets", sa.JSON(), nullable=False),
        sa.Column("case", sa.JSON(), nullable=True),
        sa.Column("result", sa.JSON(), nullable=True),
        sa.Column("parameter_versions", sa.JSON(), nullable=False),
        sa.Column("created_at", INSTANT, nullable=False),
        sa.Column("created_by", sa.String(length=64), nullable=False),
        sa.Column("updated_at", INSTANT, nullable=False),
        sa.Column("server_reason", sa.String(length=64), nullable=True),
        sa.Column("server_message", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_application")),
    )
    op.create_index(op.f("ix_application_person_id"), "application", ["person_id"])
    op.create_index(op.f("ix_application_status"), "application", ["status"])

    op.create_table(
        "application_row",
        sa.Column("application_id", sa.Uuid(), nullable=False),
        sa.Column("fee_row_id", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(["application_id"], ["application.id"], ondelete="CASCADE",
                                name=op.f("fk_application_row_application_id_application")),
        sa.PrimaryKeyConstraint("application_id", "fee_row_id", name=op.f("pk_application_row")),
    )
    op.create_index(op.f("ix_application_row_fee_row_id"), "application_row", ["fee_row_id"])

    op.create_table(
        "signature",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("application_id", sa.Uuid(), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("username", sa.String(length=64), nullable=False),
        sa.Column("signed_at", INSTANT, nullable=False),
        sa.CheckConstraint("role IN ('handler', 'reviewer', 'approver')",
                           name=op.f("ck_signature_role")),
        sa.ForeignKeyConstraint(["application_id"], ["application.id"], ondelete="CASCADE",
                                name=op.f("fk_signature_application_id_application")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_signature")),
        sa.UniqueConstraint("application_id", "role",
                            name=op.f("uq_signature_application_id_role")),
        sa.UniqueConstraint("application_id", "username",
                            name=op.f("uq_signature_application_id_username")),
    )

    op.create_table(
        "user",
        sa.Column("username", sa.String(length=64), nullable=False),
        sa.Column("display_name", sa.String(length=64), nullable=False),
        sa.Column("roles", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("username", name=op.f("pk_user")),
    )

    op.create_table(
        "audit_event",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("event_id", sa.Uuid(), nullable=False),
        sa.Column("at", INSTANT, nullable=False),
        sa.Column("actor", sa.String(length=64), nullable=False),
        sa.Column("action", sa.String(length=64), nullable=False),
        sa.Column("subject", sa.String(length=255), nullable=False),
        sa.Column("detail", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_event")),
        sa.UniqueConstraint("event_id", name=op.f("uq_audit_event_event_id")),
    )
    op.create_index(op.f("ix_audit_event_at"), "audit_event", ["at"])
    op.create_index(op.f("ix_audit_event_subject"), "audit_event", ["subject"])
    # The audit trail is append-only: nothing in the application may rewrite or remove it.
    for verb in ("UPDATE", "DELETE"):
        op.execute(
            f"CREATE TRIGGER audit_event_no_{verb.lower()} BEFORE {verb} ON audit_event "
            "BEGIN SELECT RAISE(ABORT, 'audit_event is append-only'); END"
        )


def _sync_state() -> None:
    op.create_table(
        "outbox",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("idempotency_key", sa.Uuid(), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("created_at", INSTANT, nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_attempt_at", INSTANT, nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("delivered_at", INSTANT, nullable=True),
        sa.Column("result", sa.JSON(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outbox")),
        sa.UniqueConstraint("idempotency_key", name=op.f("uq_outbox_idempotency_key")),
    )
    op.create_index("ix_outbox_waiting", "outbox", ["id"],
                    sqlite_where=sa.text("delivered_at IS NULL"))

    op.create_table(
        "sync_cursor",
        sa.Column("stream", sa.String(length=64), nullable=False),
        sa.Column("cursor", sa.Integer(), nullable=False),
        sa.Column("updated_at", INSTANT, nullable=False),
        sa.PrimaryKeyConstraint("stream", name=op.f("pk_sync_cursor")),
    )
    op.create_table(
        "sync_tombstone",
        sa.Column("entity", sa.String(length=32), nullable=False),
        sa.Column("key", sa.String(length=255), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("entity", "key", name=op.f("pk_sync_tombstone")),
    )
    op.create_table(
        "sync_parked",
        sa.Column("entity", sa.String(length=32), nullable=False),
        sa.Column("key", sa.String(length=255), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("person_id", sa.String(length=64), nullable=False),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("entity", "key", name=op.f("pk_sync_parked")),
    )
    op.create_index(op.f("ix_sync_parked_person_id"), "sync_parked", ["person_id"])


def downgrade() -> None:
    for table in ("sync_parked", "sync_tombstone", "sync_cursor", "outbox", "audit_event",
                  "user", "signature", "application_row", "application", "scanned_receipt",
                  "parameter_version", "claim", "fee_row", "institution", "category_span",
                  "person"):
        op.drop_table(table)  # drops the table's indexes and triggers with it
