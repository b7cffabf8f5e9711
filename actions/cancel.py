"""Stopping a form: "取消" stops the request, never the trip (that is
`request_cancellation`, actions/refunds.py). A complaint with details in it is only
dropped after the traveller confirms once; other forms stop at once."""

from __future__ import annotations

import re
from typing import Any, Dict, List, Optional, Text

from rasa_sdk import Action, Tracker
from rasa_sdk.events import ActiveLoop, EventType, FollowupAction, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.fields import COMPLAINT_STATE_SLOTS, NOT_GIVEN
from actions.fields import LABELS as FIELD_LABELS
from actions.forms.base import latest_intent, latest_text, previous_slot_value
from actions.forms.change_of_mind import other_question, take_up
from actions.utils.parsing import to_simplified
from actions.utils.reading import DONT_KNOW, drop_reply, read, trip_cancellation_only


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
        from actions.tickets import digits_instead_of_cancel, no_booking_number_in_verification

        digits = await digits_instead_of_cancel(dispatcher, tracker, domain)
        if digits is not None:
            return digits  # "3344 我刚才说了" while the digits are asked: the answer, not a stop
        helped = no_booking_number_in_verification(dispatcher, tracker)
        if helped is not None:
            return helped  # "我没有订单号" (read as deny/cancel): where it is, and a person
        intent = latest_intent(tracker)
        sent_by_the_form = _sent_by_the_form(tracker)
        if sent_by_the_form and not trip_cancellation_only(latest_text(tracker)):
            question = other_question(latest_text(tracker))
            if question is not None:
                # "算了我先查下行程" inside the complaint (ValidateComplaintForm): set aside, not dropped.
                return await set_aside_for(dispatcher, tracker, question)
        if _takes_up_the_kept_complaint(tracker):
            if not any(tracker.get_slot(name) for name in _STORY_SLOTS):
                # Nothing of a complaint is kept (dropped or submitted): a new one, not "都还在".
                dispatcher.utter_message(response="utter_complaint_start")
                return [FollowupAction("complaint_form")]
            # "继续投诉" (read as `cancel`) after a complaint was set aside: what it promised.
            return _resume(dispatcher, tracker, answered=False)
        # "取消订单TR20260010 手机尾号6781" (read as `cancel`): the trip, not a request to stop; no
        # rule follows `cancel` to start it.
        misread = intent != "request_cancellation" and cancels_the_order(tracker)
        if intent == "request_cancellation" or sent_by_the_form or misread:
            # The trip comes first; what the complaint already holds is kept for later.
            if complaint_in_progress(tracker) or sent_by_the_form:
                dispatcher.utter_message(response="utter_complaint_kept")
            events = stop_form() + [SlotSet("complaint_confirming", None), SlotSet("cancel_pending", None)]
            given = read(latest_text(tracker)).phone_last4 if misread else None
            if given:
                events.append(SlotSet("phone_last4", given))  # this message's digits, not the form's
            if sent_by_the_form or misread:
                # No rule follows here: start the cancellation as the rule after a message does.
                from actions.verification import ActionStartVerification  # verification -> cancel

                # Its purpose comes from the intent, which the text made clear.
                tracker.latest_message.setdefault("intent", {})["name"] = "request_cancellation"
                events += await ActionStartVerification().run(dispatcher, tracker, domain)
                events.append(FollowupAction("verify_form"))
            return events
        if intent in ("request_human", "emergency"):
            pass  # what follows says what happens next; no "cancelled" in between
        elif complaint_in_progress(tracker) or tracker.get_slot("cancel_pending"):
            dispatcher.utter_message(response="utter_complaint_cancelled")
        else:
            dispatcher.utter_message(response=stopped_reply(tracker))
        return stop_form() + reset_complaint()


async def set_aside_for(dispatcher: CollectingDispatcher, tracker: Tracker, question: str) -> List[EventType]:
    """The complaint is set aside with what it holds ("继续投诉" takes it up again) for the
    question the traveller turned to, which is taken up at once."""
    dispatcher.utter_message(response="utter_complaint_kept")
    events = stop_form() + [SlotSet("complaint_confirming", None), SlotSet("cancel_pending", None)]
    return events + await take_up(dispatcher, tracker, question)


