"""Actions run against the real ticketing API (started by the session fixture)."""

from __future__ import annotations

import re
from typing import Any, Dict, List, Optional

import pytest
from rasa_sdk import Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.complaint import ActionPrefillComplaint, ActionSubmitComplaint, ValidateComplaintForm, is_descriptive
from actions.handoff import ActionFallback
from actions.itinerary import ActionAnswerItinerary

BOOKING = "TR20260001"
PHONE = "13812345678"


def tracker(slots: Dict[str, Any], text: str = "", intent: str = "inform", events: Optional[List] = None) -> Tracker:
    return Tracker(
        sender_id="unit-test",
        slots=slots,
        latest_message={"text": text, "intent": {"name": intent}, "entities": []},
        events=events or [],
        paused=False,
        followup_action=None,
        active_loop={},
        latest_action_name="action_listen",
    )


async def test_itinerary_answered_after_verification(client):
    dispatcher = CollectingDispatcher()
    events = await ActionAnswerItinerary().run(
        dispatcher, tracker({"booking_ref": BOOKING, "phone_last4": PHONE[-4:], "itinerary_item": "hotel"}), {}
    )
    assert SlotSet("verified_booking", BOOKING) in events
    assert "住宿" in dispatcher.messages[0]["text"]


async def test_itinerary_refused_on_wrong_digits(client):
    dispatcher = CollectingDispatcher()
    events = await ActionAnswerItinerary().run(
        dispatcher, tracker({"booking_ref": BOOKING, "phone_last4": "0000"}), {}
    )
    assert [m["response"] for m in dispatcher.messages] == ["utter_verify_failed"]
    assert events == [SlotSet("booking_ref", None), SlotSet("phone_last4", None)]


async def test_itinerary_stops_guessing_after_five_misses(client):
    # A booking no other test uses: the lock lasts 15 minutes in the shared test API.
    ref, right = "TR20260021", "4455"
    for digits in ("0001", "0002", "0003", "0004", "0005"):
        dispatcher = CollectingDispatcher()
        await ActionAnswerItinerary().run(dispatcher, tracker({"booking_ref": ref, "phone_last4": digits}), {})
        assert [m["response"] for m in dispatcher.messages] == ["utter_verify_failed"]
    dispatcher = CollectingDispatcher()
    events = await ActionAnswerItinerary().run(dispatcher, tracker({"booking_ref": ref, "phone_last4": right}), {})
    assert [m["response"] for m in dispatcher.messages] == ["utter_verify_locked"]
    assert 1 <= dispatcher.messages[0]["minutes"] <= 15
    assert SlotSet("verified_booking", ref) not in events


async def test_itinerary_with_api_down_is_polite(dead_api):
    dispatcher = CollectingDispatcher()
    events = await ActionAnswerItinerary().run(
        dispatcher, tracker({"booking_ref": BOOKING, "phone_last4": PHONE[-4:]}), {}
    )
    assert [m["response"] for m in dispatcher.messages] == ["utter_service_unavailable"]
    assert SlotSet("verified_booking", BOOKING) not in events


def _complaint_slots(description: str) -> Dict[str, Any]:
    return {
        "booking_ref": BOOKING,
        "complaint_description": description,
        "complaint_consent": True,
        "phone": PHONE,
        "complaint_confirming": True,
    }


async def test_submit_creates_one_ticket_even_when_retried(client, api_url):
    import httpx

    slots = _complaint_slots("酒店房间里有蟑螂，空调也坏了，换房被拒绝")
    numbers = []
    for _ in range(2):
        dispatcher = CollectingDispatcher()
        await ActionSubmitComplaint().run(dispatcher, tracker(slots, intent="affirm"), {})
        numbers.append(re.search(r"C\d{11,}", dispatcher.messages[0]["text"]).group(0))
    assert numbers[0] == numbers[1]
    ticket = httpx.get(f"{api_url}/tickets/{numbers[0]}", headers={"Authorization": "Bearer dev-service-token"})
    assert ticket.json()["description"] == slots["complaint_description"]


async def test_submit_with_api_down_keeps_everything(dead_api):
    dispatcher = CollectingDispatcher()
    events = await ActionSubmitComplaint().run(
        dispatcher, tracker(_complaint_slots("行李丢了三天还没找到"), intent="affirm"), {}
    )
    assert [m["response"] for m in dispatcher.messages] == ["utter_submit_failed"]
    assert events == [SlotSet("complaint_confirming", True)]  # nothing cleared: "确认" retries with the same data


async def test_invalid_phone_is_reasked_and_second_failure_offers_human():
    form = ValidateComplaintForm()
    dispatcher = CollectingDispatcher()
    first = form.validate_phone("12345", dispatcher, tracker({"form_failures": 0.0}, text="12345"), {})
    assert first == {"phone": None, "form_failures": 1.0}
    second = form.validate_phone("abc", dispatcher, tracker({"form_failures": 1.0}, text="abc"), {})
    assert second == {"phone": None, "form_failures": 2.0}
    assert [m["response"] for m in dispatcher.messages] == [
        "utter_invalid_phone", "utter_invalid_phone", "utter_offer_human"
    ]


async def test_prefill_reuses_a_descriptive_first_message():
    dispatcher = CollectingDispatcher()
    text = "导游强迫我们去购物店，不买就不让上车"
    events = await ActionPrefillComplaint().run(dispatcher, tracker({}, text=text, intent="complain"), {})
    assert SlotSet("complaint_description", text) in events
    events = await ActionPrefillComplaint().run(dispatcher, tracker({}, text="我要投诉", intent="complain"), {})
    assert not any(e.get("name") == "complaint_description" for e in events)


@pytest.mark.parametrize("text, expected", [("我要投诉", False), ("我想投诉一下你们", False), ("房间很脏有股霉味", True)])
def test_is_descriptive(text, expected):
    assert is_descriptive(text) is expected


async def test_second_fallback_in_a_row_offers_a_human():
    user = lambda name: {"event": "user", "parse_data": {"intent": {"name": name}}}  # noqa: E731
    dispatcher = CollectingDispatcher()
    await ActionFallback().run(dispatcher, tracker({}, events=[user("greet"), user("nlu_fallback")]), {})
    await ActionFallback().run(dispatcher, tracker({}, events=[user("nlu_fallback"), user("nlu_fallback")]), {})
    assert [m["response"] for m in dispatcher.messages] == ["utter_default", "utter_offer_human"]


async def test_photo_during_the_form_is_kept_as_evidence():
    t = tracker({"requested_slot": "complaint_when_where", "complaint_when_where": "[图片]"}, text="[图片]")
    t.latest_message["metadata"] = {"wechat_media": {"type": "image", "media_id": "MEDIA123", "pic_url": "http://x/p.jpg"}}
    dispatcher = CollectingDispatcher()
    events = await ValidateComplaintForm().run(dispatcher, t, {})
    assert SlotSet("complaint_evidence", ["MEDIA123"]) in events
    assert SlotSet("complaint_when_where", None) in events
    assert [m["response"] for m in dispatcher.messages] == ["utter_evidence_received"]
