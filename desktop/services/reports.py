"""The month's report of a street to the district (CN-2026 3.5, POLICY.md §6.6): the settlement
summary (结算汇总表) and the payout list (发放清单), read from the local store. No Qt.

Which applications a month holds. CN-2026 3.4 makes the approval form, signed by 经办人, 审核人
and 审批人, the confirmation of a settlement, and 3.5 has each street report "本月救助结算" to the
district by the 20th. So an application belongs to the month in which the district accepted its
审批人's signature, on the calendar of Shanghai (an approval accepted at 00:30 on 1 July
Shanghai time is July's, though it is still 30 June in UTC): one rule, in
desktop.domain.clock.settlement_month, that the district's monthly summary imports too, so the
two summaries of a street agree. An approval made offline waits for the month the district
accepts it in. And only while it is payable:
status "approved" or "paid". One the district refused after the approval (status "review")
is not paid, so it is not listed. The month is the calendar month: a street
that sends its report before month end prints it again once the month is closed (the sources do
not say where a report sent on the 20th cuts off).

Whose street. The street the person belonged to when the application was saved (the
applicant snapshot), or, for applications saved before snapshots were kept, the person's
street in the cache. An application whose person is gone from the cache and has no snapshot
cannot be placed in any street and is left out.

The arithmetic (the split of an application by category, the summary's tables, the payout
list's lines) is desktop.policy.monthly_figures', pure, shared with the district's console;
this module reads the store, builds its inputs and masks what leaves the counter.

Counts. A program line counts each application once. A category line counts the applications
with a claimed row in that category, a bucket line those with an amount in that bucket: an
application spanning two categories (or buckets) is counted in both, so these counts need not
add up to the number of applications; the amounts always do. The summary also counts, among the
month's applications, those marked 免申即享 (claimed in the monthly run, CN-2026 3.3).

The payout list has one line per person and bank card (normally one per person: a person paid
to two cards in one month gets two lines), with the sum of their applications of the month; a
person whose applications pay nothing in total is not listed. Mutual-aid enrolments paid at
this counter in the month (statuses "saved" and "accepted": the fee was taken and not refused)
are a separate line of the summary, money received rather than paid out.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from desktop.domain.bank_card import mask_card
from desktop.domain.clock import SHANGHAI, month_range
from desktop.domain.id_number import mask_id_number
from desktop.policy import monthly_figures as figures
from desktop.policy.monthly_figures import (
    ENROLMENT_LABEL,
    FEN,
    MEMBER,
    MEMBER_LABEL,
    PROGRAM_BUCKETS,
    PROGRAMS,
    UNKNOWN,
    UNKNOWN_LABEL,
    ZERO,
    ApplicationFigures,
    BucketLine,
    CategoryLine,
    EnrolmentLine,
    MonthlySummary,
    PayoutLine,
    PayoutList,
    ProgramLine,
    ReportDataError,
    Settled,
)
from desktop.store import Store, append_audit
from desktop.store.models import (
    ApplicationRecord,
    EnrolmentRecord,
    PersonRecord,
)

# Applications a month pays: approved (审批人 signed), or already paid by the district.
SETTLED = ("approved", "paid")
# Enrolment fees taken at the counter and not refused by the district.
FEES_TAKEN = ("saved", "accepted")
NO_PERSON = "（本机缓存中已无此人）"


# -- the month's applications -------------------------------------------------------------------

def month_bounds(year: int, month: int) -> tuple[datetime, datetime]:
    """The month as an instant range [start, end) on Shanghai's calendar (the one rule both
    sides import: desktop.domain.clock.month_range)."""
    return month_range(year, month)


def month_period(year: int, month: int) -> tuple[date, date, datetime, datetime]:
    """The month's first and last day (Shanghai) and its instant range [start, end)."""
    start, end = month_bounds(year, month)
    first, after = start.astimezone(SHANGHAI).date(), end.astimezone(SHANGHAI).date()
    return first, after - timedelta(days=1), start, end


