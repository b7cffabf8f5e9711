"""Which flow a message starts (stranger 6): an itinerary request is never a complaint, and a
complaint is never a flight lookup.

I14: "我的订单号TR2026004 想查行程" (7 digits) opened a complaint; "我不是投诉啊 我要查行程" inside it
was taken as the time and place. I15: "我要查行程 手机号就是138…" opened a complaint. C22: "投诉
订单TR20260013 … 要求补偿" got the phone-digits question and the flight, "我是要投诉！航班改时间没提前
通知" the complaint process. The lead's probe: a complaint beside a meeting-time question lost the
complaint.
"""

from __future__ import annotations

from typing import Any, Dict, List

import pytest
from rasa_sdk.executor import CollectingDispatcher

from actions.complaint import ActionPrefillComplaint
from actions.router import route
from actions.scope import ActionOutOfScope
from actions.verification import ActionStartVerification
from tests.actions.form_turns import COMPLAINT_DOMAIN, DOMAIN, action, slots, user_turn


def _followups(events: List[Dict[str, Any]]) -> List[str]:
    return [e.get("name") for e in events if e.get("event") == "followup"]


def _said(dispatcher: CollectingDispatcher) -> List[str]:
    return [m.get("response") or m.get("text") or "" for m in dispatcher.messages]


# --- I14, I15: an itinerary request read as a complaint -------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "我的订单号TR2026004 想查行程",
        "TR2026004 我想查下行程",
        "我要查行程 手机号就是13812345678 名字张伟",
        "帮我查一下明天住哪个酒店",
        "我不是要投诉 就想看看行程安排",
    ],
)
async def test_an_itinerary_request_read_as_a_complaint_verifies_for_the_trip(text):
    dispatcher = CollectingDispatcher()
    events = await ActionPrefillComplaint().run(dispatcher, user_turn(text, "complain"), COMPLAINT_DOMAIN)
    assert _followups(events) == ["verify_form"], events
    assert slots(events)["verify_purpose"] == "itinerary"
    assert "utter_complaint_start" not in _said(dispatcher)


@pytest.mark.parametrize(
    "text, intent",
    [
        ("我的订单号TR2026004 想查行程", "inform"),
        ("我要查行程 手机号就是13812345678 名字张伟", "nlu_fallback"),
        ("TR2026004 帮我看下行程安排", "inform"),
        ("我想查一下明天的集合时间 我叫张伟", "inform"),
    ],
)
def test_an_itinerary_request_no_flow_claimed_verifies_for_the_trip(text, intent):
    dispatcher = CollectingDispatcher()
    events = route(dispatcher, user_turn(text, intent))
    assert _followups(events or []) == ["verify_form"], events
    assert "utter_complaint_start" not in _said(dispatcher)


@pytest.mark.parametrize(
    "text", ["导游态度太差了 我要投诉", "行程安排太差了，我要投诉", "导游把行程改了也不说一声 太过分了"]
)
async def test_a_real_complaint_still_opens_the_form(text):
    dispatcher = CollectingDispatcher()
    events = await ActionPrefillComplaint().run(dispatcher, user_turn(text, "complain"), COMPLAINT_DOMAIN)
    assert "verify_form" not in _followups(events)
    assert "utter_complaint_start" in _said(dispatcher)


@pytest.mark.parametrize(
    "text", ["我不是投诉啊 我要查行程", "没想投诉，就是想看看明天的行程", "我并不是要投诉 我想查下航班"]
)
async def test_not_complaining_inside_the_form_leaves_it_for_the_question(text):
    tracker = user_turn(
        text,
        "out_of_scope",
        loop="complaint_form",
        slots={"requested_slot": "complaint_when_where", "complaint_description": "导游迟到"},
        before=[action("complaint_form")],
    )
    dispatcher = CollectingDispatcher()
    events = await ActionOutOfScope().run(dispatcher, tracker, COMPLAINT_DOMAIN)
    assert "complaint_when_where" not in slots(events), events
    assert _followups(events) == ["verify_form"], events
    assert any(e.get("event") == "active_loop" and e.get("name") is None for e in events)


# --- C22 and the lead's probe: a complaint read as a question about the trip ----------------------


@pytest.mark.parametrize(
    "text",
    [
        "投诉 订单TR20260013 我明天出发 但是今天才通知我航班改了时间 改到晚上了 第一天行程全泡汤 要求补偿",
        "我要投诉，航班改时间没提前通知 TR20260013",
        "航班时间被改了也不通知 太过分了 要求赔偿 TR20260013",
        "投诉：酒店跟行程单上写的不一样，TR20260013",
    ],
)
async def test_a_complaint_read_as_a_flight_question_opens_the_complaint(text):
    dispatcher = CollectingDispatcher()
    events = await ActionStartVerification().run(dispatcher, user_turn(text, "query_itinerary"), DOMAIN)
    assert _followups(events) == ["complaint_form"], events
    assert "utter_complaint_start" in _said(dispatcher)


@pytest.mark.parametrize(
    "text", ["我是要投诉！航班改时间没提前通知", "我要投诉 导游全程推销", "投诉：酒店跟合同写的不一样"]
)
async def test_a_complaint_read_as_the_complaint_process_opens_the_form(text):
    from actions.questions import answer_policy_question

    tracker = user_turn(text, "policy", confidence=0.99, key="policy/complaint_process", message_id="m1")
    dispatcher = CollectingDispatcher()
    events = await answer_policy_question(dispatcher, tracker)
    assert _followups(events) == ["complaint_form"], events
    assert "utter_policy/complaint_process" not in _said(dispatcher)


