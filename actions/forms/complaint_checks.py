"""How the value given for each complaint field is checked, as plain functions shaped like
rasa-sdk's validators ((value, dispatcher, tracker, domain) -> the slots to set).

The complaint form takes them as its `validate_<slot>` methods and a correction runs the
same check on the corrected value (`CHECKS`), so both accept, clean and refuse a value alike.
A refused value is cleared and asked again; from the second failure a human is offered.
"""

from __future__ import annotations

import re
from typing import Any, Callable, Dict, Optional, Text, Tuple

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
from actions.forms.base import (
    NOTED_LABELS,
    accept,
    check_booking_ref,
    count_failure,
    latest_text,
    previous_slot_value,
    reject,
)
from actions.utils.parsing import parse_phone, to_simplified
from actions.utils.reading import (
    BARE_NAME,
    DONT_KNOW,
    NO_THEN_VALUE,
    REQUEST_WORDS,
    WHEN,
    YES_NO,
    confirmed_guess,
    looks_like_when_where,
    read,
    request_code,
    says_nothing,
    without_no_booking,
)

Check = Callable[[Any, CollectingDispatcher, Tracker, DomainDict], Dict[Text, Any]]

# A request and nothing else, without "要求/希望" ("退款", "赔偿损失"): short.
_MAX_BARE_REQUEST = 12
# Chinese characters or Latin letters: an answer in words, not only digits and signs ("1234").
_WORDS = re.compile(r"[\u4e00-\u9fffA-Za-z]")
# What tells that something happened (done, not done, done to them): beside a request it is a story.
_HAPPENED = re.compile(r"了|过|着|被|把|没|不|太|很")
# "我不同意": the yes or no is the same without who says it.
_I = re.compile(r"^\s*我们?")
# A date written in digits only ("12.5", "2025-12-05", "12/5") is a time.
_DIGIT_DATE = re.compile(r"^\s*\d{1,4}[./\-]\d{1,2}(?:[./\-]\d{1,2})?")
# "不对 我说错了 是三个小时": the traveller corrects something said before.
_CORRECTION = re.compile(
    r"说错了|写错了|填错了|打错了|输错了|记错了|搞错了|弄错了|^\s*(?:不对|错了|更正|纠正)|(?:更正|纠正|改)一下"
    # "不是双廊，是大理古城", "是大理古城 不是双廊", "双廊不对 是大理古城": the old value and the new.
    r"|不是[^，,。；;\s]{1,12}[，,。；;\s]*(?:而|应该|其实)?是\S|\S[，,；;\s]*(?:而)?不是[^，,。；;\s]{1,12}$"
    r"|(?:不对|错了)[，,；;\s]*(?:应该|其实)?是\S"
)
# "不是 地点是去大理的路上": after a no, a field named with its new value corrects that field.
_FIELD_SAID = re.compile(r"(?:时间|日期|地点|地方|名字|姓名|手机号?|电话|订单号?)\s*(?:是|为|应该是|[:：])")
# What each question expects, said when an answer does not fit it (the form then asks again,
# with its buttons).
WHEN_WHERE_EXPECTED = (
    "抱歉，“{given}”看起来不是时间和地点。请告诉我这件事大概是什么时候、在哪里发生的"
    "（例如：12月6日上午，大理古城）；记不清的话可以回复“不记得”。"
)
REQUEST_EXPECTED = (
    "抱歉，“{given}”看起来不是您的诉求。请告诉我您希望我们怎么处理，"
    "例如退款、赔偿、道歉或整改，可以点选下面的按钮，也可以直接说。"
)


def check_complaint_description(
    value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
) -> Dict[Text, Any]:
    text = str(value or "").strip()
    before = previous_slot_value(tracker, "complaint_description")
    added = text[len(before) :].strip() if before and text.startswith(before) else text
    story = without_no_booking(added)
    if story != added:
        # "我没有订单号，是朋友帮我报的名" is about the booking number, not what happened: it is
        # left out, and what remains is the story (or the story is asked for, with no failure).
        if len(story) < MIN_DESCRIPTION_CHARS:
            return {"complaint_description": before or None}
        added = story
        text = f"{before}\n{story}" if before else story
    name = _bare_name("complaint_description", added, dispatcher, tracker, domain)
    if name is not None:
        return name
    if not before and looks_like_when_where(added):
        # "12月8日在广州" when asked what happened: the time and place (the reader noted them), not
        # the story, which is still asked for; taken as the story, the real one told next was
        # read as the request and lost (stranger 7).
        return {
            "complaint_description": None,
            "complaint_when_where": tracker.get_slot("complaint_when_where") or added[:MAX_WHEN_WHERE_CHARS],
            "form_failures": 0.0,
        }
    said = (request_only(added) or _unmarked_request(added)) if added else None
    if said:
        # "要求退钱并道歉" is what they ask for, not more of what happened (the reader keeps it
        # out of the story; an addition made as a correction, "描述补充一下：要求…", comes here).
        return {
            "complaint_description": before,
            "form_failures": 0.0,
            **_request_slots(tracker, *said),
        }
    if len(text) < MIN_DESCRIPTION_CHARS:
        return reject("complaint_description", "utter_description_too_short", dispatcher, tracker)
    # Kept whole (up to the API's limit): agents need the traveller's own words.
    return accept("complaint_description", text[:MAX_DESCRIPTION_CHARS])


