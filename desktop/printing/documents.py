"""The data each form prints, built from the stored application only (its case, its result,
the applicant as at saving, its signatures), so a reprint next year shows the same values and
parameter versions as the first print.
"""

from __future__ import annotations

import uuid
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from desktop.domain.bank_card import card_changed
from desktop.domain.clock import shanghai_day
from desktop.policy.contract import default_parameters
from desktop.policy.explain import human_lines
from desktop.policy.labels import KIND_LABELS, PROGRAM_LABELS
from desktop.policy.model import Kind, Program
from desktop.policy.money import percent
from desktop.policy.sources import cite, parameter_name
from desktop.printing.context import NO_CONTEXT, PrintContext
from desktop.printing.numerals import format_amount
from desktop.store import Store
from desktop.store.cases import applicant_snapshot
from desktop.store.models import (
    ApplicationRecord,
    CommitmentRecord,
    EnrolmentRecord,
    FeeRowRecord,
    InstitutionRecord,
    UserRecord,
)

SEX = {"M": "男", "F": "女"}
ROLE_WORDS = {"handler": "经办人", "reviewer": "审核人", "approver": "审批人"}




class UnknownApplication(LookupError):
    pass


def application_number(application: ApplicationRecord) -> str:
    """The 申请编号 printed: the human number when it has one (华阳-2026-03-0042), else the
    first group of the record's id — never the whole UUID."""
    number = getattr(application, "number", None)
    # lower case, as desktop.services.numbering.display_number shows it on screens: an upper
    # "F3031637" would read as a fee row's id
    return str(number) if number else str(application.id).split("-")[0]


def medical_records_text(application: ApplicationRecord) -> str:
    """"病史资料：已收（门诊大病 2 张、住院 1 张）" from the rows whose 病史资料 the clerk
    received (CN-2026 4.6); "" when the application needs none, "未收" when none came."""
    fees = _fees(application)
    received = set((application.documents or {}).get("medical_records") or [])
    needing = [f for f in fees.values() if f.get("kind") in ("major_outpatient", "inpatient")
               and f["id"] in {r.fee_row_id for r in application.rows}]
    if not needing and not received:
        return ""
    counts = {kind: sum(1 for f in needing if f["id"] in received and f.get("kind") == kind)
              for kind in ("major_outpatient", "inpatient")}
    parts = [f"{KIND_LABELS[Kind(kind)]} {n} 张" for kind, n in counts.items() if n]
    if not parts:
        return "未收"
    return f"已收（{'、'.join(parts)}）"


def medical_records_wanted(fees: list[dict[str, Any]]) -> str:
    """For a preview before saving: "须提供（住院 1 张）", the 门诊大病 and 住院 rows whose
    病史资料 must come with the application (CN-2026 4.6); "" when none needs them."""
    counts = {kind: sum(1 for f in fees if f.get("kind") == kind)
              for kind in ("major_outpatient", "inpatient")}
    parts = [f"{KIND_LABELS[Kind(kind)]} {n} 张" for kind, n in counts.items() if n]
    return f"须提供（{'、'.join(parts)}）" if parts else ""


def _rate(text: object) -> str:
    """A rate of the calc output ("0.60") as clerks write it (60%)."""
    try:
        return percent(Decimal(str(text)))
    except ArithmeticError:
        return str(text)


def _load(session: Session, application_id: uuid.UUID, *, rows: bool = True
          ) -> ApplicationRecord:
    """The stored application with its signatures, and its claimed rows unless `rows` is
    false (a form that reads them from the stored case and result)."""
    related = [selectinload(ApplicationRecord.signatures)]
    if rows:
        related.append(selectinload(ApplicationRecord.rows))
    application = session.scalars(
        select(ApplicationRecord).where(ApplicationRecord.id == application_id)
        .options(*related)).first()
    if application is None:
        raise UnknownApplication(f"本机没有这份申请：{application_id}")
    return application


def _fees(application: ApplicationRecord) -> dict[str, dict[str, Any]]:
    case = application.case or {}
    return {f["id"]: f for f in case.get("fees", []) if not f.get("settled")}


