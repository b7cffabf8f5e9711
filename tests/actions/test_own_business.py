"""Messages NLU put out of scope that are still about the traveller's own trip."""

from __future__ import annotations

from typing import Any, Dict, Optional

import pytest
from rasa_sdk import Tracker

from actions.itinerary import own_business


def tracker(text: str, slots: Optional[Dict[str, Any]] = None, loop: Optional[str] = None) -> Tracker:
    return Tracker(
        sender_id="unit-test",
        slots=slots or {},
        latest_message={"text": text, "intent": {"name": "out_of_scope"}, "entities": []},
        events=[],
        paused=False,
        followup_action=None,
        active_loop={"name": loop} if loop else {},
        latest_action_name="action_listen",
    )


def followup(events) -> Optional[str]:
    return next((e["name"] for e in events if e.get("event") == "followup"), None)


def slot(events, name):
    return next((e["value"] for e in events if e.get("event") == "slot" and e["name"] == name), None)


def test_a_booking_number_starts_verification_for_the_itinerary():
    events = own_business(tracker("帮我查一下TR20260002，尾号1111"))
    assert followup(events) == "verify_form" and slot(events, "verify_purpose") == "itinerary"


def test_a_ticket_number_goes_to_the_ticket_form():
    assert followup(own_business(tracker("C20261201001 怎么样了"))) == "ticket_form"


@pytest.mark.parametrize("text, item, day", [("几点在哪儿集合", "meeting", None), ("第10天呢", None, "10")])
def test_a_question_about_the_verified_trip_is_answered_from_it(text, item, day):
    events = own_business(tracker(text, {"verified_booking": "TR20260004"}))
    assert followup(events) == "verify_form"
    assert slot(events, "itinerary_item") == item and slot(events, "day_number") == day


@pytest.mark.parametrize(
    "text, slots, loop",
    [
        ("几点在哪儿集合", {}, None),  # nobody verified: an ordinary out-of-scope question
        ("红烧肉怎么做", {"verified_booking": "TR20260004"}, None),
        ("帮我查一下TR20260002", {}, "complaint_form"),  # a form is asking: the reader takes the number
    ],
)
def test_everything_else_stays_where_it_was(text, slots, loop):
    assert own_business(tracker(text, slots, loop)) is None
