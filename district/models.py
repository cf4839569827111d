"""The district database as typed SQLAlchemy models (schemas for the wire live in desktop.wire).

Money is stored as integer fen (exact and summable in SQL on SQLite and PostgreSQL alike);
times as naive UTC, returned aware. The migrations in `district/migrations` create these tables.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator

NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator[datetime]):
    """An aware datetime stored as naive UTC, so both back ends compare and sort it alike."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        return None if value is None else value.replace(tzinfo=UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map: ClassVar[dict[Any, Any]] = {
        datetime: UTCDateTime, dict[str, Any]: JSON, list[Any]: JSON}


def table_of(model: type[Base]) -> Table:
    """The Core table of a model, for bulk inserts without the ORM's per-row cost."""
    table = model.__table__
    assert isinstance(table, Table)
    return table


class Street(Base):
    """A street (街道) or town (镇) of the district, with its service centre's counters."""

    __tablename__ = "streets"
    code: Mapped[str] = mapped_column(String(12), primary_key=True)
    name: Mapped[str] = mapped_column(String(32))
    district: Mapped[str] = mapped_column(String(16))  # changning | minhang (policy overlay)
    kind: Mapped[str] = mapped_column(String(8))  # street | town
    slug: Mapped[str] = mapped_column(String(32), unique=True)


class EnrolmentCode(Base):
    __tablename__ = "enrolment_codes"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    code_hash: Mapped[str] = mapped_column(String(64), unique=True)
    street_code: Mapped[str] = mapped_column(ForeignKey("streets.code"))
    created_at: Mapped[datetime]
    used_at: Mapped[datetime | None]
    device_id: Mapped[str | None] = mapped_column(ForeignKey("devices.id"))
    # migration 0008: a code issued in the console expires (None: a seeded code, no expiry)
    expires_at: Mapped[datetime | None]
    issued_by: Mapped[str | None] = mapped_column(String(64))


class Device(Base):
    """A registered counter PC; only the SHA-256 of its token is kept."""

    __tablename__ = "devices"
    __table_args__ = (Index("uq_devices_street_code_number", "street_code", "number",
                            unique=True),)
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    name: Mapped[str] = mapped_column(String(64))
    street_code: Mapped[str] = mapped_column(ForeignKey("streets.code"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    registered_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None]
    # migration 0006: the PC's number within its street (1, 2, 3, ... in registration order),
    # part of its application numbers (desktop.domain.streets); never reused
    number: Mapped[int | None] = mapped_column(Integer)
    # migration 0008: what the console shows of each PC (district/console): its last request,
    # the program version and the outbox items it reported waiting, and who revoked it and why
    last_seen_at: Mapped[datetime | None]
    app_version: Mapped[str | None] = mapped_column(String(32))
    waiting_items: Mapped[int | None] = mapped_column(Integer)
    revoked_by: Mapped[str | None] = mapped_column(String(64))
    revoked_reason: Mapped[str | None] = mapped_column(String(200))


class User(Base):
    __tablename__ = "users"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(64))
    password_hash: Mapped[str] = mapped_column(String(200))
    street_code: Mapped[str | None] = mapped_column(ForeignKey("streets.code"), index=True)
    district: Mapped[str] = mapped_column(String(16))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    failed_logins: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[datetime | None]
    password_changed_at: Mapped[datetime | None]  # migration 0004: revokes the signing keys
    # migration 0008: a password an administrator set (a reset): the user must choose their own
    # at their next sign-in, in the console or at a counter, before anything else
    must_change_password: Mapped[bool] = mapped_column(Boolean, default=False)


class SigningKey(Base):
    """A user's public signing key on one PC (签名密钥), registered over the user's own session.

    Every signature a counter pushes is verified against the signer's keys; a key revoked (the
    user deactivated, the password changed) or registered after the signature's time proves
    nothing (district.services.signing_keys).
    """

    __tablename__ = "signing_keys"
    key_id: Mapped[str] = mapped_column(String(64), primary_key=True)  # SHA-256 of the key
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    device_id: Mapped[str] = mapped_column(ForeignKey("devices.id"))
    public_key: Mapped[str] = mapped_column(String(64))  # base64 of the 32 raw bytes
    registered_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None]
    revoked_reason: Mapped[str | None] = mapped_column(String(32))


