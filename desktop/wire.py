"""The wire schemas between a counter and the district server (pydantic, no I/O).

Both sides import these: `district/` to validate what counters send and to shape what it
returns, `desktop/sync` to do the same the other way. Money travels as strings with two
decimals (as in the calc contract), dates as ISO strings, ids as strings.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Literal, Protocol
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

API_PREFIX = "/api/v1"
# The wire's protocol version, sent by the counter with every request and by the server with
# every answer (PROTOCOL_HEADER). The server serves this version and the one before it; a
# request without the header is version 1 (counters from before the header). History:
#   1: persons, spans, institutions, fee rows, claims and parameter versions in the feed;
#   2: applications in the feed too (ApplicationData, issue 10);
#   3: the human application number (ApplicationPayload.number, ApplicationData.number) and
#      the PC's number within its street (DeviceRegistered.device_number), issue 12;
#   4: LoggedIn.must_change_password, ParameterVersionData.assumption, and the 免申即享
#      commitment as its own record (issue 15): the `commitment` entity in the feed and the
#      `commitment` / `revocation` push items.
PROTOCOL_HEADER = "X-Counter-Protocol"
PROTOCOL_VERSION = 4
OLDEST_PROTOCOL = PROTOCOL_VERSION - 1
# what a version before the one named does not know, and is not sent: entities of the change
# feed, fields of a change page, fields of an entity's data in the feed, fields of an answer
ENTITIES_SINCE: dict[str, int] = {"application": 2, "commitment": 4}
FIELDS_SINCE: dict[str, int] = {"generation": 2, "newest": 2, "count": 2}
DATA_FIELDS_SINCE: dict[str, dict[str, int]] = {"application": {"number": 3},
                                                 "parameter_version": {"assumption": 4}}
ANSWER_FIELDS_SINCE: dict[str, dict[str, int]] = {"DeviceRegistered": {"device_number": 3},
                                                   "LoggedIn": {"must_change_password": 4}}
# push item kinds a version before the one named does not send: the district refuses them
# from such a counter (reason "protocol_outdated"), as it would never have sent them
KINDS_SINCE: dict[str, int] = {"commitment": 4, "revocation": 4}
# what a counter reports of itself on every request (protocol 4), for the district console
VERSION_HEADER = "X-Counter-Version"
WAITING_HEADER = "X-Outbox-Waiting"
# what GET /changes answers in its headers as well as in the page (a counter may ask for the
# next page before it has read this one's body); a server without them is asked after the body
NEXT_CURSOR_HEADER = "X-Next-Cursor"
MORE_HEADER = "X-More"  # "1" or "0"
Money = str  # "123.45": validated with desktop.policy.money.parse_amount where it matters

Entity = Literal["person", "category_span", "institution", "fee_row", "claim", "parameter_version",
                 "application", "commitment"]
Role = Literal["clerk", "reviewer", "approver", "district_admin"]
OutboxKind = Literal["application", "signature", "audit_event", "enrolment", "withdrawal",
                     "return", "commitment", "revocation"]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


# A name or label typed by a person: no control characters (PostgreSQL refuses NUL in text).
PLAIN_TEXT = r"^[^\x00-\x1f\x7f]*$"


# -- devices and users ---------------------------------------------------------------------

class RegisterDevice(Strict):
    """A counter PC registers once with a one-time enrolment code from the district."""

    enrolment_code: str = Field(min_length=6, max_length=64)
    device_name: str = Field(min_length=1, max_length=64, pattern=PLAIN_TEXT)


class DeviceRegistered(Strict):
    device_id: str
    token: str  # kept in the OS keyring, never in the database or a config file
    street_code: str
    street_name: str
    # protocol 3: this PC's number within its street (1, 2, 3, ... in registration order),
    # the `03` of its application numbers; None from a server before it
    device_number: int | None = None


class DeviceInfo(Strict):
    """GET /devices/me: what the district knows of the PC asking. A PC registered before the
    district gave PC numbers (protocol 2) learns its number here (desktop.services.numbering)."""

    device_id: str
    street_code: str
    street_name: str
    device_number: int | None = None


class Login(Strict):
    username: str = Field(min_length=1, max_length=64, pattern=PLAIN_TEXT)
    password: str = Field(min_length=1, max_length=256)


class RegisterSigningKey(Strict):
    """A user's new public signing key on this PC, sent over the user's own session."""

    public_key: str = Field(pattern=r"^[A-Za-z0-9+/]{43}=$")  # base64 of 32 raw bytes


class SigningKeyRegistered(Strict):
    key_id: str
    device_id: str
    registered_at: datetime


class LoggedIn(Strict):
    session_token: str
    username: str
    display_name: str
    roles: list[Role]
    expires_at: datetime
    # protocol 4: an administrator reset the password (district console); the counter has the
    # user choose their own (ChangePassword) before anything else
    must_change_password: bool = False


class ChangePassword(Strict):
    """The signed-in user's new password (POST /password, protocol 4): the current one
    proves it is them; the answer is a new session (the change ends every other)."""

    current_password: str = Field(min_length=1, max_length=256)
    new_password: str = Field(min_length=10, max_length=256)


# -- entities the counter caches ----------------------------------------------------------

class PersonData(Strict):
    id: str
    id_number: str
    name: str
    sex: Literal["M", "F"]
    birth_date: date
    phone: str | None = None
    address: str | None = None
    street_code: str
    committee: str | None = None  # 居委
    bank_account: str | None = None
    resident_insurance: bool = False
    mutual_aid_years: list[int] = []
    mutual_aid_benefits_from: date | None = None
    external_inpatient_insurance: bool = False
    allowance_balance: Money = "0.00"


class CategorySpanData(Strict):
    id: str
    person_id: str
    code: str
    start: date
    end: date | None = None
    source: str  # who determined it (e.g. 民政 decision number)


class InstitutionData(Strict):
    code: str
    name: str
    level: int = Field(ge=1, le=3)
    in_shanghai: bool = True


class FeeRowData(Strict):
    """A fee row as the district feed (四医联动) pushes it: POLICY.md §2 plus receipt ids."""

    id: str
    person_id: str
    institution_code: str | None = None
    issuer_code: str | None = None  # 票据代码
    receipt_no: str  # 票据号码
    check_code: str | None = None  # 校验码
    date: date
    kind: Literal["outpatient", "inpatient", "major_outpatient"]
    hospital_level: int = Field(ge=1, le=3)
    in_shanghai: bool = True
    out_of_province_filed: bool = False
    total: Money
    out_of_scope: Money
    self_pay: Money
    deductible_part: Money = "0.00"
    external_deductible: Money = "0.00"
    external_reimbursed: Money = "0.00"
    one_stop_settled: bool = False
    already_claimed: bool = False
    clearing_pending: bool = False
    major_illness: bool = False
    major_illness_doc: bool = False
    means_test_included: bool = False


class ClaimData(Strict):
    """Who holds a fee row district-wide: the server's claim registry, pulled by counters."""

    fee_row_id: str
    application_id: UUID
    street_code: str
    device_id: str
    claimed_at: datetime
    status: Literal["claimed", "paid", "released"]
    # the program the row was claimed under: a counter's settled history (H) is per program
    program: Literal["assistance", "mutual_aid"] | None = None


