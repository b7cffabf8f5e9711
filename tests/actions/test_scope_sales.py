"""Booking something new (a tour, a flight, a hotel, a train ticket) is the sales team's: the
off-topic answer gives the sales line. Phrasings here are deliberately not the code's examples."""

from __future__ import annotations

import pytest
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.scope import ActionOutOfScope, is_new_booking
from actions.settings import get_settings


def tracker(text: str) -> Tracker:
    return Tracker(
        sender_id="unit-test",
        slots={},
        latest_message={"text": text, "intent": {"name": "out_of_scope"}, "entities": []},
        events=[{"event": "user", "text": text, "parse_data": {"intent": {"name": "out_of_scope"}}}],
        paused=False,
        followup_action=None,
        active_loop={},
        latest_action_name="action_listen",
    )


@pytest.mark.parametrize(
    "text",
    [
        "那你们这边能订飞机票不",
        "可以帮忙订间宾馆吗",
        "能不能预约个民宿",
        "我想再买个去云南的团",
        "給我訂兩張高鐵票",  # traditional characters
        "有办法订下周去成都的航班吗",
        "Can you book me a hotel room?",
        "能帮我购买动车票吗",
        "可以帮忙订辆商务车吗",
    ],
)
async def test_booking_something_new_gets_the_sales_line(text):
    assert is_new_booking(text), text
    dispatcher = CollectingDispatcher()
    await ActionOutOfScope().run(dispatcher, tracker(text), {})
    said = dispatcher.messages[0]
    assert said.get("response") == "utter_out_of_scope_booking", (text, said)
    assert said.get("sales_line") == get_settings().sales_line


@pytest.mark.parametrize(
    "text",
    [
        "我订的酒店附近有什么好吃的",  # their own booking: not a new one
        "订单号忘了怎么办",
        "买的门票能退吗",
        "你们酒店推荐哪家",  # a recommendation, not a booking
        "今天天气怎么样",
        "机票改签要多少钱",
        "Booking TR20260001 hotel name?",
        "帮我改订明天的机票",  # a change: the change policy
        "我想退订那家酒店",
        "导游说已经订好酒店了",
        "导游没订接机，我们自己打车",
    ],
)
def test_their_own_booking_or_other_questions_are_not_a_new_booking(text):
    assert not is_new_booking(text), text