def _applicant(session: Session, application: ApplicationRecord) -> dict[str, Any]:
    snapshot = application.applicant
    if not snapshot:  # saved before snapshots were kept: the person as they are now
        day = shanghai_day(application.created_at)
        snapshot = applicant_snapshot(session, application.person_id, day)
    return snapshot


def _yuan(text: str) -> str:
    return format_amount(Decimal(text))


def _year_line(line: dict[str, Any], bucket: str) -> str:
    """A year and bucket of the calc output, as the forms write it."""
    return (f"{line['year']} 年{bucket}：计算基数 {_yuan(line['base'])} 元，此前已付 "
            f"{_yuan(line['before'])} 元，本年应得 {_yuan(line['after'])} 元，"
            f"本次 {_yuan(line['payable'])} 元")


def _institutions(session: Session, fee_ids: list[str]) -> dict[str, str]:
    rows = session.execute(
        select(FeeRowRecord.id, InstitutionRecord.name, FeeRowRecord.institution_code)
        .outerjoin(InstitutionRecord, InstitutionRecord.code == FeeRowRecord.institution_code)
        .where(FeeRowRecord.id.in_(fee_ids)))
    return {fee_id: name or code or "" for fee_id, name, code in rows}


def _signers(session: Session, application: ApplicationRecord,
             names: dict[str, str] | None = None) -> dict[str, dict[str, str]]:
    names = _user_names(session) if names is None else names
    out = {role: {"name": "", "date": ""} for role in ROLE_WORDS}
    for s in application.signatures:
        out[s.role] = {"name": names.get(s.username, s.username),
                       "date": shanghai_day(s.signed_at).isoformat()}
    return out


# commitments the district refused that still stand here (desktop.services.commitments)
_LOCAL_ONLY = ("unknown_application", "inferred")


def _commitment_of(session: Session, a: ApplicationRecord) -> CommitmentRecord | None:
    """The person's 免申即享 commitment the forms print: the one given with this application,
    else the person's live one for the program, else their latest; None when never given."""
    found = list(session.scalars(select(CommitmentRecord).where(
        CommitmentRecord.person_id == a.person_id, CommitmentRecord.program == a.program)
        .order_by(CommitmentRecord.given_at)))
    own = [c for c in found if c.application_id == str(a.id)]
    # live: not revoked; refused by the district only for want of its (refused) form
    # (desktop.services.commitments)
    live = [c for c in found if c.revoked_on is None
            and (c.status != "refused" or c.server_reason in _LOCAL_ONLY)]
    pick = own or live or found
    return pick[-1] if pick else None


def commitment_line(session: Session, a: ApplicationRecord) -> str:
    """The commitment as the 申请表 prints it: given since, revoked on; "" when none."""
    chosen = _commitment_of(session, a)
    if chosen is None:
        return ""
    given = f"已签署承诺，自 {chosen.given_on.isoformat()} 起"
    if chosen.revoked_on is not None:
        return f"{given}，已于 {chosen.revoked_on.isoformat()} 撤销"
    if chosen.status == "refused" and chosen.server_reason not in _LOCAL_ONLY:
        return f"{given}（区里未受理）"
    return given


def commitment_short(session: Session, a: ApplicationRecord) -> str:
    """The same, short, for the 审批表's 免申即享 box: 承诺自 X 起 / 承诺已于 X 撤销."""
    chosen = _commitment_of(session, a)
    if chosen is None or (chosen.status == "refused" and chosen.revoked_on is None
                          and chosen.server_reason not in _LOCAL_ONLY):
        return ""
    if chosen.revoked_on is not None:
        return f"承诺已于 {chosen.revoked_on.isoformat()} 撤销"
    return f"承诺自 {chosen.given_on.isoformat()} 起"


def application_form_data(store: Store, application_id: uuid.UUID,
                          context: PrintContext = NO_CONTEXT) -> dict[str, Any]:
    """上海市长宁区医疗救助（事后救助）申请表 (CN-2026 附件), from the stored application."""
    with store.read_session() as session:
        a = _load(session, application_id)
        person = _applicant(session, a)
        fees = [f for f in _fees(a).values() if f["id"] in {r.fee_row_id for r in a.rows}]
        commitment = commitment_line(session, a)
    return application_form_fields(
        person, fees, auto_enrolled=a.auto_enrolled,
        bank_account=a.bank_account or person.get("bank_account"), proxy=a.proxy_name,
        applied_on=shanghai_day(a.created_at), application_id=application_number(a),
        context=context, bank_name=person.get("bank_name"),
        household_address=person.get("household_address"),
        medical_records=medical_records_text(a), commitment=commitment)


