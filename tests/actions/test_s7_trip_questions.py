"""Questions about the verified trip that the NLU reads as a policy or as "what can you do"
(replay of stranger 6): "要提前多久到" after the meeting point got the invoice rules (policy/invoice,
sure), "什么时候能落地" the list of services. The booking answers them (questions.to_the_trip);
a delay question that asks when the flight arrives keeps the delay policy.
"""

from __future__ import annotations

from typing import Any, Dict, List, Optional

import pytest
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.policy import ActionAnswerPolicy
from actions.scope import ActionCapabilities
from tests.actions.form_turns import user_turn


def turn(text: str, intent: str, key: Optional[str] = None, *, verified: bool = True) -> Tracker:
    slots = {"form_failures": 0.0}
    if verified:
        slots.update(verified_booking="TR20260001", booking_ref="TR20260001")
    return user_turn(text, intent, confidence=0.9, key=key, key_confidence=1.0, slots=slots, sender="unit-s7")


def asked_item(events: Optional[List[Dict[str, Any]]]) -> Optional[str]:
    """The itinerary item the verification form is sent to answer (None: not sent there)."""
    events = events or []
    if [e["name"] for e in events if e.get("event") == "followup"] != ["verify_form"]:
        return None
    items = [e["value"] for e in events if e.get("event") == "slot" and e.get("name") == "itinerary_item"]
    return items[-1] if items else "(none)"


@pytest.mark.parametrize("text", ["要提前多久到", "需要提前多长时间到", "几点出门合适"])
async def test_when_to_be_there_read_as_the_invoice_rules_is_the_meeting(text):
    dispatcher = CollectingDispatcher()
    events = await ActionAnswerPolicy().run(dispatcher, turn(text, "policy", "policy/invoice"), {})
    assert asked_item(events) == "meeting"
    assert dispatcher.messages == []  # no invoice rules first


@pytest.mark.parametrize("text, item", [("什么时候能落地", "flight"), ("几点能回到广州", "return_flight")])
async def test_landing_read_as_what_can_you_do_is_the_flight(text, item):
    dispatcher = CollectingDispatcher()
    events = await ActionCapabilities().run(dispatcher, turn(text, "ask_capabilities"), {})
    assert asked_item(events) == item
    assert dispatcher.messages == []


async def test_what_can_you_do_is_still_the_list_for_a_verified_traveller():
    dispatcher = CollectingDispatcher()
    await ActionCapabilities().run(dispatcher, turn("你能做什么", "ask_capabilities"), {})
    assert [m.get("response") for m in dispatcher.messages][:1] == ["utter_capabilities"]


async def test_a_delayed_flight_asking_when_it_arrives_keeps_the_delay_policy():
    dispatcher = CollectingDispatcher()
    events = await ActionAnswerPolicy().run(
        dispatcher, turn("航班延误了什么时候能到", "policy", "policy/delay"), {}
    )
    assert asked_item(events) is None
    assert "utter_policy/delay" in [m.get("response") for m in dispatcher.messages]


async def test_before_verification_the_landing_question_is_not_taken_for_a_trip():
    dispatcher = CollectingDispatcher()
    await ActionCapabilities().run(dispatcher, turn("什么时候能落地", "ask_capabilities", verified=False), {})
    assert [m.get("response") for m in dispatcher.messages][:1] == ["utter_capabilities"]
