"""An 审批人's waiver of a procedural check on one fee row (issue 4, flow 3).

A row that cannot count is not tickable. For the procedural checks only (desktop.policy.model
.WAIVABLE: the 6-month window, the 居保大病 proof), an approver — not the clerk at the counter —
may record a reason with their password; the row can then be ticked, the engine skips that
check for it, the trace says so, and the district checks the approver again on arrival.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from desktop import wire
from desktop.domain import signing
from desktop.policy.labels import REASON_LABELS
from desktop.policy.model import WAIVABLE, Reason
from desktop.services.accounts import DEFAULT_MAX_OFFLINE_AGE, stale
from desktop.services.signing import SigningUnavailable, unlock
from desktop.store import Store, append_audit
from desktop.store.models import FeeRowRecord, UserRecord

MAX_REASON = 200


class WaiverRefused(PermissionError):
    """Why the waiver was not recorded, in Chinese."""

    def __init__(self, message: str, rule: str) -> None:
        super().__init__(message)
        self.message = message
        self.rule = rule


@dataclass(frozen=True)
class Waiver:
    fee_row_id: str
    reasons: frozenset[Reason]
    approver: str
    reason: str
    at: datetime
    proof: wire.Proof | None = None  # the approver's signature (desktop.domain.signing)

    def wire(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "fee_row_id": self.fee_row_id, "reasons": sorted(r.value for r in self.reasons),
            "approver": self.approver, "reason": self.reason, "at": self.at.isoformat()}
        if self.proof is not None:
            out["proof"] = self.proof.model_dump()
        return out


def authorise_waiver(store: Store, *, fee_row_id: str, reasons: frozenset[Reason],
                     approver: str, password: str, reason: str, clerk: str,
                     now: datetime | None = None,
                     max_offline_age: timedelta = DEFAULT_MAX_OFFLINE_AGE) -> Waiver:
    """Check the approver and record the waiver in the audit trail (pushed to the district)."""
    now = now or datetime.now(UTC)
    text = reason.strip()
    if not reasons or not reasons <= WAIVABLE:
        words = "、".join(REASON_LABELS[r] for r in sorted(reasons - WAIVABLE)) or "（无）"
        raise WaiverRefused(f"这项原因不能豁免：{words}。只有申请期限和居保大病认定材料"
                            "可由审批人豁免。", "not_waivable")
    if not text:
        raise WaiverRefused("请填写豁免的原因。", "reason")
    if len(text) > MAX_REASON:
        raise WaiverRefused(f"豁免原因不能超过 {MAX_REASON} 字。", "reason")
    if approver.strip() == clerk:
        raise WaiverRefused("经办人不能为自己受理的费用豁免，须由另一位审批人确认。",
                            "maker_checker")
    try:  # one scrypt: the password's check and the approver's key
        signer = unlock(store, approver.strip(), password)
    except SigningUnavailable as exc:
        if exc.reason == "password":
            raise WaiverRefused("用户名或密码错误，未能确认审批人身份。", "password") from None
        raise WaiverRefused(exc.message, "no_key") from None
    with store.session() as session:
        user = session.get(UserRecord, approver.strip())
        assert user is not None  # its verifier opened
        if "approver" not in user.roles:
            raise WaiverRefused(f"{approver} 没有审批人的权限，不能豁免。", "role")
        if stale(user.verified_at, now, max_offline_age):
            raise WaiverRefused(f"{approver} 距上次联网登录已超过 {max_offline_age.days} 天，"
                                "其权限无法确认。", "stale_roles")
        row = session.get(FeeRowRecord, fee_row_id)
        person_id = row.person_id if row is not None else ""
        codes = sorted(r.value for r in reasons)
        act = signer.act("waive", application_id="", role="approver", case_sha256="",
                         payable="", card=None, signed_at=now,
                         extra=signing.waiver_extra(person_id, fee_row_id, codes, text))
        waiver = Waiver(fee_row_id, reasons, user.username, text, now, signer.prove(act))
        append_audit(session, user.username, "fee_row.waived", f"fee_row:{fee_row_id}",
                     {**waiver.wire(), "clerk": clerk}, at=now)
    return waiver
