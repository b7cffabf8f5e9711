"""Itinerary answers for a verified traveller: the question asked, from their booking."""

from __future__ import annotations

from typing import Any, Dict, List, Optional

from rasa_sdk import Tracker
from rasa_sdk.events import EventType, FollowupAction, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.forms.base import latest_text
from actions.reader import day_in, itinerary_item
from actions.utils.reading import read
from actions.utils.text import format_itinerary_answer, parse_day_number


def answer_itinerary(
    dispatcher: CollectingDispatcher, tracker: Tracker, booking: Dict[str, Any]
) -> List[EventType]:
    # Slots hold what the question asked, even when verification came in between.
    item = tracker.get_slot("itinerary_item")
    day = parse_day_number(tracker.get_slot("day_number"))
    dispatcher.utter_message(text=format_itinerary_answer(booking, item, day))
    return [SlotSet("itinerary_item", None), SlotSet("day_number", None)]


def own_business(tracker: Tracker) -> Optional[List[EventType]]:
    """A message NLU put out of scope or did not understand that is still about the traveller's
    own trip: it carries one of our ticket or booking numbers ("帮我查一下TR20260002，尾号1111"),
    or asks for a part of the verified itinerary ("几点在哪儿集合", "第10天呢"). The form that
    handles it takes over (verification happens there if it has not yet). None otherwise."""
    if tracker.active_loop:
        return None  # a form is asking: the reader gives it what the message holds
    text = latest_text(tracker)
    reading = read(text)
    if reading.ticket_no:
        return [SlotSet("form_failures", 0.0), FollowupAction("ticket_form")]
    item, day = itinerary_item(text), day_in(text)
    if not (reading.booking_ref or (tracker.get_slot("verified_booking") and (item or day))):
        return None
    events: List[EventType] = [
        SlotSet("verify_purpose", "itinerary"),
        SlotSet("verify_blocked", None),
        SlotSet("form_failures", 0.0),
    ]
    if item:
        events.append(SlotSet("itinerary_item", item))
    if day:
        events.append(SlotSet("day_number", str(day)))
    return events + [FollowupAction("verify_form")]
