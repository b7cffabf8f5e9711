"""A ticket lookup that also asks for a person (stranger test 4, s4b6-20).

"我要人工 投诉单C20261207001一直没人处理" got the phone question, then the ticket's progress, and
no handoff. The progress still comes first (after the phone check), then the handoff the
traveller asked for, at normal priority, said in the reply. Against the real ticketing API.
"""

from __future__ import annotations

import re
import uuid
from typing import Any, Dict, List

import pytest
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.complaint import ActionSubmitComplaint
from actions import tickets
from actions.tickets import ActionCheckTicket
from tests.actions.form_turns import action, user_turn

BOOKING = "TR20260001"
PHONE = "13812345678"


async def _new_ticket() -> str:
    slots = {
        "booking_ref": BOOKING,
        "complaint_description": f"导游中途离团，下午的行程全部取消了（{uuid.uuid4().hex[:6]}）",
        "complaint_consent": True,
        "phone": PHONE,
        "complaint_confirming": True,
    }
    tracker = user_turn("确认", "affirm", history=[], slots=slots, sender="s4-ticket-opener")
    dispatcher = CollectingDispatcher()
    await ActionSubmitComplaint().run(dispatcher, tracker, {})
    return re.search(r"C\d{11,}", dispatcher.messages[0]["text"]).group(0)


def _lookup(opening: str, *later: str, number: str) -> Tracker:
    """The ticket form opened by `opening`, verified by the last of `later`: as Rasa records it."""
    events: List[Dict[str, Any]] = [
        action("action_listen"),
        {"event": "user", "text": "你好"},
        {"event": "bot", "text": "您好"},
        action("action_listen"),
        {"event": "user", "text": opening, "parse_data": {"intent": {"name": "check_ticket"}}},
        action("ticket_form"),
        {"event": "active_loop", "name": "ticket_form"},
        {"event": "slot", "name": "ticket_no", "value": number},
    ]
    for text in later[:-1]:
        events += [action("action_listen"), {"event": "user", "text": text}, action("ticket_form")]
    return user_turn(
        later[-1],
        before=events,
        after=[action("ticket_form"), {"event": "active_loop", "name": None}, action("action_check_ticket")],
        slots={"ticket_no": number, "verified_ticket": number, "phone_last4": PHONE[-4:]},
        sender=f"s4-ticket-{uuid.uuid4().hex[:8]}",
    )


ASKING = [
    "我要人工 投诉单{n}一直没人处理",
    "转人工！我的投诉{n}到底怎么样了",
    "投诉单号{n} 查一下进度，然后帮我找真人客服",
    "I want to talk to a human about complaint {n}",
]


@pytest.mark.parametrize("opening", ASKING)
async def test_progress_then_the_handoff_the_traveller_asked_for(client, opening):
    number = await _new_ticket()
    dispatcher = CollectingDispatcher()
    events = await ActionCheckTicket().run(
        dispatcher, _lookup(opening.format(n=number), PHONE[-4:], number=number), {}
    )
    said = [m.get("text") or "" for m in dispatcher.messages]
    assert number in said[0] and "当前状态" in said[0], said  # the progress first
    assert "转接" in said[1] and number in said[1], said  # says it hands over
    assert "人工客服" in said[2] and "紧急" not in said[2], said  # the queue, normal priority
    assert any(e.get("event") == "pause" for e in events), events


@pytest.mark.parametrize(
    "opening",
    ["投诉单{n}处理到哪一步了", "帮我查一下投诉{n}的进度，不用转人工", "my complaint {n}, any news?"],
)
async def test_a_lookup_without_asking_for_a_person_only_shows_the_progress(client, opening):
    number = await _new_ticket()
    dispatcher = CollectingDispatcher()
    events = await ActionCheckTicket().run(
        dispatcher, _lookup(opening.format(n=number), PHONE[-4:], number=number), {}
    )
    assert len(dispatcher.messages) == 1 and number in dispatcher.messages[0]["text"]
    assert not any(e.get("event") == "pause" for e in events)


def test_only_the_lookups_messages_count():
    # A person asked for long before, in another exchange, is not this lookup's request.
    tracker = _lookup("投诉单C20261207001的进度", "1111", number="C20261207001")
    earlier = [{"event": "user", "text": "转人工"}, {"event": "bot", "text": "好的"}]
    tracker.events[:0] = earlier
    assert not tickets.asks_for_human(tracker)
    assert tickets.asks_for_human(_lookup("查投诉单C20261207001", "找人工客服 1111", number="C20261207001"))
