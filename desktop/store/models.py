"""The cache's tables as SQLAlchemy 2 typed models: district entities, local work, sync state.

The schema itself is owned by the Alembic migrations in `migrations/`; these models must match
them (tests/store checks that they do). Money is `Decimal` (stored as exact text; in the fee
rows as whole fen), instants are aware UTC datetimes, dates are `datetime.date`. The fee rows
and claims, a million rows in a street's cache, store their values compactly (migration 0015,
desktop.store.types) behind the same Python types.
"""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal
from typing import Any, ClassVar, overload

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    Uuid,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship, validates

from desktop.store.search_keys import name_keys, reversed_key
from desktop.store.types import (
    Choice,
    Code,
    DayNumber,
    Fen,
    Money,
    UtcDateTime,
    UtcMicros,
    UuidBytes,
    utc_now,
)

# Stable constraint names, so later migrations can alter them (SQLite batch mode needs names).
NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

ZERO = Decimal("0.00")
# The closed sets the bulk tables store by position (Choice): append only, never reorder.
FEE_KINDS = ("outpatient", "inpatient", "major_outpatient")
CLAIM_STATUSES = ("claimed", "paid", "released")
PROGRAMS = ("assistance", "mutual_aid")
# A fee row's yes/no facts, bit 0 first (FeeRowRecord.flags): append only, never reorder.
FEE_FLAGS = ("in_shanghai", "out_of_province_filed", "one_stop_settled", "already_claimed",
             "clearing_pending", "major_illness", "major_illness_doc", "means_test_included")
DEFAULT_FEE_FLAGS = 1  # in Shanghai, nothing else (FeeRowData's defaults)


class FlagBit:
    """A yes/no attribute kept as one bit of an integer column (None there: `default`)."""

    def __init__(self, column: str, bit: int, default: int) -> None:
        self.column, self.mask, self.default = column, 1 << bit, default

    @overload
    def __get__(self, record: None, owner: type[Any]) -> FlagBit: ...
    @overload
    def __get__(self, record: object, owner: type[Any]) -> bool: ...

    def __get__(self, record: object | None, owner: type[Any]) -> FlagBit | bool:
        if record is None:
            return self
        flags = getattr(record, self.column)
        return bool((self.default if flags is None else flags) & self.mask)

    def __set__(self, record: object, value: bool) -> None:
        if not isinstance(value, bool):
            raise TypeError(f"a yes or no is needed, not {type(value).__name__}")
        flags = getattr(record, self.column)
        flags = self.default if flags is None else flags
        setattr(record, self.column, flags | self.mask if value else flags & ~self.mask)
# Index expressions, written once: a query uses an expression index only when it repeats the
# expression exactly (with literal numbers, not bound parameters).
NAME_FROM_2 = "substr(name, 2)"
NAME_FROM_3 = "substr(name, 3)"
NAME_HAS_3 = "length(name) > 2"  # the names whose NAME_FROM_3 is not empty (migration 0012)
LONG_NAME = "length(name) > 3"
HAS_PHONE = "phone_reversed IS NOT NULL"


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map = {  # noqa: RUF012 - SQLAlchemy's declarative hook
        str: String(255),
        int: Integer(),
        bool: Boolean(),
        dt.date: Date(),
        dt.datetime: UtcDateTime(),
        Decimal: Money(),
        uuid.UUID: Uuid(),
        dict[str, Any]: JSON(),
        list[Any]: JSON(),
        list[int]: JSON(),
        list[str]: JSON(),
    }


# -- what the district sends (each row keeps the change seq that last wrote it) ----------------

class SyncedBase(Base):
    """A table filled from the district's change feed."""

    __abstract__ = True

    seq: Mapped[int] = mapped_column(default=0)  # the change that last wrote the row


