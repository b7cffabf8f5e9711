"""Itinerary answers for a verified traveller: the question asked, from their booking."""

from __future__ import annotations

from typing import Any, Dict, List

from rasa_sdk import Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.utils.text import format_itinerary_answer, parse_day_number


def answer_itinerary(dispatcher: CollectingDispatcher, tracker: Tracker, booking: Dict[str, Any]) -> List[EventType]:
    # Slots hold what the question asked, even when verification came in between.
    item = tracker.get_slot("itinerary_item")
    day = parse_day_number(tracker.get_slot("day_number"))
    dispatcher.utter_message(text=format_itinerary_answer(booking, item, day))
    return [SlotSet("itinerary_item", None), SlotSet("day_number", None)]
