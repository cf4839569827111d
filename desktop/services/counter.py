"""The counter session: one person at the counter, their fee rows, the ticks and the live amount.

Opening a person reads the cache once: the person, their category spans, every fee row and the
rows already settled (H). From then on a tick only rebuilds the engine's Case from rows held in
memory and recomputes (POLICY.md §0.4: the amount is E(H ∪ C) − E(H) per year and bucket), so
the screen follows the clerk's keyboard. Saving goes through `save_application`, which
recomputes from the cache in its own transaction: the amount saved never comes from here.

The widgets show what this module returns — labels, amounts as text, reasons in words — and do
no arithmetic of their own.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from decimal import Decimal
from functools import cached_property
from typing import Any

from sqlalchemy import select

from desktop.domain.banks import bank_of_card
from desktop.domain.clock import local_time
from desktop.domain.id_number import mask_id_number
from desktop.domain.streets import district_of
from desktop.policy.contract import result_to_json
from desktop.policy.engine import standing
from desktop.policy.errors import CalcInputError
from desktop.policy.labels import KIND_LABELS, PROGRAM_LABELS, REASON_LABELS, bucket_label
from desktop.policy.model import WAIVABLE, Case, Kind, Program, Reason, Result
from desktop.policy.parameters import PolicyParameters
from desktop.policy.recompute import Prepared
from desktop.services.applications import (
    LIVE,
    SavedApplication,
    save_application,
    settled_rows,
)
from desktop.services.policy_values import current_parameters
from desktop.services.waivers import Waiver, authorise_waiver
from desktop.store import Store, case_for
from desktop.store.cases import HOLDING_CLAIMS, applicant_snapshot
from desktop.store.models import (
    ApplicationRecord,
    ApplicationRowRecord,
    CategorySpanRecord,
    FeeRowRecord,
    InstitutionRecord,
    PersonRecord,
)
from desktop.store.search import PersonHit, search_store
from desktop.store.search_numbers import NumberHit, search_numbers

SEX_LABELS = {"M": "男", "F": "女"}
# Rows whose 病史资料 the counter keeps with the application (CN-2026 4.6: 门诊大病及住院)
MEDICAL_RECORD_KINDS = frozenset({Kind.INPATIENT.value, Kind.MAJOR_OUTPATIENT.value})


class NotTickable(ValueError):
    """The row cannot be ticked; the message says why, in Chinese."""


def format_amount(value: Decimal | str) -> str:
    """1234.5 → "1,234.50": the one way amounts are written on screen."""
    return f"{Decimal(value):,.2f}"


# -- what the screen shows ------------------------------------------------------------------

@dataclass(frozen=True)
class CategoryLine:
    code: str
    label: str
    start: date
    end: date | None
    source: str
    current: bool  # in force on the application date


@dataclass(frozen=True)
class StandingLine:
    """This year's use of one bucket against its cap, e.g. 门急诊 2,130.00 / 2,800.00."""

    year: int
    bucket: str
    label: str
    used: Decimal
    cap: Decimal | None
    cap_name: str | None
    source: str | None


@dataclass(frozen=True)
class PersonCard:
    person_id: str
    name: str
    sex: str  # 男 / 女
    birth_date: date
    id_number: str
    id_masked: str
    phone: str | None
    address: str | None
    street_code: str
    committee: str | None
    bank_account: str | None
    resident_insurance: bool
    mutual_aid_years: tuple[int, ...]
    mutual_aid_benefits_from: date | None
    external_inpatient_insurance: bool
    allowance_balance: Decimal
    categories: tuple[CategoryLine, ...]
    standing: tuple[StandingLine, ...]

    @property
    def member(self) -> bool:
        return bool(self.mutual_aid_years)


@dataclass(frozen=True)
class FeeRowView:
    """One fee row as the table shows it; `reason` is why it cannot be ticked, in words."""

    id: str
    date: date
    institution: str
    hospital_level: int
    kind: str
    kind_label: str
    total: Decimal
    out_of_scope: Decimal
    self_pay: Decimal
    receipt_no: str
    issuer_code: str | None
    tickable: bool
    reason: str | None
    reason_code: str | None
    held_by: str | None  # who holds it and since when, for a row claimed elsewhere
    waived_by: str | None = None  # the approver's waiver that made it tickable, in words


