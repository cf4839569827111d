"""Accept or refuse a pushed application (ARCHITECTURE.md, main path step 6).

The server trusts nothing the counter computed: the case must describe the district's own
data (the person's categories and insurance, the ticked fee rows, the rows settled before),
the engine recomputes it, and the amounts must agree to the fen. The ticked rows are then
registered in the district-wide claim registry, where a fee row is claimed once.
"""

from __future__ import annotations

import json
from dataclasses import fields, replace
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any, TypeVar

from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from desktop import wire
from desktop.domain import signing
from desktop.domain.streets import number_problem
from desktop.policy.contract import default_parameters, parse_case, result_to_json
from desktop.policy.engine import calculate
from desktop.policy.errors import CalcInputError
from desktop.policy.model import Case, Kind
from desktop.policy.model import FeeRow as PolicyRow
from desktop.policy.money import MoneyFormatError
from district import models
from district.changelog import (
    Accepted,
    Held,
    application_change,
    claim_change,
    claim_data,
    person_change,
)
from district.reference import STREETS_BY_CODE
from district.services import deferred, prefetch, states
from district.services.outcome import (
    APPLICATIONS_HELD,
    EXISTING_APPLICATIONS,
    LOCKED_APPLICATIONS,
    Caller,
    Outcome,
    Refusal,
    known_absent,
    note_added,
)
from district.services.parameters import current_parameters
from district.services.signing_keys import verify_act
from district.services.users import find_staff
from district.values import SHANGHAI, as_aware, fen_of, from_fen, shanghai_date, to_fen

_Model = TypeVar("_Model", bound=wire.Strict)
_NUMBERING = "push_device_numbering"  # session.info: device id -> (its number, street name)
# How far the case's application date may be from the moment the counter saved it (a day
# either side covers midnight and clock drift), and how far in the future that moment may be.
_DATE_SLACK = timedelta(days=1)