def application_form_fields(person: dict[str, Any], fees: list[dict[str, Any]], *,
                            auto_enrolled: bool, bank_account: str | None, proxy: str | None,
                            applied_on: date, application_id: str,
                            context: PrintContext = NO_CONTEXT, bank_name: str | None = None,
                            household_address: str | None = None,
                            medical_records: str = "", commitment: str = "") -> dict[str, Any]:
    """The application form's data from plain values: a stored application, or the counter's
    ticks before saving (a preview, watermarked)."""
    days = sorted(date.fromisoformat(str(f["date"])) for f in fees)
    span = "" if not days else (days[0].isoformat() if days[0] == days[-1]
                                else f"{days[0].isoformat()} 至 {days[-1].isoformat()}")
    return {
        "street": context.street_name or person.get("street_code", ""),
        "committee": person.get("committee") or "",
        "auto_enrolled": "yes" if auto_enrolled else "no",
        "commitment": commitment,  # the 免申即享 commitment (issue 15): given / revoked
        "person": {
            "name": person.get("name", ""), "id_number": person.get("id_number", ""),
            "phone": person.get("phone") or "",
            "hukou_address": household_address or person.get("household_address") or "",
            "address": person.get("address") or "",
            "categories": person.get("categories", []),
        },
        "bank": {"name": bank_name or person.get("bank_name") or "",
                 "account": bank_account or ""},
        "kinds": sorted({str(f["kind"]) for f in fees}),
        "period": span,
        "receipts": len(fees),
        "total": f"{sum((Decimal(str(f['total'])) for f in fees), Decimal('0.00')):.2f}",
        "applied_on": applied_on,
        "application_id": application_id,
        "proxy": proxy or "",
        "medical_records": medical_records,
    }


def approval_form_data(store: Store, application_id: uuid.UUID,
                       context: PrintContext = NO_CONTEXT) -> dict[str, Any]:
    """医疗救助帮困审批表 (CN-2026 3.4): identity, rows, the computation, three signatures."""
    params = default_parameters()
    labels = {code: c.label for code, c in params.categories.items()}
    with store.read_session() as session:
        a = _load(session, application_id, rows=False)
        person = _applicant(session, a)
        fees = _fees(a)
        result: dict[str, Any] = a.result or {}
        row_results = [r for r in result.get("rows", []) if not r.get("settled")]
        kept = result.get("institutions", {})  # as at saving, when kept
        missing = [r["id"] for r in row_results if r["id"] not in kept]
        institutions = {**(_institutions(session, missing) if missing else {}), **kept}
        names = _user_names(session)
        signers = _signers(session, a, names)
        number = application_number(a)
        commitment = commitment_short(session, a)
    receipts = {fee_id: f.get("receipt_no") or "" for fee_id, f in fees.items()}
    rows = []
    for r in row_results:
        fee = fees.get(r["id"], {})
        rows.append({
            "date": fee.get("date", ""), "institution": institutions.get(r["id"], ""),
            "kind": KIND_LABELS[Kind(fee["kind"])] if fee.get("kind") else "",
            "receipt_no": fee.get("receipt_no", ""), "self_pay": fee.get("self_pay", ""),
            "verdict": ("计入" + (f"（{r.get('category_label')} {_rate(r.get('rate'))}）"
                                  if r.get("category_label") else ""))
            if r.get("counts") else f"不计入：{r.get('reason_label') or ''}",
        })
    computation = []
    for line in result.get("years", []):
        bucket = result.get("bucket_labels", {}).get(line["bucket"], line["bucket"])
        limits = "；".join(f"{lim['name']} {_limit_amount(lim)}（{cite(lim['source'])}）"
                          + ("（已达到）" if lim.get("reached") else "")
                          for lim in line.get("limits", []))
        computation.append(_year_line(line, bucket) + (f"；{limits}" if limits else ""))
    for waiver in result.get("waivers", []):
        receipt = receipts.get(waiver["fee_row_id"]) or ""
        approver = names.get(waiver["approver"], waiver["approver"])
        computation.append(f"票据 {receipt} 经审批人 {approver} 豁免：{waiver['reason']}")
    warnings = [w["message"] if isinstance(w, dict) else str(w)
                for w in result.get("warnings", [])]
    computation.extend(f"注意：{w}" for w in human_lines(warnings))
    sources = sorted({cite(p["source"]) for p in result.get("parameters", [])})
    return {
        "title_street": context.street_name or person.get("street_code", ""),
        "application_id": number,
        "applied_on": shanghai_day(a.created_at),
        "program": PROGRAM_LABELS[Program(a.program)],
        "auto_enrolled": a.auto_enrolled,
        "auto_enrolled_text": ("是" if a.auto_enrolled else "否")
                              + (f"（{commitment}）" if commitment else ""),
        "person": {
            "name": person.get("name", ""), "sex": SEX.get(person.get("sex", ""), ""),
            "id_number": person.get("id_number", ""), "phone": person.get("phone") or "",
            "address": person.get("address") or "",
            "categories": "、".join(labels.get(c, c) for c in person.get("categories", []))
                          or "—",
        },
        # a payout card other than the one on file is a change the 审批人 confirmed (变更)
        "bank_account": (a.bank_account or person.get("bank_account") or "")
                        + ("（变更）" if card_changed(a.bank_account, a.card_on_file) else ""),
        "proxy": a.proxy_name or "",
        "rows": rows,
        "computation": computation or ["（无）"],
        "payable": f"{a.payable:.2f}",
        "sources": "；".join(sources),
        "parameter_versions": "；".join(_version_text(v, labels) for v in a.parameter_versions),
        "signatures": signers,
        "review_opinion": _opinion("审核", signers["reviewer"]),
        "approval_opinion": _opinion("审批", signers["approver"]),
    }


