"""Notices to travellers (app/services/notifier.py) on SQLite and PostgreSQL: one per status
change, written with the change, delivered through Rasa (a stand-in for its two conversation
endpoints here; tests/e2e/test_notices*.py run the real Rasa) or as a WeChat template message
to the fake WeChat server over HTTP, retried with backoff, never twice; and the survey's answer.
The clock is the test's: nothing sleeps."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from app.models import AuditLog, Notification
from app.services import notifier as nt
from app.core.clients import AppClients
from tests.conftest import login, test_settings
from tests.factories import create_ticket
from tests.routes.test_workflow import RESULT, move


@pytest.fixture
def web_ticket(client, service):
    return create_ticket(client, service, channel="socketio", conversation_id="web-notice-1")


def rows(db, ticket_no: str) -> list[Notification]:
    db.expire_all()
    return list(
        db.scalars(
            select(Notification).where(Notification.key.like(f"{ticket_no}:%")).order_by(Notification.id)
        )
    )


def walk(client, bot, owner, no) -> None:
    for status in ("investigating", "plan_made", "resolved", "followed_up", "closed"):
        if status == "followed_up":
            client.patch(f"/tickets/{no}/feedback", json={"satisfaction": 4}, headers=bot)
        if status == "closed":
            client.put(f"/tickets/{no}/result", json=RESULT, headers=owner)
        move(client, owner, no, status)


def test_every_status_change_reaches_the_widget_once_with_measures_date_and_owner(
    client, service, rasa, web_ticket, db
):
    no, conversation = web_ticket["ticket_no"], web_ticket["conversation_id"]
    owner = login(client, web_ticket["owner"]["username"])
    bot = {**service, "X-Sender-Id": conversation}
    move(client, owner, no, "investigating")
    client.post(
        f"/tickets/{no}/notes", json={"text": "已联系酒店核实，安排当晚换房", "public": True}, headers=owner
    )
    client.post(
        f"/tickets/{no}/notes", json={"text": "内部：酒店经理电话 138xxxx", "public": False}, headers=owner
    )
    move(client, owner, no, "plan_made")

    texts = rasa.bot_texts(conversation)
    assert len(texts) == 2
    first, second = texts
    assert "工单号 " + no in first and "调查核实中" in first
    assert "预计完成时间：" in first and "负责人：" + web_ticket["owner"]["display_name"] in first
    assert "已制定处理方案" in second and "已联系酒店核实，安排当晚换房" in second
    assert "酒店经理" not in second  # private notes never reach the traveller
    assert all(channel == "socketio" for _, channel, _ in rasa.pushed)

    move(client, owner, no, "resolved")
    client.patch(f"/tickets/{no}/feedback", json={"satisfaction": 4}, headers=bot)
    move(client, owner, no, "followed_up")
    client.put(f"/tickets/{no}/result", json=RESULT, headers=owner)
    move(client, owner, no, "closed")

    recorded = rows(db, no)
    assert [r.key.split(":", 1)[1] for r in recorded] == [
        "status:investigating",
        "status:plan_made",
        "status:resolved",
        "status:followed_up",
        "result",
    ]
    assert {(r.status, r.route, r.attempts) for r in recorded} == {("sent", "rasa:socketio", 1)}
    listed = client.get(f"/tickets/{no}/notices", headers=owner).json()
    assert [(n["event"], n["status"], n["route"]) for n in listed][-1] == ("result", "sent", "rasa:socketio")
    assert client.get(f"/tickets/{no}/notices", headers=bot).status_code == 403  # staff only
    result = rasa.events[conversation][-1]
    assert (
        result["event"] == "bot"
        and RESULT["findings"] in result["text"]
        and RESULT["apology"] in result["text"]
    )
    assert [b["payload"] for b in result["data"]["buttons"]] == ["/affirm", "/deny"]
    slots = {e["name"]: e["value"] for e in rasa.events[conversation] if e["event"] == "slot"}
    assert slots == {"survey_ticket": no, "survey_step": "confirm"}

    # Never twice: the same event again is not recorded, a later run sends nothing.
    ticket = db.scalar(select(nt.Ticket).where(nt.Ticket.ticket_no == no))
    assert not nt.enqueue(db, ticket=ticket, notice=nt.result_notice(ticket), now=datetime.now(UTC))
    before = len(rasa.pushed)
    notifier = nt.notifier_for(db, rasa, AppClients(test_settings()))
    assert notifier.deliver_due(datetime.now(UTC) + timedelta(days=1)) == {}
    assert len(rasa.pushed) == before


def test_a_failed_send_is_retried_with_backoff_then_given_up(client, service, rasa, web_ticket, db, clock):
    no, conversation = web_ticket["ticket_no"], web_ticket["conversation_id"]
    owner = login(client, web_ticket["owner"]["username"])
    rasa.down = True
    start = clock.now
    move(client, owner, no, "investigating")  # the answer does not wait for, nor fail with, Rasa
    (row,) = rows(db, no)
    assert (row.status, row.attempts) == ("pending", 1) and "503" in row.last_error
    assert row.next_attempt_at == start + timedelta(seconds=30)

    notifier = nt.notifier_for(db, rasa, AppClients(test_settings()))
    assert notifier.deliver_due(start + timedelta(seconds=29)) == {}  # not due yet
    assert notifier.deliver_due(start + timedelta(seconds=30)) == {"pending": 1}
    (row,) = rows(db, no)
    assert row.attempts == 2 and row.next_attempt_at == start + timedelta(seconds=90)  # 30 s, then 60 s

    rasa.down = False
    assert notifier.deliver_due(start + timedelta(seconds=90)) == {"sent": 1}
    assert rasa.bot_texts(conversation) and len(rasa.bot_texts(conversation)) == 1
    (row,) = rows(db, no)
    assert (row.status, row.attempts, row.last_error) == ("sent", 3, None)

    # A worker that died between Rasa's answer and recording it: the retry finds the notice
    # in the conversation and does not send it again.
    db.execute(
        update(Notification).where(Notification.id == row.id).values(status="sending", claimed_at=start)
    )
    db.commit()
    assert notifier.deliver_due(start + timedelta(hours=1)) == {"sent": 1}
    assert len(rasa.bot_texts(conversation)) == 1
    assert rows(db, no)[0].route == "rasa:already"

    rasa.down = True
    move(client, owner, no, "plan_made")
    settings = notifier.settings.model_copy(update={"notifier_max_attempts": 2})
    notifier = nt.Notifier(notifier.sessions, rasa, settings)
    notifier.deliver_due(start + timedelta(days=1))
    assert rows(db, no)[1].status == "failed"


def test_a_ticket_without_a_conversation_records_the_notice_as_skipped(client, service, rasa, db):
    ticket = create_ticket(client, service, conversation_id=None)
    owner = login(client, ticket["owner"]["username"])
    move(client, owner, ticket["ticket_no"], "investigating")
    (row,) = rows(db, ticket["ticket_no"])
    assert (row.status, row.route) == ("skipped", "none") and rasa.pushed == []


def test_wechat_customer_service_message_within_48_hours_then_a_template_message(
    client, service, rasa, db, clock, wechat, held
):
    openid = "o-notice-traveller"
    ticket = create_ticket(client, service, channel="wechat", conversation_id=openid)
    no = ticket["ticket_no"]
    owner = login(client, ticket["owner"]["username"])
    last_message = clock.now
    rasa.events[openid] = [{"event": "user", "text": "你好", "timestamp": last_message.timestamp()}]
    clock.set(last_message + timedelta(hours=47, minutes=59))
    owner = login(client, ticket["owner"]["username"])  # staff tokens last 12 hours
    move(client, owner, no, "investigating")
    notifier = wechat.notifier(db, rasa)
    assert notifier.deliver_due(clock.now) == {"sent": 1}
    assert [c for _, c, e in rasa.pushed if e["event"] == "bot"] == ["wechat"]
    assert wechat.server.templates_sent == []

    clock.set(last_message + timedelta(hours=48, minutes=1))
    owner = login(client, ticket["owner"]["username"])
    move(client, owner, no, "plan_made")
    assert notifier.deliver_due(clock.now + timedelta(minutes=1)) == {"sent": 1}
    (template,) = wechat.server.templates_to(openid)
    assert template["template_id"] == "tmpl-progress"
    assert template["data"]["keyword1"]["value"] == no
    assert "已制定处理方案" in template["data"]["keyword2"]["value"]
    assert "负责人" in template["data"]["remark"]["value"]
    # Recorded in the conversation without an output channel (it went out once, as a template).
    assert [c for _, c, e in rasa.pushed if e["event"] == "bot"] == ["wechat", None]
    assert [r.route for r in rows(db, no)] == ["rasa:wechat", "wechat_template"]
    # The token came from the cache file the bot's channel shares.
    assert "wx-notice" in wechat.settings.token_cache_path.read_text()

    # The written result's buttons become numbered options in a template message.
    client.put(f"/tickets/{no}/result", json=RESULT, headers=owner)
    for status in ("resolved",):
        move(client, owner, no, status)
    client.patch(
        f"/tickets/{no}/feedback", json={"satisfaction": 5}, headers={**service, "X-Sender-Id": openid}
    )
    move(client, owner, no, "followed_up")
    move(client, owner, no, "closed")
    notifier.deliver_due(clock.now + timedelta(hours=1))
    remark = wechat.server.templates_to(openid)[-1]["data"]["remark"]["value"]
    assert "1. 确认处理结果" in remark and "2. 对结果有异议" in remark


def test_an_unsubscribed_wechat_user_fails_at_once_with_the_reason(
    client, service, rasa, db, clock, wechat, held
):
    openid = "o-gone"
    wechat.server.unsubscribed.append(openid)
    ticket = create_ticket(client, service, channel="wechat", conversation_id=openid)
    owner = login(client, ticket["owner"]["username"])
    move(client, owner, ticket["ticket_no"], "investigating")
    wechat.notifier(db, rasa).deliver_due(clock.now + timedelta(hours=1))
    (row,) = rows(db, ticket["ticket_no"])
    assert row.status == "failed" and "43004" in row.last_error


def test_the_survey_answer_lands_on_the_ticket_and_a_low_rating_opens_a_second_follow_up(
    client, service, rasa, web_ticket, db
):
    no, conversation = web_ticket["ticket_no"], web_ticket["conversation_id"]
    owner = login(client, web_ticket["owner"]["username"])
    bot = {**service, "X-Sender-Id": conversation}
    walk(client, bot, owner, no)

    assert (
        client.post(f"/tickets/{no}/survey", json={"confirmed": True}, headers=bot).json()["confirmed"]
        is True
    )
    answer = client.post(f"/tickets/{no}/survey", json={"rating": 5}, headers=bot).json()
    assert (answer["satisfaction"], answer["score"], answer["second_follow_up"]) == (5, 100, False)

    answer = client.post(
        f"/tickets/{no}/survey", json={"rating": 2, "comment": "处理太慢了"}, headers=bot
    ).json()
    assert (answer["satisfaction"], answer["score"], answer["second_follow_up"]) == (2, 40, True)
    ticket = client.get(f"/tickets/{no}", headers=owner).json()
    assert ticket["satisfaction"] == 2 and ticket["second_follow_up"] is True
    notes = [n["text"] for n in ticket["notes"]]
    assert "旅客评价留言：处理太慢了" in notes
    assert any("二次回访" in n and "2 星（40/100）" in n for n in notes)
    db.expire_all()
    trail = db.scalars(select(AuditLog.field).where(AuditLog.action == "feedback")).all()
    assert "second_follow_up" in trail

    # Another conversation cannot answer this ticket's survey.
    other = {**service, "X-Sender-Id": "someone-else"}
    assert client.post(f"/tickets/{no}/survey", json={"rating": 5}, headers=other).status_code == 403
    assert client.post(f"/tickets/{no}/survey", json={}, headers=bot).status_code == 422
    assert client.post(f"/tickets/{no}/survey", json={"rating": 6}, headers=bot).status_code == 422


def test_notices_commit_with_the_move_in_the_same_transaction(client, service, rasa, web_ticket, db):
    # A refused move writes no notice.
    owner = login(client, web_ticket["owner"]["username"])
    move(client, owner, web_ticket["ticket_no"], "closed", expected=409)
    assert rows(db, web_ticket["ticket_no"]) == []
    assert isinstance(db, Session)


def test_a_delay_and_a_rejection_are_told_with_their_reasons(client, service, rasa, web_ticket, clock):
    no, conversation = web_ticket["ticket_no"], web_ticket["conversation_id"]
    owner = login(client, web_ticket["owner"]["username"])
    expected = (clock.now + timedelta(days=5)).astimezone(nt.dl.CHINA_TZ).replace(hour=18, minute=0, second=0)
    delayed = client.put(
        f"/tickets/{no}/delay",
        json={"reason": "需等待航空公司出具调查报告", "expected_at": expected.isoformat()},
        headers=owner,
    )
    assert delayed.status_code == 200, delayed.text
    move(client, owner, no, "rejected", reason="经核实，行程变更已在合同中约定")
    delay, rejection = rasa.bot_texts(conversation)
    assert "需等待航空公司出具调查报告" in delay
    assert f"{expected.year}年{expected.month}月{expected.day}日 18:00" in delay
    assert "不予受理" in rejection and "行程变更已在合同中约定" in rejection