def apply_application(session: Session, caller: Caller, item: wire.OutboxItem,
                      now: datetime) -> Outcome:
    payload = parse_payload(wire.ApplicationPayload, item.payload)
    if len(set(payload.fee_row_ids)) != len(payload.fee_row_ids):
        raise Refusal("invalid_payload", "申请中的费用明细重复。", {"field": "fee_row_ids"})
    if payload.proxy_name is not None and len(payload.proxy_name) > 64:
        raise Refusal("invalid_payload", "委托代办人姓名过长。", {"field": "proxy_name"})
    if payload.proxy_id_number is not None and len(payload.proxy_id_number) > 18:
        raise Refusal("invalid_payload", "委托代办人身份证号码过长。",
                      {"field": "proxy_id_number"})
    check_handler(session, caller, payload.handler)
    created_at = states.bounded("created_at", "申请的保存时间", payload.created_at, now,
                                caller.offline_allowance)
    application_id = str(payload.application_id)
    absent = known_absent(session, EXISTING_APPLICATIONS, application_id)
    if absent is False or (absent is None
                           and session.get(models.Application, application_id) is not None):
        raise Refusal("application_exists", "该申请已经提交过（申请号重复）。",
                      {"application_id": application_id})
    person = locked_person(session, caller, payload.person_id)
    rows = _fee_rows(session, payload.fee_row_ids)
    unknown = [i for i in payload.fee_row_ids
               if i not in rows or rows[i].person_id != person.id]
    if unknown:
        raise Refusal("unknown_fee_row", "申请中有不属于该人员的费用明细，请先同步。",
                      {"fee_row_ids": unknown})
    earlier = first_claim(session, payload.fee_row_ids)
    if earlier is not None:
        raise already_claimed(earlier, rows[earlier.fee_row_id].receipt_no)

    case = _parse_case(payload.case)
    _check_waivers(session, caller, payload, case, person.id, now)
    _check_case(session, caller, payload, case, person, rows, now)
    if payload.number is not None:
        _check_number(session, caller, payload.number, case.application_date.year)
    # the case parsed once above is the one computed: the same engine and parameters as the
    # calc command's (desktop.policy.contract), without parsing its JSON a second time
    parameters = current_parameters(session)  # shipped + published in the console (M18)
    result = result_to_json(calculate(case, parameters), parameters)
    _check_amounts(payload, result)
    handler_act = signing.SignedAct(
        act="sign", application_id=application_id, role="handler", username=payload.handler,
        device_id="", case_sha256=signing.case_digest(payload.case), payable=result["payable"],
        card_sha256=signing.card_digest(payload.bank_account), card_confirmed=False,
        signed_at=created_at)
    handler_key = verify_act(session, caller, handler_act, payload.handler_proof, "经办人签名")

    buckets = {k: to_fen(v) for k, v in result["buckets"].items() if to_fen(v)}
    application = models.Application(
        id=application_id, program=payload.program, district=payload.district,
        person_id=person.id, street_code=caller.street_code, device_id=caller.device_id,
        handler=payload.handler, application_date=case.application_date,
        payable_fen=to_fen(result["payable"]), parameter_versions=payload.parameter_versions,
        case_json=payload.case, proxy_name=payload.proxy_name,
        proxy_id_number=payload.proxy_id_number, auto_enrolled=payload.auto_enrolled,
        bank_account=payload.bank_account, status="accepted",
        created_at=created_at, received_at=now, card_on_file=person.bank_account,
        handler_key_id=handler_key.key_id,
        handler_proof=payload.handler_proof.signature if payload.handler_proof else None,
        waivers=[w.model_dump(mode="json") for w in payload.waivers] or None,
        number=payload.number)
    bucket_rows = [models.ApplicationBucket(application_id=application_id, bucket=b,
                                            amount_fen=fen) for b, fen in buckets.items()]
    # Inserted in id order so that two transactions on PostgreSQL never wait on each other in
    # a cycle; the primary key refuses a row claimed by a transaction that committed first.
    claims = [models.Claim(fee_row_id=row_id, application_id=application_id,
                           street_code=caller.street_code, device_id=caller.device_id,
                           claimed_at=now, status="claimed")
              for row_id in sorted(payload.fee_row_ids)]
    kept = deferred.pending(session)
    if kept is not None:  # written with the request's other rows (district.services.deferred)
        kept.add(application, *bucket_rows, *claims)
    else:
        session.add(application)
        session.add_all(bucket_rows)
        session.add_all(claims)
        session.flush()
    note_added(session, EXISTING_APPLICATIONS, application_id)
    prefetch.claimed(session, person.id, payload.program, claims, rows, payload.number)
    changes = [claim_change(c, payload.program) for c in claims]
    allowance = buckets.get("allowance", 0)
    if allowance:
        person.allowance_balance_fen -= allowance  # paid from the card (MA-2021 四(一))
        changes.append(person_change(person))
    # the street's counters learn of it (other counters' supervisors sign it)
    changes.append(application_change(session, application, Accepted(
        buckets=buckets, fee_row_ids=sorted(payload.fee_row_ids))))
    # the card on file the district compares the payout card with: the counter's copy of the
    # person may be behind, and the 审批人 must confirm against this one
    return Outcome("accepted", detail={"application_id": application_id,
                                       "payable": result["payable"],
                                       "card_on_file": person.bank_account},
                   changes=changes)


def first_claim(session: Session, fee_row_ids: list[str]) -> models.Claim | None:
    """The earliest claim on any of these rows. A fast, friendly answer only: the claims
    table's primary key is what makes a row claimable once under concurrency."""
    cache = prefetch.cached(session)
    if cache is not None and cache.has_rows(fee_row_ids):
        found = [cache.claims[r][0] for r in fee_row_ids if r in cache.claims]
        return min(found, key=lambda c: (c.claimed_at, c.fee_row_id), default=None)
    return session.scalars(
        select(models.Claim).where(models.Claim.fee_row_id.in_(fee_row_ids))
        .order_by(models.Claim.claimed_at, models.Claim.fee_row_id)).first()