class LoginFailures(Base):
    """Failed logins of one user at one PC: the lockout is per user and PC, so one PC cannot
    lock every approver out of the district."""

    __tablename__ = "login_failures"
    # the SHA-256 of the name tried (district.services.auth.name_key), whether or not such a
    # user exists: the answer must not tell which, and a password typed as a name is not kept
    username: Mapped[str] = mapped_column(String(64), primary_key=True)
    device_id: Mapped[str] = mapped_column(ForeignKey("devices.id"), primary_key=True)
    failures: Mapped[int] = mapped_column(Integer)
    locked_until: Mapped[datetime | None]
    last_failure_at: Mapped[datetime]


class UserRole(Base):
    __tablename__ = "user_roles"
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), primary_key=True)
    # migration 0008: 24 characters, for district_reviewer
    role: Mapped[str] = mapped_column(String(24), primary_key=True)


class ConsoleSession(Base):
    """A sign-in to the district console (district/console) in a browser; only the SHA-256 of
    its cookie is kept. It ends at `expires_at`, after `IDLE` without a request, at sign-out,
    and when the user is deactivated or their password changes."""

    __tablename__ = "console_sessions"
    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    created_at: Mapped[datetime]
    last_seen_at: Mapped[datetime]
    expires_at: Mapped[datetime]


class LoginSession(Base):
    """A clerk's login on one device; only the SHA-256 of its token is kept."""

    __tablename__ = "sessions"
    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    device_id: Mapped[str] = mapped_column(ForeignKey("devices.id"), index=True)
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]


class Person(Base):
    __tablename__ = "persons"
    id: Mapped[str] = mapped_column(String(16), primary_key=True)
    id_number: Mapped[str] = mapped_column(String(18), unique=True)
    name: Mapped[str] = mapped_column(String(32))
    sex: Mapped[str] = mapped_column(String(1))
    birth_date: Mapped[date] = mapped_column(Date)
    phone: Mapped[str | None] = mapped_column(String(20))
    address: Mapped[str | None] = mapped_column(String(128))
    street_code: Mapped[str] = mapped_column(ForeignKey("streets.code"), index=True)
    committee: Mapped[str | None] = mapped_column(String(64))
    bank_account: Mapped[str | None] = mapped_column(String(32))
    resident_insurance: Mapped[bool] = mapped_column(Boolean, default=False)
    mutual_aid_years: Mapped[list[Any]] = mapped_column(JSON, default=list)
    mutual_aid_benefits_from: Mapped[date | None] = mapped_column(Date)
    external_inpatient_insurance: Mapped[bool] = mapped_column(Boolean, default=False)
    allowance_balance_fen: Mapped[int] = mapped_column(BigInteger, default=0)


class CategorySpan(Base):
    __tablename__ = "category_spans"
    id: Mapped[str] = mapped_column(String(16), primary_key=True)
    person_id: Mapped[str] = mapped_column(ForeignKey("persons.id"), index=True)
    code: Mapped[str] = mapped_column(String(24))
    start_date: Mapped[date] = mapped_column(Date)
    end_date: Mapped[date | None] = mapped_column(Date)
    source: Mapped[str] = mapped_column(String(64))


class Institution(Base):
    __tablename__ = "institutions"
    code: Mapped[str] = mapped_column(String(16), primary_key=True)
    name: Mapped[str] = mapped_column(String(64))
    level: Mapped[int] = mapped_column(Integer)
    in_shanghai: Mapped[bool] = mapped_column(Boolean, default=True)


class FeeRow(Base):
    """A fee row of the district feed (四医联动), POLICY.md §2, with its receipt's identifiers."""

    __tablename__ = "fee_rows"
    __table_args__ = (UniqueConstraint("issuer_code", "receipt_no"),)
    id: Mapped[str] = mapped_column(String(16), primary_key=True)
    person_id: Mapped[str] = mapped_column(ForeignKey("persons.id"), index=True)
    street_code: Mapped[str] = mapped_column(ForeignKey("streets.code"), index=True)
    institution_code: Mapped[str | None] = mapped_column(ForeignKey("institutions.code"))
    issuer_code: Mapped[str | None] = mapped_column(String(8))
    receipt_no: Mapped[str] = mapped_column(String(20))
    check_code: Mapped[str | None] = mapped_column(String(8))
    receipt_qr: Mapped[str | None] = mapped_column(String(256))
    receipt_date: Mapped[date] = mapped_column(Date)
    kind: Mapped[str] = mapped_column(String(20))
    hospital_level: Mapped[int] = mapped_column(Integer)
    in_shanghai: Mapped[bool] = mapped_column(Boolean, default=True)
    out_of_province_filed: Mapped[bool] = mapped_column(Boolean, default=False)
    total_fen: Mapped[int] = mapped_column(BigInteger)
    out_of_scope_fen: Mapped[int] = mapped_column(BigInteger)
    self_pay_fen: Mapped[int] = mapped_column(BigInteger)
    deductible_part_fen: Mapped[int] = mapped_column(BigInteger, default=0)
    external_deductible_fen: Mapped[int] = mapped_column(BigInteger, default=0)
    external_reimbursed_fen: Mapped[int] = mapped_column(BigInteger, default=0)
    one_stop_settled: Mapped[bool] = mapped_column(Boolean, default=False)
    already_claimed: Mapped[bool] = mapped_column(Boolean, default=False)
    clearing_pending: Mapped[bool] = mapped_column(Boolean, default=False)
    major_illness: Mapped[bool] = mapped_column(Boolean, default=False)
    major_illness_doc: Mapped[bool] = mapped_column(Boolean, default=False)
    means_test_included: Mapped[bool] = mapped_column(Boolean, default=False)


