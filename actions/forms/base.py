"""Shared form behaviour: count failed attempts and offer a human after two."""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any, Dict, List, Optional, Text

from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.events import EventType, FollowupAction
from rasa_sdk.forms import FormValidationAction
from rasa_sdk.types import DomainDict

from actions.fields import BY_SLOT
from actions.forms.change_of_mind import answered_then_back, other_question
from actions.utils.parsing import parse_booking_ref, parse_phone_last4

MAX_FAILURES = 2
# What a form names back when a message answered something it had not asked yet.
NOTED_LABELS = {
    **{slot: field.label for slot, field in BY_SLOT.items() if slot != "complaint_consent"},
    "phone_last4": "手机尾号",
    "ticket_no": "工单号",
}


def accept(slot: Text, value: Any) -> Dict[Text, Any]:
    """The slots to set for a value accepted: the value, and no failures."""
    return {slot: value, "form_failures": 0.0}


def reject(
    slot: Text,
    response: Text,
    dispatcher: CollectingDispatcher,
    tracker: Tracker,
    **template_values: Any,
) -> Dict[Text, Any]:
    """Re-ask with a specific message; from the second failure offer a human."""
    dispatcher.utter_message(response=response, **template_values)
    return {slot: None, "form_failures": count_failure(dispatcher, tracker)}


def count_failure(dispatcher: CollectingDispatcher, tracker: Tracker) -> float:
    """One more answer that did not fit (said to the traveller already); from the second in a
    row a human is offered. Returns the new count for the `form_failures` slot."""
    failures = int(tracker.get_slot("form_failures") or 0) + 1
    if failures >= MAX_FAILURES:
        dispatcher.utter_message(response="utter_offer_human")
    return float(failures)


# Checks of a value given for one slot, shaped like rasa-sdk's validators: (value, dispatcher,
# tracker, domain) -> the slots to set. Forms take them as their `validate_<slot>` methods;
# corrections run the same check on a corrected value (actions/forms/complaint_checks.py).
def check_booking_ref(
    value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
) -> Dict[Text, Any]:
    ref = parse_booking_ref(value) or parse_booking_ref(latest_text(tracker))
    if not ref:
        return reject("booking_ref", "utter_invalid_booking_ref", dispatcher, tracker)
    return accept("booking_ref", ref)


def check_phone_last4(
    value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
) -> Dict[Text, Any]:
    candidates = [value, *latest_entities(tracker, "phone"), latest_text(tracker)]
    digits = next((d for d in map(parse_phone_last4, candidates) if d), None)
    if not digits:
        return reject("phone_last4", "utter_invalid_phone_last4", dispatcher, tracker)
    return accept("phone_last4", digits)