def _settled_applications(session: Session, street_code: str, start: datetime, end: datetime
                          ) -> list[Settled]:
    # the one month rule (desktop.domain.clock.settlement_month): the month in which the
    # district accepted the 审批人's signature; one approved offline and not yet accepted
    # waits for the month the district accepts it in
    applications = list(session.scalars(
        select(ApplicationRecord)
        .where(ApplicationRecord.approval_accepted_at >= start,
               ApplicationRecord.approval_accepted_at < end,
               ApplicationRecord.status.in_(SETTLED),
               ApplicationRecord.accepted_at.is_not(None))
        .order_by(ApplicationRecord.approval_accepted_at, ApplicationRecord.id)))
    persons = {p.id: p for p in session.scalars(select(PersonRecord).where(
        PersonRecord.id.in_({a.person_id for a in applications})))} if applications else {}
    out = []
    for a in applications:
        person = persons.get(a.person_id)
        snapshot: Mapping[str, Any] = a.applicant or {}
        street = snapshot.get("street_code") or (person.street_code if person else None)
        if street != street_code:
            continue
        out.append(figures.settle(ApplicationFigures(
            id=a.id, program=a.program, district=a.district, person_id=a.person_id,
            name=snapshot.get("name") or (person.name if person else NO_PERSON),
            id_number=snapshot.get("id_number") or (person.id_number if person else ""),
            committee=snapshot.get("committee") or (person.committee if person else None),
            bank_account=(a.bank_account or snapshot.get("bank_account")
                          or (person.bank_account if person else None)),
            payable=a.payable, buckets=a.buckets or {}, case=a.case or {},
            result=a.result or {}, auto_enrolled=a.auto_enrolled)))
    return out


# -- the summary ------------------------------------------------------------------------------

def monthly_summary(store: Store, *, street_code: str, year: int, month: int) -> MonthlySummary:
    """结算汇总表 of a street for a month: counts and amounts by program, category and bucket,
    and the enrolment fees taken. Raises ValueError for a month out of range and
    ReportDataError for an application whose amounts do not add up."""
    first, last, start, end = month_period(year, month)
    with store.read_session() as session:
        settled = _settled_applications(session, street_code, start, end)
        enrolments = _enrolments(session, street_code, first, last)
    return figures.monthly_summary(
        settled, street_code=street_code, year=year, month=month, period_start=first,
        period_end=last, enrolment_count=len(enrolments),
        enrolment_fees=sum((e.fee for e in enrolments), ZERO))


def _enrolments(session: Session, street_code: str, first: date, last: date
                ) -> list[EnrolmentRecord]:
    records = list(session.scalars(select(EnrolmentRecord).where(
        EnrolmentRecord.paid_on >= first, EnrolmentRecord.paid_on <= last,
        EnrolmentRecord.status.in_(FEES_TAKEN))))
    streets = {person_id: street for person_id, street in session.execute(
        select(PersonRecord.id, PersonRecord.street_code).where(
            PersonRecord.id.in_({e.person_id for e in records})))} if records else {}
    def street_of(record: EnrolmentRecord) -> str | None:  # where it was taken, if recorded
        taken = (record.form or {}).get("applicant", {}).get("street_code")
        return str(taken) if taken else streets.get(record.person_id)

    return [e for e in records if street_of(e) == street_code]


# -- the payout list ------------------------------------------------------------------------------

def payout_list(store: Store, *, street_code: str, year: int, month: int,
                masked: bool = True) -> PayoutList:
    """发放清单 of a street for a month: one line per person (and bank card) with the sum of
    their applications of the month. ID numbers are always masked; bank cards keep their first
    6 and last 4 digits unless `masked` is False (the copy sent to the district, which pays)."""
    first, last, start, end = month_period(year, month)
    with store.read_session() as session:
        settled = _settled_applications(session, street_code, start, end)
    return figures.payout_list(
        settled, street_code=street_code, year=year, month=month, period_start=first,
        period_end=last, masked=masked, show_id=mask_id_number,
        show_card=mask_bank_card if masked else str)


def mask_bank_card(value: str) -> str:
    """A card number for lists that leave the counter (desktop.domain.bank_card.mask_card)."""
    return mask_card(value)


__all__ = [
    "ENROLMENT_LABEL",
    "FEN",
    "MEMBER",
    "MEMBER_LABEL",
    "PROGRAMS",
    "PROGRAM_BUCKETS",
    "UNKNOWN",
    "UNKNOWN_LABEL",
    "ZERO",
    "BucketLine",
    "CategoryLine",
    "EnrolmentLine",
    "MonthlySummary",
    "PayoutLine",
    "PayoutList",
    "ProgramLine",
    "ReportDataError",
    "mask_bank_card",
    "month_bounds",
    "month_period",
    "monthly_summary",
    "payout_list",
]


def record_report(store: Store, username: str, report: str, street_code: str, year: int,
                  month: int, *, reason: str | None = None) -> None:
    """A month's report printed or exported: audited (the district's copy shows whole card
    numbers, so who took it out matters)."""
    with store.session() as session:
        append_audit(session, username, "report.printed" if report != "xlsx"
                     else "report.exported", f"report:{street_code}:{year}-{month:02d}",
                     {"report": report, "reason": reason})