def check_complaint_when_where(
    value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
) -> Dict[Text, Any]:
    text = str(value or "").strip()
    if DONT_KNOW.match(text):
        return accept("complaint_when_where", NOT_GIVEN)
    guess = offered_when_where(tracker)
    no = NO_THEN_VALUE.match(text)
    if guess and no and text[no.end() :].strip() and not previous_slot_value(tracker, "complaint_when_where"):
        # "不是 地点是去大理的路上 大巴车上" to "这件事是12月6号，车上发生的吗？": the part they name
        # changes, the rest of the guess (the date) stays.
        from actions.correction import when_where_corrected  # correction -> checks: no cycle

        text = when_where_corrected(latest_text(tracker) or text, text[no.end() :].strip(), guess)
    # "是的，10月16号": the offered guess confirmed in words; the yes-word is no part of it.
    text = confirmed_guess(text, tracker.get_slot("complaint_description")) or text
    moved = _elsewhere("complaint_when_where", text, dispatcher, tracker, domain)
    if moved is not None:
        return moved
    if len(text) < 2 or not _fits_when_where(text):
        # "同意", "1234": consent words belong to the consent question, digits to no question here.
        return _refuse("complaint_when_where", WHEN_WHERE_EXPECTED, text, dispatcher, tracker)
    return accept("complaint_when_where", text[:MAX_WHEN_WHERE_CHARS])


def guess_of(description: Optional[str]) -> Optional[str]:
    """The time and place a story lets the form offer as a button: only with a date in it
    ("车上" alone is no answer)."""
    story = read(description or "")
    return story.when_where[:MAX_WHEN_WHERE_CHARS] if story.when and story.when_where else None


def offered_when_where(tracker: Tracker) -> Optional[str]:
    """The guess the time and place question offers for this complaint's story."""
    return guess_of(tracker.get_slot("complaint_description"))


def _fits_when_where(text: str) -> bool:
    if looks_like_when_where(text) or _DIGIT_DATE.match(text):
        return True
    # "我要投诉" at this question (the complaint asked for again) is no time or place.
    return bool(_WORDS.search(text)) and not _yes_or_no(text) and not says_nothing(text)


def _yes_or_no(text: str) -> bool:
    """ "同意", "好的", "我不同意": a yes or a no (to consent, or to nothing asked)."""
    return bool(YES_NO.match(_I.sub("", text)))


def check_complaint_request(
    value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
) -> Dict[Text, Any]:
    code = str(value or "").strip()
    words = tracker.get_slot(REQUEST_TEXT_SLOT)
    if code == "other" and words and words != REQUEST_LABELS["other"]:
        code = words  # their words, read as no label ("王芳", "我不同意"): checked as words
    if code in REQUEST_LABELS:  # a label (a button, or read from their words this turn)
        words = tracker.get_slot(REQUEST_TEXT_SLOT) or REQUEST_LABELS[code]
    elif request_code(code):  # their words: the label is read from them, the words stay
        words, code = code, request_code(code)
    else:
        moved = _elsewhere("complaint_request", code, dispatcher, tracker, domain)
        if moved is None:
            moved = _bare_name("complaint_request", code, dispatcher, tracker, domain)
        if moved is not None:
            return moved
        if not _fits_request(code):
            return _refuse("complaint_request", REQUEST_EXPECTED, code, dispatcher, tracker)
        words, code = code, "other"
    return {**accept("complaint_request", code), REQUEST_TEXT_SLOT: words[:MAX_REQUEST_TEXT_CHARS]}


def _fits_request(text: str) -> bool:
    """Words that can be a request of their own ("给个说法", "尽快处理"); not digits ("6781"),
    a yes or no ("同意"), or only a time or place ("今天")."""
    if not _WORDS.search(text) or _yes_or_no(text):
        return False
    return not (looks_like_when_where(text) or (read(text).when_where or "") == text)