@dataclass(frozen=True)
class Quote:
    """The live result for the ticked rows, as shown. The total, the buckets and the warnings
    come from the engine's result on each tick; the contract's whole output (with the trace,
    most of a recompute's time) is built only when something asks for it (F4, a test)."""

    payable: Decimal
    ticked: tuple[str, ...]
    ticked_self_pay: Decimal  # the sum of the ticked rows' self-pay, for the table's footer
    error: str | None = None  # a case the rules cannot compute, in Chinese
    result: Result | None = field(default=None, repr=False, compare=False)
    parameters: PolicyParameters | None = field(default=None, repr=False, compare=False)

    @cached_property
    def output(self) -> dict[str, Any]:
        """The calc contract output: buckets, rows, years, trace, warnings."""
        if self.result is None or self.parameters is None:
            return {}
        return result_to_json(self.result, self.parameters)

    @property
    def payable_text(self) -> str:
        return format_amount(self.payable)

    @property
    def buckets(self) -> list[tuple[str, str]]:
        result = self.result
        if result is None:
            return []
        program = result.case.program
        labels = {line.bucket: bucket_label(program, line.bucket) for line in result.lines}
        return [(labels.get(bucket, bucket.value), format_amount(amount))
                for bucket, amount in result.buckets.items()]

    @property
    def trace(self) -> list[str]:
        return list(self.output.get("trace", []))

    @property
    def warnings(self) -> list[str]:
        return [] if self.result is None else [w.message for w in self.result.warnings]


# -- the session ------------------------------------------------------------------------------