class PersonRecord(SyncedBase):
    """A person the street serves (PersonData), with the keys person search runs on."""

    __tablename__ = "person"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)  # the district's id
    id_number: Mapped[str] = mapped_column(String(18), unique=True)
    name: Mapped[str] = mapped_column(String(64))
    sex: Mapped[str] = mapped_column(String(1))
    birth_date: Mapped[dt.date]
    phone: Mapped[str | None] = mapped_column(String(32))
    address: Mapped[str | None]
    street_code: Mapped[str] = mapped_column(String(32))
    committee: Mapped[str | None] = mapped_column(String(64))  # 居委
    bank_account: Mapped[str | None] = mapped_column(String(32))
    resident_insurance: Mapped[bool] = mapped_column(default=False)
    mutual_aid_years: Mapped[list[int]] = mapped_column(default=list)
    mutual_aid_benefits_from: Mapped[dt.date | None]
    external_inpatient_insurance: Mapped[bool] = mapped_column(default=False)
    allowance_balance: Mapped[Decimal] = mapped_column(default=ZERO)
    # Search keys (migration 0002), kept in step with name / id_number / phone by _derive_keys.
    name_pinyin: Mapped[str] = mapped_column(String(255), server_default="")
    name_initials: Mapped[str] = mapped_column(String(64), server_default="")
    id_reversed: Mapped[str] = mapped_column(String(18), server_default="")
    phone_reversed: Mapped[str | None] = mapped_column(String(32))

    # Each index serves an arm of person search (desktop/store/search.py); the whole ID
    # number is found by its unique constraint's index. tests/store/test_search_plan.py fails
    # if an arm stops using its index.
    __table_args__ = (
        CheckConstraint("sex IN ('M', 'F')", name="sex"),
        # name then id: exact and prefix name search read in result order, no sort
        Index(None, "name", "id"),
        Index(None, "name_pinyin", "name", "id"),
        Index(None, "name_initials", "name", "id"),
        Index(None, "id_reversed"),
        # partial (0012): a range on phone_reversed never matches a NULL
        Index(None, "phone_reversed", sqlite_where=text(HAS_PHONE)),
        # "name contains" for names of up to 3 characters: the name from its 2nd and from its
        # 3rd character (partial, 0012: only names that have one); longer names (compound
        # surnames, 阿不都·热合曼) are few and scanned.
        Index("ix_person_name_from_2", text(NAME_FROM_2), "name", "id"),
        Index("ix_person_name_from_3", text(NAME_FROM_3), "name", "id",
              sqlite_where=text(NAME_HAS_3)),
        Index("ix_person_long_name", "name", "id", sqlite_where=text(LONG_NAME)),
    )

    @validates("name", "id_number", "phone")
    def _derive_keys(self, field: str, value: str | None) -> str | None:
        if field == "name" and value is not None:
            self.name_pinyin, self.name_initials = name_keys(value)
        elif field == "id_number" and value is not None:
            self.id_reversed = reversed_key(value) or ""
        elif field == "phone":
            self.phone_reversed = reversed_key(value)
        return value


class CategorySpanRecord(SyncedBase):
    """A category the person held from start to end inclusive (CategorySpanData)."""

    __tablename__ = "category_span"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    person_id: Mapped[str] = mapped_column(
        String(64), ForeignKey("person.id", ondelete="CASCADE"), index=True)
    code: Mapped[str] = mapped_column(String(32))
    start: Mapped[dt.date]
    end: Mapped[dt.date | None]
    source: Mapped[str]


class InstitutionRecord(SyncedBase):
    """A medical institution (InstitutionData)."""

    __tablename__ = "institution"

    code: Mapped[str] = mapped_column(Code(), primary_key=True)  # as fee_row.institution_code
    name: Mapped[str]
    level: Mapped[int]
    in_shanghai: Mapped[bool] = mapped_column(default=True)