def cancels_the_order(tracker: Tracker) -> bool:
    """The message asks to cancel the booking itself and says nothing else ("取消订单TR20260010
    手机尾号6781", "帮我把这个团退了"): not the form asking now (its own "取消"), nor a complaint."""
    if (tracker.active_loop or {}).get("name") == "complaint_form" or tracker.get_slot(
        "complaint_confirming"
    ):
        return False  # the complaint asks first (action_ask_drop_complaint)
    return trip_cancellation_only(_NUMBERS.sub(" ", to_simplified(latest_text(tracker))))


# The booking number and phone digits beside the request ("取消订单TR20260010 手机尾号6781"): the
# word 订单 stays (it says what is cancelled).
_NUMBERS = re.compile(
    r"TR[\s-]*\d(?:[\s-]*\d){7}|(?:手机|电话)?(?:号码?)?(?:尾号|后四位|后4位|末四位)?\s*(?:是|:|：)?\s*(?<!\d)\d{4,11}(?!\d)",
    re.I,
)


# What only a complaint holds (the booking number may come from a verification).
_STORY_SLOTS = ("complaint_description", "complaint_when_where", "complaint_request")


def _takes_up_the_kept_complaint(tracker: Tracker) -> bool:
    """No form asks and nothing waits for a yes or no: "继续投诉" goes back to the complaint."""
    if tracker.active_loop or tracker.get_slot("cancel_pending") or tracker.get_slot("complaint_confirming"):
        return False
    text = latest_text(tracker)
    return "投诉" in to_simplified(text) and drop_reply(text) == "keep"


def _sent_by_the_form(tracker: Tracker) -> bool:
    """Run as the complaint form's follow-up (a trip cancellation read as an answer,
    ValidateComplaintForm), not by a rule right after the message."""
    for event in reversed(tracker.events or []):
        if event.get("event") == "user":
            return False
        if event.get("event") == "action" and event.get("name") not in (None, "action_listen"):
            return event.get("name") == "complaint_form"
    return False


class ActionAskDropComplaint(Action):
    """ "取消" inside a complaint: asked once before anything given is dropped."""

    def name(self) -> Text:
        return "action_ask_drop_complaint"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> List[EventType]:
        in_form = (tracker.active_loop or {}).get("name") == "complaint_form"
        question = other_question(latest_text(tracker))
        if question is not None:
            # "先不投诉了，我想问下酒店叫什么" (read as `cancel`): no need to ask whether to drop it,
            # the traveller turned to a question; the complaint waits with what it holds.
            return await set_aside_for(dispatcher, tracker, question)
        if (
            in_form
            and tracker.get_slot("requested_slot") == "complaint_when_where"
            and DONT_KNOW.match(latest_text(tracker).strip())
        ):
            # "不记得了"/"忘了" (often read as `cancel`) answers the question: the time and place
            # is not given, and the form goes on; nothing is dropped.
            return [SlotSet("complaint_when_where", NOT_GIVEN), FollowupAction("complaint_form")]
        dispatcher.utter_message(response="utter_confirm_drop_complaint")
        # The form is paused, not dropped: "继续" resumes it where it stopped.
        return [ActiveLoop(None), SlotSet("complaint_confirming", None), SlotSet("cancel_pending", True)]


# At "确定放弃这次投诉吗？": what each reading of the answer means.
_KEEP = {"deny", "complain", "inform", "correct"}
_DROP = {"affirm", "cancel"}


# Two weak readings that agree are no answer ("退款": affirm 0.17, cancel 0.17).
_MIN_AGREEING = 0.5


