"""Ticket progress for the traveller who filed it (ticket number + phone digits)."""

from __future__ import annotations

from typing import Any, Dict, List, Text

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.clients.ticketing import TicketingError, get_client
from actions.forms.base import latest_text
from actions.handoff import open_handoff
from actions.utils.parsing import parse_ticket_no
from actions.utils.text import format_ticket_progress
from actions.verification import DigitsCheckingValidation


class ValidateTicketForm(DigitsCheckingValidation):
    what = "ticket"
    number_slot = "ticket_no"

    def name(self) -> Text:
        return "validate_ticket_form"

    async def required_slots(
        self,
        domain_slots: List[Text],
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: DomainDict,
    ) -> List[Text]:
        if tracker.get_slot("verify_blocked"):
            return []  # locked or the API is down: action_check_ticket says what next
        return domain_slots

    async def validate_ticket_no(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Dict[Text, Any]:
        number = parse_ticket_no(value) or parse_ticket_no(latest_text(tracker))
        if not number:
            return self.reject("ticket_no", "utter_invalid_ticket_no", dispatcher, tracker)
        return await self.check_held_digits(self.accept("ticket_no", number), dispatcher, tracker)


class ActionCheckTicket(Action):
    def name(self) -> Text:
        return "action_check_ticket"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> List[EventType]:
        reset: List[EventType] = [SlotSet("phone_last4", None), SlotSet("verify_blocked", None)]
        if tracker.get_slot("verify_blocked") == "locked":
            # Locked by misses: a person can still help, so queue one now.
            return reset + await open_handoff(
                tracker,
                dispatcher,
                "form_failures",
                extra_summary={"verify_locked": tracker.get_slot("ticket_no")},
            )
        number = tracker.get_slot("verified_ticket")
        if (
            not number
            or not tracker.get_slot("phone_last4")
            or tracker.get_slot("ticket_no") not in (None, number)
        ):
            return reset  # not verified: already said why
        try:
            # The traveller's view (progress, nothing personal); the API escalates an overdue ticket here.
            ticket = await get_client().verify_ticket(
                number, tracker.get_slot("phone_last4"), tracker.sender_id
            )
        except TicketingError:
            dispatcher.utter_message(response="utter_service_unavailable")
            return reset
        dispatcher.utter_message(text=format_ticket_progress(ticket))
        return reset
