"""今日受理 and 待上传 (issue 12): the day's applications in the office's words with their next
steps, and what waits to go to the district, in words, with its age and last error."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import select

from desktop.services.accounts import remember_user
from desktop.services.approvals import send_back, sign
from desktop.services.counter import CounterSession
from desktop.services.today import age_words, todays_work, waiting_items
from desktop.store import Store
from desktop.store.models import ApplicationRecord, OutboxRecord
from desktop.store.outbox import mark_delivered
from tests.printing.test_forms import SECRET, TODAY, store  # noqa: F401  (the fixture)
from tests.services.test_counter import P

MORNING = datetime(2026, 6, 10, 2, tzinfo=UTC)  # 10:00 in Shanghai on TODAY


def submit(store: Store, rows: list[int],  # noqa: F811
           now: datetime = MORNING) -> uuid.UUID:
    counter = CounterSession(store, P, program="assistance", clerk="li", application_date=TODAY)
    counter.tick_all([f"F{n:02d}" for n in rows])
    return counter.submit(bank_account="6222021234567890128", now=now).application_id


def accept(store: Store, application_id: uuid.UUID) -> None:  # noqa: F811
    """What the district's acceptance leaves at the counter: the item delivered, accepted."""
    with store.session() as session:
        item = next(i for i in session.scalars(select(OutboxRecord).where(
            OutboxRecord.kind == "application"))
            if i.payload["application_id"] == str(application_id))
        mark_delivered(session, item.idempotency_key, {"status": "accepted"})
        record = session.get(ApplicationRecord, application_id)
        assert record is not None
        record.status, record.accepted_at = "accepted", MORNING


def a_day(store: Store) -> dict[str, uuid.UUID]:  # noqa: F811
    """Four applications of TODAY in four states, and one of the day before."""
    remember_user(store, "li", "李经办", ["clerk"], SECRET, now=MORNING)
    day = {"waiting": submit(store, [0, 1]), "accepted": submit(store, [2, 3]),
           "reviewed": submit(store, [4, 5]), "returned": submit(store, [6, 7]),
           "yesterday": submit(store, [8], now=MORNING - timedelta(days=1))}
    for name in ("accepted", "reviewed", "returned"):
        accept(store, day[name])
    sign(store, day["reviewed"], role="reviewer", username="zhao", password=SECRET,
         now=MORNING + timedelta(hours=1))
    send_back(store, day["returned"], username="wang", password=SECRET, reason="缺病史资料",
              now=MORNING + timedelta(hours=2))
    return day


def test_the_days_applications_in_the_offices_words(store: Store) -> None:  # noqa: F811
    day = a_day(store)
    entries = todays_work(store, TODAY)
    by_id = {e.application_id: e for e in entries}
    assert set(by_id) == {day[k] for k in ("waiting", "accepted", "reviewed", "returned")}
    words = {k: (by_id[day[k]].state_label, by_id[day[k]].next_step)
             for k in ("waiting", "accepted", "reviewed", "returned")}
    assert words["waiting"] == ("待上传", "待上传（联网后自动上传）")
    assert words["accepted"] == ("已受理", "待审核人签名")
    assert words["reviewed"][0] == "已审核"
    assert words["reviewed"][1].startswith("待审批人签名") and "签名待上传" in words["reviewed"][1]
    assert words["returned"][0] == "退回"
    assert words["returned"][1].startswith("请按退回原因处理")
    for e in entries:
        assert e.person_name == "张三" and e.handler == "李经办"  # never the login
        assert e.program_label == "医疗救助（事后救助）"
        with store.read_session() as session:
            record = session.get(ApplicationRecord, e.application_id)
            assert record is not None
            assert e.number == (record.number or str(record.id)[:8].upper())
    # a range of days takes the day before too
    assert len(todays_work(store, TODAY - timedelta(days=1), TODAY)) == 5
    assert todays_work(store, date(2026, 6, 11)) == []


def test_paid_withdrawn_and_refused_have_their_words(store: Store) -> None:  # noqa: F811
    day = a_day(store)
    with store.session() as session:
        for key, status in (("accepted", "paid"), ("reviewed", "withdrawn"),
                            ("returned", "review")):
            record = session.get(ApplicationRecord, day[key])
            assert record is not None
            record.status = status
            if status == "review":
                record.server_message = "费用已在其他柜台申请"
    by_id = {e.application_id: e for e in todays_work(store, TODAY)}
    assert by_id[day["accepted"]].state_label == "已发放"
    assert by_id[day["reviewed"]].state_label == "已撤回"
    assert by_id[day["returned"]].state_label == "被拒"
    assert "费用已在其他柜台申请" in by_id[day["returned"]].next_step


def test_what_waits_is_said_in_words_with_its_age_and_error(store: Store) -> None:  # noqa: F811
    a_day(store)
    with store.session() as session:
        first = session.scalars(select(OutboxRecord).where(
            OutboxRecord.delivered_at.is_(None)).order_by(OutboxRecord.id)).first()
        assert first is not None
        first.attempts, first.last_error = 3, "连接区服务器超时"
        first.created_at = MORNING  # items are stamped with the real clock
    items = waiting_items(store, now=MORNING + timedelta(hours=3))
    whats = [i.what for i in items]
    assert any(w.startswith("申请 张三 ") and w.endswith(" 元") for w in whats)
    assert any(w.startswith("签名 张三（审核人 赵审核）") for w in whats)
    assert any(w.startswith("退回 张三（王审批）") for w in whats)
    assert any(w.startswith("审计记录") for w in whats)
    assert all(not any(c.isascii() and c.isalpha() for c in w.split("（")[0]) for w in whats
               if not w.startswith("审计记录"))
    errored = next(i for i in items if i.last_error)
    assert errored.attempts == 3 and errored.last_error == "连接区服务器超时"
    assert errored.age == "3 小时前"


@pytest.mark.parametrize(("seconds", "words"), [
    (5, "刚刚"), (300, "5 分钟前"), (3 * 3600 + 10, "3 小时前"), (2 * 86400 + 5, "2 天前")])
def test_age_in_words(seconds: int, words: str) -> None:
    assert age_words(timedelta(seconds=seconds)) == words