class CountingFormValidation(FormValidationAction, ABC):
    """Abstract (`name()` left abstract), so rasa-sdk never registers it as an action."""

    @abstractmethod
    def name(self) -> Text:
        """Name of the form's validation action, e.g. validate_complaint_form."""

    # Several forms ask for these; rasa-sdk finds validators by name on any subclass.
    validate_booking_ref = staticmethod(check_booking_ref)
    validate_phone_last4 = staticmethod(check_phone_last4)

    def reject(
        self,
        slot: Text,
        response: Text,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        **template_values: Any,
    ) -> Dict[Text, Any]:
        """Re-ask with a specific message; from the second failure offer a human."""
        return reject(slot, response, dispatcher, tracker, **template_values)

    def accept(self, slot: Text, value: Any) -> Dict[Text, Any]:
        return accept(slot, value)

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> List[EventType]:
        from actions.questions import (
            answer_side_questions,
        )  # questions -> refunds -> forms: no cycle at import

        turned = other_question(latest_text(tracker)) is not None
        if turned and answered_then_back(tracker):
            # "算了 还是先问问延误怎么赔" while a cancellation is verified: the rule answered the
            # question; what the form was for is dropped, so it must not ask its question again.
            return self.leave_for_another_question(dispatcher, tracker)
        later = self.answers_side_questions_later(tracker)
        side = [] if later else await answer_side_questions(dispatcher, tracker, primary=True)
        if turned and side:
            # The same, when the form itself answered the question (it ran on the message).
            return side + self.leave_for_another_question(dispatcher, tracker)
        if side:
            # Later validators must see that the message was answered.
            tracker.slots.update({e["name"]: e["value"] for e in side if e.get("event") == "slot"})
        requested = tracker.get_slot("requested_slot")
        offered = {
            slot
            for slot, value in tracker.slots_to_validate().items()
            if slot in NOTED_LABELS and slot != requested and value not in (None, "", [])
        }
        events = side + await super().run(dispatcher, tracker, domain)
        if later and not self.completes(events):
            # The form goes on (wrong digits, a value missing): answer now, or never.
            tracker.slots.update({e["name"]: e["value"] for e in events if e.get("event") == "slot"})
            events += await answer_side_questions(dispatcher, tracker, primary=True)
        await self._note_out_of_turn(offered, events, dispatcher, tracker, domain)
        return events

    def leave_for_another_question(
        self, dispatcher: CollectingDispatcher, tracker: Tracker
    ) -> List[EventType]:
        """The form stops for the question the traveller turned to (answered already): what stopped
        is said, as when they say "不要了"."""
        from actions.cancel import stop_form, stopped_reply  # cancel -> forms.base: no cycle

        dispatcher.utter_message(response=stopped_reply(tracker))
        return stop_form() + [FollowupAction("action_listen")]

    def answers_side_questions_later(self, tracker: Tracker) -> bool:
        """True when the questions beside the form's answer wait for the form to end this turn
        (the verification: a refund question is answered for the booking just verified)."""
        return False

    def completes(self, events: List[EventType]) -> bool:
        """True when `events` end the form this turn (only asked when answering later)."""
        return False

    async def _note_out_of_turn(
        self,
        offered: set,
        events: List[EventType],
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: DomainDict,
    ) -> None:
        """Say what was kept from a message that answered questions not asked yet, when
        the form still has a question: the traveller sees that "我刚才说了" is not needed
        and that the next question is about something else."""
        if not offered or not self._asked_last(tracker):
            return  # a form just started (or came back): it asks what is missing, nothing was skipped
        final = {**tracker.slots, **{e["name"]: e["value"] for e in events if e.get("event") == "slot"}}
        required = await self.required_slots(self.domain_slots(domain), dispatcher, tracker, domain)
        if not any(final.get(slot) is None for slot in required):
            return  # nothing left to ask: the form's summary or action says what it has
        kept = [
            NOTED_LABELS[slot]
            for slot in required
            if slot in offered
            and final.get(slot) is not None
            and final.get(slot) != previous_slot_value(tracker, slot)  # unchanged: nothing new noted
        ]
        if kept:
            dispatcher.utter_message(response="utter_noted", fields="、".join(kept))

    def _asked_last(self, tracker: Tracker) -> bool:
        """This form asked the question the latest message answers: the bot's last action
        before that message (action_listen aside) was the form itself."""
        seen_user = False
        for event in reversed(tracker.events or []):
            if event.get("event") == "user":
                seen_user = True
            elif seen_user and event.get("event") == "action" and event.get("name") != "action_listen":
                return event.get("name") == self.form_name()
        return False


def latest_text(tracker: Tracker) -> Text:
    """The traveller's own words: the user event's text, not the NLU's normalised copy
    (which has half-width punctuation and simplified characters, and is cut at 500)."""
    for event in reversed(tracker.events or []):
        if event.get("event") == "user":
            return event.get("text") or ""
    return (tracker.latest_message or {}).get("text") or ""


def latest_intent(tracker: Tracker) -> Optional[Text]:
    return ((tracker.latest_message or {}).get("intent") or {}).get("name")


def latest_entities(tracker: Tracker, entity: Text) -> List[Text]:
    return [
        e.get("value")
        for e in (tracker.latest_message or {}).get("entities", [])
        if e.get("entity") == entity and e.get("value")
    ]


def previous_slot_value(tracker: Tracker, slot: Text) -> Any:
    """The slot's value before the latest message (what the traveller had given before this turn):
    validators see the value just read in `tracker.slots`."""
    set_after = False
    seen_user = False
    for event in reversed(tracker.events or []):
        if event.get("event") == "user":
            seen_user = True
        elif event.get("event") == "slot" and event.get("name") == slot:
            if seen_user:
                return event.get("value")
            set_after = True
    return None if set_after else tracker.get_slot(slot)


def previous_reply(tracker: Tracker) -> List[Dict[str, Any]]:
    """The bot events of the reply to the message before this one, in the order said."""
    said: List[Dict[str, Any]] = []
    seen_message = False
    for event in reversed(tracker.events or []):
        if event.get("event") == "user":
            if seen_message:
                break
            seen_message = True
        elif seen_message and event.get("event") == "bot":
            said.append(event)
    return list(reversed(said))


def previous_reply_actions(tracker: Tracker) -> List[Text]:
    """The responses ("utter_policy/delay", "utter_refund_offer_compute") of the bot's reply to
    the message before this one, in the order said."""
    return [(event.get("metadata") or {}).get("utter_action") or "" for event in previous_reply(tracker)]
