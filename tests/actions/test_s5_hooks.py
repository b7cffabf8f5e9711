"""Where two of stranger test 5's rules are called from: the verification's start answers
"出发前10天呢" after the refund table with its line (s5b1-05, read as an itinerary day), and a
message no flow claims that carries a booking number one digit short is told so (s5b5-04)."""

from __future__ import annotations

from typing import List

import pytest
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.router import ActionRouteMessage
from actions.utils.refund import bracket_line
from actions.verification import ActionStartVerification
from tests.actions.form_turns import user_turn
from tests.actions.test_s5_followups_policy import after_policy_answer, said_texts


async def test_the_verification_start_answers_a_days_question_after_the_refund_table():
    dispatcher = CollectingDispatcher()
    events = await ActionStartVerification().run(
        dispatcher, after_policy_answer("policy/refund", "出发前10天呢", "query_itinerary"), {}
    )
    assert said_texts(dispatcher)[0] == bracket_line("domestic", 10) + "\n" + bracket_line("outbound", 10)
    assert [e.get("name") for e in events if e.get("event") == "followup"] == ["action_listen"]


async def test_the_verification_start_is_unchanged_otherwise():
    dispatcher = CollectingDispatcher()
    events = await ActionStartVerification().run(
        dispatcher, after_policy_answer("policy/visa", "第二天住哪", "query_itinerary"), {}
    )
    assert any(e.get("name") == "verify_purpose" for e in events)


def _routed(text: str) -> Tracker:
    return user_turn(text, confidence=0.9, sender="s5-route")


async def _said_to(text: str) -> List[str]:
    dispatcher = CollectingDispatcher()
    await ActionRouteMessage().run(dispatcher, _routed(text), {})
    return [m.get("text") or m.get("response") for m in dispatcher.messages]


@pytest.mark.parametrize("text", ["TR2026001", "我的单号是TR2026001"])
async def test_a_booking_number_one_digit_short_is_named(text):
    said = await _said_to(text)
    assert len(said) == 1 and "少了一位" in said[0], said


async def test_a_message_with_no_number_still_gets_the_question():
    assert await _said_to("嗯") == ["utter_ask_what_for"]


@pytest.mark.parametrize(
    "text, key",
    [
        ("退款", "policy/refund"),
        ("发票？", "policy/invoice"),
        ("请问签证", "policy/visa"),
        ("行李呢", "policy/baggage"),
    ],
)
async def test_a_topic_named_alone_gets_its_policy_answer(text, key):
    # s5b2-03: "退款" alone was "not understood".
    said = await _said_to(text)
    assert said[0] == f"utter_{key}", said


@pytest.mark.parametrize("text", ["退团", "我要退款投诉导游", "导游"])
async def test_other_words_are_no_bare_topic(text):
    assert not any((s or "").startswith("utter_policy/") for s in await _said_to(text))
