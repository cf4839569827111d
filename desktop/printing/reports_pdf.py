"""月度结算汇总表 and 发放清单 as PDF, from the month's report (desktop.services.reports), through
the same form engine as the applications' forms."""

from __future__ import annotations

from datetime import date
from typing import Any

from desktop.printing.forms import load_form
from desktop.printing.render import render_form
from desktop.printing.xlsx import Payout, Summary

PROGRAM_SECTION = "项目"
CATEGORY_SECTION = "对象类别"
BUCKET_SECTION = "救助项目"


def _period(report: Summary | Payout) -> str:
    return (f"统计期间：{report.period_start.isoformat()} 至 {report.period_end.isoformat()}"
            "（按审批人签字日期，上海时间）")


def summary_data(summary: Summary, *, street_name: str | None = None, prepared_by: str = "",
                 prepared_on: date | None = None) -> dict[str, Any]:
    lines: list[dict[str, Any]] = []
    for line in summary.programs:
        lines.append({"section": PROGRAM_SECTION, "name": line.label,
                      "applications": str(line.applications), "persons": str(line.persons),
                      "amount": line.amount})
    for line in summary.categories:
        lines.append({"section": CATEGORY_SECTION, "name": line.label,
                      "applications": str(line.applications), "persons": str(line.persons),
                      "amount": line.amount})
    for bucket in summary.buckets:
        lines.append({"section": BUCKET_SECTION, "name": bucket.label,
                      "applications": str(bucket.applications), "persons": "",
                      "amount": bucket.amount})
    enrolments = summary.enrolments
    lines.append({"section": "收取缴费", "name": enrolments.label,
                  "applications": str(enrolments.count), "persons": "",
                  "amount": enrolments.fees})
    return {
        "street": street_name or summary.street_code,
        "month": f"{summary.year}年{summary.month:02d}月", "period": _period(summary),
        "lines": lines, "total": summary.total,
        "counts": f"申请 {summary.applications} 件，{summary.persons} 人"
                  f"（其中免申即享 {summary.auto_enrolled} 件）",
        "prepared_by": prepared_by, "prepared_on": prepared_on or date.today(),
        "reviewed_by": "",
    }


def payout_data(payout: Payout, *, street_name: str | None = None, prepared_by: str = "",
                prepared_on: date | None = None) -> dict[str, Any]:
    return {
        "street": street_name or payout.street_code,
        "month": f"{payout.year}年{payout.month:02d}月", "period": _period(payout),
        "copy": "（街镇留存联）" if payout.masked else "（报区联）",
        "lines": [{"number": str(line.number), "name": line.name,
                   "id_number": line.id_number, "committee": line.committee or "",
                   "bank_account": line.bank_account or "（无卡号）",
                   "assistance": line.assistance, "mutual_aid": line.mutual_aid,
                   "amount": line.amount, "receipt": ""} for line in payout.lines],
        "total": payout.total,
        "counts": f"{payout.persons} 人，申请 {payout.applications} 件；其中医疗救助 "
                  f"{payout.assistance:,.2f} 元，互助帮困 {payout.mutual_aid:,.2f} 元"
                  + (f"；{payout.without_card} 人无银行卡号，须补齐后发放"
                     if payout.without_card else ""),
        "prepared_by": prepared_by, "prepared_on": prepared_on or date.today(),
    }


def summary_pdf(summary: Summary, **context: Any) -> bytes:
    return render_form(load_form("monthly_summary"), summary_data(summary, **context))


def payout_pdf(payout: Payout, **context: Any) -> bytes:
    return render_form(load_form("payout_list"), payout_data(payout, **context))
