"""A complaint without a booking number ("我没有订单号，是朋友帮我报的名"): a way on (name and phone
find it, or a human), the number is not asked again, and the words stay out of the story."""

from __future__ import annotations

from typing import Any, Dict, List

import pytest
from rasa_sdk import Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.complaint import NO_BOOKING_SHOWN, ValidateComplaintForm, show_summary
from actions.utils.reading import says_no_booking
from tests.actions.form_turns import COMPLAINT_DOMAIN, action, user_turn


def _tracker(history: List[str], given: Dict[str, Any], held: Dict[str, Any]) -> Tracker:
    before: List[Dict[str, Any]] = [action("action_prefill_complaint")]
    for text in history[:-1]:
        before += [action("complaint_form"), action("action_listen"), {"event": "user", "text": text}]
    before.append(action("complaint_form"))
    return user_turn(
        history[-1], before=before, read=given, slots={"form_failures": 0.0, **held}, loop="complaint_form"
    )


def _texts(dispatcher: CollectingDispatcher) -> str:
    return "\n".join(m.get("text") or m.get("response") or "" for m in dispatcher.messages)


@pytest.mark.parametrize(
    "text",
    ["我没有订单号，是朋友帮我报的名", "订单号忘了", "我不知道订单号", "是公司统一报的团", "找不到我的订单"],
)
def test_ways_of_saying_there_is_no_booking_number(text):
    assert says_no_booking(text)


async def test_no_booking_number_offers_a_way_on_and_asks_the_story_next():
    dispatcher = CollectingDispatcher()
    text = "我没有订单号，是朋友帮我报的名"
    turn = _tracker([text], {}, {"requested_slot": "booking_ref"})
    events = await ValidateComplaintForm().run(dispatcher, turn, COMPLAINT_DOMAIN)
    assert "姓名和手机号" in _texts(dispatcher) and "转人工" in _texts(dispatcher)
    assert SlotSet("requested_slot", "complaint_description") in events


async def test_the_next_answer_does_not_bring_the_number_question_back():
    dispatcher = CollectingDispatcher()
    history = ["我要投诉，我没有订单号，是朋友帮我报的名", "导游在车上抽烟，呛得孩子一直咳嗽"]
    turn = _tracker(
        history, {"complaint_description": history[-1]}, {"requested_slot": "complaint_description"}
    )
    events = await ValidateComplaintForm().run(dispatcher, turn, COMPLAINT_DOMAIN)
    assert SlotSet("complaint_description", history[-1]) in events
    assert SlotSet("requested_slot", "complaint_when_where") in events
    assert "姓名和手机号" not in _texts(dispatcher)  # the way on is said once


async def test_saying_it_again_is_no_more_story():
    dispatcher = CollectingDispatcher()
    story = "导游在车上抽烟，呛得孩子一直咳嗽"
    history = ["我要投诉，我没有订单号", story, "我真的没有订单号"]
    turn = _tracker(
        history,
        {"complaint_description": f"{story}\n我真的没有订单号"},
        {"complaint_description": story, "requested_slot": "complaint_when_where"},
    )
    turn.events.insert(1, {"event": "slot", "name": "complaint_description", "value": story})
    events = await ValidateComplaintForm().run(dispatcher, turn, COMPLAINT_DOMAIN)
    assert SlotSet("complaint_description", story) in events
    assert "情况描述" not in _texts(dispatcher)  # nothing new was noted


async def test_the_summary_says_the_number_is_missing():
    dispatcher = CollectingDispatcher()
    await show_summary(dispatcher, {"complaint_description": "导游在车上抽烟", "phone": "13812345678"})
    assert dispatcher.messages[0]["booking_ref"] == NO_BOOKING_SHOWN


async def test_the_consent_notice_is_shown_whole_the_first_time():
    # Without a booking number the form sets requested_slot before the question is asked: the
    # notice is still the whole one (not the one-line "please answer yes or no").
    from actions.complaint import ActionAskComplaintConsent

    dispatcher = CollectingDispatcher()
    turn = _tracker(["我没有订单号", "要求道歉"], {}, {"requested_slot": "complaint_request"})
    turn.events.append({"event": "slot", "name": "requested_slot", "value": "complaint_consent"})
    turn.slots["requested_slot"] = "complaint_consent"
    await ActionAskComplaintConsent().run(dispatcher, turn, COMPLAINT_DOMAIN)
    assert [m["response"] for m in dispatcher.messages] == ["utter_ask_complaint_consent"]
