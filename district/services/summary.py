"""The month's settlement summary (结算汇总表, POLICY.md §6.6) per street."""

from __future__ import annotations

import re
from collections import defaultdict
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from desktop.domain.clock import month_range
from district import models
from district.schemas import MONTH_PATTERN, MonthlySummary, ProgramTotals, StreetTotals
from district.services.states import PAYABLE
from district.values import from_fen


def month_bounds(month: str) -> tuple[datetime, datetime]:
    """"2026-05" → the instants [start, end) of May 2026 in Shanghai (desktop.domain.clock's
    one month rule); ValueError for anything but MONTH_PATTERN."""
    if re.fullmatch(MONTH_PATTERN, month) is None:
        raise ValueError(f"not a month of 2000-2099: {month!r}")
    year, mon = (int(part) for part in month.split("-"))
    return month_range(year, mon)


def monthly_summary(session: Session, month: str, street_codes: list[str]) -> MonthlySummary:
    """The month's applications: those whose 审批人's signature the district accepted in the
    month, Shanghai time (desktop.domain.clock.settlement_month, the rule the counter's report
    uses too), and that are still payable."""
    start, end = month_bounds(month)
    app = models.Application
    approved_in_month = select(models.Signature.application_id).where(
        models.Signature.role == "approver", models.Signature.received_at >= start,
        models.Signature.received_at < end)
    in_month = (app.id.in_(approved_in_month),
                # only what the 审批人 approved is paid (district.services.states)
                app.street_code.in_(street_codes), app.status.in_(PAYABLE))
    heads = session.execute(
        select(app.street_code, app.program, func.count(app.id),
               func.count(func.distinct(app.person_id)),
               func.sum(app.payable_fen))
        .where(*in_month).group_by(app.street_code, app.program)).all()
    approved = {(street, program): count for street, program, count in session.execute(
        select(app.street_code, app.program, func.count(app.id))
        .where(*in_month).group_by(app.street_code, app.program))}
    buckets: dict[tuple[str, str], dict[str, int]] = defaultdict(dict)
    for street, program, bucket, amount in session.execute(
            select(app.street_code, app.program, models.ApplicationBucket.bucket,
                   func.sum(models.ApplicationBucket.amount_fen))
            .join(models.ApplicationBucket, models.ApplicationBucket.application_id == app.id)
            .where(*in_month)
            .group_by(app.street_code, app.program, models.ApplicationBucket.bucket)):
        buckets[(street, program)][bucket] = int(amount)
    streets = {s.code: s for s in session.scalars(
        select(models.Street).where(models.Street.code.in_(street_codes)))}
    by_street: dict[str, list[tuple[ProgramTotals, int]]] = defaultdict(list)
    for street, program, count, persons, payable in heads:
        fen = int(payable or 0)
        by_street[street].append((ProgramTotals(
            program=program,  # type: ignore[arg-type]  # the table holds the Literal's values
            applications=count, persons=persons,
            approved=approved.get((street, program), 0), payable=from_fen(fen),
            buckets={b: from_fen(v) for b, v in sorted(buckets[(street, program)].items())}),
            fen))
    rows = []
    total_count = total_fen = 0
    for code in sorted(street_codes):
        programs = sorted(by_street.get(code, []), key=lambda p: p[0].program)
        count = sum(p.applications for p, _ in programs)
        fen = sum(f for _, f in programs)
        total_count += count
        total_fen += fen
        info = streets.get(code)
        rows.append(StreetTotals(street_code=code, street_name=info.name if info else code,
                                 district=info.district if info else "", applications=count,
                                 payable=from_fen(fen), programs=[p for p, _ in programs]))
    return MonthlySummary(month=month, streets=rows, applications=total_count,
                          payable=from_fen(total_fen))
