"""A correction outside a form that gives another booking number means "use this one": the new
booking is verified and the question asked before is answered again; never a complaint (I17)."""

from __future__ import annotations

import asyncio
from typing import Any, Dict, List, Optional

import pytest
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.router import ActionRouteMessage
from tests.actions.form_turns import user_turn

ASKED_BEFORE: List[Dict[str, Any]] = [
    {"event": "user", "text": "第三天住哪，订单TR20260018，尾号7788"},
    {"event": "slot", "name": "booking_ref", "value": "TR20260018"},
    {"event": "slot", "name": "itinerary_item", "value": "hotel"},
    {"event": "slot", "name": "day_number", "value": "3"},
    {"event": "slot", "name": "verify_purpose", "value": "itinerary"},
    {"event": "action", "name": "action_verified"},
    {"event": "slot", "name": "verify_purpose", "value": None},
    {"event": "slot", "name": "itinerary_item", "value": None},
    {"event": "slot", "name": "day_number", "value": None},
    {"event": "action", "name": "action_listen"},
]


def _asked(text: str, intent: str, history: List[Dict[str, Any]], loop: Optional[str] = None) -> Tracker:
    """`text` after `history`, with booking TR20260018 verified."""
    slots = {"booking_ref": "TR20260018", "verified_booking": "TR20260018"}
    return user_turn(text, intent, before=history, listen=False, slots=slots, loop=loop, sender="s3b")


def run(text: str, intent: str = "correct", loop: Optional[str] = None, history=None):
    tracker = _asked(text, intent, ASKED_BEFORE if history is None else history, loop)
    dispatcher = CollectingDispatcher()
    events = asyncio.run(ActionRouteMessage().run(dispatcher, tracker, {}))
    return dispatcher, events


def slots(events) -> Dict[str, Any]:
    return {e["name"]: e["value"] for e in events if e.get("event") == "slot"}


@pytest.mark.parametrize(
    "text,intent",
    [
        ("哦不对，订单号写错了，是TR20260019", "correct"),
        ("订单号打错了 应该是TR20260019", "correct"),
        ("不是这个单，是TR20260019", "inform"),
        ("sorry wrong number, it's TR20260019", "correct"),
        ("订单号输错了，应该是20260019", "inform"),
    ],
)
def test_a_corrected_booking_number_is_verified_and_the_question_answered_again(text, intent):
    dispatcher, events = run(text, intent)
    responses = [m.get("response") for m in dispatcher.messages]
    assert "utter_complaint_start" not in responses
    assert events[-1] == {"event": "followup", "name": "verify_form", "timestamp": None}
    got = slots(events)
    assert got["booking_ref"] == "TR20260019"
    assert got["phone_last4"] is None  # the digits of the old number are asked again for the new one
    assert got["verify_purpose"] == "itinerary"
    assert (got["itinerary_item"], got["day_number"]) == ("hotel", "3")


def test_digits_given_with_the_corrected_number_are_kept():
    _, events = run("不是这个单，是TR20260019，尾号1234", "inform")
    assert "phone_last4" not in slots(events)  # the reader set them; the form checks them


def test_an_overview_asked_before_is_an_overview_again():
    history = [
        {"event": "user", "text": "查行程，订单TR20260018，尾号7788"},
        {"event": "action", "name": "action_verified"},
    ]
    _, events = run("哦不对，订单号写错了，是TR20260019", history=history)
    got = slots(events)
    assert got["itinerary_item"] is None and got["day_number"] is None
    assert events[-1]["name"] == "verify_form"


def test_a_correction_that_also_tells_a_story_is_a_complaint():
    dispatcher, events = run("订单号写错了，是TR20260019，导游一路上态度很差还骂人", "correct")
    assert dispatcher.messages[0]["response"] == "utter_complaint_start"
    assert events[-1]["name"] == "complaint_form"


def test_a_correction_without_a_number_is_still_out_of_context():
    dispatcher, events = run("哦不对，写错了", "correct")
    assert events == []
    assert [m["response"] for m in dispatcher.messages] == ["utter_correction_out_of_context"]


def test_the_core_fallback_routes_a_corrected_number_too():
    """'不是这个单，是TR…' read as `deny` fits no rule: Rasa's core fallback runs."""
    from actions.handoff import ActionDefaultFallback

    text = "不是这个单，是TR20260019"
    tracker = _asked(text, "deny", ASKED_BEFORE)
    dispatcher = CollectingDispatcher()
    events = asyncio.run(ActionDefaultFallback().run(dispatcher, tracker, {}))
    assert events[-1] == {"event": "followup", "name": "verify_form", "timestamp": None}
    assert slots(events)["booking_ref"] == "TR20260019"
    assert not any(e.get("event") == "rewind" for e in events)
