"""Who is asking: booking number + last four phone digits, checked by the API.

One form (`verify_form`) serves every question about a traveller's own booking:
the itinerary, the refund for it, and a request to cancel it (`verify_purpose`).
The digits are checked as soon as they are given, inside the form, so a wrong
digit can be corrected in the next message without starting again, the booking
number is kept, and the second miss offers a human before the API's lock (5).
"""

from __future__ import annotations

import logging
import re
import time
from abc import ABC
from typing import Any, Dict, List, Optional, Text

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.clients.ticketing import Locked, Mismatch, NotFound, TicketingError, Unavailable, get_client
from actions.forms.base import (
    MAX_FAILURES,
    CountingFormValidation,
    count_failure,
    latest_text,
)
from actions.handoff import open_handoff
from actions.itinerary import answer_itinerary
from actions.questions import answer_side_questions
from actions.refunds import (
    REGISTER_ASK,
    bracket_follow_up,
    record_cancellation,
    refund_text,
    verification_purpose,
    wished_to_cancel,
)
from actions.utils.parsing import (
    FULLWIDTH,
    parse_booking_ref,
    parse_booking_refs,
    parse_labelled_last4,
    parse_ticket_no,
    to_simplified,
)

logger = logging.getLogger(__name__)


# A number with a digit too few or too many ("TR2026001") matches no pattern, so the form only
# asked for the number again and the traveller could not see what was wrong. DESIGN §4 formats:
# TR + 8 digits; C + 8-digit date + a sequence of at least 3 (no upper bound: only "short").
# Hyphens group digits; a space inside is not taken: what follows it may be the phone digits.
_NEAR_NUMBERS = {
    "booking": re.compile(r"(?<![A-Z0-9])TR[\s-]?(\d+(?:-\d+)*)(?![\d-])"),
    "ticket": re.compile(r"(?<![A-Z0-9])C[\s-]?(\d+(?:-\d+)*)(?![\d-])"),
}
_PARSERS = {"booking": parse_booking_ref, "ticket": parse_ticket_no}
# (fewest digits taken as an attempt at the number, digits expected, most, its name, its rule)
_SHAPES = {
    # Four digits alone ("TR2026") are read as the phone digits: not called a short number.
    "booking": (5, 8, 8, "订单号", "订单号应为TR加8位数字"),
    # Fewer than 8 digits after a C is more likely something else ("C919").
    "ticket": (8, 11, None, "投诉单号", "投诉单号应为C加8位日期和至少3位序号（共至少11位数字）"),
}
_HOW_MANY = dict(enumerate("零一两三四五六七八九十"))
# verify_blocked after a failure that followed the offer of a human: the form ends.
STOPPED = "failures"
# What a failed answer says to invite another try, and the offer of a human: not said again
# when the verification stops instead (utter_verify_stopped says both).
_RETRY_REPLIES = {
    "utter_offer_human",
    "utter_verify_failed_retry",
    "utter_ticket_verify_failed_retry",
    "utter_invalid_booking_ref",
    "utter_invalid_ticket_no",
    "utter_invalid_phone_last4",
}


def number_slip(what: str, text: Optional[str]) -> Optional[str]:
    """ "订单号应为TR加8位数字，您输入的TR2026001少了一位，请核对。" for a number that is the
    right kind but has digits too few or too many; None when the message has a right number
    (or no attempt at one)."""
    if not text or _PARSERS[what](text):
        return None
    half = text.translate(FULLWIDTH).upper()
    fewest, expected, longest, _, rule = _SHAPES[what]
    for match in _NEAR_NUMBERS[what].finditer(half):
        digits = len(match.group(1).replace("-", ""))
        if digits < fewest:
            continue
        if digits < expected:
            off = f"少了{_HOW_MANY.get(expected - digits, expected - digits)}位"
        elif longest is not None and digits > longest:
            off = f"多了{_HOW_MANY.get(digits - longest, digits - longest)}位"
        else:
            continue
        return f"{rule}，您输入的{match.group(0).strip()}{off}，请核对。"
    return None


