"""A cancellation being verified that the traveller says is only a question so far (stranger 4:
s4b6-13, "我不想去日本了 订单TR20260004", then at the phone question "其实我就是想问问 还没决定" got
the generic fallback and the phone question again): nothing is registered, and the verification
goes on for the amount (verify_purpose refund), whatever the NLU read the message as.
"""

from __future__ import annotations

from typing import Any, Dict, List

import pytest
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.policy import ActionAnswerPolicy
from actions.refunds import AMOUNT_ONLY, keep_to_the_amount, verification_purpose
from actions.scope import ActionOutOfScope
from tests.actions.form_turns import turn


def verifying(text: str, intent: str, purpose: str = "cancellation", key: str = "") -> Tracker:
    held = {"booking_ref": "TR20260004", "verify_purpose": purpose}
    return turn(text, {}, held, intent=intent, confidence=0.9, key=key, sender="unit-just-asking")


def purposes(events: List[Dict[str, Any]]) -> List[Any]:
    return [e["value"] for e in events if e.get("event") == "slot" and e.get("name") == "verify_purpose"]


JUST_ASKING = ["其实我就是想问问 还没决定", "我只是先了解一下", "还没想好，先算算", "我还在考虑，随便问问"]


@pytest.mark.parametrize("text", JUST_ASKING)
@pytest.mark.parametrize("intent", ["out_of_scope", "nlu_fallback", "request_cancellation", "inform"])
def test_only_asking_during_a_cancellation_verifies_for_the_amount(text, intent):
    assert verification_purpose(verifying(text, intent)) == "refund"
    dispatcher = CollectingDispatcher()
    assert purposes(keep_to_the_amount(dispatcher, verifying(text, intent)) or []) == ["refund"]
    assert [m["text"] for m in dispatcher.messages] == [AMOUNT_ONLY]


@pytest.mark.parametrize("text", JUST_ASKING)
async def test_read_as_off_topic_it_says_nothing_is_registered(text):
    dispatcher = CollectingDispatcher()
    events = await ActionOutOfScope().run(dispatcher, verifying(text, "out_of_scope"), {})
    assert purposes(events) == ["refund"]
    assert [m.get("text") for m in dispatcher.messages] == [AMOUNT_ONLY]


async def test_read_as_a_refund_question_the_amount_comes_once_verified():
    dispatcher = CollectingDispatcher()
    t = verifying("我就是问问，退团扣多少", "policy", key="policy/refund")
    events = await ActionAnswerPolicy().run(dispatcher, t, {})
    assert purposes(events) == ["refund"]
    assert [m.get("text") for m in dispatcher.messages] == [AMOUNT_ONLY]


@pytest.mark.parametrize("text", ["1234", "我要退团", "手机号是138开头的", "今天天气怎么样"])
def test_anything_else_leaves_the_cancellation_as_it_is(text):
    assert keep_to_the_amount(CollectingDispatcher(), verifying(text, "out_of_scope")) is None


def test_only_a_cancellation_is_turned_into_the_amount():
    t = verifying("我只是先了解一下", "out_of_scope", purpose="itinerary")
    assert keep_to_the_amount(CollectingDispatcher(), t) is None