def _opinion(stage: str, signer: dict[str, str]) -> str:
    """The 审核意见 / 审批意见 line as signed: agreement, name and date; blank lines to fill
    by hand while the stage is not signed yet."""
    if not signer.get("name"):
        return f"{stage}人：＿＿＿＿＿＿　日期：＿＿＿＿＿＿"
    return f"同意。{stage}人：{signer['name']}　{signer['date']}"


def _limit_amount(lim: dict[str, Any]) -> str:
    if "比例" in lim["name"] and Decimal(lim["amount"]) <= 1:
        return _rate(lim["amount"])
    return f"{_yuan(lim['amount'])} 元"


def _version_text(version: str, categories: dict[str, str]) -> str:
    """"assistance:category.dibao.outpatient_cap@2022-12-29" → "城乡低保家庭成员门急诊救助年度
    限额 2022-12-29 版"."""
    key, _at, since = version.partition("@")
    name, _unit = parameter_name(key, categories)
    return f"{name} {since} 版" if since else name


def _user_names(session: Session) -> dict[str, str]:
    return {u.username: u.display_name for u in session.scalars(select(UserRecord))}


def enrolment_form_data(store: Store, enrolment_id: uuid.UUID,
                        context: PrintContext = NO_CONTEXT) -> dict[str, Any]:
    """上海市民社区医疗互助帮困计划参加人员申请表 (MA-2021 附件1), from the stored enrolment."""
    with store.read_session() as session:
        record = session.get(EnrolmentRecord, enrolment_id)
        if record is None:
            raise UnknownApplication(f"本机没有这份登记：{enrolment_id}")
        form = dict(record.form)
        person = form.get("applicant") or applicant_snapshot(session, record.person_id,
                                                             record.paid_on)
        handler = session.get(UserRecord, record.handler)
        handler_name = handler.display_name if handler is not None else record.handler
    birth = str(person.get("birth_date", ""))
    benefits = f"{record.benefits_from.isoformat()} 起（{record.year} 年度）"
    if record.mid_year_reason:
        benefits += f"；年度中途参加：{record.mid_year_reason}"
    return {
        "year": f"{record.year} 年度", "fee": f"{record.fee:.2f}",
        "person": {"name": person.get("name", ""), "sex": SEX.get(person.get("sex", ""), ""),
                   "birth": f"{birth[:4]}年{birth[5:7]}月" if len(birth) >= 7 else "",
                   "id_number": person.get("id_number", "")},
        "attribute": form.get("person_attribute", ""),
        "hukou_district": form.get("hukou_district", ""),
        "hukou_street": form.get("hukou_street", ""),
        "contact_district": form.get("contact_district", ""),
        "contact_street": form.get("contact_street", ""),
        "contact_address": form.get("contact_address") or "",
        "phone": form.get("phone") or "", "postcode": form.get("postcode") or "",
        "original_employer": form.get("original_employer") or "",
        "other_province_employer": form.get("other_province_employer") or "",
        "insurance": "yes" if form.get("external_inpatient_insurance") else "no",
        "benefits": benefits,
        "centre_opinion": f"经办人：{handler_name}　{record.paid_on.isoformat()}",
        "district_opinion": ("区医保事务中心已确认" if record.status == "accepted"
                             else "（待区医保事务中心审核）"),
        "paid_on": record.paid_on,
        "enrolment_id": str(record.id).split("-")[0].upper(),
        "street": context.street_name or "",
    }