class Application(Base):
    """An application a counter pushed and the server accepted (refusals live in push_items)."""

    __tablename__ = "applications"
    __table_args__ = (Index("ix_applications_street_code_application_date", "street_code",
                            "application_date"),)
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    program: Mapped[str] = mapped_column(String(16))
    district: Mapped[str] = mapped_column(String(16))
    person_id: Mapped[str] = mapped_column(ForeignKey("persons.id"), index=True)
    street_code: Mapped[str] = mapped_column(ForeignKey("streets.code"))
    device_id: Mapped[str] = mapped_column(ForeignKey("devices.id"))
    handler: Mapped[str] = mapped_column(String(64))
    application_date: Mapped[date] = mapped_column(Date)
    payable_fen: Mapped[int] = mapped_column(BigInteger)
    parameter_versions: Mapped[list[Any]] = mapped_column(JSON)
    case_json: Mapped[dict[str, Any]] = mapped_column(JSON)
    proxy_name: Mapped[str | None] = mapped_column(String(64))
    proxy_id_number: Mapped[str | None] = mapped_column(String(18))
    auto_enrolled: Mapped[bool] = mapped_column(Boolean, default=False)
    bank_account: Mapped[str | None] = mapped_column(String(32))  # migration 0002
    # accepted | reviewed | approved | paid | returned | withdrawn (district.services.states)
    status: Mapped[str] = mapped_column(String(16))
    # migration 0004: the person's card on file at acceptance (a different payout card needs
    # the 审批人's confirmation), the 经办人's signature, the waivers with their signatures
    card_on_file: Mapped[str | None] = mapped_column(String(32))
    handler_key_id: Mapped[str | None] = mapped_column(String(64))
    handler_proof: Mapped[str | None] = mapped_column(String(128))
    waivers: Mapped[list[Any] | None] = mapped_column(JSON)
    created_at: Mapped[datetime]
    received_at: Mapped[datetime]
    # migration 0006: the human number the counter gave it (华阳-2026-03-0042), checked and
    # unique; None from a counter without a device number or of protocol 2
    number: Mapped[str | None] = mapped_column(String(32), index=True, unique=True)


class ApplicationBucket(Base):
    __tablename__ = "application_buckets"
    application_id: Mapped[str] = mapped_column(ForeignKey("applications.id"), primary_key=True)
    bucket: Mapped[str] = mapped_column(String(16), primary_key=True)
    amount_fen: Mapped[int] = mapped_column(BigInteger)


class Claim(Base):
    """The district-wide claim registry: the primary key makes a fee row claimable once."""

    __tablename__ = "claims"
    fee_row_id: Mapped[str] = mapped_column(ForeignKey("fee_rows.id"), primary_key=True)
    application_id: Mapped[str] = mapped_column(ForeignKey("applications.id"), index=True)
    street_code: Mapped[str] = mapped_column(ForeignKey("streets.code"))
    device_id: Mapped[str] = mapped_column(ForeignKey("devices.id"))
    claimed_at: Mapped[datetime]
    status: Mapped[str] = mapped_column(String(16))  # claimed | paid | released