class FeeRowRecord(SyncedBase):
    """A fee row the district feed pushed (FeeRowData), and who holds it district-wide (ClaimData).

    The claim comes from the district's claim registry (ClaimRecord), not from this counter:
    the counter's own pending claims are its applications' rows.

    A street's cache holds about a million of them, so the row is stored compactly (migration
    0015, desktop.store.types): amounts as whole fen, the date as its day number, the kind as
    its position in FEE_KINDS, the id and the codes as integers (Code).
    """

    __tablename__ = "fee_row"

    id: Mapped[str] = mapped_column(Code(), primary_key=True)
    person_id: Mapped[str] = mapped_column(
        String(64), ForeignKey("person.id", ondelete="CASCADE"))
    institution_code: Mapped[str | None] = mapped_column(Code())
    issuer_code: Mapped[str | None] = mapped_column(Code())  # 票据代码
    receipt_no: Mapped[str] = mapped_column(Code())  # 票据号码
    check_code: Mapped[str | None] = mapped_column(String(32))  # 校验码
    date: Mapped[dt.date] = mapped_column(DayNumber())
    kind: Mapped[str] = mapped_column(Choice(FEE_KINDS))
    hospital_level: Mapped[int]
    # the eight yes/no facts below, one bit each (FEE_FLAGS): in one integer a row stores one
    # byte for them, eight columns took eight
    flags: Mapped[int] = mapped_column(default=DEFAULT_FEE_FLAGS)
    in_shanghai = FlagBit("flags", FEE_FLAGS.index("in_shanghai"), DEFAULT_FEE_FLAGS)
    out_of_province_filed = FlagBit("flags", FEE_FLAGS.index("out_of_province_filed"),
                                    DEFAULT_FEE_FLAGS)
    one_stop_settled = FlagBit("flags", FEE_FLAGS.index("one_stop_settled"), DEFAULT_FEE_FLAGS)
    already_claimed = FlagBit("flags", FEE_FLAGS.index("already_claimed"), DEFAULT_FEE_FLAGS)
    clearing_pending = FlagBit("flags", FEE_FLAGS.index("clearing_pending"), DEFAULT_FEE_FLAGS)
    major_illness = FlagBit("flags", FEE_FLAGS.index("major_illness"), DEFAULT_FEE_FLAGS)
    major_illness_doc = FlagBit("flags", FEE_FLAGS.index("major_illness_doc"),
                                DEFAULT_FEE_FLAGS)
    means_test_included = FlagBit("flags", FEE_FLAGS.index("means_test_included"),
                                  DEFAULT_FEE_FLAGS)
    total: Mapped[Decimal] = mapped_column(Fen())
    out_of_scope: Mapped[Decimal] = mapped_column(Fen())
    self_pay: Mapped[Decimal] = mapped_column(Fen())
    deductible_part: Mapped[Decimal] = mapped_column(Fen(), default=ZERO)
    external_deductible: Mapped[Decimal] = mapped_column(Fen(), default=ZERO)
    external_reimbursed: Mapped[Decimal] = mapped_column(Fen(), default=ZERO)

    PACKED: ClassVar[dict[str, tuple[str, ...]]] = {"flags": FEE_FLAGS}  # column -> its bits

    claim: Mapped[ClaimRecord | None] = relationship(
        primaryjoin="FeeRowRecord.id == foreign(ClaimRecord.fee_row_id)", viewonly=True,
        lazy="joined", uselist=False)

    __table_args__ = (
        Index(None, "person_id", "date"),
        # the scanner finds a receipt by its number alone (desktop.services.scanning), and
        # compares the issuer on the few rows found (migration 0015 dropped it from the index)
        Index(None, "receipt_no"),
    )

    @property
    def claimed_by_application(self) -> uuid.UUID | None:
        return None if self.claim is None else self.claim.application_id

    @property
    def claim_status(self) -> str | None:
        return None if self.claim is None else self.claim.status

    @property
    def claimed_at(self) -> dt.datetime | None:
        return None if self.claim is None else self.claim.claimed_at

    @property
    def claimed_street(self) -> str | None:
        return None if self.claim is None else self.claim.street_code

    @property
    def claimed_program(self) -> str | None:
        return None if self.claim is None else self.claim.program


