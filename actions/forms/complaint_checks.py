"""How the value given for each complaint field is checked, as plain functions shaped like
rasa-sdk's validators ((value, dispatcher, tracker, domain) -> the slots to set).

The complaint form takes them as its `validate_<slot>` methods and a correction runs the
same check on the corrected value (`CHECKS`), so both accept, clean and refuse a value alike.
A refused value is cleared and asked again; from the second failure a human is offered.
"""

from __future__ import annotations

import re
from typing import Any, Callable, Dict, Text

from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.fields import (
    MAX_DESCRIPTION_CHARS,
    MAX_REQUEST_TEXT_CHARS,
    MAX_WHEN_WHERE_CHARS,
    MIN_DESCRIPTION_CHARS,
    NOT_GIVEN,
    REQUEST_LABELS,
    REQUEST_TEXT_SLOT,
)
from actions.forms.base import accept, check_booking_ref, latest_text, reject
from actions.utils.parsing import parse_phone
from actions.utils.reading import request_code

Check = Callable[[Any, CollectingDispatcher, Tracker, DomainDict], Dict[Text, Any]]

_DONT_KNOW = re.compile(r"^(不记得|不清楚|忘了|不知道|记不清|没注意)")


def check_complaint_description(
    value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
) -> Dict[Text, Any]:
    text = (value or "").strip()
    if len(text) < MIN_DESCRIPTION_CHARS:
        return reject("complaint_description", "utter_description_too_short", dispatcher, tracker)
    # Kept whole (up to the API's limit): agents need the traveller's own words.
    return accept("complaint_description", text[:MAX_DESCRIPTION_CHARS])


def check_complaint_when_where(
    value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
) -> Dict[Text, Any]:
    text = (value or "").strip()
    if _DONT_KNOW.match(text):
        return accept("complaint_when_where", NOT_GIVEN)
    if len(text) < 2:
        return reject("complaint_when_where", "utter_ask_complaint_when_where", dispatcher, tracker)
    return accept("complaint_when_where", text[:MAX_WHEN_WHERE_CHARS])


def check_complaint_request(
    value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
) -> Dict[Text, Any]:
    code = str(value or "").strip()
    if code in REQUEST_LABELS:  # a label (a button, or read from their words this turn)
        words = tracker.get_slot(REQUEST_TEXT_SLOT) or REQUEST_LABELS[code]
    else:  # their words: the label is read from them, the words stay
        words, code = code, request_code(code) or "other"
    return {**accept("complaint_request", code), REQUEST_TEXT_SLOT: words[:MAX_REQUEST_TEXT_CHARS]}


def check_complainant_name(
    value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
) -> Dict[Text, Any]:
    name = re.sub(r"^(我叫|我是|叫我|姓名[:：]?|名字[:：]?)", "", str(value or "").strip()).strip("。.，, ")
    if not 1 <= len(name) <= 20 or re.search(r"\d", name):
        return reject("complainant_name", "utter_invalid_name", dispatcher, tracker)
    return accept("complainant_name", name)


def check_phone(
    value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
) -> Dict[Text, Any]:
    phone = parse_phone(value) or parse_phone(latest_text(tracker))
    if not phone:
        return reject("phone", "utter_invalid_phone", dispatcher, tracker)
    return accept("phone", phone)


# The check of every complaint field a traveller can correct (actions/fields.py: LABELS).
CHECKS: Dict[Text, Check] = {
    "booking_ref": check_booking_ref,
    "complaint_description": check_complaint_description,
    "complaint_when_where": check_complaint_when_where,
    "complaint_request": check_complaint_request,
    "complainant_name": check_complainant_name,
    "phone": check_phone,
}
