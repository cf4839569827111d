"""Console pages: 月度汇总, the month of every street (issue 14 point 5).

- GET /month?month=YYYY-MM        each visible street's 结算汇总表 figures (by program, category,
                                  bucket; 免申即享 counted), totals by street and by category,
                                  each street's 发放清单 (cards to their last 4 digits), and the
                                  streets that have not sent the month by the 20th (CN-2026 3.5)
                                  in red with the days late; default: last month (Shanghai)
- GET /month/{YYYY-MM}.xlsx       the workbook: 区汇总, then each street's 结算汇总表 and 发放清单
- GET /month/{YYYY-MM}.pdf        each street's 结算汇总表 and 发放清单 on the counters' forms

Both readers' roles may look and download; a user of one street sees that street only. A
download is audited (console.month.downloaded): it carries names and masked IDs. The figures,
the forms and the "sent" rule are district.services.month_report's.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from district.console.web import SECURITY_HEADERS, Console, ConsoleError, DbDep, audit, render
from district.services.month_report import (
    DistrictMonth,
    MonthError,
    district_month,
    parse_month,
    pdf_bytes,
    previous_month,
    workbook_bytes,
)
from district.values import shanghai_today

router = APIRouter()
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _month(text: str) -> tuple[int, int]:
    try:
        return parse_month(text)
    except MonthError as exc:
        raise ConsoleError(422, f"月份（字段 month）不对：{exc}") from None


def _report(identity: Console, db: DbDep, year: int, month: int) -> DistrictMonth:
    streets = [(s.code, s.name) for s in identity.streets]
    with db.read() as session:
        return district_month(session, year, month, streets, shanghai_today())


@router.get("/month", response_class=HTMLResponse)
def month_page(request: Request, identity: Console, db: DbDep, month: str = "") -> Response:
    text = month or previous_month(shanghai_today())
    year, mon = _month(text)
    report = _report(identity, db, year, mon)
    return render(request, "month.html", identity, report=report, month=text)


@router.get("/month/{month}.xlsx")
def month_xlsx(identity: Console, db: DbDep, month: str) -> Response:
    year, mon = _month(month)
    report = _report(identity, db, year, mon)
    body = workbook_bytes(report, prepared_by=identity.display_name,
                          prepared_on=shanghai_today())
    return _download(identity, db, report, "xlsx", body, XLSX)


@router.get("/month/{month}.pdf")
def month_pdf(identity: Console, db: DbDep, month: str) -> Response:
    year, mon = _month(month)
    report = _report(identity, db, year, mon)
    body = pdf_bytes(report, prepared_by=identity.display_name, prepared_on=shanghai_today())
    return _download(identity, db, report, "pdf", body, "application/pdf")


def _download(identity: Console, db: DbDep, report: DistrictMonth, kind: str, body: bytes,
              media_type: str) -> Response:
    with db.write() as session:
        audit(session, identity, "console.month.downloaded", f"month:{report.text}",
              {"format": kind, "streets": [s.code for s in report.streets]},
              street_code=identity.street_code)
    name = f"monthly-{report.text}.{kind}"
    response = Response(body, media_type=media_type, headers={
        "Content-Disposition": f'attachment; filename="{name}"'})
    response.headers.update(SECURITY_HEADERS)
    return response
