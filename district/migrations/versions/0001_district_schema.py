"""Create the district schema: reference data, devices and users, persons and their fee rows,
applications with the claim registry, the push log and the change sequence.

Revision ID: 0001
Revises:
Create Date: 2026-11-24
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _pk(table: str, *columns: str) -> sa.PrimaryKeyConstraint:
    return sa.PrimaryKeyConstraint(*columns, name=f"pk_{table}")


def _fk(table: str, column: str, target: str) -> sa.ForeignKeyConstraint:
    referred = target.split(".")[0]
    return sa.ForeignKeyConstraint([column], [target], name=f"fk_{table}_{column}_{referred}")


def _index(table: str, *columns: str) -> None:
    op.create_index(f"ix_{table}_{'_'.join(columns)}", table, list(columns))


def _moment(name: str, nullable: bool = False) -> sa.Column[object]:
    """A UTC moment, stored naive (district.models.UTCDateTime)."""
    return sa.Column(name, sa.DateTime(), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "change_counter",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("last_seq", sa.BigInteger(), nullable=False),
        _pk("change_counter", "id"),
    )
    op.bulk_insert(sa.table("change_counter", sa.column("id"), sa.column("last_seq")),
                   [{"id": 1, "last_seq": 0}])
    op.create_table(
        "changes",
        sa.Column("seq", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("entity", sa.String(24), nullable=False),
        sa.Column("key", sa.String(120), nullable=False),
        sa.Column("op", sa.String(8), nullable=False),
        sa.Column("street_code", sa.String(12), nullable=True),
        sa.Column("data", sa.JSON(), nullable=True),
        _moment("at"),
        _pk("changes", "seq"),
    )
    _index("changes", "street_code", "seq")
    op.create_table(
        "institutions",
        sa.Column("code", sa.String(16), nullable=False),
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("level", sa.Integer(), nullable=False),
        sa.Column("in_shanghai", sa.Boolean(), nullable=False),
        _pk("institutions", "code"),
    )
    op.create_table(
        "parameter_versions",
        sa.Column("key", sa.String(120), nullable=False),
        sa.Column("effective_from", sa.Date(), nullable=False),
        sa.Column("value", sa.Text(), nullable=False),
        sa.Column("source", sa.String(120), nullable=False),
        _pk("parameter_versions", "key", "effective_from"),
    )
    op.create_table(
        "streets",
        sa.Column("code", sa.String(12), nullable=False),
        sa.Column("name", sa.String(32), nullable=False),
        sa.Column("district", sa.String(16), nullable=False),
        sa.Column("kind", sa.String(8), nullable=False),
        sa.Column("slug", sa.String(32), nullable=False),
        _pk("streets", "code"),
        sa.UniqueConstraint("slug", name="uq_streets_slug"),
    )
    op.create_table(
        "devices",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("street_code", sa.String(12), nullable=False),
        sa.Column("token_hash", sa.String(64), nullable=False),
        _moment("registered_at"),
        _moment("revoked_at", nullable=True),
        _fk("devices", "street_code", "streets.code"),
        _pk("devices", "id"),
        sa.UniqueConstraint("token_hash", name="uq_devices_token_hash"),
    )
    _index("devices", "street_code")
    op.create_table(
        "persons",
        sa.Column("id", sa.String(16), nullable=False),
        sa.Column("id_number", sa.String(18), nullable=False),
        sa.Column("name", sa.String(32), nullable=False),
        sa.Column("sex", sa.String(1), nullable=False),
        sa.Column("birth_date", sa.Date(), nullable=False),
        sa.Column("phone", sa.String(20), nullable=True),
        sa.Column("address", sa.String(128), nullable=True),
        sa.Column("street_code", sa.String(12), nullable=False),
        sa.Column("committee", sa.String(64), nullable=True),
        sa.Column("bank_account", sa.String(32), nullable=True),
        sa.Column("resident_insurance", sa.Boolean(), nullable=False),
        sa.Column("mutual_aid_years", sa.JSON(), nullable=False),
        sa.Column("mutual_aid_benefits_from", sa.Date(), nullable=True),
        sa.Column("external_inpatient_insurance", sa.Boolean(), nullable=False),
        sa.Column("allowance_balance_fen", sa.BigInteger(), nullable=False),
        _fk("persons", "street_code", "streets.code"),
        _pk("persons", "id"),
        sa.UniqueConstraint("id_number", name="uq_persons_id_number"),
    )
    _index("persons", "street_code")
    op.create_table(
        "users",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("username", sa.String(64), nullable=False),
        sa.Column("display_name", sa.String(64), nullable=False),
        sa.Column("password_hash", sa.String(200), nullable=False),
        sa.Column("street_code", sa.String(12), nullable=True),
        sa.Column("district", sa.String(16), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("failed_logins", sa.Integer(), nullable=False),
        _moment("locked_until", nullable=True),
        _fk("users", "street_code", "streets.code"),
        _pk("users", "id"),
        sa.UniqueConstraint("username", name="uq_users_username"),
    )
    _index("users", "street_code")
    op.create_table(
        "user_roles",
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        _fk("user_roles", "user_id", "users.id"),
        _pk("user_roles", "user_id", "role"),
    )
    op.create_table(
        "sessions",
        sa.Column("token_hash", sa.String(64), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("device_id", sa.String(36), nullable=False),
        _moment("created_at"),
        _moment("expires_at"),
        _fk("sessions", "device_id", "devices.id"),
        _fk("sessions", "user_id", "users.id"),
        _pk("sessions", "token_hash"),
    )
    _index("sessions", "device_id")
    _index("sessions", "user_id")
    op.create_table(
        "enrolment_codes",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("code_hash", sa.String(64), nullable=False),
        sa.Column("street_code", sa.String(12), nullable=False),
        _moment("created_at"),
        _moment("used_at", nullable=True),
        sa.Column("device_id", sa.String(36), nullable=True),
        _fk("enrolment_codes", "device_id", "devices.id"),
        _fk("enrolment_codes", "street_code", "streets.code"),
        _pk("enrolment_codes", "id"),
        sa.UniqueConstraint("code_hash", name="uq_enrolment_codes_code_hash"),
    )
    op.create_table(
        "category_spans",
        sa.Column("id", sa.String(16), nullable=False),
        sa.Column("person_id", sa.String(16), nullable=False),
        sa.Column("code", sa.String(24), nullable=False),
        sa.Column("start_date", sa.Date(), nullable=False),
        sa.Column("end_date", sa.Date(), nullable=True),
        sa.Column("source", sa.String(64), nullable=False),
        _fk("category_spans", "person_id", "persons.id"),
        _pk("category_spans", "id"),
    )
    _index("category_spans", "person_id")
    op.create_table(
        "fee_rows",
        sa.Column("id", sa.String(16), nullable=False),
        sa.Column("person_id", sa.String(16), nullable=False),
        sa.Column("street_code", sa.String(12), nullable=False),
        sa.Column("institution_code", sa.String(16), nullable=True),
        sa.Column("issuer_code", sa.String(8), nullable=True),
        sa.Column("receipt_no", sa.String(20), nullable=False),
        sa.Column("check_code", sa.String(8), nullable=True),
        sa.Column("receipt_qr", sa.String(256), nullable=True),
        sa.Column("receipt_date", sa.Date(), nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("hospital_level", sa.Integer(), nullable=False),
        sa.Column("in_shanghai", sa.Boolean(), nullable=False),
        sa.Column("out_of_province_filed", sa.Boolean(), nullable=False),
        sa.Column("total_fen", sa.BigInteger(), nullable=False),
        sa.Column("out_of_scope_fen", sa.BigInteger(), nullable=False),
        sa.Column("self_pay_fen", sa.BigInteger(), nullable=False),
        sa.Column("deductible_part_fen", sa.BigInteger(), nullable=False),
        sa.Column("external_deductible_fen", sa.BigInteger(), nullable=False),
        sa.Column("external_reimbursed_fen", sa.BigInteger(), nullable=False),
        sa.Column("one_stop_settled", sa.Boolean(), nullable=False),
        sa.Column("already_claimed", sa.Boolean(), nullable=False),
        sa.Column("clearing_pending", sa.Boolean(), nullable=False),
        sa.Column("major_illness", sa.Boolean(), nullable=False),
        sa.Column("major_illness_doc", sa.Boolean(), nullable=False),
        sa.Column("means_test_included", sa.Boolean(), nullable=False),
        _fk("fee_rows", "institution_code", "institutions.code"),
        _fk("fee_rows", "person_id", "persons.id"),
        _fk("fee_rows", "street_code", "streets.code"),
        _pk("fee_rows", "id"),
        sa.UniqueConstraint("issuer_code", "receipt_no", name="uq_fee_rows_issuer_code_receipt_no"),
    )
    _index("fee_rows", "person_id")
    _index("fee_rows", "street_code")
    op.create_table(
        "applications",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("program", sa.String(16), nullable=False),
        sa.Column("district", sa.String(16), nullable=False),
        sa.Column("person_id", sa.String(16), nullable=False),
        sa.Column("street_code", sa.String(12), nullable=False),
        sa.Column("device_id", sa.String(36), nullable=False),
        sa.Column("handler", sa.String(64), nullable=False),
        sa.Column("application_date", sa.Date(), nullable=False),
        sa.Column("payable_fen", sa.BigInteger(), nullable=False),
        sa.Column("parameter_versions", sa.JSON(), nullable=False),
        sa.Column("case_json", sa.JSON(), nullable=False),
        sa.Column("proxy_name", sa.String(64), nullable=True),
        sa.Column("proxy_id_number", sa.String(18), nullable=True),
        sa.Column("auto_enrolled", sa.Boolean(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        _moment("created_at"),
        _moment("received_at"),
        _fk("applications", "device_id", "devices.id"),
        _fk("applications", "person_id", "persons.id"),
        _fk("applications", "street_code", "streets.code"),
        _pk("applications", "id"),
    )
    _index("applications", "person_id")
    _index("applications", "street_code", "application_date")
    op.create_table(
        "application_buckets",
        sa.Column("application_id", sa.String(36), nullable=False),
        sa.Column("bucket", sa.String(16), nullable=False),
        sa.Column("amount_fen", sa.BigInteger(), nullable=False),
        _fk("application_buckets", "application_id", "applications.id"),
        _pk("application_buckets", "application_id", "bucket"),
    )
    # The claim registry: fee_row_id is the primary key, so a fee row is claimed once,
    # whatever the number of counters pushing at the same moment.
    op.create_table(
        "claims",
        sa.Column("fee_row_id", sa.String(16), nullable=False),
        sa.Column("application_id", sa.String(36), nullable=False),
        sa.Column("street_code", sa.String(12), nullable=False),
        sa.Column("device_id", sa.String(36), nullable=False),
        _moment("claimed_at"),
        sa.Column("status", sa.String(16), nullable=False),
        _fk("claims", "application_id", "applications.id"),
        _fk("claims", "device_id", "devices.id"),
        _fk("claims", "fee_row_id", "fee_rows.id"),
        _fk("claims", "street_code", "streets.code"),
        _pk("claims", "fee_row_id"),
    )
    _index("claims", "application_id")
    op.create_table(
        "signatures",
        sa.Column("application_id", sa.String(36), nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("username", sa.String(64), nullable=False),
        _moment("signed_at"),
        sa.Column("device_id", sa.String(36), nullable=False),
        _moment("received_at"),
        _fk("signatures", "application_id", "applications.id"),
        _fk("signatures", "device_id", "devices.id"),
        _pk("signatures", "application_id", "role"),
    )
    op.create_table(
        "audit_events",
        sa.Column("event_id", sa.String(36), nullable=False),
        _moment("at"),
        sa.Column("actor", sa.String(64), nullable=False),
        sa.Column("action", sa.String(64), nullable=False),
        sa.Column("subject", sa.String(128), nullable=False),
        sa.Column("detail", sa.JSON(), nullable=False),
        sa.Column("device_id", sa.String(36), nullable=False),
        sa.Column("street_code", sa.String(12), nullable=False),
        _moment("received_at"),
        _fk("audit_events", "device_id", "devices.id"),
        _fk("audit_events", "street_code", "streets.code"),
        _pk("audit_events", "event_id"),
    )
    _index("audit_events", "device_id")
    op.create_table(
        "push_items",
        sa.Column("idempotency_key", sa.String(36), nullable=False),
        sa.Column("device_id", sa.String(36), nullable=False),
        sa.Column("username", sa.String(64), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("reason", sa.String(32), nullable=True),
        sa.Column("message", sa.Text(), nullable=True),
        sa.Column("detail", sa.JSON(), nullable=True),
        _moment("received_at"),
        _fk("push_items", "device_id", "devices.id"),
        _pk("push_items", "idempotency_key"),
    )
    _index("push_items", "device_id")


def downgrade() -> None:
    for table in ("push_items", "audit_events", "signatures", "claims", "application_buckets",
                  "applications", "fee_rows", "category_spans", "enrolment_codes", "sessions",
                  "user_roles", "users", "persons", "devices", "streets", "parameter_versions",
                  "institutions", "changes", "change_counter"):
        op.drop_table(table)
