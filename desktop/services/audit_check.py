"""The counter's check of its own audit trail: the hash chains intact, and every event sent to
the district still here and unchanged. Run at start-up (a supervisor is told) and by
`python -m desktop audit verify`.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from desktop.domain.audit_chain import LOCAL, SENT, ChainBreak, ChainRow, first_break
from desktop.store import Store
from desktop.store.audit import chain_head, chain_rows, sent_copies


@dataclass(frozen=True)
class AuditCheck:
    """What the check found: how many rows it read, the chains' latest hashes, the first break."""

    rows: int
    sent_head: str | None
    local_head: str | None
    problem: ChainBreak | None

    @property
    def intact(self) -> bool:
        return self.problem is None

    def summary(self) -> str:
        """One sentence in Chinese, for the supervisor."""
        if self.problem is None:
            return f"审计记录完整（共 {self.rows} 行）。"
        return f"审计记录被篡改：{self.problem.message}"


def verify_audit_chain(store: Store) -> AuditCheck:
    """Walk the audit table in id order, then compare it with the copies queued for the district."""
    with store.read_session() as session:
        seen: dict[str, tuple[int, str | None]] = {}
        count, problem = first_break(_recording(chain_rows(session), seen))
        if problem is None:
            problem = _compare_with_sent(sent_copies(session), seen)
        return AuditCheck(count, chain_head(session, SENT), chain_head(session, LOCAL), problem)


def _recording(rows: Iterable[ChainRow], seen: dict[str, tuple[int, str | None]]
               ) -> Iterator[ChainRow]:
    for row in rows:
        seen[row.content.event_id.lower()] = (row.row_id, row.row_hash)
        yield row


def _compare_with_sent(copies: Iterable[tuple[int, str, dict[str, object]]],
                       rows: dict[str, tuple[int, str | None]]) -> ChainBreak | None:
    """The outbox keeps each sent event as it was sent: a row missing or different from its copy
    was deleted or rewritten, even if the chain was recomputed after it."""
    for outbox_id, key, payload in copies:
        event_id = key.lower()
        found = rows.get(event_id)
        if found is None:
            return ChainBreak("row_deleted",
                              f"事件 {event_id} 已排队发往区里（发件箱第 {outbox_id} 项），"
                              "但审计表中已没有这一行：它被删除了。", None, event_id)
        row_id, row_hash = found
        sent_hash = payload.get("row_hash")
        if sent_hash is not None and sent_hash != row_hash:
            return ChainBreak("copy_differs",
                              f"第 {row_id} 行（事件 {event_id}）与发往区里的副本不符："
                              "这一行被改过，链也被重算过。", row_id, event_id)
    return None