def parse_payload(model: type[_Model], payload: dict[str, Any]) -> _Model:
    try:
        return model.model_validate(payload)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "payload"
        raise Refusal("invalid_payload", f"提交的内容不符合要求：{where}（{first['msg']}）。",
                      {"field": where}) from None


def already_claimed(claim: models.Claim, receipt_no: str) -> Refusal:
    street = STREETS_BY_CODE.get(claim.street_code)
    where = street.name if street else claim.street_code
    at = claim.claimed_at.astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M")
    return Refusal(
        "already_claimed",
        f"票据 {receipt_no} 已于 {at} 由{where}的柜台申请（申请号 {claim.application_id}），"
        "同一笔费用不能重复救助。",
        {k: v for k, v in claim_data(claim).items() if k not in ("status", "program")})


def locked_application(session: Session, caller: Caller, application_id: str
                       ) -> models.Application:
    """The caller's street's application, row-locked (signatures and withdrawals of one
    application are applied one after the other)."""
    locked: dict[str, models.Application] | None = session.info.get(LOCKED_APPLICATIONS)
    application = (session.get(models.Application, application_id)  # held: no statement
                   if locked is not None and application_id in locked
                   else session.scalars(select(models.Application)
                                        .where(models.Application.id == application_id)
                                        .with_for_update()).first())
    if application is None or application.street_code != caller.street_code:
        raise Refusal("unknown_application", "本街镇没有这份申请（可能尚未提交或已被退回）。",
                      {"application_id": application_id})
    return application


def signatures_of(session: Session, application_id: str) -> list[models.Signature]:
    """The application's signatures (审核人, 审批人): as the request's start read them, with
    those its items added since (district.services.push), or read now."""
    held: dict[str, Held] | None = session.info.get(APPLICATIONS_HELD)
    if held is not None and application_id in held:
        return list(held[application_id][0])
    return list(session.scalars(select(models.Signature)
                                .where(models.Signature.application_id == application_id)))


def signature_added(session: Session, signature: models.Signature) -> None:
    session.add(signature)
    held: dict[str, Held] | None = session.info.get(APPLICATIONS_HELD)
    if held is not None and signature.application_id in held:
        held[signature.application_id][0].append(signature)


def locked_person(session: Session, caller: Caller, person_id: str) -> models.Person:
    """The caller's street's person, row-locked: items for one person (applications,
    enrolments) are checked one after the other, each seeing what the previous one left."""
    cache = prefetch.cached(session)
    person = (cache.persons.get(person_id) if cache is not None and cache.has_person(person_id)
              else session.scalars(select(models.Person).where(models.Person.id == person_id)
                             .with_for_update()).first())
    if person is None or person.street_code != caller.street_code:
        raise Refusal("unknown_person", "本街镇没有该人员的资料，请先同步。",
                      {"person_id": person_id})
    return person


def check_handler(session: Session, caller: Caller, username: str) -> None:
    staff = find_staff(session, username)
    if staff is None or not staff.works_at(caller.street_code) or "clerk" not in staff.roles:
        raise Refusal("forbidden", f"经办人 {username} 不是本街镇的受理人员，不能提交申请。",
                      {"rule": "handler_role", "username": username})


def _check_waivers(session: Session, caller: Caller, payload: wire.ApplicationPayload,
                   case: Case, person_id: str, now: datetime) -> None:
    """Every check the case says was waived has its 审批人 in the payload: an approver of this
    street, not the handler, who signed the waiver (desktop.services.waivers)."""
    by_row = {w.fee_row_id: w for w in payload.waivers}
    for fee in case.fees:
        if not fee.waived:
            continue
        waiver = by_row.get(fee.id)
        if waiver is None or {r.value for r in fee.waived} != set(waiver.reasons):
            raise Refusal("invalid_waiver", f"费用 {fee.receipt_no} 的豁免没有审批人的记录。",
                          {"fee_row_id": fee.id})
        staff = find_staff(session, waiver.approver)
        if (staff is None or not staff.works_at(caller.street_code)
                or "approver" not in staff.roles or waiver.approver == payload.handler):
            raise Refusal("invalid_waiver",
                          f"费用 {fee.receipt_no} 的豁免须由本街镇另一位审批人确认。",
                          {"fee_row_id": fee.id, "approver": waiver.approver})
        at = states.bounded("waivers.at", "豁免时间", waiver.at, now, caller.offline_allowance)
        verify_act(session, caller, waiver_act(person_id, waiver, at), waiver.proof,
                   f"费用 {fee.receipt_no} 的豁免")


