"""Inside the complaint form, a message that only asks to cancel the trip ("算了，这个团我也不想去了，
直接退团吧") is no answer to the question: the complaint is kept and the cancellation starts."""

from __future__ import annotations

from typing import Any, Dict

import pytest
from rasa_sdk import Tracker
from rasa_sdk.events import ActiveLoop, FollowupAction, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.cancel import ActionCancelForm
from actions.complaint import ValidateComplaintForm
from actions.utils.reading import trip_cancellation_only
from tests.actions.form_turns import COMPLAINT_DOMAIN as DOMAIN
from tests.actions.form_turns import action, slot_events, user_turn

TEXT = "算了，这个团我也不想去了，直接退团吧"


def _tracker(text: str, read: Dict[str, Any], intent: str, after=(), loop=True, **slots: Any) -> Tracker:
    return user_turn(
        text,
        intent,
        before=[*slot_events({"booking_ref": "TR20260006"}), action("complaint_form")],
        read=read,
        after=after,
        slots={"booking_ref": "TR20260006", "form_failures": 0.0, **slots},
        loop="complaint_form" if loop else None,
    )


@pytest.mark.parametrize(
    "text, cancels",
    [
        (TEXT, True),
        ("我不想去了，帮我退团", True),
        ("取消订单吧", True),
        ("I want to cancel my trip", True),
        ("算了算了，这个团我们不去了，帮我把团退掉", True),
        ("把订单取消了吧", True),
        ("导游太差了，我要退团", False),  # a story beside it: the complaint keeps it
        ("导游取消了行程", False),
        ("退团费还没退给我", False),
        ("把多收的钱退给我们", False),
    ],
)
def test_a_trip_cancellation_alone_is_told_from_a_story(text, cancels):
    assert trip_cancellation_only(text) is cancels


async def test_the_form_stops_and_hands_over_to_the_cancellation():
    dispatcher = CollectingDispatcher()
    turn = _tracker(
        TEXT, {"complaint_description": TEXT}, "request_cancellation", requested_slot="complaint_description"
    )
    events = await ValidateComplaintForm().run(dispatcher, turn, DOMAIN)
    assert SlotSet("complaint_description", None) in events
    assert ActiveLoop(None) in events and FollowupAction("action_cancel_form") in events


async def test_a_story_at_the_description_question_is_still_the_story():
    dispatcher = CollectingDispatcher()
    story = "导游太差了，一路骂人，我要退团"
    turn = _tracker(
        story, {"complaint_description": story}, "complain", requested_slot="complaint_description"
    )
    events = await ValidateComplaintForm().run(dispatcher, turn, DOMAIN)
    assert SlotSet("complaint_description", story) in events
    assert FollowupAction("action_cancel_form") not in events


async def test_after_the_form_the_complaint_is_kept_and_the_cancellation_starts():
    dispatcher = CollectingDispatcher()
    after = [
        {"event": "action", "name": "complaint_form"},
        {"event": "slot", "name": "complaint_description", "value": None},
        {"event": "active_loop", "name": None},
    ]
    turn = _tracker(TEXT, {}, "request_cancellation", after=after, loop=False, requested_slot=None)
    events = await ActionCancelForm().run(dispatcher, turn, DOMAIN)
    responses = [m.get("response") for m in dispatcher.messages]
    assert responses[:2] == ["utter_complaint_kept", "utter_cancellation_start"]
    assert SlotSet("verify_purpose", "cancellation") in events
    assert FollowupAction("verify_form") in events
    # What the complaint held stays for later.
    assert not any(e.get("name") == "booking_ref" for e in events)


async def test_the_rule_path_is_unchanged():
    # Read as request_cancellation and refused by the form: the rules start the verification.
    dispatcher = CollectingDispatcher()
    turn = _tracker(TEXT, {}, "request_cancellation", requested_slot="complaint_description")
    events = await ActionCancelForm().run(dispatcher, turn, DOMAIN)
    assert [m.get("response") for m in dispatcher.messages] == ["utter_complaint_kept"]
    assert not any(e.get("event") == "followup" for e in events)
