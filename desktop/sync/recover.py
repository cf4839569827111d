"""When the district is not the one this counter synced with: restored from a backup (a new
generation, or a cursor past the district's newest change), or a pull that received fewer
changes than the district declared. The counter then

1. forgets what it pulled and pulls again from zero (its own work is kept);
2. asks the district about every item it had delivered, by idempotency key;
3. pushes again, in their first order, the items the restored district lost: the district
   checks them as it checks anything, so an application whose receipts another counter has
   claimed since is refused and flagged for a supervisor, with the reason, never dropped;
4. pulls once more, so the statuses of what it pushed come back;
5. records what it did (an audit event) and says it on the status line.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass

from desktop.store import Store, append_audit
from desktop.store.resync import delivered_keys, forget_district_data, requeue
from desktop.sync.client import DistrictClient
from desktop.sync.pull import DistrictRestored, Progress, Reason, pull
from desktop.sync.push import OnResult, push

log = logging.getLogger(__name__)
__all__ = ["REASONS", "DistrictRestored", "Recovery", "recover"]
_ASK = 5000  # keys per question (desktop.wire.KnownItems)

REASONS = {
    "generation": "区服务器已从备份恢复",
    "cursor_ahead": "区服务器的数据比本机同步过的旧（可能已从备份恢复）",
    "changes_missing": "上次同步收到的变更少于区服务器声明的数量",
}


@dataclass(frozen=True)
class Recovery:
    reason: Reason
    pulled: int  # changes pulled again from zero
    asked: int  # delivered items asked about
    lost: int  # of those, the district no longer held: pushed again
    refused: int  # of those pushed again, refused now (flagged for a supervisor)

    @property
    def message(self) -> str:
        text = (f"{REASONS[self.reason]}：本机已重新下载全部数据（{self.pulled} 条变更），"
                f"核对已上传的 {self.asked} 项")
        if not self.lost:
            return text + "，区服务器均已保存。"
        text += f"，其中 {self.lost} 项区服务器已丢失，已重新提交"
        if self.refused:
            return text + f"；{self.refused} 项未被接受，已标记待处理，请主管查看。"
        return text + "，均已接受。"


def recover(store: Store, client: DistrictClient, reason: Reason, *,
            on_result: OnResult | None = None, progress: Progress | None = None,
            cancel: threading.Event | None = None) -> Recovery:
    """Bring this counter and the district together again (the steps above)."""
    log.warning("district sync recovery: %s", reason)
    with store.session() as session:
        forget_district_data(session)
        delivered = delivered_keys(session)
    pulled = pull(store, client, progress=progress, cancel=cancel).changes
    known: set[str] = set()
    for start in range(0, len(delivered), _ASK):
        answer = client.known(delivered[start:start + _ASK])
        known.update(str(k) for k in answer.known)
    lost = [k for k in delivered if str(k) not in known]
    with store.session() as session:
        requeue(session, lost)
    stats = push(store, client, on_result=on_result)
    pull(store, client, progress=progress, cancel=cancel)
    recovery = Recovery(reason, pulled, len(delivered), len(lost), stats.refused)
    with store.session() as session:
        append_audit(session, "system", "sync.recovered", "district", {
            "reason": reason, "pulled": pulled, "asked": len(delivered), "lost": len(lost),
            "refused": stats.refused, "lost_keys": [str(k) for k in lost[:500]]})
    log.warning("district sync recovered: %s", recovery)
    return recovery