def drop_answer(ranking: List[Dict[str, Any]]) -> Optional[str]:
    """ "keep", "drop" or None for an answer the NLU found ambiguous (nlu_fallback): "不，我还是要
    投诉" sits between deny and complain, and both mean "go on". Decided only when the two best
    readings agree and together are sure enough, or the best is sure enough and nothing says
    the opposite."""
    real = [r for r in ranking if r.get("name") not in (None, "nlu_fallback")]
    if len(real) < 2:
        return None
    (first, p1), (second, p2) = [(r["name"], float(r.get("confidence") or 0)) for r in real[:2]]
    for meaning, names, other in (("keep", _KEEP, _DROP), ("drop", _DROP, _KEEP)):
        opposite = sum(float(r.get("confidence") or 0) for r in real if r["name"] in other)
        agree = second in names and p1 + p2 >= _MIN_AGREEING
        if first in names and (agree or (p1 >= 0.5 and opposite < 0.1)):
            return meaning
    return None


def gave_a_field(tracker: Tracker) -> bool:
    """The answer carried a complaint value (the reader set it since the message): "退款" at
    "确定放弃吗？" is the request, so the traveller is still complaining."""
    for event in reversed(tracker.events or []):
        if event.get("event") == "user":
            return False
        if event.get("event") == "slot" and event.get("name") in FIELD_LABELS and event.get("value"):
            return True
    return False


def _bare(text: str) -> str:
    return re.sub(r"[\s，,。.!！?？~～]", "", text)


def _resume(dispatcher: CollectingDispatcher, tracker: Tracker, answered: bool = True) -> List[EventType]:
    """Back to the form. When the message answered "确定放弃吗？" ("不，继续吧"), the reader's copy
    of it as the pending question's answer is undone, so the form asks that question again."""
    dispatcher.utter_message(response="utter_complaint_resumed")
    undo: List[EventType] = []
    if answered:
        text = _bare(latest_text(tracker))
        for event in reversed(tracker.events or []):
            if event.get("event") == "user":
                break
            if event.get("event") == "slot" and event.get("name") in FIELD_LABELS and text:
                if _bare(str(event.get("value") or "")) == text:
                    undo.append(SlotSet(event["name"], previous_slot_value(tracker, event["name"])))
    return undo + [SlotSet("cancel_pending", None), FollowupAction("complaint_form")]


def _drop(dispatcher: CollectingDispatcher) -> List[EventType]:
    dispatcher.utter_message(response="utter_complaint_cancelled")
    return stop_form() + reset_complaint()


class ActionResolveDrop(Action):
    """Not understood at "确定放弃这次投诉吗？": decided by the readings when they agree, else
    asked again (the buttons answer it in one tap), so nothing given is lost on a guess."""

    def name(self) -> Text:
        return "action_resolve_drop"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> List[EventType]:
        # The words decide first ("不，继续吧"), then the NLU's readings; an answer that is
        # neither yes nor no but gives a value ("退款") keeps the complaint; else asked again.
        meaning = drop_reply(latest_text(tracker)) or drop_answer(
            (tracker.latest_message or {}).get("intent_ranking") or []
        )
        if meaning == "keep" or (meaning is None and gave_a_field(tracker)):
            return _resume(dispatcher, tracker, answered=meaning == "keep")
        if meaning == "drop":
            return _drop(dispatcher)
        dispatcher.utter_message(response="utter_confirm_drop_complaint")
        return []


class ActionDropComplaint(Action):
    """The traveller confirmed: nothing is submitted. Unless their words say to go on: "不了，
    还是继续投诉" reads as `cancel`, "好的，继续" as `affirm`."""

    def name(self) -> Text:
        return "action_drop_complaint"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> List[EventType]:
        if drop_reply(latest_text(tracker)) == "keep":
            return _resume(dispatcher, tracker)
        return _drop(dispatcher)


class ActionResumeComplaint(Action):
    """The traveller wants to go on: back to the summary or to the question pending."""

    def name(self) -> Text:
        return "action_resume_complaint"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> List[EventType]:
        if drop_reply(latest_text(tracker)) == "drop":
            # "不，不想继续了" reads as `deny`, but says to drop it; nothing more is asked.
            return _drop(dispatcher) + [FollowupAction("action_listen")]
        dispatcher.utter_message(response="utter_complaint_resumed")
        return [SlotSet("cancel_pending", None)]