def waiver_act(person_id: str, waiver: wire.WaiverData, at: datetime) -> signing.SignedAct:
    """What an 审批人 signs when waiving a check on a row: the person, the row, the checks and
    the written reason (the application does not exist yet)."""
    return signing.SignedAct(
        act="waive", application_id="", role="approver", username=waiver.approver,
        device_id="", case_sha256="", payable="", card_sha256="", card_confirmed=False,
        signed_at=at, extra=signing.waiver_extra(person_id, waiver.fee_row_id,
                                                 [str(r) for r in waiver.reasons],
                                                 waiver.reason))


def _parse_case(raw: dict[str, Any]) -> Case:
    try:
        return parse_case(json.loads(json.dumps(raw)), default_parameters())
    except CalcInputError as exc:
        raise Refusal("invalid_case", f"计算数据有误：{exc.message_zh}",
                      {"field": f"case.{exc.path}"}) from None


def _mismatch(field: str, what: str) -> Refusal:
    return Refusal("case_mismatch",
                   f"计算所用的数据与区里的数据不一致（{what}），请先同步再重新计算。",
                   {"field": field})


def _check_number(session: Session, caller: Caller, number: str, year: int) -> None:
    """The application's number is one the pushing PC may give (its street's short name, the
    year of the application's date, its own number in the street) and no other has it."""
    # the pushing PC's number and street name: read once per transaction
    known: dict[str, tuple[int | None, str]] = session.info.setdefault(_NUMBERING, {})
    if caller.device_id not in known:
        known[caller.device_id] = (
            session.scalar(select(models.Device.number).where(
                models.Device.id == caller.device_id)),
            session.scalar(select(models.Street.name).where(
                models.Street.code == caller.street_code)) or "")
    device_number, street_name = known[caller.device_id]
    problem = number_problem(number, street_name, year, device_number)
    if problem is not None:
        raise Refusal("invalid_number", problem,
                      {"field": "number", "number": number, "device_number": device_number})
    cache = prefetch.cached(session)
    taken = (number in cache.numbers_taken if cache is not None and number in cache.numbers
             else session.scalar(select(models.Application.id).where(
                 models.Application.number == number)) is not None)
    if taken:
        raise Refusal("number_exists", f"申请编号 {number} 已被另一份申请使用。",
                      {"field": "number", "number": number})


