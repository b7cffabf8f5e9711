"""The complaint form: collect, summarise with the predicted category, confirm, open a ticket."""

from __future__ import annotations

import hashlib
import logging
import re
from typing import Any, Dict, List, Text

from rasa_sdk import Action, Tracker
from rasa_sdk.events import ActiveLoop, EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.clients.ticketing import Rejected, TicketingError, Unavailable, get_client
from actions.forms.base import CountingFormValidation, latest_text
from actions.utils.parsing import parse_booking_ref, parse_phone
from actions.utils.text import format_ticket_created

logger = logging.getLogger(__name__)

COMPLAINT_SLOTS = ("complaint_description", "complaint_consent", "complaint_confirming")
MIN_DESCRIPTION_CHARS = 6
MAX_DESCRIPTION_CHARS = 4000
# Words that say "I want to complain" without saying what happened.
_GENERIC = re.compile(r"投诉|我要|我想|想要|你们|客服|一下|请问|怎么|如何|可以|吗|呢|啊|了|的|帮我|提交|反映|问题|[\s\W\d]")


def is_descriptive(text: str) -> bool:
    """True when a message already says what happened, so we need not ask again."""
    return len(_GENERIC.sub("", text)) >= MIN_DESCRIPTION_CHARS


class ActionPrefillComplaint(Action):
    """Reuses what the traveller already told us before the form asks anything."""

    def name(self) -> Text:
        return "action_prefill_complaint"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> List[EventType]:
        events: List[EventType] = [SlotSet("form_failures", 0.0)]
        text = latest_text(tracker)
        if not tracker.get_slot("complaint_description") and is_descriptive(text):
            events.append(SlotSet("complaint_description", text[:MAX_DESCRIPTION_CHARS]))
        if not tracker.get_slot("booking_ref") and tracker.get_slot("verified_booking"):
            events.append(SlotSet("booking_ref", tracker.get_slot("verified_booking")))
        dispatcher.utter_message(response="utter_complaint_start")
        return events


class ValidateComplaintForm(CountingFormValidation):
    def name(self) -> Text:
        return "validate_complaint_form"

    async def required_slots(
        self,
        domain_slots: List[Text],
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: DomainDict,
    ) -> List[Text]:
        if tracker.get_slot("complaint_consent") is False:
            return []  # no consent: stop asking; the summary action explains
        return domain_slots

    def validate_booking_ref(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Dict[Text, Any]:
        ref = parse_booking_ref(value) or parse_booking_ref(latest_text(tracker))
        if not ref:
            return self.reject("booking_ref", "utter_invalid_booking_ref", dispatcher, tracker)
        return self.accept("booking_ref", ref)

    def validate_complaint_description(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Dict[Text, Any]:
        text = (value or "").strip()
        if len(text) < MIN_DESCRIPTION_CHARS:
            return self.reject("complaint_description", "utter_description_too_short", dispatcher, tracker)
        # Kept whole (up to the API's limit): agents need the traveller's own words.
        return self.accept("complaint_description", text[:MAX_DESCRIPTION_CHARS])

    def validate_phone(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Dict[Text, Any]:
        phone = parse_phone(value) or parse_phone(latest_text(tracker))
        if not phone:
            return self.reject("phone", "utter_invalid_phone", dispatcher, tracker)
        return self.accept("phone", phone)


class ActionComplaintSummary(Action):
    """Shows what will be submitted, with the predicted category, and asks to confirm."""

    def name(self) -> Text:
        return "action_complaint_summary"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> List[EventType]:
        if tracker.get_slot("complaint_consent") is False:
            dispatcher.utter_message(response="utter_consent_declined")
            return reset_complaint()
        description = tracker.get_slot("complaint_description") or ""
        category = ""
        try:
            result = await get_client().classify(description)
            category = f"\n初步分类：{result.get('category_label') or result.get('department_name', '')}"
        except TicketingError:
            # The summary is still useful without the prediction; submission retries later.
            logger.info("classification unavailable for the summary")
        dispatcher.utter_message(
            response="utter_complaint_summary",
            booking_ref=tracker.get_slot("booking_ref"),
            description=description[:200] + ("……" if len(description) > 200 else ""),
            category=category,
        )
        return [SlotSet("complaint_confirming", True)]


class ActionSubmitComplaint(Action):
    def name(self) -> Text:
        return "action_submit_complaint"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> List[EventType]:
        payload = {
            "booking_ref": tracker.get_slot("booking_ref"),
            "description": tracker.get_slot("complaint_description"),
            "phone": tracker.get_slot("phone"),
            "channel": (tracker.get_latest_input_channel() or "rest"),
            "conversation_id": tracker.sender_id,
        }
        # Same conversation + same content = same key: a retry never opens a second ticket.
        key = hashlib.sha256(
            "|".join(str(payload[k]) for k in ("conversation_id", "booking_ref", "description", "phone")).encode()
        ).hexdigest()[:40]
        try:
            ticket = await get_client().create_ticket(payload, idempotency_key=key)
        except Unavailable:
            dispatcher.utter_message(response="utter_submit_failed")
            return []  # everything is kept; "确认" tries again with the same key
        except Rejected as exc:
            logger.warning("ticket rejected by the API: %s", exc.status)
            dispatcher.utter_message(response="utter_submit_rejected")
            return reset_complaint()
        except TicketingError:
            logger.exception("unexpected answer from the ticketing API")
            dispatcher.utter_message(response="utter_submit_failed")
            return []
        dispatcher.utter_message(text=format_ticket_created(ticket))
        events = reset_complaint()
        if ticket.get("severity") == "urgent":
            dispatcher.utter_message(response="utter_urgent_alert")
        return events


class ActionCancelForm(Action):
    """Stops whichever form is active and forgets what it collected."""

    def name(self) -> Text:
        return "action_cancel_form"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> List[EventType]:
        loop = (tracker.active_loop or {}).get("name")
        if loop == "complaint_form" or tracker.get_slot("complaint_confirming"):
            dispatcher.utter_message(response="utter_complaint_cancelled")
        else:
            dispatcher.utter_message(response="utter_cancelled")
        return [ActiveLoop(None), SlotSet("requested_slot", None), SlotSet("phone_last4", None)] + reset_complaint()


def reset_complaint() -> List[EventType]:
    return [SlotSet(slot, None) for slot in COMPLAINT_SLOTS] + [SlotSet("form_failures", 0.0)]