class Enrolment(Base):
    """A mutual-aid enrolment a counter took (MA-2021 二): the fee paid and the form 附件1."""

    __tablename__ = "enrolments"
    __table_args__ = (UniqueConstraint("person_id", "year", name="uq_enrolments_person_id_year"),)
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    person_id: Mapped[str] = mapped_column(ForeignKey("persons.id"), index=True)
    year: Mapped[int] = mapped_column(Integer)
    benefits_from: Mapped[date] = mapped_column(Date)
    fee_fen: Mapped[int] = mapped_column(BigInteger)
    paid_on: Mapped[date] = mapped_column(Date)
    mid_year_reason: Mapped[str | None] = mapped_column(String(200))
    form: Mapped[dict[str, Any]] = mapped_column(JSON)
    street_code: Mapped[str] = mapped_column(ForeignKey("streets.code"))
    device_id: Mapped[str] = mapped_column(ForeignKey("devices.id"))
    handler: Mapped[str] = mapped_column(String(64))
    received_at: Mapped[datetime]


class Signature(Base):
    __tablename__ = "signatures"
    application_id: Mapped[str] = mapped_column(ForeignKey("applications.id"), primary_key=True)
    role: Mapped[str] = mapped_column(String(16), primary_key=True)
    username: Mapped[str] = mapped_column(String(64))
    signed_at: Mapped[datetime]
    device_id: Mapped[str] = mapped_column(ForeignKey("devices.id"))
    received_at: Mapped[datetime]
    key_id: Mapped[str | None] = mapped_column(String(64))  # migration 0004
    proof: Mapped[str | None] = mapped_column(String(128))
    card_confirmed: Mapped[bool] = mapped_column(Boolean, default=False)


class ApplicationTransition(Base):
    """A signed step that is not a signature: a send-back (returned) or a withdrawal."""

    __tablename__ = "application_transitions"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    application_id: Mapped[str] = mapped_column(ForeignKey("applications.id"), index=True)
    kind: Mapped[str] = mapped_column(String(16))  # return | withdrawal
    from_status: Mapped[str] = mapped_column(String(16))
    to_status: Mapped[str] = mapped_column(String(16))
    username: Mapped[str] = mapped_column(String(64))
    key_id: Mapped[str | None] = mapped_column(String(64))
    proof: Mapped[str | None] = mapped_column(String(128))
    reason: Mapped[str | None] = mapped_column(Text)
    signed_at: Mapped[datetime]
    received_at: Mapped[datetime]


class AuditEvent(Base):
    __tablename__ = "audit_events"
    __table_args__ = (Index("uq_audit_events_chain_seq", "chain_seq", unique=True),
                      Index("ix_audit_events_device_id_chain_seq", "device_id", "chain_seq"))
    event_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    at: Mapped[datetime]
    actor: Mapped[str] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(64))
    subject: Mapped[str] = mapped_column(String(128))
    detail: Mapped[dict[str, Any]] = mapped_column(JSON)
    # migration 0008: None for the district console's own events (no PC; street when one is
    # concerned)
    device_id: Mapped[str | None] = mapped_column(ForeignKey("devices.id"), index=True)
    street_code: Mapped[str | None] = mapped_column(ForeignKey("streets.code"))
    received_at: Mapped[datetime]
    # migration 0004: the district's own hash chain over its rows in chain_seq order, the
    # counter's chain as the counter sent it, who pushed it and whether the actor is proven
    chain_seq: Mapped[int | None] = mapped_column(BigInteger)
    prev_hash: Mapped[str | None] = mapped_column(String(64))
    row_hash: Mapped[str | None] = mapped_column(String(64))
    counter_prev_hash: Mapped[str | None] = mapped_column(String(64))
    counter_row_hash: Mapped[str | None] = mapped_column(String(64))
    reported_by: Mapped[str | None] = mapped_column(String(64))
    actor_proven: Mapped[bool | None] = mapped_column(Boolean)


class PushItem(Base):
    """Every outbox item ever applied, by its idempotency key, with the result it got."""

    __tablename__ = "push_items"
    idempotency_key: Mapped[str] = mapped_column(String(36), primary_key=True)
    device_id: Mapped[str] = mapped_column(ForeignKey("devices.id"), index=True)
    username: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16))  # accepted | refused
    reason: Mapped[str | None] = mapped_column(String(32))
    message: Mapped[str | None] = mapped_column(Text)
    detail: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    received_at: Mapped[datetime]
    body_sha256: Mapped[str | None] = mapped_column(String(64))  # migration 0004


class Change(Base):
    """The server-wide change sequence; rows are written in the transaction of their change."""

    __tablename__ = "changes"
    __table_args__ = (
        Index("ix_changes_street_code_seq", "street_code", "seq"),
        # migration 0007: the shared changes in seq order (`IS NULL` is not an equality, so
        # the index above does not give them in order)
        Index("ix_changes_shared_seq", "seq", postgresql_where=text("street_code IS NULL"),
              sqlite_where=text("street_code IS NULL")),
    )
    seq: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    entity: Mapped[str] = mapped_column(String(24))
    key: Mapped[str] = mapped_column(String(120))
    op: Mapped[str] = mapped_column(String(8))
    street_code: Mapped[str | None] = mapped_column(String(12))  # None: every street sees it
    data: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    at: Mapped[datetime]


