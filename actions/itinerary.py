"""Itinerary answers, only for a traveller whose booking number and phone digits matched."""

from __future__ import annotations

import logging
from typing import List, Text

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.clients.ticketing import Locked, Mismatch, NotFound, TicketingError, Unavailable, get_client
from actions.forms.base import CountingFormValidation
from actions.utils.text import format_itinerary_answer, parse_day_number

logger = logging.getLogger(__name__)


class ValidateVerifyForm(CountingFormValidation):
    def name(self) -> Text:
        return "validate_verify_form"

    async def required_slots(
        self,
        domain_slots: List[Text],
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: DomainDict,
    ) -> List[Text]:
        verified = tracker.get_slot("verified_booking")
        if verified and tracker.get_slot("booking_ref") in (None, verified):
            return []  # verification is remembered for the rest of the conversation
        return domain_slots


class ActionAnswerItinerary(Action):
    """Verifies the booking once through the API, then answers the question asked."""

    def name(self) -> Text:
        return "action_answer_itinerary"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> List[EventType]:
        ref = tracker.get_slot("booking_ref")
        verified = tracker.get_slot("verified_booking")
        client = get_client()
        events: List[EventType] = []
        try:
            if verified and ref in (None, verified):
                booking = await client.get_booking(verified)
            else:
                last4 = tracker.get_slot("phone_last4")
                if not ref or not last4:
                    dispatcher.utter_message(response="utter_verify_failed")
                    return [SlotSet("phone_last4", None)]
                booking = await client.verify_booking(ref, last4)
                events.append(SlotSet("verified_booking", ref))
        except (NotFound, Mismatch):
            dispatcher.utter_message(response="utter_verify_failed")
            return [SlotSet("booking_ref", None), SlotSet("phone_last4", None)]
        except Locked as locked:
            dispatcher.utter_message(response="utter_verify_locked", minutes=locked.minutes)
            return [SlotSet("booking_ref", None), SlotSet("phone_last4", None)]
        except Unavailable:
            dispatcher.utter_message(response="utter_service_unavailable")
            return [SlotSet("phone_last4", None)]
        except TicketingError:
            logger.exception("unexpected answer from the ticketing API")
            dispatcher.utter_message(response="utter_service_unavailable")
            return [SlotSet("phone_last4", None)]

        # Slots hold what the question asked, even when verification came in between.
        item = tracker.get_slot("itinerary_item")
        day = parse_day_number(tracker.get_slot("day_number"))
        dispatcher.utter_message(text=format_itinerary_answer(booking, item, day))
        return events + [SlotSet("itinerary_item", None), SlotSet("day_number", None)]