class ClaimRecord(SyncedBase):
    """Who holds a fee row district-wide (ClaimData): the server's claim registry, pulled.

    Keyed by the fee row's id but without a foreign key: the registry is district-wide and a
    claim may arrive before, or outlive, the row in this cache. Stored compactly (migration
    0015): a table without rowid (the key is the table), the application id as 16 bytes, the
    instant in microseconds, status and program by position, the codes by Code.
    """

    __tablename__ = "claim"

    fee_row_id: Mapped[str] = mapped_column(Code(), primary_key=True)  # as fee_row.id
    application_id: Mapped[uuid.UUID] = mapped_column(UuidBytes())
    street_code: Mapped[str] = mapped_column(Code())
    device_id: Mapped[str] = mapped_column(Code())
    claimed_at: Mapped[dt.datetime] = mapped_column(UtcMicros())
    status: Mapped[str] = mapped_column(Choice(CLAIM_STATUSES))
    program: Mapped[str | None] = mapped_column(Choice(PROGRAMS))

    __table_args__ = ({"sqlite_with_rowid": False},)



class ParameterVersionRecord(SyncedBase):
    """A dated policy parameter value the district published (ParameterVersionData)."""

    __tablename__ = "parameter_version"

    id: Mapped[str] = mapped_column(String(255), primary_key=True)  # the change key
    key: Mapped[str]
    effective_from: Mapped[dt.date]
    value: Mapped[str] = mapped_column(Text)
    source: Mapped[str]
    # protocol 4 (migration 0013): "政策未明确，按本区口径", a value published in the console
    assumption: Mapped[bool] = mapped_column(default=False)

    __table_args__ = (UniqueConstraint("key", "effective_from"),)


class CommitmentRecord(SyncedBase):
    """A person's 免申即享 consent (CommitmentData, migration 0014): given at a counter with an
    application that carries the flag, live until revoked; pulled by every counter of the
    street. One made here waits for the district's verdict (`status` saved → accepted, or
    refused with the district's reason); a pulled one is accepted. A revocation made here
    sets the revoked_* columns at once, the district's copy comes back with the pull."""

    __tablename__ = "commitment"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    person_id: Mapped[str] = mapped_column(String(64), index=True)
    program: Mapped[str] = mapped_column(String(16))
    street_code: Mapped[str] = mapped_column(String(32))
    application_id: Mapped[str] = mapped_column(String(64))
    given_on: Mapped[dt.date]
    given_by: Mapped[str] = mapped_column(String(64))
    given_at: Mapped[dt.datetime]
    revoked_on: Mapped[dt.date | None]
    revoked_by: Mapped[str | None] = mapped_column(String(64))
    revoked_at: Mapped[dt.datetime | None]
    revoke_reason: Mapped[str | None] = mapped_column(Text)
    # local: the district's verdict on one made here (a pulled one is in the district)
    status: Mapped[str] = mapped_column(String(16), default="accepted",
                                        server_default="accepted")  # saved|accepted|refused
    server_reason: Mapped[str | None] = mapped_column(String(64))
    server_message: Mapped[str | None] = mapped_column(Text)

    # not in the feed: a bulk insert of pulled rows leaves them to their defaults
    LOCAL_COLUMNS: ClassVar[frozenset[str]] = frozenset(
        {"status", "server_reason", "server_message"})


# -- the counter's own work ---------------------------------------------------------------------

