"""The audit trail's hash chains: what a row's hash covers, and how a chain is walked.

Both sides import this module: the counter hashes each audit row as it appends it
(desktop.store.audit) and checks its table (desktop.services.audit_check); the district
recomputes the hash a counter sends, keeps its own chain over what it received and checks both
(district.services.audit).

A row's hash is the SHA-256 of the canonical JSON (signing.canonical_json) of

    v           "1"
    chain       "sent" (the events the counter sends to the district) | "local" (kept on the PC)
    event_id    the event's UUID, lower-case with hyphens
    at          the moment, UTC, ISO 8601 with microseconds (signing.instant)
    actor, action, subject, detail
    prev_hash   the row_hash of the previous row of the same chain ("" for the first)

so changing a row changes its hash, and removing or inserting one breaks the next row's link.
The counter keeps two chains in one table because the district only sees the sent events: it
can check the sent chain link by link, in the order a counter pushes them. Naming the chain in
the hash stops a row from being moved from one chain to the other.

The district's own chain (district_row_hash) covers the same content plus what it knows of the
event: where it came from, who pushed it, when it arrived, and the counter's hashes.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from desktop.domain.signing import canonical_json, instant, sha256_hex

Chain = Literal["sent", "local"]
SENT: Chain = "sent"
LOCAL: Chain = "local"
CHAINS: tuple[Chain, ...] = (SENT, LOCAL)
VERSION = "1"
DETAIL_LIMIT = 8192  # bytes of a detail's canonical JSON the district keeps

Problem = Literal["missing_hash", "content_changed", "row_deleted", "row_inserted",
                  "copy_differs", "link_broken", "sequence_gap"]
PROBLEM_TEXT: dict[str, str] = {
    "missing_hash": "缺少哈希",
    "content_changed": "内容被改动",
    "row_deleted": "有行被删除",
    "row_inserted": "有行被插入",
    "copy_differs": "与发出的副本不符",
    "link_broken": "链接断开",
    "sequence_gap": "序号不连续",
}


@dataclass(frozen=True)
class AuditContent:
    """What an audit event says: the fields its hash covers besides the link."""

    event_id: str
    at: datetime
    actor: str
    action: str
    subject: str
    detail: Mapping[str, Any]

    def fields(self) -> dict[str, Any]:
        return {"event_id": self.event_id.lower(), "at": instant(self.at), "actor": self.actor,
                "action": self.action, "subject": self.subject, "detail": dict(self.detail)}


def detail_size(detail: Mapping[str, Any]) -> int:
    """The size in bytes of a detail as the hash reads it."""
    return len(canonical_json(dict(detail)))


def audit_row_hash(content: AuditContent, prev_hash: str | None, chain: Chain = SENT) -> str:
    """A counter row's hash: its content, its chain and the previous row's hash."""
    return sha256_hex(canonical_json({"v": VERSION, "chain": chain, **content.fields(),
                                      "prev_hash": prev_hash or ""}))


def district_row_hash(content: AuditContent, prev_hash: str | None, *, chain_seq: int,
                      device_id: str, street_code: str, received_at: datetime,
                      reported_by: str | None, actor_proven: bool | None,
                      counter_prev_hash: str | None, counter_row_hash: str | None) -> str:
    """A district row's hash: the event, where and from whom it came, and the counter's hashes."""
    return sha256_hex(canonical_json({
        "v": VERSION, "chain": "district", **content.fields(), "prev_hash": prev_hash or "",
        "chain_seq": chain_seq, "device_id": device_id, "street_code": street_code,
        "received_at": instant(received_at), "reported_by": reported_by or "",
        "actor_proven": "" if actor_proven is None else ("1" if actor_proven else "0"),
        "counter_prev_hash": counter_prev_hash or "",
        "counter_row_hash": counter_row_hash or ""}))


@dataclass(frozen=True)
class ChainRow:
    """One counter row as the check reads it."""

    row_id: int
    content: AuditContent
    prev_hash: str | None
    row_hash: str | None


@dataclass(frozen=True)
class ChainBreak:
    """The first thing wrong with a chain: where, what (a code) and why (in Chinese)."""

    problem: Problem
    message: str
    row_id: int | None = None
    event_id: str | None = None
    device_id: str | None = None


def chain_of(row: ChainRow) -> Chain | None:
    """Which chain the row's hash says it belongs to; None when its content does not match."""
    for chain in CHAINS:
        if row.row_hash is not None and \
                audit_row_hash(row.content, row.prev_hash, chain) == row.row_hash:
            return chain
    return None


def first_break(rows: Iterable[ChainRow]) -> tuple[int, ChainBreak | None]:
    """Walk the counter's rows in id order; the number read and the first break, if any."""
    heads: dict[Chain, ChainRow | None] = {SENT: None, LOCAL: None}
    successor: dict[str, tuple[int, str]] = {}  # a row's hash -> the next row of its chain
    known: dict[str, int] = {}  # a row's hash -> its id
    count = 0
    for row in rows:
        count += 1
        event = row.content.event_id
        where = f"第 {row.row_id} 行（事件 {event}）"
        if row.row_hash is None:
            return count, ChainBreak("missing_hash", f"{where}没有哈希：它没有经过程序写入。",
                                     row.row_id, event)
        chain = chain_of(row)
        if chain is None:
            return count, ChainBreak("content_changed",
                                     f"{where}的内容与它的哈希不符：这一行被改过。",
                                     row.row_id, event)
        head = heads[chain]
        expected = None if head is None else head.row_hash
        if row.prev_hash != expected:
            return count, _link_break(row, head, where, known, successor)
        if head is not None and head.row_hash is not None:
            successor[head.row_hash] = (row.row_id, event)
        known[row.row_hash] = row.row_id
        heads[chain] = row
    return count, None


def _link_break(row: ChainRow, head: ChainRow | None, where: str, known: dict[str, int],
                successor: dict[str, tuple[int, str]]) -> ChainBreak:
    event = row.content.event_id
    if row.prev_hash is not None and row.prev_hash in known:
        # the row links to an earlier row of its chain: the rows after that one were inserted
        earlier = known[row.prev_hash]
        inserted, inserted_event = successor.get(row.prev_hash, (row.row_id, event))
        return ChainBreak("row_inserted",
                          f"第 {inserted} 行是后来插入的：{where}原本紧接在第 {earlier} 行之后。",
                          inserted, inserted_event)
    if row.prev_hash is None and head is not None:
        return ChainBreak("row_inserted",
                          f"{where}自称是链的第一行，但它之前已有第 {head.row_id} 行："
                          "这一行是后来插入的。", row.row_id, event)
    before = "链的开头" if head is None else f"第 {head.row_id} 行与它之间"
    return ChainBreak("row_deleted", f"{where}的上一行哈希对不上：{before}有行被删除了。",
                      row.row_id, event)