class DistrictGeneration(Base):
    """One row: the district's generation, new at every initialisation and every restore from
    a backup (district.services.generation); counters compare it with the one they synced
    with."""

    __tablename__ = "district_generation"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    generation: Mapped[str] = mapped_column(String(36))
    since: Mapped[datetime]
    reason: Mapped[str] = mapped_column(String(32))  # initialised | restored


class ChangeCounter(Base):
    """One row: the last sequence number given out. Updating it serialises the writers of
    changes, so sequence numbers become visible in order and a cursor never skips one."""

    __tablename__ = "change_counter"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    last_seq: Mapped[int] = mapped_column(BigInteger)


class ParameterVersion(Base):
    __tablename__ = "parameter_versions"
    key: Mapped[str] = mapped_column(String(120), primary_key=True)
    effective_from: Mapped[date] = mapped_column(Date, primary_key=True)
    value: Mapped[str] = mapped_column(Text)
    source: Mapped[str] = mapped_column(String(120))
    # migration 0008: a value published in the console (M18) rather than shipped in
    # resources/policy: kept when the shipped files are synced at start
    published_by: Mapped[str | None] = mapped_column(String(64))
    published_at: Mapped[datetime | None]
    assumption: Mapped[bool] = mapped_column(Boolean, default=False)


class ConsoleImport(Base):
    """A persons or fee file uploaded in the district console (district/console/data.py): kept
    from its preview to its import, then its outcome and its report of rejected rows."""

    __tablename__ = "console_imports"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))  # persons | fees
    filename: Mapped[str] = mapped_column(String(200))
    uploaded_by: Mapped[str] = mapped_column(String(64))
    uploaded_at: Mapped[datetime]
    # previewed | running | imported | rejected | failed | discarded
    status: Mapped[str] = mapped_column(String(16))
    rows_total: Mapped[int | None] = mapped_column(Integer)
    rows_done: Mapped[int] = mapped_column(Integer, default=0)
    rows_rejected: Mapped[int | None] = mapped_column(Integer)
    summary: Mapped[str | None] = mapped_column(Text)
    report: Mapped[str | None] = mapped_column(Text)  # the rejected rows, CSV
    content: Mapped[bytes | None] = mapped_column(LargeBinary)  # dropped once imported
    finished_at: Mapped[datetime | None]
    # PostgreSQL, several processes: the lease of the process previewing or importing it (host
    # and pid), renewed every few seconds; a stale one means that process is gone
    heartbeat_at: Mapped[datetime | None]
    worker: Mapped[str | None] = mapped_column(String(64))


class Commitment(Base):
    """A person's 免申即享 consent (CN-2026 3.3, issue 15): given by a 经办人 with an application
    that carries the flag, live until revoked (a refused or withdrawn application does not end
    it). One live commitment per person and program (the partial unique index)."""

    __tablename__ = "commitments"
    __table_args__ = (
        Index("ix_commitments_live", "person_id", "program", unique=True,
              postgresql_where=text("revoked_at IS NULL"),
              sqlite_where=text("revoked_at IS NULL")),
    )
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    person_id: Mapped[str] = mapped_column(ForeignKey("persons.id"), index=True)
    program: Mapped[str] = mapped_column(String(16))
    street_code: Mapped[str] = mapped_column(ForeignKey("streets.code"))
    device_id: Mapped[str] = mapped_column(ForeignKey("devices.id"))
    application_id: Mapped[str] = mapped_column(ForeignKey("applications.id"))
    given_on: Mapped[date] = mapped_column(Date)
    given_by: Mapped[str] = mapped_column(String(64))
    given_at: Mapped[datetime]
    given_key_id: Mapped[str] = mapped_column(String(64))
    given_proof: Mapped[str] = mapped_column(String(128))
    received_at: Mapped[datetime]
    revoked_on: Mapped[date | None] = mapped_column(Date)
    revoked_by: Mapped[str | None] = mapped_column(String(64))
    revoked_at: Mapped[datetime | None]
    revoke_reason: Mapped[str | None] = mapped_column(Text)
    revoked_key_id: Mapped[str | None] = mapped_column(String(64))
    revoked_proof: Mapped[str | None] = mapped_column(String(128))
    revoked_received_at: Mapped[datetime | None]