@pytest.mark.parametrize("text", ["投诉流程是怎样的", "我要投诉，一般多久处理？"])
async def test_a_question_about_the_process_gets_the_process(text):
    from actions.questions import answer_policy_question

    tracker = user_turn(text, "policy", confidence=0.99, key="policy/complaint_process", message_id="m1")
    dispatcher = CollectingDispatcher()
    await answer_policy_question(dispatcher, tracker)
    assert "utter_policy/complaint_process" in _said(dispatcher)


@pytest.mark.parametrize("text", ["TR20260013 航班几点起飞", "我们的航班改时间了吗"])
async def test_a_flight_question_still_verifies(text):
    dispatcher = CollectingDispatcher()
    events = await ActionStartVerification().run(dispatcher, user_turn(text, "query_itinerary"), DOMAIN)
    assert "complaint_form" not in _followups(events)
    assert slots(events)["verify_purpose"] == "itinerary"


async def test_only_the_question_beside_a_complaint_is_asked_of_the_booking():
    # "导游" is what is complained of, not an item asked for: the guide's phone was given too.
    text = "我要投诉导游态度差，另外想问下明天几点集合？订单TR20260001 尾号5678"
    clause = {"text": "想问下明天几点集合?", "intent": "query_itinerary", "confidence": 0.95}
    tracker = user_turn(text, "query_itinerary", clauses=[clause], read={"itinerary_item": "guide,meeting"})
    events = await ActionStartVerification().run(CollectingDispatcher(), tracker, DOMAIN)
    assert slots(events)["itinerary_item"] == "meeting" and slots(events)["day_number"] == "明天"
    assert "complaint_form" not in _followups(events)


ASKED_AND_COMPLAINED = "我要投诉导游态度很差，讲解敷衍，另外想问下明天几点集合？订单TR20260001 尾号5678"
MEETING_CLAUSE = {"text": "另外想问下明天几点集合？", "intent": "query_itinerary", "confidence": 0.95}


async def test_a_complaint_beside_a_question_is_started_after_the_answer(client):
    from actions.clients.ticketing import get_client
    from actions.verification import ActionVerified

    grant = (await get_client().verify_booking("TR20260001", "5678", "unit-test"))["grant"]
    history = [
        action("action_listen"),
        {
            "event": "user",
            "text": ASKED_AND_COMPLAINED,
            "parse_data": {"intent": {"name": "query_itinerary"}, "clauses": [MEETING_CLAUSE]},
        },
        action("action_start_verification"),
        action("verify_form"),
    ]
    tracker = user_turn(
        ASKED_AND_COMPLAINED,
        "query_itinerary",
        clauses=[MEETING_CLAUSE],
        history=history,
        slots={
            "booking_ref": "TR20260001",
            "verified_booking": "TR20260001",
            "verify_grant": grant,
            "verify_purpose": "itinerary",
            "itinerary_item": "meeting",
            "day_number": "明天",
        },
    )
    dispatcher = CollectingDispatcher()
    events = await ActionVerified().run(dispatcher, tracker, DOMAIN)
    said = _said(dispatcher)
    assert any("集合" in text for text in said), said  # the question is answered
    assert "utter_complaint_start" in said and _followups(events) == ["complaint_form"], events
    assert "讲解敷衍" in (slots(events).get("complaint_description") or ""), slots(events)
    assert "集合" not in slots(events)["complaint_description"]  # the question is no part of it


@pytest.mark.parametrize(
    "text, asks",
    [
        ("我想反映个问题 导游讲解很敷衍 基本不讲 就让我们自己逛", False),  # s6 C21: 问题 is no asking
        ("反映一下情况，酒店房间有霉味", False),
        ("我想问导游电话多少", True),
        ("想查行程", True),
    ],
)
def test_reporting_a_problem_is_a_complaint_not_a_question_about_the_trip(text, asks):
    from actions.router import asks_for_the_trip, wants_to_complain

    assert asks_for_the_trip(text) is asks
    if not asks:
        assert wants_to_complain(text)


@pytest.mark.parametrize(
    "text, question",
    [
        ("我不是投诉啊 我要查行程", "要查行程"),  # s6 I14, inside the complaint form
        ("不是投诉 是想问退款怎么算", "是想问退款怎么算"),
        ("我不是投诉，导游太差了", None),  # still a complaint
    ],
)
def test_not_complaining_inside_the_form_turns_to_the_question(text, question):
    from actions.forms.change_of_mind import other_question

    assert other_question(text) == question


@pytest.mark.parametrize(
    "text",
    [
        # suite oc-skipped-cycling-angry: a rhetorical "什么" and a part of the trip ask nothing
        "你们这是什么破团啊！！说好的洱海骑行直接取消了，导游说时间不够，我们就是冲这个才报的名",
        "这算什么行程？景点一个没去成，全在车上",
    ],
)
async def test_a_sure_complaint_with_a_rhetorical_question_opens_the_form(text):
    dispatcher = CollectingDispatcher()
    turn = user_turn(text, "complain", confidence=0.99)
    events = await ActionPrefillComplaint().run(dispatcher, turn, COMPLAINT_DOMAIN)
    assert "verify_form" not in _followups(events), events
    assert "utter_complaint_start" in _said(dispatcher)
