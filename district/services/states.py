"""Each application's states at the district, the acts that move it, and the time they may claim.

    accepted ──审核人 signs──> reviewed ──审批人 signs──> approved ──district pays──> paid
       │ │                        │
       │ └─────── 退回 ───────────┴──> returned ──撤回──> withdrawn (final)
       └──────────── 经办人 撤回 ─────────────────────────────> withdrawn

- 审核人 signs an accepted application; 审批人 signs a reviewed one. Each signs once.
- A 审核人 or 审批人 sends back (退回) an accepted one; only a 审批人 a reviewed one.
- A returned application is withdrawn (its claims released) or stays returned; nothing signs it.
- An accepted one (no 审核人 has signed it yet) is withdrawn by its own 经办人 only
  (district.services.withdrawals); once a 审核人 signed, it must be sent back first.
- withdrawn is final; approved moves on only when the district pays it.
Only approved and paid applications reach payout lists and summaries (PAYABLE).

Every moment a counter claims (an application's creation and date, a signature, a waiver, a
send-back, a withdrawal) lies between the server's receive time less the offline allowance (a
district setting, 30 days by default) and the receive time plus five minutes of clock slack; and
no act on an application comes before the application itself.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from district import models
from district.services.outcome import Refusal
from district.values import SHANGHAI

PAYABLE = ("approved", "paid")
FINAL = ("withdrawn",)
STATUS_LABELS = {"accepted": "已受理", "reviewed": "已审核", "approved": "已审批",
                 "paid": "已发放", "returned": "已退回", "withdrawn": "已撤回"}
CLOCK_SLACK = timedelta(minutes=5)

# act -> (the statuses it may start from, the status it leads to)
_MOVES: dict[str, tuple[tuple[str, ...], str]] = {
    "review": (("accepted",), "reviewed"),
    "approve": (("reviewed",), "approved"),
    "return": (("accepted", "reviewed"), "returned"),
    "withdraw": (("accepted", "returned"), "withdrawn"),
}
_ACT_LABELS = {"review": "审核", "approve": "审批", "return": "退回", "withdraw": "撤回"}


def move(application: models.Application, act: str) -> str:
    """The status `act` leads to from the application's status, or a Refusal saying why not."""
    allowed, after = _MOVES[act]
    if application.status not in allowed:
        now_label = STATUS_LABELS.get(application.status, application.status)
        hint = ""
        if act == "approve" and application.status == "accepted":
            hint = "审核人签名之后才能审批。"
        if act == "withdraw" and application.status == "reviewed":
            hint = "审核人已签名，须先由审批人退回，才能撤回。"
        reason = "not_reviewed" if hint else "wrong_state"
        raise Refusal(reason, f"这份申请当前为“{now_label}”，不能{_ACT_LABELS[act]}。{hint}",
                      {"rule": "state", "status": application.status, "act": act})
    return after


def bounded(field: str, label: str, moment: datetime, now: datetime,
            allowance: timedelta) -> datetime:
    """`moment` if it lies within [now − allowance, now + slack]; a Refusal naming the field."""
    if moment.tzinfo is None:
        raise Refusal("invalid_payload", f"{label}缺少时区。", {"field": field})
    if moment > now + CLOCK_SLACK:
        raise Refusal("time_out_of_bounds",
                      f"{label}（{_shanghai(moment)}）晚于区服务器的当前时间"
                      f"（{_shanghai(now)}），请检查本机时钟。",
                      {"field": field, "rule": "future"})
    if moment < now - allowance:
        raise Refusal("time_out_of_bounds",
                      f"{label}（{_shanghai(moment)}）早于区服务器时间 {allowance.days} 天以上，"
                      "超过了离线办理的期限，不予受理。",
                      {"field": field, "rule": "too_old", "allowance_days": allowance.days})
    return moment


def not_before(field: str, label: str, moment: datetime, earlier: datetime,
               earlier_label: str) -> None:
    if moment < earlier:
        raise Refusal("time_out_of_order",
                      f"{label}（{_shanghai(moment)}）早于{earlier_label}（{_shanghai(earlier)}）。",
                      {"field": field, "rule": "order"})


def _shanghai(moment: datetime) -> str:
    return moment.astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M")