class ScannedReceiptRecord(Base):
    """Every raw scan, kept verbatim until it is matched or dismissed (RECEIPTS.md)."""

    __tablename__ = "scanned_receipt"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    raw_text: Mapped[str] = mapped_column(Text)
    scanned_at: Mapped[dt.datetime] = mapped_column(default=utc_now)
    clerk: Mapped[str] = mapped_column(String(64))
    person_id: Mapped[str | None] = mapped_column(String(64))  # whose counter session
    format: Mapped[str | None] = mapped_column(String(32))  # which QR form was recognised
    issuer_code: Mapped[str | None] = mapped_column(String(32))
    receipt_no: Mapped[str | None] = mapped_column(String(64))
    check_code: Mapped[str | None] = mapped_column(String(32))
    amount: Mapped[Decimal | None]
    receipt_date: Mapped[dt.date | None]
    # no foreign key: the district may withdraw the row; the scan and its match stay on record
    fee_row_id: Mapped[str | None] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16), default="pending")

    __table_args__ = (
        CheckConstraint("status IN ('pending', 'matched', 'dismissed')", name="status"),
        Index(None, "status", "scanned_at"),
        Index(None, "receipt_no"),
    )


class ApplicationRecord(Base):
    """An application made at this counter, with the amount and the calc result it was saved with.

    person_id and the rows' fee_row_id carry no foreign key on purpose: the district may
    withdraw a person or a row after the application was made, and the application stays.
    """

    __tablename__ = "application"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    program: Mapped[str] = mapped_column(String(16))  # assistance | mutual_aid
    district: Mapped[str] = mapped_column(String(16))  # shanghai | changning | minhang
    person_id: Mapped[str] = mapped_column(String(64), index=True)
    proxy_name: Mapped[str | None] = mapped_column(String(64))  # 委托代办
    proxy_id_number: Mapped[str | None] = mapped_column(String(18))
    auto_enrolled: Mapped[bool] = mapped_column(default=False)  # 免申即享
    bank_account: Mapped[str | None] = mapped_column(String(32))  # paid to (migration 0004)
    # the person's card on file when the application was saved (migration 0008): a payout card
    # other than this one is a change the 审批人 confirms (变更 on the 审批表)
    card_on_file: Mapped[str | None] = mapped_column(String(32))
    # the person as at saving (migration 0006): identity, address, categories, for reprints
    applicant: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    # when the district accepted it (migration 0007): the status moves on with signatures
    accepted_at: Mapped[dt.datetime | None]
    # migration 0010: the seq of the district change this application was last written from
    # (its state as the district holds it comes back with the pull), and when the district
    # accepted its 审批人's signature: the month it is reported in (desktop.domain.clock)
    district_seq: Mapped[int | None]
    approval_accepted_at: Mapped[dt.datetime | None]
    # migration 0011: the human number (street short name, year, this PC's number, sequence:
    # 华阳-2026-03-0042), unique without the network; and the documents the clerk confirmed
    # receiving with it (CN-2026 4.6), e.g. {"medical_records": ["F01", ...]}
    number: Mapped[str | None] = mapped_column(String(32), index=True, unique=True)
    documents: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    # draft | saved | submitted | accepted | refused | reviewed | approved | ...: services decide
    status: Mapped[str] = mapped_column(String(16), default="draft", index=True)
    payable: Mapped[Decimal] = mapped_column(default=ZERO)
    buckets: Mapped[dict[str, Any]] = mapped_column(default=dict)  # bucket -> "12.34"
    case: Mapped[dict[str, Any] | None] = mapped_column(JSON)  # the calc contract input
    result: Mapped[dict[str, Any] | None] = mapped_column(JSON)  # the calc output, with trace
    parameter_versions: Mapped[list[str]] = mapped_column(default=list)
    created_at: Mapped[dt.datetime] = mapped_column(default=utc_now)
    created_by: Mapped[str] = mapped_column(String(64))
    updated_at: Mapped[dt.datetime] = mapped_column(default=utc_now, onupdate=utc_now)
    server_reason: Mapped[str | None] = mapped_column(String(64))  # e.g. "already_claimed"
    server_message: Mapped[str | None] = mapped_column(Text)

    rows: Mapped[list[ApplicationRowRecord]] = relationship(
        back_populates="application", cascade="all, delete-orphan", passive_deletes=True)
    signatures: Mapped[list[SignatureRecord]] = relationship(
        back_populates="application", cascade="all, delete-orphan", passive_deletes=True,
        order_by="SignatureRecord.signed_at")


