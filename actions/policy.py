"""Policy answers: the response selector's answer, plus the refund computed for a verified booking."""

from __future__ import annotations

import logging
import re
from typing import List, Optional, Text

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.clients.ticketing import TicketingError, get_client
from actions.complaint import ValidateComplaintForm, is_descriptive
from actions.forms.base import latest_text
from actions.utils.refund import compute_deduction, days_until, format_deduction

logger = logging.getLogger(__name__)
_QUESTION = re.compile(r"[?？]|吗|呢|怎么|如何|多少|能不能|能否|可不可以|是否|几[天个点号]|什么")


def retrieval_key(tracker: Tracker) -> Optional[Text]:
    """'policy/refund' as chosen by the ResponseSelector for the latest message."""
    selector = (tracker.latest_message or {}).get("response_selector", {})
    return selector.get("policy", {}).get("response", {}).get("intent_response_key")


class ActionAnswerPolicy(Action):
    def name(self) -> Text:
        return "action_answer_policy"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> List[EventType]:
        text = latest_text(tracker)
        if (
            (tracker.active_loop or {}).get("name") == "complaint_form"
            and tracker.get_slot("requested_slot") == "complaint_description"
            and is_descriptive(text)
            and not _QUESTION.search(text)
        ):
            # "导游不给退款，行程也缩水了" reads like a refund question, but the form asked
            # what happened and this is a statement: it is the description, kept whole.
            slots = ValidateComplaintForm().validate_complaint_description(text, dispatcher, tracker, domain)
            return [SlotSet(name, value) for name, value in slots.items()]
        key = retrieval_key(tracker)
        if not key:
            dispatcher.utter_message(response="utter_default")
            return []
        dispatcher.utter_message(response=f"utter_{key}")
        verified = tracker.get_slot("verified_booking")
        if key == "policy/refund" and verified:
            await self._refund_for_booking(dispatcher, verified)
        return []

    async def _refund_for_booking(self, dispatcher: CollectingDispatcher, ref: Text) -> None:
        try:
            booking = await get_client().get_booking(ref)
        except TicketingError:
            return  # the general answer above stands on its own
        days = days_until(booking["departure_date"])
        if days < 0:
            dispatcher.utter_message(response="utter_refund_in_trip")
            return
        try:
            deduction = compute_deduction(booking["tour_type"], int(booking["price_cny"]), days)
        except (KeyError, ValueError):
            logger.exception("refund schedule does not cover this booking")
            return
        dispatcher.utter_message(text=format_deduction(ref, int(booking["price_cny"]), deduction))