def inpatient_form_data(store: Store, application_id: uuid.UUID,
                        context: PrintContext = NO_CONTEXT) -> dict[str, Any]:
    """互助帮困住院医疗费补助申请表 (MA-2021 附件2): the stays, the external insurance, the
    subsidy and the 8 % floor check, from a stored mutual-aid application."""
    with store.read_session() as session:
        a = _load(session, application_id)
        if a.program != "mutual_aid":
            raise UnknownApplication("住院补助申请表只用于市民社区医疗互助帮困的申请。")
        person = _applicant(session, a)
        fees = _fees(a)
        result: dict[str, Any] = a.result or {}
        row_results = {r["id"]: r for r in result.get("rows", []) if not r.get("settled")}
        institutions = {**_institutions(session, list(row_results)),
                        **result.get("institutions", {})}
        signers = _signers(session, a)
    stays = []
    for fee_id, r in row_results.items():
        fee = fees.get(fee_id, {})
        if fee.get("kind") != "inpatient":
            continue
        stays.append({
            "date": fee.get("date", ""), "institution": institutions.get(fee_id, ""),
            "receipt_no": fee.get("receipt_no", ""), "total": fee.get("total", "0.00"),
            "out_of_scope": fee.get("out_of_scope", "0.00"),
            "external_deductible": fee.get("external_deductible", "0.00"),
            "external_reimbursed": fee.get("external_reimbursed", "0.00"),
            "verdict": "计入" if r.get("counts") else (r.get("reason_label") or "不计入"),
        })
    inpatient = [line for line in result.get("years", []) if line["bucket"] == "inpatient"]
    computation, floors = [], []
    for line in inpatient:
        computation.append(_year_line(line, "住院"))
        for lim in line.get("limits", []):
            text = f"{lim['name']} {_limit_amount(lim)}（{cite(lim['source'])}）"
            if "比例" in lim["name"]:
                floors.append(text + ("：已按此比例核减补助" if lim.get("reached")
                                      else "：补助后个人自负不低于此比例，无需核减"))
            else:
                computation.append(f"{line['year']} 年{text}" + ("（已达到）"
                                                                if lim.get("reached") else ""))
    subsidy = sum((Decimal(line["payable"]) for line in inpatient), Decimal("0.00"))
    membership = person.get("mutual_aid_years") or []
    return {
        "street": context.street_name or person.get("street_code", ""),
        "application_id": application_number(a),
        "person": {"name": person.get("name", ""), "sex": SEX.get(person.get("sex", ""), ""),
                   "id_number": person.get("id_number", ""), "phone": person.get("phone") or ""},
        "membership": "、".join(f"{y} 年" for y in membership) or "—",
        "external": "yes" if person.get("external_inpatient_insurance") else "no",
        "stays": stays,
        "computation": computation or ["（本次没有住院费用）"],
        "subsidy": f"{subsidy:.2f}",
        "floor": "；".join(floors) or "—",
        "sources": "；".join(sorted({cite(p["source"]) for p in result.get("parameters", [])})),
        "handler": signers["handler"]["name"],
        "applied_on": shanghai_day(a.created_at),
    }