class EnrolmentRecord(Base):
    """A mutual-aid enrolment paid at this counter (EnrolmentPayload), and the district's answer.

    The person's membership years come back from the district with the person (the feed is the
    authority); this record is what was paid here and what the form 附件1 prints.
    """

    __tablename__ = "enrolment"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    person_id: Mapped[str] = mapped_column(String(64), index=True)
    year: Mapped[int]
    benefits_from: Mapped[dt.date]
    fee: Mapped[Decimal]
    paid_on: Mapped[dt.date]
    mid_year_reason: Mapped[str | None] = mapped_column(String(200))
    form: Mapped[dict[str, Any]] = mapped_column(default=dict)  # the 附件1 fields, as pushed
    handler: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16), default="saved")  # saved|accepted|review
    server_reason: Mapped[str | None] = mapped_column(String(64))
    server_message: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(default=utc_now)


class ApplicationRowRecord(Base):
    """A fee row ticked in an application."""

    __tablename__ = "application_row"

    application_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("application.id", ondelete="CASCADE"), primary_key=True)
    fee_row_id: Mapped[str] = mapped_column(String(64), primary_key=True, index=True)

    application: Mapped[ApplicationRecord] = relationship(back_populates="rows")


class SignatureRecord(Base):
    """经办人 / 审核人 / 审批人 signing an application: one each, three different people."""

    __tablename__ = "signature"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    application_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("application.id", ondelete="CASCADE"))
    role: Mapped[str] = mapped_column(String(16))
    username: Mapped[str] = mapped_column(String(64))
    signed_at: Mapped[dt.datetime] = mapped_column(default=utc_now)
    # the detached Ed25519 signature the district verifies (migration 0008; desktop.domain.signing)
    key_id: Mapped[str | None] = mapped_column(String(64))
    proof: Mapped[str | None] = mapped_column(String(128))
    card_confirmed: Mapped[bool] = mapped_column(default=False)  # 审批人 confirmed a new card

    application: Mapped[ApplicationRecord] = relationship(back_populates="signatures")

    __table_args__ = (
        CheckConstraint("role IN ('handler', 'reviewer', 'approver')", name="role"),
        UniqueConstraint("application_id", "role"),
        # CN-2026 §3 (POLICY.md §6.5): handler, reviewer and approver are three different people
        UniqueConstraint("application_id", "username"),
    )


class UserRecord(Base):
    """A user who logged in at this counter, as the district described them.

    `password_verifier` is a salted scrypt hash of the password, with its parameters (never the
    password): it lets a user who signed in online here sign in offline for a while, and lets a
    reviewer or approver re-enter their password to sign (desktop.services.accounts).
    `verified_at` is when the district last confirmed the password (migration 0003).
    """

    __tablename__ = "user"

    username: Mapped[str] = mapped_column(String(64), primary_key=True)
    display_name: Mapped[str] = mapped_column(String(64))
    roles: Mapped[list[str]] = mapped_column(default=list)
    password_verifier: Mapped[str | None] = mapped_column(String(255))
    verified_at: Mapped[dt.datetime | None]
    # offline sign-in failures in a row and the lock they set (migration 0008)
    failed_offline: Mapped[int] = mapped_column(default=0, server_default="0")
    offline_locked_until: Mapped[dt.datetime | None]