class ParameterVersionData(Strict):
    key: str  # e.g. "assistance:category.dibao.outpatient_rate"
    effective_from: date
    value: str
    source: str
    # protocol 4: "政策未明确，按本区口径" (a value the district published in its console)
    assumption: bool = False


class SignatureData(Strict):
    """A signature the district holds on an application, and when it accepted it."""

    role: Literal["handler", "reviewer", "approver"]
    username: str
    signed_at: datetime
    accepted_at: datetime  # when the district accepted it: the approver's places the month
    key_id: str | None = None
    proof: str | None = None
    card_confirmed: bool = False


class TransitionData(Strict):
    """A send-back or a withdrawal the district holds, with its reason."""

    kind: Literal["return", "withdrawal"]
    username: str
    reason: str | None
    signed_at: datetime


class ApplicationData(Strict):
    """An application as the district holds it: every state change of it is a change for its
    street, so that what a supervisor at another counter or the district decides reaches every
    counter of the street."""

    id: str
    program: Literal["assistance", "mutual_aid"]
    district: str
    person_id: str
    street_code: str
    device_id: str  # the counter that submitted it
    handler: str
    application_date: date
    created_at: datetime
    accepted_at: datetime
    status: Literal["accepted", "reviewed", "approved", "paid", "returned", "withdrawn"]
    payable: Money
    buckets: dict[str, Money]
    fee_row_ids: list[str]
    case: dict[str, Any]
    parameter_versions: list[str]
    bank_account: str | None = None
    card_on_file: str | None = None
    proxy_name: str | None = None
    proxy_id_number: str | None = None
    auto_enrolled: bool = False
    signatures: list[SignatureData] = []
    transitions: list[TransitionData] = []
    number: str | None = None  # protocol 3: 申请编号, e.g. 华阳-2026-03-0042


class CommitmentData(Strict):
    """A person's 免申即享 consent as the district holds it (protocol 4, issue 15): given with
    an application that carries "免申即享", by its 经办人; live until revoked, whatever becomes
    of that application. Every counter of the person's street holds it."""

    id: str
    person_id: str
    program: Literal["assistance", "mutual_aid"]
    street_code: str
    application_id: str  # the application form that carries "免申即享"
    given_on: date
    given_by: str  # the 经办人 who took the consent
    given_at: datetime
    revoked_on: date | None = None
    revoked_by: str | None = None
    revoked_at: datetime | None = None
    revoke_reason: str | None = None