class CounterSession:
    """One person open at the counter for one program."""

    def __init__(self, store: Store, person_id: str, *, program: str, clerk: str,
                 application_date: date, parameters: PolicyParameters | None = None) -> None:
        self.store = store
        self.person_id = person_id
        self.program = Program(program)
        self.clerk = clerk
        self.application_date = application_date
        # the shipped files with the values pulled from the district (M18)
        self.parameters = parameters or current_parameters(store)
        with store.read_session() as session:
            person = session.get(PersonRecord, person_id)
            if person is None:
                raise LookupError(f"没有找到此人（{person_id}），请重新查询。")
            self.district = district_of(person.street_code)
            records = list(session.scalars(select(FeeRowRecord)
                                           .where(FeeRowRecord.person_id == person_id)
                                           .order_by(FeeRowRecord.date, FeeRowRecord.id)))
            years = {r.date.year for r in records}
            history = set(settled_rows(session, person_id, self.program.value, years))
            pending = self._pending_here(session)
            ids = [r.id for r in records]
            unsettled = [i for i in ids if i not in history]
            base = case_for(session, person_id, self.program, self.district,
                            application_date, unsettled, history)
            institutions = {i.code: i.name for i in session.scalars(select(InstitutionRecord))}
            spans = list(session.scalars(select(CategorySpanRecord)
                                         .where(CategorySpanRecord.person_id == person_id)
                                         .order_by(CategorySpanRecord.start)))
            self._person = person
            self._spans = spans
        self._history = tuple(f for f in base.fees if f.settled)
        self._candidates = {f.id: f for f in base.fees if not f.settled}
        self._base = base
        self._prepared = Prepared(base, self.parameters)
        self._records = {r.id: r for r in records}
        self._ticked: dict[str, None] = {}
        self._waivers: dict[str, Waiver] = {}
        self.rows = self._row_views(records, history, pending, institutions)
        self.card = self._card()

    # -- reading -----------------------------------------------------------------------------

    @property
    def ticked(self) -> tuple[str, ...]:
        return tuple(self._ticked)

    def row(self, row_id: str) -> FeeRowView:
        for view in self.rows:
            if view.id == row_id:
                return view
        raise KeyError(row_id)

    def quote(self) -> Quote:
        """Recompute for the rows ticked now (under a ms: the rows were classified and the
        history summed when the person was opened; nothing read from the database)."""
        ticked = [self._candidates[i] for i in self._ticked]
        self_pay = sum((f.self_pay for f in ticked), Decimal("0.00"))
        try:
            result = self._prepared.calculate(self._ticked)
        except CalcInputError as exc:
            return Quote(Decimal("0.00"), self.ticked, self_pay, error=exc.message_zh)
        return Quote(result.payable, self.ticked, self_pay, result=result,
                     parameters=self.parameters)

    # -- ticking -----------------------------------------------------------------------------

    def tick(self, row_id: str, on: bool = True) -> Quote:
        """Tick (or untick) a row and return the new amount; a row that cannot count is
        refused with its reason, so the clerk never sees it ticked for nothing."""
        if on:
            view = self.row(row_id)
            if not view.tickable:
                raise NotTickable(f"费用 {view.receipt_no} 不能勾选：{view.reason}")
            self._ticked[row_id] = None
        else:
            self._ticked.pop(row_id, None)
        return self.quote()

    def waive(self, row_id: str, *, approver: str, password: str, reason: str,
              now: datetime | None = None) -> FeeRowView:
        """An 审批人 waives the procedural check that keeps this row from counting (WAIVABLE:
        the 6-month window, the 居保大病 proof); refused for any other reason."""
        view = self.row(row_id)
        if view.tickable:
            raise NotTickable("这笔费用可以直接勾选，无需豁免。")
        codes = {r.value: r for r in Reason}
        reasons = frozenset({codes[view.reason_code]} if view.reason_code in codes else ())
        earlier = self._waivers.get(row_id)
        if earlier is not None and reasons <= WAIVABLE:  # a second check behind the first
            reasons |= earlier.reasons
        waiver = authorise_waiver(self.store, fee_row_id=row_id, reasons=reasons,
                                  approver=approver, password=password, reason=reason,
                                  clerk=self.clerk, now=now)
        self._waivers[row_id] = waiver
        self._candidates[row_id] = replace(self._candidates[row_id], waived=waiver.reasons)
        fees = sorted((*self._history, *self._candidates.values()), key=lambda f: f.order_key)
        self._base = replace(self._base, fees=tuple(fees))
        self._prepared = Prepared(self._base, self.parameters)
        behind = self._reasons().get(row_id)  # a second reason the waiver does not touch
        words = "、".join(REASON_LABELS[r] for r in sorted(waiver.reasons))
        updated = replace(view, tickable=behind is None,
                          reason_code=behind[0] if behind else None,
                          reason=behind[1] if behind else None,
                          waived_by=f"审批人 {waiver.approver} 已豁免“{words}”：{waiver.reason}")
        self.rows = [updated if r.id == row_id else r for r in self.rows]
        return updated

    def tick_all(self, row_ids: Iterable[str]) -> Quote:
        for row_id in row_ids:
            if self.row(row_id).tickable:
                self._ticked[row_id] = None
        return self.quote()

    def tick_countable(self, row_ids: Iterable[str] | None = None) -> Quote:
        """Tick every row that can count (of `row_ids`, default all); greyed rows never."""
        wanted = None if row_ids is None else set(row_ids)
        return self.tick_all(v.id for v in self.rows
                             if v.tickable and (wanted is None or v.id in wanted))

    def first_countable(self, row_ids: Iterable[str]) -> str | None:
        """The first of `row_ids` (in their order) that can be ticked: where the cursor starts."""
        tickable = {v.id for v in self.rows if v.tickable}
        return next((i for i in row_ids if i in tickable), None)

    def needing_medical_records(self) -> tuple[str, ...]:
        """The ticked 门诊大病 and 住院 rows: their 病史资料 must come with the application
        (CN-2026 4.6)."""
        kinds = {v.id: v.kind for v in self.rows}
        return tuple(i for i in self._ticked if kinds.get(i) in MEDICAL_RECORD_KINDS)

    def clear(self) -> Quote:
        self._ticked.clear()
        return self.quote()

    def draft(self) -> tuple[dict[str, Any], list[dict[str, Any]]]:
        """The applicant and the ticked rows as plain values, for a preview before saving."""
        with self.store.read_session() as session:
            person = applicant_snapshot(session, self.person_id, self.application_date)
        # as the submit dialog proposes them: the bank by the card's prefix, the address on file
        person["bank_name"] = bank_of_card(person.get("bank_account"))
        person["household_address"] = person.get("address")
        fees = [{"id": r.id, "date": r.date.isoformat(), "kind": r.kind, "total": str(r.total)}
                for r in self.rows if r.id in self._ticked]
        return person, fees

    def submit(self, *, proxy_name: str | None = None, proxy_id_number: str | None = None,
               auto_enrolled: bool = False, bank_account: str | None = None,
               bank_name: str | None = None, household_address: str | None = None,
               medical_records: Iterable[str] = (),
               now: datetime | None = None) -> SavedApplication:
        """Save the application for the ticked rows (saved locally at once; synced later).

        `medical_records` names the ticked rows whose 病史资料 the clerk received; every
        ticked 门诊大病 / 住院 row needs them (CN-2026 4.6), or nothing is saved."""
        if not self._ticked:
            raise NotTickable("请先勾选本次申请的费用。")
        received = [i for i in medical_records if i in self._ticked]
        missing = [i for i in self.needing_medical_records() if i not in received]
        if missing:
            receipts = "、".join(self.row(i).receipt_no for i in missing)
            raise NotTickable(f"门诊大病、住院费用须附病史资料（长宁区操作细则 4.6），"
                              f"尚未确认收到：票据 {receipts}。")
        return save_application(
            self.store, person_id=self.person_id, program=self.program.value,
            district=self.district, application_date=self.application_date,
            ticked=list(self._ticked), handler=self.clerk, proxy_name=proxy_name,
            waivers=[w for i, w in self._waivers.items() if i in self._ticked],
            proxy_id_number=proxy_id_number, auto_enrolled=auto_enrolled,
            bank_account=bank_account, bank_name=bank_name,
            household_address=household_address, medical_records=received, now=now)

    def todays_application(self) -> uuid.UUID | None:
        """The person's latest live application of this program dated today (the application
        date of this session): what 打印申请表 prints when the clerk comes back to them."""
        with self.store.read_session() as session:
            return session.scalar(
                select(ApplicationRecord.id)
                .where(ApplicationRecord.person_id == self.person_id,
                       ApplicationRecord.program == self.program.value,
                       ApplicationRecord.case["application_date"].as_string()
                       == self.application_date.isoformat(),
                       ApplicationRecord.status.in_(LIVE))
                .order_by(ApplicationRecord.created_at.desc()).limit(1))

    # -- building the views ------------------------------------------------------------------

    def _pending_here(self, session: Any) -> dict[str, uuid.UUID]:
        """Rows held by this counter's own live applications of any program (not yet settled
        district-wide, or of the other program): they cannot be ticked again."""
        rows = session.execute(
            select(ApplicationRowRecord.fee_row_id, ApplicationRecord.id,
                   ApplicationRecord.program)
            .join(ApplicationRecord, ApplicationRecord.id == ApplicationRowRecord.application_id)
            .where(ApplicationRecord.person_id == self.person_id,
                   ApplicationRecord.status.in_(LIVE)))
        return {fee_row_id: app_id for fee_row_id, app_id, _program in rows}

    def _row_views(self, records: list[FeeRowRecord], history: set[str],
                   pending: dict[str, uuid.UUID], institutions: dict[str, str]
                   ) -> list[FeeRowView]:
        reasons = self._reasons()
        views = []
        for r in records:
            reason_code = None
            reason: str | None = None
            held_by = None
            if r.id in pending:
                reason_code = "pending_here"
                reason = f"已在本柜台的申请中（申请 {str(pending[r.id])[:8]}）"
            elif r.id in history or r.claim_status in HOLDING_CLAIMS:
                reason_code = "already_claimed"
                reason = REASON_LABELS[Reason.ALREADY_CLAIMED]
                if r.claimed_at is not None:
                    held_by = f"{r.claimed_street or ''} {local_time(r.claimed_at)}".strip()
                    reason += f"（{held_by} 申请）"
            elif r.id in reasons:
                reason_code, reason = reasons[r.id]
            kind = Kind(r.kind)
            views.append(FeeRowView(
                id=r.id, date=r.date,
                institution=institutions.get(r.institution_code or "", r.institution_code or ""),
                hospital_level=r.hospital_level, kind=r.kind, kind_label=KIND_LABELS[kind],
                total=r.total, out_of_scope=r.out_of_scope, self_pay=r.self_pay,
                receipt_no=r.receipt_no, issuer_code=r.issuer_code,
                tickable=reason is None, reason=reason, reason_code=reason_code,
                held_by=held_by))
        return views

    def _reasons(self) -> dict[str, tuple[str, str]]:
        """Why each unsettled row cannot count, from the engine: every one ticked at once
        (a row's eligibility does not depend on the other rows ticked). The base case is the
        history and every candidate, in fill order: the prepared case computes it from the rows
        it classified when the person was opened."""
        case = self._base
        try:
            result = self._prepared.calculate(self._candidates)
        except CalcInputError as exc:
            return {f.id: ("no_rule", exc.message_zh) for f in case.fees if not f.settled}
        out = {}
        for r in result.rows:
            if not r.row.settled and r.reason is not None:
                out[r.id] = (r.reason.value, REASON_LABELS[r.reason])
        return out

    def _card(self) -> PersonCard:
        p = self._person
        labels = {code: c.label for code, c in self.parameters.categories.items()}
        day = self.application_date
        categories = tuple(CategoryLine(
            s.code, labels.get(s.code, s.code), s.start, s.end, s.source,
            s.start <= day and (s.end is None or day <= s.end)) for s in self._spans)
        return PersonCard(
            person_id=p.id, name=p.name, sex=SEX_LABELS.get(p.sex, p.sex),
            birth_date=p.birth_date, id_number=p.id_number,
            id_masked=mask_id_number(p.id_number), phone=p.phone, address=p.address,
            street_code=p.street_code, committee=p.committee, bank_account=p.bank_account,
            resident_insurance=p.resident_insurance,
            mutual_aid_years=tuple(sorted(p.mutual_aid_years)),
            mutual_aid_benefits_from=p.mutual_aid_benefits_from,
            external_inpatient_insurance=p.external_inpatient_insurance,
            allowance_balance=p.allowance_balance, categories=categories,
            standing=self._standing(day.year))

    def _standing(self, year: int) -> tuple[StandingLine, ...]:
        case: Case = replace(self._base, fees=self._history)
        try:
            lines = standing(case, self.parameters, year)
        except CalcInputError:
            return ()
        out = []
        for line in lines:
            cap = next((lim for lim in line.limits if lim.name.endswith("年度救助限额")), None)
            out.append(StandingLine(
                year, line.bucket.value, bucket_label(self.program, line.bucket), line.after,
                cap.amount if cap else None, cap.name if cap else None,
                cap.source if cap else None))
        return tuple(out)


def program_label(program: str) -> str:
    return PROGRAM_LABELS[Program(program)]


__all__ = [
    "CategoryLine",
    "CounterSession",
    "FeeRowView",
    "NotTickable",
    "PersonCard",
    "Quote",
    "StandingLine",
    "district_of",
    "find_numbers",
    "find_persons",
    "format_amount",
    "program_label",
]


def find_persons(store: Store, query: str, limit: int = 50) -> list[PersonHit]:
    """Person search for the search box: ID number (whole or last digits), name, pinyin or
    its initials, phone; best match first, ID numbers masked."""
    return search_store(store, query, limit)


def find_numbers(store: Store, query: str) -> list[NumberHit]:
    """What a number typed or scanned into the search box names: an application (UUID or its
    human number) or a receipt (票据号码), with the person it belongs to."""
    with store.read_session() as session:
        return search_numbers(session, query)

