"""Human handoff against the real Rasa, action server and ticketing API (issue 5).

The traveller talks over the REST channel; the agent uses the API as the console does.
"""

from __future__ import annotations

import time
import uuid
from typing import Dict

import httpx
import pytest
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.clients import ticketing
from actions.handoff import (
    WAITING_ACK_SECONDS,
    collected_slots,
    handoff_reason,
    open_handoff,
    waiting_ack_due,
)
from tests import staff
from tests.conftest import RASA_AUTH, RASA_TOKEN, texts
from tests.services import Service

SERVICE = {"Authorization": "Bearer dev-service-token"}
# Generous: the machine is shared, and a cold classifier or model makes first calls slow.
http = httpx.Client(timeout=120)


@pytest.fixture(scope="session")
def console_api(api: Service, rasa_url: str) -> str:
    """The API as agents reach it: the session's API, started knowing Rasa's URL and token
    (tests/conftest.py reserves Rasa's port first)."""
    assert api.env.get("RASA_URL") == rasa_url and api.env.get("RASA_JWT_SECRET") == RASA_TOKEN
    return api.health_url.rsplit("/", 1)[0]


def login(base: str, username: str) -> Dict[str, str]:
    """Bearer headers of an agent or supervisor; the session's first login of the account
    changes its initial password (tests/staff.py)."""
    return staff.login(base, username, http)


def tracker_of(rasa_url: str, sender: str) -> dict:
    response = http.get(f"{rasa_url}/conversations/{sender}/tracker", headers=RASA_AUTH)
    response.raise_for_status()
    return response.json()


def waiting_acks(rasa_url: str, sender: str, at_least: int) -> list:
    """The acknowledgements sent while waiting, once `at_least` have landed (they are relayed
    after Rasa releases the conversation's lock) or after 20 s."""
    deadline = time.monotonic() + 20
    while True:
        events = tracker_of(rasa_url, sender)["events"]
        acks = [
            e["text"] for e in events if e["event"] == "bot" and (e.get("metadata") or {}).get("waiting_ack")
        ]
        if len(acks) >= at_least or time.monotonic() > deadline:
            return acks
        time.sleep(0.2)


def queued(base: str, headers: dict, sender: str) -> dict:
    # Staff see conversation ids masked; a supervisor looks one up by the raw id.
    items = http.get(f"{base}/handoffs", params={"conversation_id": sender}, headers=headers).json()["items"]
    assert len(items) == 1 and items[0]["conversation_id"] != sender, items
    return items[0]


def test_whole_handoff_protocol_over_rest(chat, rasa_url, console_api):
    sender = chat.sender
    opened = texts(chat("我要转人工客服"))
    assert "人工客服" in opened and "排在第" in opened  # minutes only with agents online in hours (issue 15)
    assert tracker_of(rasa_url, sender)["paused"] is True

    # While waiting the bot runs no action, but everything the traveller writes is kept, and
    # the first message is acknowledged (pushed on socket.io and WeChat; REST only stores it).
    assert chat("导游一直催我们进购物店，已经在店里等了一个小时") == []
    assert "会一并转给人工客服" in waiting_acks(rasa_url, sender, 1)[0]
    assert chat("我的订单号是TR20260001") == []
    time.sleep(1.5)
    assert len(waiting_acks(rasa_url, sender, 0)) == 1  # not again within minutes

    agent1, agent2 = login(console_api, "agent1"), login(console_api, "agent2")
    supervisor = login(console_api, "supervisor")
    # Agents see a waiting conversation's id masked: the supervisor finds it, agent1 takes it.
    handoff = queued(console_api, supervisor, sender)
    seen_by_agent = [
        h
        for h in http.get(f"{console_api}/handoffs", headers=agent1).json()["items"]
        if h["id"] == handoff["id"]
    ]
    assert len(seen_by_agent) == 1 and seen_by_agent[0]["conversation_id"] != sender
    assert (
        handoff["status"] == "waiting"
        and handoff["reason"] == "request_human"
        and handoff["channel"] == "rest"
    )
    hid = handoff["id"]

    assert http.post(f"{console_api}/handoffs/{hid}/take", headers=agent1).status_code == 200
    refused = http.post(f"{console_api}/handoffs/{hid}/take", headers=agent2)
    assert refused.status_code == 409 and "agent1" in refused.json()["detail"]

    lines = http.get(f"{console_api}/handoffs/{hid}/transcript", headers=agent1).json()["lines"]
    said = [line["text"] for line in lines if line["sender"] == "traveller"]
    assert said[-2:] == ["导游一直催我们进购物店，已经在店里等了一个小时", "我的订单号是TR20260001"]

    reply = http.post(
        f"{console_api}/handoffs/{hid}/messages",
        json={"text": "您好，我是客服小李，马上为您联系导游。"},
        headers=agent1,
    )
    assert reply.status_code == 201, reply.text
    assert reply.json()["pushed"] is False  # REST cannot push: the message lands in the tracker
    bot_texts = [e.get("text") for e in tracker_of(rasa_url, sender)["events"] if e["event"] == "bot"]
    assert bot_texts[-1] == "您好，我是客服小李，马上为您联系导游。"
    assert (
        http.post(f"{console_api}/handoffs/{hid}/messages", json={"text": "我来"}, headers=agent2).status_code
        == 403
    )

    # The traveller answers the agent; the bot still does not (no acknowledgement once an
    # agent has written), and the agent sees it at once.
    assert chat("好的，谢谢，我们在景区东门") == []
    start = time.monotonic()
    lines = http.get(f"{console_api}/handoffs/{hid}/transcript", headers=agent1).json()["lines"]
    assert lines[-1]["sender"] == "traveller" and lines[-1]["text"] == "好的，谢谢，我们在景区东门"
    assert time.monotonic() - start < 2
    time.sleep(1.5)
    assert len(waiting_acks(rasa_url, sender, 0)) == 1
    assert [line["sender"] for line in lines].count(
        "agent"
    ) == 2  # the joined notice (issue 15) and the reply

    back = http.post(f"{console_api}/handoffs/{hid}/return", json={"note": "已联系导游接回"}, headers=agent1)
    assert back.status_code == 200, back.text
    assert back.json()["status"] == "returned" and back.json()["first_reply_wait_seconds"] is not None
    state = tracker_of(rasa_url, sender)
    assert state["paused"] is False
    # The bot knows what was said while it was paused (slots kept filling).
    assert state["slots"]["booking_ref"] == "TR20260001"

    answer = texts(chat("你好"))
    assert "您好" in answer
    # And the conversation is not paused again by the first message (resume + action_listen).
    assert tracker_of(rasa_url, sender)["paused"] is False
    assert texts(chat("我要转人工")) != ""
    assert queued(console_api, supervisor, sender)["id"] != hid


