"""The Chinese words clerks see for the engine's codes (GLOSSARY.md)."""

from __future__ import annotations

from desktop.policy.model import Bucket, Kind, Program, Reason

REASON_LABELS: dict[Reason, str] = {
    Reason.ALREADY_CLAIMED: "已经报销，不得重复申请",
    Reason.ONE_STOP_SETTLED: "已在“一站式”结算，不得重复申请",
    Reason.CLEARING_PENDING: "待清算（居保大病/职工互助保障/综合减负），保险在前、救助在后",
    Reason.MAJOR_ILLNESS_DOC_MISSING: "居保大病费用缺少认定材料",
    Reason.OUT_OF_SHANGHAI: "外省市发生的费用不纳入（或未异地备案、未经基本医保结算）",
    Reason.OVERDUE: "超过票据开具之日起6个月的申请期限",
    Reason.NO_CATEGORY: "费用发生日期无救助对象身份",
    Reason.KIND_NOT_COVERED: "该对象类别不享受此类费用的救助",
    Reason.NOT_ENROLLED: "费用发生时不是医疗互助帮困参加对象（或待遇尚未开始）",
}

REASON_SOURCES: dict[Reason, str] = {
    Reason.ALREADY_CLAIMED: "CN-2026 4.5",
    Reason.ONE_STOP_SETTLED: "CN-2026 4.5",
    Reason.CLEARING_PENDING: "CN-2026 4.4",
    Reason.MAJOR_ILLNESS_DOC_MISSING: "CN-2026 3.6",
    Reason.OUT_OF_SHANGHAI: "MA-2021 六(三); CN-2026 4.2",
    Reason.OVERDUE: "CN-2026 4.3",
    Reason.NO_CATEGORY: "CN-2026 3.2, 4.3",
    Reason.KIND_NOT_COVERED: "SA-2022 二(二)4",
    Reason.NOT_ENROLLED: "MA-2021 二(三)",
}

BUCKET_LABELS: dict[Bucket, str] = {
    Bucket.ALLOWANCE: "门急诊医疗互助帮困补贴（卡内余额）",
    Bucket.OUTPATIENT: "门急诊",
    Bucket.INPATIENT: "住院（含门诊大病）",
    Bucket.DEDUCTIBLE: "门急诊起付线补助",
    Bucket.DISTRICT: "区级医疗救助（二次救助）",
}

MUTUAL_AID_BUCKET_LABELS: dict[Bucket, str] = {
    Bucket.ALLOWANCE: "门急诊医疗互助帮困补贴（卡内余额）",
    Bucket.OUTPATIENT: "门急诊医疗互助帮困补助（含门诊大病、家庭病床）",
    Bucket.INPATIENT: "住院医疗互助帮困补助",
}

KIND_LABELS: dict[Kind, str] = {
    Kind.OUTPATIENT: "门急诊",
    Kind.INPATIENT: "住院",
    Kind.MAJOR_OUTPATIENT: "门诊大病",
}

PROGRAM_LABELS: dict[Program, str] = {
    Program.ASSISTANCE: "医疗救助（事后救助）",
    Program.MUTUAL_AID: "市民社区医疗互助帮困",
}


def bucket_label(program: Program, bucket: Bucket) -> str:
    if program is Program.MUTUAL_AID:
        return MUTUAL_AID_BUCKET_LABELS.get(bucket, BUCKET_LABELS[bucket])
    return BUCKET_LABELS[bucket]
