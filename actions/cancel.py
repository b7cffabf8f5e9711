"""Stopping a form: "取消" stops the request, never the trip (that is
`request_cancellation`, actions/refunds.py). A complaint with details in it is only
dropped after the traveller confirms once; other forms stop at once."""

from __future__ import annotations

from typing import Any, Dict, List, Optional, Text

from rasa_sdk import Action, Tracker
from rasa_sdk.events import ActiveLoop, EventType, FollowupAction, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.fields import COMPLAINT_STATE_SLOTS
from actions.forms.base import latest_intent


# What stopping says, by what the form was for: a cancellation request is no "查询".
_STOPPED_BY_PURPOSE = {
    "cancellation": "utter_cancellation_stopped",
    "refund": "utter_refund_check_stopped",
    "itinerary": "utter_request_stopped",
}


def stopped_reply(tracker: Tracker) -> str:
    """The response that says the request stopped, fitting what it was for."""
    if (tracker.active_loop or {}).get("name") == "ticket_form":
        return "utter_ticket_lookup_stopped"
    return _STOPPED_BY_PURPOSE.get(tracker.get_slot("verify_purpose") or "", "utter_request_stopped")


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
            dispatcher.utter_message(response=stopped_reply(tracker))
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


# At "确定放弃这次投诉吗？": what each reading of the answer means.
_KEEP = {"deny", "complain", "inform", "correct"}
_DROP = {"affirm", "cancel"}


def drop_answer(ranking: List[Dict[str, Any]]) -> Optional[str]:
    """ "keep", "drop" or None for an answer the NLU found ambiguous (nlu_fallback): "不，我还是要
    投诉" sits between deny and complain, and both mean "go on". Decided only when the two best
    readings agree, or the best is sure enough and nothing says the opposite."""
    real = [r for r in ranking if r.get("name") not in (None, "nlu_fallback")]
    if len(real) < 2:
        return None
    (first, p1), (second, p2) = [(r["name"], float(r.get("confidence") or 0)) for r in real[:2]]
    for meaning, names, other in (("keep", _KEEP, _DROP), ("drop", _DROP, _KEEP)):
        opposite = sum(float(r.get("confidence") or 0) for r in real if r["name"] in other)
        if first in names and (second in names or (p1 >= 0.5 and opposite < 0.1)):
            return meaning
    return None


class ActionResolveDrop(Action):
    """Not understood at "确定放弃这次投诉吗？": decided by the readings when they agree, else
    asked again (the buttons answer it in one tap), so nothing given is lost on a guess."""

    def name(self) -> Text:
        return "action_resolve_drop"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> List[EventType]:
        meaning = drop_answer((tracker.latest_message or {}).get("intent_ranking") or [])
        if meaning == "keep":
            dispatcher.utter_message(response="utter_complaint_resumed")
            return [SlotSet("cancel_pending", None), FollowupAction("complaint_form")]
        if meaning == "drop":
            dispatcher.utter_message(response="utter_complaint_cancelled")
            return stop_form() + reset_complaint()
        dispatcher.utter_message(response="utter_confirm_drop_complaint")
        return []


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
