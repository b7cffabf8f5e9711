"""Ticket progress for the traveller who filed it (ticket number + phone digits)."""

from __future__ import annotations

from typing import Any, Dict, List, Text

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.clients.ticketing import Locked, Mismatch, NotFound, TicketingError, get_client
from actions.forms.base import CountingFormValidation, latest_text
from actions.utils.parsing import parse_ticket_no
from actions.utils.text import format_ticket_progress


class ValidateTicketForm(CountingFormValidation):
    def name(self) -> Text:
        return "validate_ticket_form"

    def validate_ticket_no(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Dict[Text, Any]:
        number = parse_ticket_no(value) or parse_ticket_no(latest_text(tracker))
        if not number:
            return self.reject("ticket_no", "utter_invalid_ticket_no", dispatcher, tracker)
        return self.accept("ticket_no", number)


class ActionCheckTicket(Action):
    def name(self) -> Text:
        return "action_check_ticket"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> List[EventType]:
        number = tracker.get_slot("ticket_no")
        last4 = tracker.get_slot("phone_last4")
        try:
            ticket = await get_client().verify_ticket(number, last4)
        except (NotFound, Mismatch):
            # Same words for "no such ticket" and "not yours": nothing is disclosed.
            dispatcher.utter_message(response="utter_ticket_not_found")
            return [SlotSet("ticket_no", None), SlotSet("phone_last4", None)]
        except Locked as locked:
            dispatcher.utter_message(response="utter_verify_locked", minutes=locked.minutes)
            return [SlotSet("ticket_no", None), SlotSet("phone_last4", None)]
        except TicketingError:
            dispatcher.utter_message(response="utter_service_unavailable")
            return [SlotSet("phone_last4", None)]
        dispatcher.utter_message(text=format_ticket_progress(ticket.get("ticket", ticket)))
        return [SlotSet("phone_last4", None)]