class Change(Strict):
    seq: int  # the server's change sequence: the cursor is the last seq seen
    entity: Entity
    key: str
    op: Literal["upsert", "delete"]
    data: dict[str, Any] | None  # the entity's *Data fields for an upsert, None for a delete


class ReadChange(Protocol):
    """A change as a pull reads it (desktop.sync.reader): for a known entity, its data is an
    object with the fields of the entity's *Data model as attributes, checked against the model
    while the page was read (a field left out has the model's default); for another, a dict.
    Reading a thousand changes into models cost three times the reading itself."""

    @property
    def seq(self) -> int: ...
    @property
    def entity(self) -> str: ...
    @property
    def key(self) -> str: ...
    @property
    def op(self) -> Literal["upsert", "delete"]: ...
    @property
    def data(self) -> Any: ...


AnyChange = Change | ReadChange  # what the store applies

# the types of the changes whose data the reader checked (one per entity): the store takes the
# data of these as checked, and validates any other's. Only the reader adds to it.
CHECKED_READ_CHANGES: set[type[Any]] = set()


class ChangesPage(Strict):
    items: list[Change]
    next_cursor: int  # pass it back to continue; equal to the request's cursor when nothing new
    more: bool  # changes after this page exist, at the time of the request
    # changes after the request's cursor at the time of the request, when the request asked
    # (count=true): counting reads every one of them, so a pull asks on its first page only
    total: int | None = None
    # protocol 2: the district's generation (new after a restore from a backup), the newest seq
    # the server read for this page (a counter whose cursor is past it talks to a district that
    # lost changes), and how many items the server put in this page
    generation: str | None = None
    newest: int | None = None
    count: int | None = None


# -- what counters push -------------------------------------------------------------------

class Proof(Strict):
    """A detached Ed25519 signature over desktop.domain.signing's canonical bytes, by the key
    `key_id` (the SHA-256 of the public key, hex) that the signer registered with the district."""

    key_id: str = Field(pattern=r"^[0-9a-f]{64}$")
    signature: str = Field(pattern=r"^[A-Za-z0-9+/]{86}==$")  # base64 of 64 bytes


class WaiverData(Strict):
    """An 审批人's waiver of a procedural check on one row (desktop.services.waivers)."""

    fee_row_id: str
    reasons: list[Literal["overdue", "major_illness_doc_missing"]] = Field(min_length=1)
    approver: str = Field(max_length=64)
    reason: str = Field(min_length=1, max_length=200)
    at: datetime
    proof: Proof | None = None  # the approver's signature of the waiver


class ApplicationPayload(Strict):
    application_id: UUID  # generated by the counter
    program: Literal["assistance", "mutual_aid"]
    district: Literal["shanghai", "changning", "minhang"]
    person_id: str = Field(max_length=16)
    fee_row_ids: list[str] = Field(min_length=1, max_length=1000)
    case: dict[str, Any]  # the calc contract input the counter computed
    payable: Money
    buckets: dict[str, Money]
    parameter_versions: list[str]  # "file:key@effective_from" of every parameter used
    handler: str = Field(max_length=64)  # username of the 经办人
    proxy_name: str | None = Field(default=None, max_length=64)
    proxy_id_number: str | None = Field(default=None, max_length=18)
    auto_enrolled: bool = False  # 免申即享
    # the card to pay, confirmed with the applicant (a Luhn failure was confirmed, not refused)
    bank_account: str | None = Field(default=None, pattern=r"^[0-9]{16,19}$")
    waivers: list[WaiverData] = Field(default_factory=list, max_length=500)
    created_at: datetime
    handler_proof: Proof | None = None  # the 经办人's signature of the application
    # protocol 3: the human number the counter gave it (desktop.domain.streets), checked by
    # the district; None from a counter without a device number (or before protocol 3)
    number: str | None = Field(default=None, max_length=32)


# 人员属性 of MA-2021 附件1: 支内, 支疆, 异地安置干部, 文革期间知青, 文革前知青, 上述人员配偶
PersonAttribute = Literal["zhinei", "zhijiang", "relocated_cadre", "youth_during_cr",
                          "youth_before_cr", "spouse"]