def _refuse(
    slot: Text, expected: str, given: str, dispatcher: CollectingDispatcher, tracker: Tracker
) -> Dict[Text, Any]:
    """Says what the question expects; the form asks it again (with its buttons) and, from the
    second failure, a human is offered."""
    dispatcher.utter_message(text=expected.format(given=given[:20]))
    return {**kept_as_before(slot, tracker), "form_failures": count_failure(dispatcher, tracker)}


def kept_as_before(slot: Text, tracker: Tracker) -> Dict[Text, Any]:
    """`slot` as it was before this message (the request's words with it): what the message
    put there is not an answer to it."""
    kept = {slot: previous_slot_value(tracker, slot)}
    if slot == "complaint_request":
        kept[REQUEST_TEXT_SLOT] = previous_slot_value(tracker, REQUEST_TEXT_SLOT)
    return kept


def request_only(text: str) -> Optional[Tuple[str, str]]:
    """(label, words) when the text is a request and little else ("要求退钱并道歉")."""
    reading = read(text)
    said = reading.request_text
    if not said or len(reading.rest) - len(said) >= MIN_DESCRIPTION_CHARS:
        return None
    return reading.request_label or request_code(said) or "other", said


def _bare_request(text: str) -> Optional[Tuple[str, str]]:
    """(label, words) for a short request without a marker ("退款", "赔偿损失"): given for the time
    and place (or at "确定放弃吗？" while that was asked) it is the request, not a place."""
    code = request_code(text)
    if not code or len(text) > _MAX_BARE_REQUEST or WHEN.search(text) or looks_like_when_where(text):
        return None
    return code, text


def _unmarked_request(text: str) -> Optional[Tuple[str, str]]:
    """(label, words) for a request said without "要求/希望" that starts with what they want and
    tells nothing of what happened ("赔偿行李里的东西，大概5000块", "退一半团费，再道个歉");
    "退款的事一直拖着没人管" is a story."""
    simple = to_simplified(text).strip()
    if not any(pattern.match(simple) for _, pattern in REQUEST_WORDS):
        return None
    left = simple
    for _, pattern in REQUEST_WORDS:
        left = pattern.sub("", left)
    if _HAPPENED.search(left):
        return None
    return request_code(simple) or "other", text.strip()


def _bare_name(
    slot: Text, text: str, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
) -> Optional[Dict[Text, Any]]:
    """A name and nothing else ("王芳") given for the story or the request: it is the name, kept
    for when the name is asked (as a phone number given early is), and `slot` is asked again."""
    if not BARE_NAME.match(text.strip()) or request_code(text):
        return None
    named = check_complainant_name(text, dispatcher, tracker, domain)
    if named.get("complainant_name") is None:
        return None
    if named["complainant_name"] != previous_slot_value(tracker, "complainant_name"):
        dispatcher.utter_message(response="utter_noted", fields=NOTED_LABELS["complainant_name"])
    return {**kept_as_before(slot, tracker), **named}


def _request_slots(tracker: Tracker, label: str, words: str) -> Dict[Text, Any]:
    """The request in the traveller's words; added to one given before, never lost."""
    before = previous_slot_value(tracker, REQUEST_TEXT_SLOT)
    old_code = previous_slot_value(tracker, "complaint_request")
    if before and old_code and words not in before:
        words = f"{before}；{words}"
        label = old_code if old_code != "other" else label
    elif before and old_code:
        words, label = before, old_code
    return {"complaint_request": label, REQUEST_TEXT_SLOT: words[:MAX_REQUEST_TEXT_CHARS]}


def _elsewhere(
    slot: Text, text: str, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
) -> Optional[Dict[Text, Any]]:
    """A request ("要求退钱并道歉") or a correction ("不对 我说错了 是三个小时") given as the
    answer to `slot`: it goes where it belongs, `slot` keeps what it had (and is asked again
    when empty). None when the text is an answer for `slot` after all."""
    if slot != "complaint_request":
        said = request_only(text) or _bare_request(text)
        if said:
            return {slot: previous_slot_value(tracker, slot), **_request_slots(tracker, *said)}
    if not (_CORRECTION.search(text) or (NO_THEN_VALUE.match(text) and _FIELD_SAID.search(text))):
        return None
    from actions.correction import correct_field  # correction -> complaint -> checks: no cycle

    return correct_field(slot, text, dispatcher, tracker, domain)


def check_complainant_name(
    value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
) -> Dict[Text, Any]:
    said = request_only(str(value or ""))
    if said:  # "要求退钱并道歉" is no name
        return {
            "complainant_name": previous_slot_value(tracker, "complainant_name"),
            **_request_slots(tracker, *said),
        }
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