def test_a_closed_handoff_refuses_messages_and_the_bot_answers(chat, rasa_url, console_api):
    texts(chat("转人工"))
    supervisor = login(console_api, "supervisor")
    handoff = queued(console_api, supervisor, chat.sender)
    closed = http.post(f"{console_api}/handoffs/{handoff['id']}/close", headers=supervisor)
    assert closed.status_code == 200 and closed.json()["status"] == "closed"
    gone = http.post(
        f"{console_api}/handoffs/{handoff['id']}/messages", json={"text": "在吗"}, headers=supervisor
    )
    assert gone.status_code == 409
    assert "您好" in texts(chat("你好"))


# --- the action's own logic, on the real API ----------------------------------------------


def _tracker(sender: str, events: list, slots: dict, text: str = "", channel: str = "socketio") -> Tracker:
    events = [{"event": "user", "text": "hi", "input_channel": channel, "parse_data": {}}] + events
    return Tracker(
        sender,
        slots,
        {"text": text, "intent": {"name": "request_human"}},
        events,
        False,
        None,
        {},
        "action_listen",
    )


@pytest.fixture
def bot_client(api_url):
    ticketing.set_client(ticketing.TicketingClient(api_url, "dev-service-token", 5))
    yield
    ticketing.set_client(None)


async def test_urgent_complaint_handoff_links_the_ticket_and_keeps_the_summary(
    bot_client, api_url, console_api
):
    ticket = http.post(
        f"{api_url}/tickets",
        headers=SERVICE,
        json={
            "phone": "13812345678",
            "booking_ref": "TR20260001",
            "description": "我父亲在景区摔倒昏迷，现在还没醒",
            "category": "safety",
            "severity": "urgent",
        },
    ).json()
    sender = f"unit-{uuid.uuid4().hex[:10]}"
    # The complaint form already cleared its slots; the summary still has them from the history.
    events = [
        {"event": "slot", "name": "booking_ref", "value": "TR20260001"},
        {"event": "slot", "name": "complaint_description", "value": "我父亲在景区摔倒昏迷"},
        {"event": "slot", "name": "complaint_description", "value": None},
    ]
    tracker = _tracker(sender, events, {"booking_ref": "TR20260001", "complaint_description": None}, "确认")
    dispatcher = CollectingDispatcher()
    result = await open_handoff(tracker, dispatcher, "urgent_complaint", ticket_no=ticket["ticket_no"])
    assert [e["event"] for e in result] == ["pause"]
    assert "紧急" in dispatcher.messages[0]["text"] and "排在第" in dispatcher.messages[0]["text"]
    supervisor = login(console_api, "supervisor")
    handoff = queued(console_api, supervisor, sender)
    assert (handoff["severity"], handoff["colour"], handoff["ticket_no"]) == (
        "urgent",
        "red",
        ticket["ticket_no"],
    )
    assert handoff["channel"] == "socketio"
    assert handoff["summary"]["complaint_description"] == "我父亲在景区摔倒昏迷"
    # Asking twice does not queue twice.
    again = CollectingDispatcher()
    await open_handoff(tracker, again, "urgent_complaint", ticket_no=ticket["ticket_no"])
    assert "已在人工客服队列中" in again.messages[0]["text"]
    assert queued(console_api, supervisor, sender)["id"] == handoff["id"]