def _check_case(session: Session, caller: Caller, payload: wire.ApplicationPayload, case: Case,
                person: models.Person, ticked: dict[str, models.FeeRow], now: datetime) -> None:
    """The case must be the district's data, or the recomputed amount would prove nothing."""
    if case.program.value != payload.program:
        raise _mismatch("case.program", "项目")
    if payload.district != caller.district or case.district.value != payload.district:
        raise _mismatch("case.district", "区县规则")
    saved_on = shanghai_date(as_aware(payload.created_at))
    if (abs(case.application_date - saved_on) > _DATE_SLACK
            or saved_on > shanghai_date(now) + _DATE_SLACK):
        raise _mismatch("case.application_date", "申请日期")
    # the date the 6-month window is judged on lies within the server's bounds too
    if not (shanghai_date(now - caller.offline_allowance) <= case.application_date
            <= shanghai_date(now + states.CLOCK_SLACK)):
        raise Refusal("time_out_of_bounds",
                      f"申请日期 {case.application_date} 不在区服务器允许的范围内"
                      f"（今天之前 {caller.offline_allowance.days} 天以内）。",
                      {"field": "case.application_date"})
    _check_person(session, payload, case, person)
    settled_ids = _settled_before(session, person.id, payload.program,
                                  {r.receipt_date.year for r in ticked.values()}) - set(ticked)
    case_ticked = [f for f in case.fees if not f.settled]
    case_settled = [f for f in case.fees if f.settled]
    if sorted(f.id for f in case_ticked) != sorted(payload.fee_row_ids):
        raise _mismatch("case.fees", "勾选的费用明细与申请不符")
    history = _fee_rows(session, [f.id for f in case_settled])
    for f in case_settled:
        if f.id not in history or history[f.id].person_id != person.id:
            raise _mismatch(f"case.fees[{case.fees.index(f)}].id", "已结算明细不是该人员的")
    programs = _claim_programs(session, list(history))
    for f in case_settled:
        if programs.get(f.id) != payload.program:
            what = "该明细尚未结算" if f.id not in programs else "该明细已在另一项目中结算"
            raise _mismatch(f"case.fees[{case.fees.index(f)}].settled", what)
    missing = sorted(settled_ids - {f.id for f in case_settled})
    if missing:
        raise _mismatch("case.fees", f"缺少本年度已结算的明细 {', '.join(missing)}")
    rows = ticked | history
    for i, f in enumerate(case.fees):
        _check_row(f, rows[f.id], i)


def _check_person(session: Session, payload: wire.ApplicationPayload, case: Case,
                  person: models.Person) -> None:
    cache = prefetch.cached(session)
    spans = (cache.spans.get(person.id, []) if cache is not None and cache.has_person(person.id)
             else session.scalars(select(models.CategorySpan)
                                  .where(models.CategorySpan.person_id == person.id)).all())
    ours = sorted((s.code, s.start_date, s.end_date or date.max) for s in spans)
    theirs = sorted((s.code, s.start, s.end or date.max) for s in case.person.categories)
    if ours != theirs:
        raise _mismatch("case.person.categories", "对象类别")
    if case.person.resident_insurance != person.resident_insurance:
        raise _mismatch("case.person.resident_insurance", "城乡居民医保")
    if payload.program != "mutual_aid":
        return
    membership = case.person.mutual_aid
    if membership is None:  # parse_case requires it for mutual aid; kept for the type checker
        raise _mismatch("case.person.mutual_aid", "互助帮困参加信息")
    expected: list[tuple[str, object, object, str]] = [
        ("member_years", sorted(membership.member_years), sorted(person.mutual_aid_years),
         "参加年度"),
        ("benefits_from", membership.benefits_from, person.mutual_aid_benefits_from,
         "待遇开始日期"),
        ("external_inpatient_insurance", membership.external_inpatient_insurance,
         person.external_inpatient_insurance, "外省市医保"),
        ("allowance_balance", fen_of(membership.allowance_balance),
         person.allowance_balance_fen, "互助卡补贴余额"),
    ]
    for name, theirs_value, ours_value, label in expected:
        if theirs_value != ours_value:
            raise _mismatch(f"case.person.mutual_aid.{name}", label)


def _settled_before(session: Session, person_id: str, program: str, years: set[int]) -> set[str]:
    """The person's rows already claimed under `program` in the invoice years of this
    application: the history H of POLICY.md §0.4, which the case must include."""
    cache = prefetch.cached(session)
    if cache is not None and cache.has_person(person_id):
        return {row_id for row_id, day in cache.settled.get((person_id, program), {}).items()
                if day.year in years}
    rows = session.execute(
        select(models.FeeRow.id, models.FeeRow.receipt_date)
        .join(models.Claim, models.Claim.fee_row_id == models.FeeRow.id)
        .join(models.Application, models.Application.id == models.Claim.application_id)
        .where(models.FeeRow.person_id == person_id, models.Application.program == program)
    ).all()
    return {row_id for row_id, day in rows if day.year in years}


