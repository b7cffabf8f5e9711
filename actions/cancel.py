"""Stopping a form: "取消" stops the request, never the trip (that is
`request_cancellation`, actions/refunds.py). A complaint with details in it is only
dropped after the traveller confirms once; other forms stop at once."""

from __future__ import annotations

from typing import List, Text

from rasa_sdk import Action, Tracker
from rasa_sdk.events import ActiveLoop, EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.fields import COMPLAINT_STATE_SLOTS
from actions.forms.base import latest_intent


def reset_complaint() -> List[EventType]:
    return [SlotSet(slot, None) for slot in COMPLAINT_STATE_SLOTS] + [SlotSet("form_failures", 0.0)]


def stop_form() -> List[EventType]:
    return [
        ActiveLoop(None),
        SlotSet("requested_slot", None),
        SlotSet("phone_last4", None),
        SlotSet("verify_purpose", None),
        SlotSet("refund_after_verify", None),
    ]


def complaint_in_progress(tracker: Tracker) -> bool:
    return (tracker.active_loop or {}).get("name") == "complaint_form" or bool(
        tracker.get_slot("complaint_confirming")
    )


class ActionCancelForm(Action):
    """Stops whichever form is active (a complaint asks first: action_ask_drop_complaint)."""

    def name(self) -> Text:
        return "action_cancel_form"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> List[EventType]:
        intent = latest_intent(tracker)
        if intent == "request_cancellation":
            # The trip comes first; what the complaint already holds is kept for later.
            if complaint_in_progress(tracker):
                dispatcher.utter_message(response="utter_complaint_kept")
            return stop_form() + [SlotSet("complaint_confirming", None), SlotSet("cancel_pending", None)]
        if intent in ("request_human", "emergency"):
            pass  # what follows says what happens next; no "cancelled" in between
        elif complaint_in_progress(tracker) or tracker.get_slot("cancel_pending"):
            dispatcher.utter_message(response="utter_complaint_cancelled")
        else:
            dispatcher.utter_message(response="utter_request_stopped")
        return stop_form() + reset_complaint()


class ActionAskDropComplaint(Action):
    """ "取消" inside a complaint: asked once before anything given is dropped."""

    def name(self) -> Text:
        return "action_ask_drop_complaint"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> List[EventType]:
        dispatcher.utter_message(response="utter_confirm_drop_complaint")
        # The form is paused, not dropped: "继续" resumes it where it stopped.
        return [ActiveLoop(None), SlotSet("complaint_confirming", None), SlotSet("cancel_pending", True)]


class ActionDropComplaint(Action):
    """The traveller confirmed: nothing is submitted."""

    def name(self) -> Text:
        return "action_drop_complaint"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> List[EventType]:
        dispatcher.utter_message(response="utter_complaint_cancelled")
        return stop_form() + reset_complaint()


class ActionResumeComplaint(Action):
    """The traveller wants to go on: back to the summary or to the question pending."""

    def name(self) -> Text:
        return "action_resume_complaint"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> List[EventType]:
        dispatcher.utter_message(response="utter_complaint_resumed")
        return [SlotSet("cancel_pending", None)]