class SigningKeyRecord(Base):
    """A user's Ed25519 key pair on this PC (签名密钥, migration 0008).

    The private key is sealed (AES-GCM) under a key derived from the user's password (scrypt),
    so only the user can sign with it, offline too; the district holds the public key, registered
    at an online sign-in, and verifies every signature against it (desktop.services.signing).
    """

    __tablename__ = "signing_key"

    key_id: Mapped[str] = mapped_column(String(64), primary_key=True)  # SHA-256 of the public key
    username: Mapped[str] = mapped_column(String(64), index=True)
    public_key: Mapped[str] = mapped_column(String(64))  # base64 of the 32 raw bytes
    sealed_private_key: Mapped[str] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(default=utc_now)
    device_id: Mapped[str | None] = mapped_column(String(36))  # the PC, as the district knows it
    registered_at: Mapped[dt.datetime | None]  # when the district registered it
    revoked_at: Mapped[dt.datetime | None]  # when the district said it no longer holds


class LocalStateRecord(Base):
    """A named value this PC keeps for itself (migration 0008), e.g. the latest time it saw."""

    __tablename__ = "local_state"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(Text)


class AuditEventRecord(Base):
    """Who did what when. Append-only: triggers refuse UPDATE and DELETE (migration 0001)."""

    __tablename__ = "audit_event"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    event_id: Mapped[uuid.UUID] = mapped_column(unique=True, default=uuid.uuid4)
    at: Mapped[dt.datetime] = mapped_column(default=utc_now, index=True)
    actor: Mapped[str] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(64))
    subject: Mapped[str]
    detail: Mapped[dict[str, Any]] = mapped_column(default=dict)
    # the hash chain (migration 0008): the previous row's row_hash, and this row's over its
    # canonical content and prev_hash (desktop.store.audit)
    prev_hash: Mapped[str | None] = mapped_column(String(64))
    row_hash: Mapped[str | None] = mapped_column(String(64))

    __table_args__ = (Index(None, "subject"),)


# -- sync state ---------------------------------------------------------------------------------

class OutboxRecord(Base):
    """A change waiting to be pushed, written in the same transaction as the change itself."""

    __tablename__ = "outbox"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)  # push order
    idempotency_key: Mapped[uuid.UUID] = mapped_column(unique=True, default=uuid.uuid4)
    kind: Mapped[str] = mapped_column(String(32))  # application | signature | audit_event
    payload: Mapped[dict[str, Any]]
    created_at: Mapped[dt.datetime] = mapped_column(default=utc_now)
    attempts: Mapped[int] = mapped_column(default=0)
    last_attempt_at: Mapped[dt.datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)
    delivered_at: Mapped[dt.datetime | None]
    result: Mapped[dict[str, Any] | None] = mapped_column(JSON)

    __table_args__ = (
        Index("ix_outbox_waiting", "id", sqlite_where=text("delivered_at IS NULL")),
    )


OutboxRow = OutboxRecord


class SyncCursorRecord(Base):
    """The last change seq pulled, per stream."""

    __tablename__ = "sync_cursor"

    stream: Mapped[str] = mapped_column(String(64), primary_key=True)
    cursor: Mapped[int] = mapped_column(default=0)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utc_now, onupdate=utc_now)


class TombstoneRecord(Base):
    """The newest delete seen for an entity's key, so an older upsert delivered late stays dead.

    Kept when the key is created again: it still tells which older changes the delete ended.
    """

    __tablename__ = "sync_tombstone"

    entity: Mapped[str] = mapped_column(String(32), primary_key=True)
    key: Mapped[str] = mapped_column(String(255), primary_key=True)
    seq: Mapped[int]


class ParkedChangeRecord(Base):
    """An upsert that arrived before the person it belongs to; applied when the person arrives."""

    __tablename__ = "sync_parked"

    entity: Mapped[str] = mapped_column(String(32), primary_key=True)
    key: Mapped[str] = mapped_column(String(255), primary_key=True)
    seq: Mapped[int]
    person_id: Mapped[str] = mapped_column(String(64), index=True)
    data: Mapped[dict[str, Any]]