async def test_unknown_ticket_number_still_hands_over_and_api_down_keeps_the_bot_talking(
    bot_client, console_api
):
    sender = f"unit-{uuid.uuid4().hex[:10]}"
    dispatcher = CollectingDispatcher()
    events = await open_handoff(
        _tracker(sender, [], {}), dispatcher, "request_human", ticket_no="C20200101999"
    )
    assert [e["event"] for e in events] == ["pause"]
    assert (
        queued(console_api, login(console_api, "supervisor"), sender)["summary"]["ticket_no"]
        == "C20200101999"
    )
    ticketing.set_client(ticketing.TicketingClient("http://127.0.0.1:9", "dev-service-token", 1))
    down = CollectingDispatcher()
    assert await open_handoff(_tracker("other", [], {}), down, "request_human") == []
    assert "无法连接" in down.messages[0]["text"]


def test_reason_tells_an_offer_after_fallbacks_from_one_after_form_failures():
    offer = {"event": "bot", "text": "需要转人工吗？", "metadata": {"utter_action": "utter_offer_human"}}
    user = {"event": "user", "text": "/request_human"}
    after_fallback = [
        {"event": "action", "name": "action_fallback"},
        offer,
        {"event": "action", "name": "action_listen"},
        user,
    ]
    after_form = [{"event": "action", "name": "validate_complaint_form"}, offer, user]
    plain = [{"event": "bot", "text": "您好", "metadata": {"utter_action": "utter_greet"}}, user]
    assert handoff_reason(_tracker("x", after_fallback, {})) == "fallback"
    assert handoff_reason(_tracker("x", after_form, {})) == "form_failures"
    assert handoff_reason(_tracker("x", plain, {})) == "request_human"
    assert handoff_reason(_tracker("x", [], {})) == "request_human"


def test_summary_forgets_internal_slots_and_earlier_sessions():
    events = [
        {"event": "slot", "name": "phone", "value": "13900000000"},
        {"event": "session_started"},
        {"event": "slot", "name": "requested_slot", "value": "phone"},
        {"event": "slot", "name": "booking_ref", "value": "TR20260002"},
    ]
    assert collected_slots(_tracker("x", events, {"form_failures": 0.0})) == {"booking_ref": "TR20260002"}


def test_an_emergency_while_waiting_raises_the_queue_and_gets_advice_at_once(chat, rasa_url, console_api):
    sender = chat.sender
    assert "人工客服" in texts(chat("转人工"))
    supervisor = login(console_api, "supervisor")
    assert queued(console_api, supervisor, sender)["severity"] != "urgent"
    # Paused: Rasa runs no action, so the advice comes back through the API, like an agent's reply.
    assert chat("快来人！我老公突然倒地不省人事了，怎么办") == []
    handoff = queued(console_api, supervisor, sender)
    assert handoff["severity"] == "urgent" and handoff["status"] == "waiting"
    # Relayed after Rasa has finished that message (it holds the conversation's lock till then).
    deadline = time.monotonic() + 20
    while True:
        said = [e.get("text") or "" for e in tracker_of(rasa_url, sender)["events"] if e["event"] == "bot"]
        if "120" in said[-1] or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert "120" in said[-1] and "优先处理" in said[-1], said[-3:]


def test_waiting_ack_only_while_no_agent_has_written_and_not_too_often():
    pause = [{"event": "user", "text": "转人工"}, {"event": "pause"}]
    assert waiting_ack_due(pause, now=1000.0)
    assert not waiting_ack_due([{"event": "user", "text": "你好"}], now=1000.0)  # not waiting
    acked = pause + [
        {"event": "bot", "text": "已收到", "timestamp": 900.0, "metadata": {"waiting_ack": True}}
    ]
    assert not waiting_ack_due(acked, now=900.0 + WAITING_ACK_SECONDS - 1)
    assert waiting_ack_due(acked, now=900.0 + WAITING_ACK_SECONDS + 1)
    agent = pause + [
        {"event": "bot", "text": "您好", "timestamp": 1.0, "metadata": {"handoff_agent": "agent1"}}
    ]
    assert not waiting_ack_due(agent, now=1000.0)
    # The widget's note that the traveller left for a new conversation is not answered.
    assert not waiting_ack_due(pause, now=1000.0, metadata={"widget": "new_conversation"})
    # A new handoff after the bot was handed back: the earlier agent's messages do not count.
    again = agent + [{"event": "resume"}, {"event": "user", "text": "转人工"}, {"event": "pause"}]
    assert waiting_ack_due(again, now=1000.0)