def _claim_programs(session: Session, row_ids: list[str]) -> dict[str, str]:
    """For each of these rows that is claimed, the program it was claimed under."""
    if not row_ids:
        return {}
    cache = prefetch.cached(session)
    if cache is not None and cache.has_rows(row_ids):
        return {r: cache.claims[r][1] for r in row_ids if r in cache.claims}
    return {row_id: program for row_id, program in session.execute(
        select(models.Claim.fee_row_id, models.Application.program)
        .join(models.Application, models.Application.id == models.Claim.application_id)
        .where(models.Claim.fee_row_id.in_(row_ids)))}


def _fee_rows(session: Session, row_ids: list[str]) -> dict[str, models.FeeRow]:
    """These fee rows, by id (those that exist)."""
    cache = prefetch.cached(session)
    if cache is not None and cache.has_rows(row_ids):
        return {r: cache.rows[r] for r in row_ids if r in cache.rows}
    return {r.id: r for r in session.scalars(
        select(models.FeeRow).where(models.FeeRow.id.in_(row_ids)))} if row_ids else {}


def policy_row(row: models.FeeRow, settled: bool = False) -> PolicyRow:
    """The engine's view of a district fee row."""
    return PolicyRow(
        id=row.id, receipt_no=row.receipt_no, date=row.receipt_date, kind=Kind(row.kind),
        hospital_level=row.hospital_level, total=_yuan(row.total_fen),
        out_of_scope=_yuan(row.out_of_scope_fen), self_pay=_yuan(row.self_pay_fen),
        in_shanghai=row.in_shanghai, out_of_province_filed=row.out_of_province_filed,
        deductible_part=_yuan(row.deductible_part_fen),
        external_deductible=_yuan(row.external_deductible_fen),
        external_reimbursed=_yuan(row.external_reimbursed_fen),
        one_stop_settled=row.one_stop_settled, already_claimed=row.already_claimed,
        clearing_pending=row.clearing_pending, major_illness=row.major_illness,
        major_illness_doc=row.major_illness_doc, means_test_included=row.means_test_included,
        settled=settled)


def _check_row(theirs: PolicyRow, row: models.FeeRow, index: int) -> None:
    # the waiver is the counter's (checked in _check_waivers), not the feed's data
    ours = replace(policy_row(row, settled=theirs.settled), waived=theirs.waived)
    for f in fields(PolicyRow):
        if getattr(theirs, f.name) != getattr(ours, f.name):
            raise _mismatch(f"case.fees[{index}].{f.name}", f"费用明细 {row.receipt_no}")


def _check_amounts(payload: wire.ApplicationPayload, result: dict[str, Any]) -> None:
    try:
        submitted_payable = to_fen(payload.payable)
        submitted = {k: to_fen(v) for k, v in payload.buckets.items()}
    except MoneyFormatError as exc:  # a malformed or too large amount, said as such
        raise Refusal("invalid_payload", f"申请金额：{exc.message_zh}。",
                      {"field": "payable"}) from None
    expected = {k: to_fen(v) for k, v in result["buckets"].items()}
    if (submitted_payable != to_fen(result["payable"])
            or {k: v for k, v in submitted.items() if v} != {k: v for k, v in expected.items()
                                                              if v}):
        used = {f"{p['key']}@{p['effective_from']}" for p in result["parameters"]}
        raise Refusal(
            "amount_mismatch",
            f"申请金额 {payload.payable} 与区里按政策重新计算的 {result['payable']} 不一致，"
            "请同步政策参数后重新计算。",
            {"submitted_payable": payload.payable, "expected_payable": result["payable"],
             "submitted_buckets": payload.buckets,
             "expected_buckets": {k: v for k, v in result["buckets"].items() if to_fen(v)},
             "parameter_versions_unknown": sorted(set(payload.parameter_versions) - used),
             "parameter_versions_missing": sorted(used - set(payload.parameter_versions))})


def _yuan(fen: int) -> Decimal:
    return Decimal(from_fen(fen))