class EnrolmentPayload(Strict):
    """A mutual-aid enrolment paid at the counter (MA-2021 二; the fields of 附件1)."""

    enrolment_id: UUID  # generated by the counter
    person_id: str
    year: int = Field(ge=2000, le=2100)  # the membership year the fee pays for
    benefits_from: date
    fee: Money
    paid_on: date
    mid_year_reason: str | None = Field(default=None, max_length=200)  # 二(三) special case
    person_attribute: PersonAttribute
    hukou_district: str = Field(max_length=32)  # 户籍所在地 区（县） / 街道（镇/乡）
    hukou_street: str = Field(max_length=32)
    contact_district: str = Field(max_length=32)  # 联系住址
    contact_street: str = Field(max_length=32)
    contact_address: str | None = Field(default=None, max_length=128)
    phone: str | None = Field(default=None, max_length=32)
    postcode: str | None = Field(default=None, pattern=r"^[0-9]{6}$")
    original_employer: str | None = Field(default=None, max_length=64)  # 原在沪工作单位
    other_province_employer: str | None = Field(default=None, max_length=64)  # 在外省市工作单位
    external_inpatient_insurance: bool  # 外省市住院医疗待遇 有/无报销
    handler: str = Field(min_length=1, max_length=64)
    created_at: datetime
    # the 经办人's signature (desktop.domain.signing, act "enrol"): without it, the handler
    # must be the user whose session pushes it
    handler_proof: Proof | None = None


class WithdrawalPayload(Strict):
    """An application withdrawn at the counter: the district releases its claims so that the
    receipts can go into a corrected application. A sent-back one is withdrawn by its 经办人 or
    a 审核人/审批人; one no 审核人 has signed yet, by its own 经办人 only."""

    application_id: UUID
    username: str = Field(max_length=64)  # who withdrew it
    reason: str = Field(min_length=1, max_length=500)
    at: datetime
    proof: Proof | None = None


class CommitmentPayload(Strict):
    """A 免申即享 consent given at the counter (protocol 4): the person signed the
    《免申即享申请承诺书》 with the application `application_id`, which carries the flag. Signed
    by the 经办人 (desktop.domain.signing.commitment_act, act "commit")."""

    commitment_id: UUID  # generated by the counter
    person_id: str = Field(max_length=16)
    program: Literal["assistance", "mutual_aid"]
    application_id: UUID
    given_on: date
    handler: str = Field(min_length=1, max_length=64)
    at: datetime
    proof: Proof | None = None


class RevocationPayload(Strict):
    """A 免申即享 consent revoked at the counter (protocol 4), with its reason; signed by who
    revokes it (act "revoke")."""

    commitment_id: UUID
    username: str = Field(min_length=1, max_length=64)
    revoked_on: date
    reason: str = Field(min_length=1, max_length=500, pattern=PLAIN_TEXT)
    at: datetime
    proof: Proof | None = None


class ReturnPayload(Strict):
    """A 审核人 or 审批人 sends an application back to its 经办人 (退回), with a reason."""

    application_id: UUID
    username: str = Field(min_length=1, max_length=64)
    reason: str = Field(min_length=1, max_length=500)
    at: datetime
    proof: Proof | None = None


class SignaturePayload(Strict):
    application_id: UUID
    role: Literal["handler", "reviewer", "approver"]
    username: str = Field(min_length=1, max_length=64)
    signed_at: datetime
    # the 审批人 confirmed a payout card other than the one on file (it is in the signed bytes)
    card_confirmed: bool = False
    proof: Proof | None = None


class AuditEventPayload(Strict):
    event_id: UUID
    at: datetime
    actor: str = Field(max_length=64)
    action: str = Field(max_length=64)
    subject: str = Field(max_length=128)
    detail: dict[str, Any] = {}
    # the counter's hash chain (desktop.store.audit): the previous event's hash and this one's
    prev_hash: str | None = Field(default=None, pattern=r"^[0-9a-f]{64}$")
    row_hash: str | None = Field(default=None, pattern=r"^[0-9a-f]{64}$")


class OutboxItem(Strict):
    idempotency_key: UUID  # generated by the counter when the change is saved
    kind: OutboxKind
    payload: dict[str, Any]
    created_at: datetime


class Push(Strict):
    items: list[OutboxItem] = Field(max_length=500)


class ItemResult(Strict):
    idempotency_key: UUID
    status: Literal["accepted", "refused", "duplicate"]  # duplicate: applied before, same result
    reason: str | None = None  # code, e.g. "already_claimed", "amount_mismatch", "forbidden"
    message: str | None = None  # Chinese, for the clerk
    detail: dict[str, Any] | None = None  # e.g. who claimed the row when


class PushResult(Strict):
    results: list[ItemResult]
    generation: str | None = None  # protocol 2: the district's generation


class KnownItems(Strict):
    """Which of these idempotency keys, pushed from this PC, the district holds (after a
    restore from a backup it may have lost some)."""

    keys: list[UUID] = Field(max_length=5000)


class KnownAnswer(Strict):
    known: list[UUID]
    generation: str


class ErrorBody(Strict):
    """Every error response: a code, a Chinese message for the screen and the field."""

    code: str
    message: str
    field: str | None = None