def grant_valid(grant: Optional[str], now: Optional[float] = None) -> bool:
    """The API's grant ("<ref>.<expiry unix>.<signature>") has not expired (a minute's margin)."""
    try:
        expires = int(str(grant).split(".")[1])
    except (IndexError, ValueError):
        return False
    return expires - 60 > (time.time() if now is None else now)


def is_verified(tracker: Tracker) -> bool:
    """Verified for this booking in this conversation, and the API's grant still valid: after
    it expires (VERIFY_GRANT_MINUTES in the API) the digits are asked again."""
    verified = tracker.get_slot("verified_booking")
    return (
        bool(verified)
        and tracker.get_slot("booking_ref") in (None, verified)
        and grant_valid(tracker.get_slot("verify_grant"))
    )


async def own_booking(tracker: Tracker) -> Dict[str, Any]:
    """The verified traveller's booking, read with the grant of their check."""
    return await get_client().get_booking(
        tracker.get_slot("verified_booking"), tracker.get_slot("verify_grant"), tracker.sender_id
    )


class DigitsCheckingValidation(CountingFormValidation, ABC):
    """A form that ends with phone digits checked against a number by the API."""

    what: str  # "booking" or "ticket"
    number_slot: str

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> List[EventType]:
        slip = number_slip(self.what, latest_text(tracker))
        offered = _offered_already(tracker)
        asking = await self.required_slots(self.domain_slots(domain), dispatcher, tracker, domain)
        if not slip or not asking:
            # Nothing to ask (verified already, locked): the flow goes on as before.
            return await super().run(dispatcher, tracker, domain)
        # The traveller meant a number other than any held before: the digits of this message
        # must not be checked against that one; they wait for the corrected number.
        tracker.slots[self.number_slot] = None
        events = await super().run(dispatcher, tracker, domain)
        tracker.slots.update({e["name"]: e["value"] for e in events if e.get("event") == "slot"})
        noted = any(m.get("response") == "utter_noted" for m in dispatcher.messages)
        if tracker.get_slot("phone_last4") and not noted:
            slip += f"您提供的手机尾号已记下，只需重新发送正确的{_SHAPES[self.what][3]}即可。"
        dispatcher.utter_message(text=slip)
        if _blocked(events):
            return events + [SlotSet(self.number_slot, None)]
        if offered:
            stop = self._stop(dispatcher, len(dispatcher.messages))
            return events + [SlotSet(self.number_slot, None)] + stop
        failures = count_failure(dispatcher, tracker)
        return events + [SlotSet(self.number_slot, None), SlotSet("form_failures", failures)]

    async def get_validation_events(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> List[EventType]:
        """The validators' events; a failure after a human was offered ends the verification
        (the offer is made once: repeating it, and the question, only loops, and the API locks
        the number after five misses). Before the next question is chosen: required_slots sees
        the stop."""
        offered, said = _offered_already(tracker), len(dispatcher.messages)
        before = _failures(tracker)
        events = await super().get_validation_events(dispatcher, tracker, domain)
        counted = [
            e["value"] for e in events if e.get("event") == "slot" and e.get("name") == "form_failures"
        ]
        failures = counted[-1] if counted else None
        if not offered or _blocked(events) or failures is None or failures <= before:
            return events
        stop = self._stop(dispatcher, said)
        tracker.slots.update({e["name"]: e["value"] for e in stop})
        return events + stop

    @staticmethod
    def _stop(dispatcher: CollectingDispatcher, said: int) -> List[EventType]:
        """Ends the verification politely with a human offered, instead of asking again; the
        re-ask and offer of this turn (from message `said` on) are dropped."""
        dispatcher.messages[said:] = [
            m for m in dispatcher.messages[said:] if m.get("response") not in _RETRY_REPLIES
        ]
        dispatcher.utter_message(response="utter_verify_stopped")
        return [
            SlotSet("phone_last4", None),
            # The count was this attempt's: a new lookup (the ticket form starts without a reset)
            # must not stop at its first slip.
            SlotSet("form_failures", 0.0),
            SlotSet("verify_blocked", STOPPED),
            SlotSet("requested_slot", None),
        ]

    def answers_side_questions_later(self, tracker: Tracker) -> bool:
        # "TR… 尾号… 集合时间是几点？还有退团扣多少": the digits are checked in this turn, so the
        # refund question waits for action_verified and gets that booking's amount.
        return self.what == "booking" and gives_number_and_digits(tracker)

    def completes(self, events: List[EventType]) -> bool:
        return any(
            e.get("event") == "slot" and e.get("name") == "verified_booking" and e.get("value")
            for e in events
        )

    async def validate_phone_last4(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Dict[Text, Any]:
        shaped = super().validate_phone_last4(value, dispatcher, tracker, domain)
        digits, number = shaped.get("phone_last4"), tracker.get_slot(self.number_slot)
        if not digits or not number:
            return shaped  # asked again; or the number comes first
        return await check_digits(self, dispatcher, tracker, self.what, number, digits)

    async def check_held_digits(
        self, shaped: Dict[Text, Any], dispatcher: CollectingDispatcher, tracker: Tracker
    ) -> Dict[Text, Any]:
        """Digits given before the number ("手机后四位5678，帮我查下行程", then the number) are
        checked as soon as the number comes; so are digits sent alone just before, which no flow
        took ("5678", then "TR20260004 能退团吗")."""
        number = shaped.get(self.number_slot)
        digits = tracker.get_slot("phone_last4") or digits_said_before(tracker)
        if not number or not digits or "phone_last4" in tracker.slots_to_validate():
            return shaped  # digits of this message are checked by validate_phone_last4
        return {**shaped, **await check_digits(self, dispatcher, tracker, self.what, number, digits)}


def _failures(tracker: Tracker) -> int:
    return int(tracker.get_slot("form_failures") or 0)


def _offered_already(tracker: Tracker) -> bool:
    """A human was offered for this form's failures (count_failure: from the MAX_FAILURES-th on)."""
    return _failures(tracker) >= MAX_FAILURES


def _blocked(events: List[EventType]) -> bool:
    return any(
        e.get("event") == "slot" and e.get("name") == "verify_blocked" and e.get("value") for e in events
    )


class ValidateVerifyForm(DigitsCheckingValidation):
    what = "booking"
    number_slot = "booking_ref"

    def name(self) -> Text:
        return "validate_verify_form"

    async def required_slots(
        self,
        domain_slots: List[Text],
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: DomainDict,
    ) -> List[Text]:
        if is_verified(tracker) or tracker.get_slot("verify_blocked"):
            return []  # verified once for this booking in this conversation, or stopped
        return domain_slots

    async def validate_booking_ref(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Dict[Text, Any]:
        shaped = super().validate_booking_ref(value, dispatcher, tracker, domain)
        return await self.check_held_digits(shaped, dispatcher, tracker)


async def check_digits(
    form: CountingFormValidation,
    dispatcher: CollectingDispatcher,
    tracker: Tracker,
    what: str,
    number: str,
    digits: str,
) -> Dict[Text, Any]:
    """Ask the API whether the digits match the booking or ticket number."""
    client = get_client()
    try:
        if what == "booking":
            checked = await client.verify_booking(
                number, digits, tracker.sender_id, tracker.get_latest_input_channel() or "rest"
            )
        else:
            await client.verify_ticket(number, digits, tracker.sender_id)
    except (NotFound, Mismatch):
        # Same words for "no such number" and "not yours"; the number is kept, so the
        # traveller only resends the digits (or a corrected number).
        response = "utter_verify_failed_retry" if what == "booking" else "utter_ticket_verify_failed_retry"
        return form.reject("phone_last4", response, dispatcher, tracker, number=number)
    except Locked as locked:
        dispatcher.utter_message(response="utter_verify_locked", minutes=locked.minutes)
        return {"phone_last4": None, "verify_blocked": "locked"}
    except (Unavailable, TicketingError):
        logger.warning("verification unavailable")
        dispatcher.utter_message(response="utter_service_unavailable")
        return {"phone_last4": None, "verify_blocked": "unavailable"}
    if what == "ticket":
        return {"phone_last4": digits, "verified_ticket": number, "form_failures": 0.0}
    return {
        "phone_last4": digits,
        "verified_booking": number,
        "verify_grant": checked.get("grant"),
        "form_failures": 0.0,
    }


def gives_number_and_digits(tracker: Tracker) -> bool:
    """The booking number and the phone digits are both known at this message: the form
    checks them in this very turn."""
    return bool(tracker.get_slot("booking_ref") and tracker.get_slot("phone_last4"))


# "5678" or "尾号5678" alone, before anything asked for it.
_BARE_DIGITS = re.compile(r"^(?:手机|电话)?(?:号码?)?(?:尾号|后四位|后4位)?(?:是)?[:：]?\s*(\d{4})[。.!！]?$")
# What a message no flow claimed gets ("收到。请问您是想…"): the digits in it were not used.
_UNCLAIMED = {"action_route_message", "action_read_message"}


def digits_said_before(tracker: Tracker) -> Optional[str]:
    """ "5678", then "TR20260004 能退团吗": the phone's last four digits the traveller sent alone
    in the message just before, which nothing took. None otherwise."""
    said: List[str] = []
    actions: List[str] = []
    for event in reversed(tracker.events):
        if event.get("event") == "user":
            said.append(event.get("text") or "")
            if len(said) == 2:
                break
        elif event.get("event") == "action" and len(said) == 1 and event.get("name") != "action_listen":
            actions.append(event.get("name") or "")
    if len(said) < 2 or not actions or set(actions) - _UNCLAIMED:
        return None
    match = _BARE_DIGITS.match(to_simplified(said[1].translate(FULLWIDTH)).strip())
    return match.group(1) if match else None


class ActionStartVerification(Action):
    """Notes what the verification is for, before the form asks anything."""

    def name(self) -> Text:
        return "action_start_verification"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> List[EventType]:
        # "出发前10天呢" right after the refund table (read as an itinerary day): that line, no form.
        answered = bracket_follow_up(dispatcher, tracker)
        if answered is not None:
            return answered
        purpose = verification_purpose(tracker)
        asked: List[EventType] = []
        if purpose == "itinerary":
            from actions.reader import itinerary_slots
            from actions.router import asks_the_trip, complaint_in, start_complaint, trip_questions

            if complaint_in(tracker.latest_message) is not None:
                if not asks_the_trip(tracker.latest_message):
                    # "投诉 订单TR… 航班改了时间…要求补偿" (read as a flight question): a complaint;
                    # the form takes the booking number and the story from the message.
                    reset = [SlotSet("itinerary_item", None), SlotSet("day_number", None)]
                    return reset + start_complaint(dispatcher, tracker)
                # "我要投诉导游态度差，另外想问下明天几点集合？": only the question asks (the guide
                # complained of is no item asked for); the complaint starts once it is answered.
                item, day = itinerary_slots(",".join(trip_questions(tracker.latest_message)))
                tracker.slots.update(itinerary_item=item, day_number=day)
                asked = [SlotSet("itinerary_item", item), SlotSet("day_number", day)]
        if purpose == "cancellation" and not is_verified(tracker):
            dispatcher.utter_message(response="utter_cancellation_start")
        elif purpose == "refund" and not is_verified(tracker):
            dispatcher.utter_message(response="utter_refund_will_compute")
        events: List[EventType] = asked + [
            SlotSet("verify_purpose", purpose),
            SlotSet("verify_blocked", None),
            SlotSet("form_failures", 0.0),
        ]
        number = tracker.get_slot("booking_ref")
        others = [ref for ref in parse_booking_refs(latest_text(tracker)) if ref != number]
        if number and others:
            # "查一下TR20260001和TR20260013": one booking is checked at a time (each has its own
            # phone digits); say which, so the other is not silently dropped.
            dispatcher.utter_message(
                text=f"您发了{len(others) + 1}个订单号，先为您查 {number}；"
                f"{'、'.join(others)} 请在查完后再发一次，我再为您核实查询。"
            )
        labelled = None if tracker.get_slot("phone_last4") else parse_labelled_last4(latest_text(tracker))
        if labelled:
            # "cancel my booking TR20260006, phone 6789": the digits were given; the form checks
            # them on starting (it validates slots set since the message) instead of asking.
            events.append(SlotSet("phone_last4", labelled))
            tracker.slots["phone_last4"] = labelled
        if gives_number_and_digits(tracker):
            return events  # the questions beside wait for the check (validate_verify_form)
        return events + await answer_side_questions(dispatcher, tracker, primary=False)


class ActionVerified(Action):
    """After the form: answer what the verification was for."""

    def name(self) -> Text:
        return "action_verified"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> List[EventType]:
        purpose = tracker.get_slot("verify_purpose") or "itinerary"
        reset: List[EventType] = [
            SlotSet("verify_purpose", None),
            SlotSet("verify_blocked", None),
            SlotSet("phone_last4", None),
            SlotSet("refund_after_verify", None),
        ]
        if tracker.get_slot("verify_blocked") == "locked":
            # Locked by misses (maybe someone else's): a person can still help, so queue one now.
            return (
                reset
                + [SlotSet("booking_ref", None)]
                + await open_handoff(
                    tracker,
                    dispatcher,
                    "form_failures",
                    extra_summary={"verify_locked": tracker.get_slot("booking_ref")},
                )
            )
        if not is_verified(tracker):
            if not tracker.get_slot("verify_blocked"):
                dispatcher.utter_message(response="utter_verify_failed")
            return reset
        try:
            booking = await own_booking(tracker)
        except Mismatch:
            # The grant expired or is not this conversation's: verify again.
            dispatcher.utter_message(response="utter_verify_failed")
            return reset + [SlotSet("verified_booking", None), SlotSet("verify_grant", None)]
        except TicketingError:
            dispatcher.utter_message(response="utter_service_unavailable")
            return reset
        events: List[EventType] = []
        if purpose == "refund":
            text = refund_text(booking)
            if wished_to_cancel(tracker) and "需要我帮您登记" not in text:
                text += REGISTER_ASK  # "我不去了 TR… 尾号… 能退多少": not registered unasked, offered
            dispatcher.utter_message(text=text)
        elif purpose == "cancellation":
            events = await record_cancellation(dispatcher, tracker, booking)
        else:
            events = answer_itinerary(dispatcher, tracker, booking)
            if tracker.get_slot("refund_after_verify"):
                # The refund question asked beside the itinerary one (actions/refunds.py).
                dispatcher.utter_message(text=refund_text(booking))
        # Questions the verifying message asked beside (once per message: no repeat).
        events = reset + events + await answer_side_questions(dispatcher, tracker, primary=False)
        if purpose == "itinerary":
            from actions.router import complaint_in, start_complaint  # router -> ... -> here

            story = complaint_in(starting_message(tracker))
            if story is not None:
                # "我要投诉导游态度差，另外想问下明天几点集合？": the question answered, the complaint
                # it also made is started with what it said (nothing asked twice).
                events = [e for e in events if e.get("event") != "followup"]
                events += start_complaint(dispatcher, tracker, story)
        return events


def starting_message(tracker: Tracker) -> Dict[str, Any]:
    """The traveller's message that started the verification now ending (its text and parse)."""
    started = False
    for event in reversed(tracker.events or []):
        if event.get("event") == "action" and event.get("name") == "action_verified":
            return {}  # an earlier verification's end: this one started otherwise (a follow-up)
        if event.get("event") == "action" and event.get("name") == "action_start_verification":
            started = True
        elif started and event.get("event") == "user":
            return {**(event.get("parse_data") or {}), "text": event.get("text") or ""}
    return {}
