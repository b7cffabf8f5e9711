"""Fills every slot a message carries, whatever the form asked (DESIGN §5).

Rasa runs `action_read_message` after every traveller message, before it predicts
anything: every slot below has a custom mapping naming this action in domain.yml.
It returns only slot values (Rasa drops anything else a slot-mapping action returns);
the active form then validates what was set with its own validators, so a value
given out of turn is checked like one given when asked. Questions asked beside the
flow are answered by the flow's actions (actions/questions.py).
"""

from __future__ import annotations

import re
from typing import Any, Dict, List, Optional, Text, Tuple

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.fields import (
    FREE_TEXT_SLOTS,
    MIN_DESCRIPTION_CHARS,
    MAX_DESCRIPTION_CHARS,
    MAX_REQUEST_TEXT_CHARS,
    MAX_WHEN_WHERE_CHARS,
    NOT_GIVEN,
    REQUEST_LABELS,
    REQUEST_TEXT_SLOT,
)
from actions.forms.base import latest_entities, latest_intent, latest_text
from actions.emergency import complaint_about_past_trip, raise_waiting_handoff
from actions.handoff import acknowledge_waiting
from actions.utils.parsing import FOUR_DIGITS, canonical, parse_phone_last4, to_simplified
from actions.utils.reading import (
    BARE_NAME,
    NO_THEN_VALUE,
    YES_NO,
    Reading,
    confirmed_guess,
    consent_in,
    is_descriptive,
    is_question,
    looks_like_when_where,
    read,
    request_code,
    trip_cancellation_only,
    without_field_label,
    without_no_booking,
)
from actions.utils.text import date_span, day_ref, last_day_span, parse_day_number, relative_day_span

# Forms that ask for a number and then the phone's last four digits.
DIGITS_FORMS = {"verify_form", "ticket_form"}
# Never an answer to a form's question.
HARD_INTERRUPTIONS = {"cancel", "request_human", "emergency"}
# Intents that interrupt a form rather than answer it.
INTERRUPTIONS = HARD_INTERRUPTIONS | {
    "correct",
    "request_cancellation",
    "ask_capabilities",
    "greet",
    "goodbye",
    "thank",
    "bot_challenge",
}
# Interruptions only when they are questions ("红烧肉怎么做"); a statement is an answer.
QUESTION_INTERRUPTIONS = {"policy", "out_of_scope", "query_itinerary", "check_ticket"}
# "把多收的钱退给我们" answers "what do you want": wanting money back is not cancelling the trip here.
# At the story question only a story is an answer: "算了，直接退团吧" alone cancels the trip.
ANSWERS_WHEN_ASKED = {
    "complaint_request": {"request_cancellation"},
    "complaint_description": {"request_cancellation"},
}
# Questions where the words of a trip cancellation alone are no answer.
_NO_STORY_IN_CANCELLING = {"complaint_description"}
# In priority order: where two patterns overlap ("回程航班" is also "航班"), the first one wins.
_ITEMS = (
    (
        "return_flight",
        re.compile(
            r"(回程|返程|回来|回去|返回|回国|回家).{0,6}(航班|飞机|机票|班机)|(航班|飞机|机票).{0,4}(回程|返程)"
        ),
    ),
    ("outbound_flight", re.compile(r"(去程|出发|去的).{0,6}(航班|飞机|机票|班机)")),
    # "最后一天几点去机场": when they leave for the airport (the meeting) and the flight.
    ("airport", re.compile(r"(?:去|到|赶|送我们?去)机场|送机|送站")),
    ("meeting", re.compile(r"集合|碰头|在哪.{0,2}上车|接机|接站")),
    # "几点出发" beside a flight is the flight's time ("去程航班几点出发"): a meeting only alone.
    ("meeting?", re.compile(r"几点出发|在哪.{0,2}出发")),
    # "酒店附近有什么好吃的": the hotel is where, not what is asked.
    ("hotel", re.compile(r"住哪|住在|住的|住宿|(?:酒店|宾馆|民宿|hotel)(?!附近|周边|旁边|周围)|入住", re.I)),
    ("flight", re.compile(r"航班|飞机|机票|起飞|班机|落地|降落|flight|\bland(?:s|ing)?\b", re.I)),
    ("guide", re.compile(r"导游|领队|guide", re.I)),
    ("included", re.compile(r"包含|包括|含不含|包不包|费用包|自费|不含")),
    # What the booking record says: how many travel, what was paid ("十几个人" is a story).
    ("travellers", re.compile(r"(?<![十几多])几个人|几位|多少(?:个)?人|几个大人|几个小孩|人数")),
    (
        "price",
        re.compile(
            r"(?:付|交|花|支付|缴)(?:了|过)多少|(?:订单|团费)总?(?:金额|价格?)|总价|(?<!退)团费(?:是|一共)?多少"
            r"|(?:一共|总共)(?:付|交|花)?了?多少钱|价格是?多少|多少钱买的"
        ),
    ),
    # Restaurants, sights, shopping near them: not ours to recommend (answered so, not silently).
    # "导游推荐的购物店…" tells a story: only asking for a recommendation counts.
    (
        "recommend",
        re.compile(
            r"(?:有什么|有啥|哪些|哪里|哪儿|哪家)(?:好吃|好玩|美食|特产|餐厅|饭店|小吃|值得)"
            r"|推荐(?:一下|个|几|些|点|下)|(?:求|能|可以|帮我|给我)推荐|有(?:什么|没有|啥)推荐"
            r"|(?:附近|周边)有(?:什么|啥|没有)"
        ),
    ),
)
_FLIGHTS = {"return_flight", "outbound_flight", "flight"}
# Questions about the booking record, not the trip's days: no policy answers them.
RECORD_ITEMS = {"travellers", "price"}
# Answers that change with the day (the overview, None, too): a day said earlier in the
# message carries on to them ("第三天住哪，几点集合").
_DAY_ITEMS = {"meeting", "hotel", None}
# Items that keep a day said in their own question ("明天的航班"); unlike the items above, a
# flight takes no day carried from another question ("明天几点集合？另外航班是几点的": all of them).
_DATED_ITEMS = _DAY_ITEMS | {"flight"}
# Where one question of a message ends ("今天住哪个酒店 导游叫什么", "…？另外回程航班…").
_CLAUSE_BREAK = re.compile(r"[\s，,。.？?！!；;、]+|另外|还有|顺便|以及|再问")
# What is left of "那后天呢？" without its day: nothing of its own, so it asks again what was
# asked before, for another day.
_ELLIPSIS = re.compile(
    r"[\s，,。.？?！!~～、]|那么|那|呢|的|还有|又|再|吗|啊|呀|吧|and|what about|how about", re.I
)
_PAYLOAD = re.compile(r"^/\w+(\{.*\})?$", re.S)
# "我改主意了，不要退差价了，要求赔偿": a new request that replaces the one already given.
# Only the traveller's own words of changing their mind: "酒店被换成了三星级" is the story.
CHANGE_OF_MIND = re.compile(r"改主意|改变主意|不要.{1,12}了|不.{0,2}想要.{1,8}了|还是(?:要|想要|希望)")
# "D3" right before Chinese ("D3住哪") has no word boundary: Chinese characters are word characters.
_DAY = re.compile(r"第\s*[0-9一二两三四五六七八九十]+\s*[天日]|day\s*\d+|(?<![A-Za-z0-9])D\d+(?![0-9])", re.I)


Query = Tuple[Optional[str], Optional[str]]


def day_in(text: str) -> Optional[int]:
    """The day of the trip a message names ("第3天", "day 3", "D3"), if any."""
    said = _DAY.search(to_simplified(text or ""))
    return parse_day_number(said.group(0)) if said else None


def _day_spans(simple: str) -> List[Tuple[int, int, str]]:
    """Days a (simplified) message names, as the slot holds them: "3" or "明天"."""
    spans = [(m.start(), m.end(), str(parse_day_number(m.group(0)))) for m in _DAY.finditer(simple)]
    rest = simple
    # Every day said, not only the first ("今天住哪，明天几点集合"): relative days, the last day
    # ("回程", "最后一天"), calendar dates ("12月9号").
    for find in (relative_day_span, last_day_span, date_span):
        while True:
            found = find(rest)
            if not found:
                break
            word, start, end = found
            spans.append((start, end, word))
            rest = rest[:start] + " " * (end - start) + rest[end:]
    return sorted(spans)


def _item_spans(simple: str) -> List[Tuple[int, int, str]]:
    """Every item a message names, one per stretch of text (the more specific pattern first)."""
    taken: List[Tuple[int, int, str]] = []
    for item, pattern in _ITEMS:
        for m in pattern.finditer(simple):
            if not any(m.start() < end and start < m.end() for start, end, _ in taken):
                taken.append((m.start(), m.end(), item))
    return sorted(taken)


def itinerary_queries(text: str) -> List[Query]:
    """What an itinerary message asks, in the order asked: (item, day) pairs, the day as the slot
    holds it ("第三天住哪 导游电话多少" -> [("hotel", "3"), ("guide", None)]). A day said in a
    question belongs to every item of that question ("集合时间是明天几点") and carries on to
    later ones that change with the day; a day said alone asks again for the item before it
    ("第三天住哪，第四天呢") or completes it ("住哪，第三天")."""
    simple = to_simplified(text or "")
    days, items = _day_spans(simple), _item_spans(simple)
    # "回程航班" names the flight, not a day for the other items.
    flights = [(s, e) for s, e, i in items if i == "return_flight"]
    days = [d for d in days if not any(d[0] < e and s < d[1] for s, e in flights)]
    # A break inside a day ("第 3 天", "day 3") or an item splits nothing.
    inside = [(start, end) for start, end, _ in days + items]
    spans = [
        (m.start(), m.end())
        for m in _CLAUSE_BREAK.finditer(simple)
        if not any(s <= m.start() < e for s, e in inside)
    ]
    breaks = [start for start, _ in spans]

    def clause(position: int) -> int:
        return sum(1 for b in breaks if b < position)

    def asks_for_a_day(number: int) -> bool:
        # "第四天呢", "第三天": a day said alone asks; "今天午饭太差了我要投诉" is a story.
        begin = spans[number - 1][1] if number else 0
        text = simple[begin : spans[number][0] if number < len(spans) else None]
        for start, end, _ in _day_spans(text):
            text = text[:start] + " " * (end - start) + text[end:]
        return is_question(text) or not _ELLIPSIS.sub("", text).strip()

    queries: List[List[Optional[str]]] = []
    carried: Optional[str] = None
    for number in sorted({clause(s) for s, _, _ in days + items}):
        day = next((d for s, _, d in days if clause(s) == number), None)
        asked = [i for s, _, i in items if clause(s) == number]
        if any(i in _FLIGHTS for i in asked):
            asked = [i for i in asked if i != "meeting?"]
        asked = list(dict.fromkeys("meeting" if i == "meeting?" else i for i in asked))
        # "几点去机场": the time they leave (the meeting) and the flight they leave for.
        if "airport" in asked:
            at = asked.index("airport")
            asked = list(dict.fromkeys(asked[:at] + ["meeting", "flight"] + asked[at + 1 :]))
        if asked:
            for item in asked:
                queries.append([item, day or (carried if item in _DAY_ITEMS else None)])
        elif queries and not asks_for_a_day(number):
            continue  # a day in a story beside the question is no question about that day
        elif queries and queries[-1][0] in _DATED_ITEMS and queries[-1][1] is None:
            queries[-1][1] = day  # "住哪，第三天"
        elif queries and queries[-1][0] in _DATED_ITEMS:
            queries.append([queries[-1][0], day])  # "第三天住哪，第四天呢"
        elif not queries:
            queries.append([None, day])  # "后天呢": what was asked before, or that day's plan
        carried = day or carried
    if any(item for item, _ in queries):
        queries = [q for q in queries if q[0]]  # "后天，住哪": the day went on to the item
    # Items that do not change with the day take none ("第三天住哪 导游电话多少").
    result = [(item, day if item in _DATED_ITEMS else None) for item, day in queries]
    return list(dict.fromkeys(result))


def itinerary_slots(text: str) -> Tuple[Optional[str], Optional[str]]:
    """The itinerary_item and day_number slot values of a message. One question keeps its plain
    values ("hotel", "3"); several keep every item in the order asked ("meeting,return_flight"),
    since verification may come between the question and the answer. One day is written once
    and applies to every item that changes with the day; days that differ are written one per
    item ("住哪，第三天几点集合" -> "hotel,meeting", ",3")."""
    return _slot_values(itinerary_queries(text))


def _slot_values(queries: List[Query]) -> Tuple[Optional[str], Optional[str]]:
    items = [item for item, _ in queries if item]
    days = [day for item, day in queries if item in _DATED_ITEMS]
    if len(set(days)) > 1:
        return ",".join(items), ",".join(day or "" for _, day in queries)
    return (",".join(items) or None), next(iter(days), None)


def _queued(tracker: Tracker, text: str) -> Optional[Tuple[Optional[str], Optional[str]]]:
    """The questions held with those of `text` after them: asked while the verification waits
    for the digits ("今天住哪儿", then "后天呢", "最后一天的航班几点起飞"), every one is answered
    once it is done, not only the last. None when nothing is held or `text` asks nothing."""
    held_items = tracker.get_slot("itinerary_item")
    new = itinerary_queries(text)
    if not held_items or not new:
        return None
    names = held_items.split(",")
    said = (tracker.get_slot("day_number") or "").split(",")
    if len(said) != len(names):
        said = [said[0]] * len(names)
    held = [(item, (day or None) if item in _DATED_ITEMS else None) for item, day in zip(names, said)]
    # "后天呢" asks again what was asked last, for that day.
    added = [(item or held[-1][0], day) for item, day in new]
    added = [(item, day if item in _DATED_ITEMS else None) for item, day in added]
    return _slot_values(list(dict.fromkeys(held + added)))


def queries_from_slots(items: Optional[str], days: Optional[str]) -> List[Tuple[Optional[str], Any]]:
    """The (item, day) pairs of the slots written by itinerary_slots, days read by day_ref."""
    names: List[Optional[str]] = [i for i in (items or "").split(",") if i] or [None]
    said = (days or "").split(",")
    if len(said) != len(names):
        said = [said[0]] * len(names)  # one day for all (the items that do not care ignore it)
    return [(item, day_ref(day) if day else None) for item, day in zip(names, said)]


def is_elliptical(text: str) -> bool:
    """ "后天呢", "那第5天的呢？": a day and nothing else, asking what was asked before."""
    simple = to_simplified(text or "")
    spans = _day_spans(simple)
    if not spans:
        return False
    for start, end, _ in reversed(spans):
        simple = simple[:start] + simple[end:]
    return not _ELLIPSIS.sub("", simple).strip()


def itinerary_item(text: str) -> Optional[str]:
    """The first item the message asks about (itinerary_queries has them all)."""
    return next((item for item, _ in itinerary_queries(text) if item), None)


def in_complaint(tracker: Tracker) -> bool:
    return (
        (tracker.active_loop or {}).get("name") == "complaint_form"
        or bool(tracker.get_slot("complaint_confirming"))
        or bool(tracker.get_slot("cancel_pending"))
        or latest_intent(tracker) == "complain"
    )


def read_slots(tracker: Tracker) -> Dict[str, Any]:
    """Slot values the latest message carries, given where the conversation is."""
    message_id = (tracker.latest_message or {}).get("message_id")
    if message_id and tracker.get_slot("read_message_id") == message_id:
        # Rasa runs the mapping again when a form starts on this message: read once, so
        # a "不" that answered "确定放弃吗？" is not read again as the pending question's answer.
        return {}
    text = latest_text(tracker)
    if _PAYLOAD.match(text.strip()):
        text = ""  # a button ("/affirm", '/inform{"complaint_request": "fix"}'): intent and entities carry it
    intent = latest_intent(tracker)
    reading = read(text)
    loop = (tracker.active_loop or {}).get("name")
    # While "确定放弃吗？" waits, the question the form asked before still stands.
    requested = tracker.get_slot("requested_slot") if loop or tracker.get_slot("cancel_pending") else None
    slots: Dict[str, Any] = {}

    if reading.booking_ref:
        slots["booking_ref"] = reading.booking_ref
        previous = tracker.get_slot("booking_ref")
        if (
            previous
            and reading.booking_ref != previous
            and not reading.phone_last4
            and not _digits_wait_for_number(tracker)
        ):
            slots["phone_last4"] = None  # digits belong to the number they were given for
    if reading.ticket_no:
        slots["ticket_no"] = reading.ticket_no
    if reading.phone_last4:
        slots["phone_last4"] = reading.phone_last4
    elif intent not in HARD_INTERRUPTIONS and (
        requested == "phone_last4"  # "打错了，是1234" too
        # "8899" while the form asks for the number first: no number has four digits, so they
        # are the phone's, kept for the number to come (validate_verify_form checks them then).
        or (loop in DIGITS_FORMS and FOUR_DIGITS.fullmatch(canonical(reading.rest)))
    ):
        digits = parse_phone_last4(text)
        if digits:
            slots["phone_last4"] = digits

    item, day = itinerary_slots(text)
    if day and not day.replace(",", "").isdigit() and intent != "query_itinerary" and not is_question(text):
        day = None  # "昨天晚上酒店里…" tells a story: its day asks for no itinerary
    queued = (
        _queued(tracker, text)
        if loop == "verify_form" and (intent == "query_itinerary" or is_question(text))
        else None
    )
    if queued:
        slots["itinerary_item"], slots["day_number"] = queued
    elif item and (
        intent == "query_itinerary" or loop == "verify_form" or tracker.get_slot("verified_booking")
    ):
        slots["itinerary_item"] = item
        slots["day_number"] = day  # a new question: no day left from an earlier one
    elif day and (intent == "query_itinerary" or item):
        slots["day_number"] = day

    if in_complaint(tracker):
        if intent == "emergency" and complaint_about_past_trip(tracker, None):
            # "描述：领队把我们扔在机场自己走了…11月6号 曼谷机场，要求赔偿" (dated before today, a
            # complaint's words): action_emergency would take it for a complaint and read it so;
            # read here, its values answer the form, which goes on with them.
            intent = "complain"
        slots.update(_complaint_slots(tracker, reading, intent, requested))
    elif (
        intent == "inform"
        and not loop
        and looks_like_when_where(reading.rest)
        and not tracker.get_slot("complaint_when_where")
    ):
        # "11月19号晚上，张家界的酒店" before saying what it is about: only a complaint asks
        # for a time and place, so it is kept for one.
        slots["complaint_when_where"] = reading.rest
    # Only what changes: a slot set to its own value would count as an answer to the form. The
    # request's label stays set when only its words changed ("要求道歉" + "赔偿损失"): the form
    # validates the request and does not take the message for no answer at all.
    words = slots.get(REQUEST_TEXT_SLOT)
    keep = {"complaint_request"} if words and words != tracker.get_slot(REQUEST_TEXT_SLOT) else set()
    return {k: v for k, v in slots.items() if tracker.get_slot(k) != v or k in keep}


def _digits_wait_for_number(tracker: Tracker) -> bool:
    """The phone digits held were given after the booking number held (before a number was
    asked, "8899" then "TR20260012"): they wait for the number now given, not the old one's."""
    digits_seen = False
    for event in reversed(tracker.events or []):
        if event.get("event") == "user" and digits_seen:
            return True  # no number in the message that gave the digits
        if event.get("event") == "slot" and event.get("value") is not None:
            if event.get("name") == "booking_ref":
                return False  # given with or before the number held
            digits_seen = digits_seen or event.get("name") == "phone_last4"
    return digits_seen


def _interrupts(intent: Optional[str], text: str, requested: Optional[str] = None) -> bool:
    if intent in HARD_INTERRUPTIONS:
        return True
    if intent in ANSWERS_WHEN_ASKED.get(requested or "", ()) and not is_question(text):
        return requested in _NO_STORY_IN_CANCELLING and trip_cancellation_only(text)
    return intent in INTERRUPTIONS or (intent in QUESTION_INTERRUPTIONS and is_question(text))


def _complaint_slots(
    tracker: Tracker, reading: Reading, intent: Optional[str], requested: Optional[str]
) -> Dict[str, Any]:
    slots: Dict[str, Any] = {}
    text = reading.text
    if reading.phone:
        slots["phone"] = reading.phone
    if (tracker.get_slot("cancel_pending") or tracker.get_slot("complaint_confirming")) and intent in (
        "affirm",
        "deny",
    ):
        return slots  # "是的"/"不" answer the pending question, not a field
    if (
        requested == "complaint_request"
        and intent == "request_human"
        and request_code(reading.rest)
        and not ASKS_FOR_A_PERSON.search(text)
    ):
        # "apology pls", "我要道歉" at the request question (DIET heard "a person, please"): what
        # they want done, not a wish for an agent ("转人工", "找人工客服解决" still hand over).
        slots.update(_answer(requested, reading))
        return slots
    # Buttons carry the value itself: /inform{"complaint_request": "refund"}.
    for slot in ("complaint_request", "complaint_when_where"):
        value = next(iter(latest_entities(tracker, slot)), None)
        if value:
            slots[slot] = value
            if slot == "complaint_request":
                slots[REQUEST_TEXT_SLOT] = REQUEST_LABELS.get(value, value)
            return slots
    if tracker.get_slot("cancel_pending") and not tracker.get_slot("complaint_confirming"):
        slots.update(_while_drop_asked(tracker, reading))
        return slots
    given = tracker.get_slot("complaint_request")
    if (
        given
        and requested not in FREE_TEXT_SLOTS
        and intent not in HARD_INTERRUPTIONS
        and reading.request_text
        and CHANGE_OF_MIND.search(text)
    ):
        # A change of mind at any question (DIET reads it as `correct`, `deny` or not at all):
        # the request changes and the question asked stays open ("不要" is no refusal of consent).
        slots["complaint_request"] = reading.request_label or "other"
        slots[REQUEST_TEXT_SLOT] = reading.request_text[:MAX_REQUEST_TEXT_CHARS]
        return slots
    said = _bare_request(reading)
    if (
        said
        and requested == "booking_ref"
        and not given
        and intent not in HARD_INTERRUPTIONS | {"correct"}
        and not reading.booking_ref
    ):
        # "退钱！！！" while the booking number is asked: what they want, kept for the request
        # question (not asked again later); the number is asked again.
        slots.update(_updated_request(tracker, said))
        return slots
    if said and requested in AFTER_REQUEST and intent not in HARD_INTERRUPTIONS | {"correct"}:
        # "赔偿损失" while consent, the name or the phone is asked: it updates the request (their
        # words, the label beside them); the question asked stays open unless it is answered too
        # ("同意，赔偿损失").
        slots.update(_updated_request(tracker, said))
        if consent_in(text, None) is None or requested != "complaint_consent":
            return slots
    if requested == "complaint_consent" or (
        not tracker.get_slot("complaint_consent") and (reading.name or reading.phone) and "同意" in text
    ):
        # "同意，我叫王建国，138…" consents and gives the data in one message.
        said = consent_in(text, intent if requested == "complaint_consent" else None)
        if said is not None and intent != "correct":
            slots["complaint_consent"] = said
    confirming = bool(tracker.get_slot("complaint_confirming"))
    if confirming and intent not in HARD_INTERRUPTIONS | {"correct"}:
        # At the summary, "不要退差价了，要求赔偿" changes the request (action_correct_complaint shows it).
        said = read(text).request_text
        if said:
            slots["complaint_request"] = request_code(said) or "other"
            slots[REQUEST_TEXT_SLOT] = said[:MAX_REQUEST_TEXT_CHARS]
        return slots
    if _interrupts(intent, text, requested) and not (
        requested == "complaint_when_where"
        and intent not in HARD_INTERRUPTIONS
        and looks_like_when_where(text)
    ):
        return slots
    rest = reading.rest
    if reading.name and not tracker.get_slot("complainant_name"):
        slots["complainant_name"] = reading.name
    elif (
        BARE_NAME.match(rest)
        and not tracker.get_slot("complainant_name")
        and requested not in FREE_TEXT_SLOTS
    ):
        slots["complainant_name"] = rest  # "李娜" given before it was asked for
        return slots
    yes_no = bool(YES_NO.match(rest))  # "好的", "可以，同意" answer no free-text question
    if requested == "complaint_when_where" and not yes_no and intent not in HARD_INTERRUPTIONS:
        confirmed = confirmed_guess(rest, tracker.get_slot("complaint_description"))
        if confirmed:
            # "是的，10月16号" typed instead of pressing "是的，10月16号，三亚珠宝店": the guess,
            # whole, without the yes-word (or their words without it, when they differ).
            slots["complaint_when_where"] = confirmed[:MAX_WHEN_WHERE_CHARS]
            return slots
    corrects_guess = bool(NO_THEN_VALUE.match(rest)) and bool(NO_THEN_VALUE.sub("", rest, count=1).strip())
    if requested == "complaint_when_where" and (
        yes_no or (intent in ("affirm", "deny") and not looks_like_when_where(rest) and not corrects_guess)
    ):
        # "确认" to the question that offered the story's time or place as a button takes it.
        # Anything else ("同意", "好的" with nothing offered, "不") is no time and place, nor
        # "不记得": the field stays empty and the form asks again.
        guess = read(tracker.get_slot("complaint_description") or "").when_where
        if guess and consent_in(text, intent):
            slots["complaint_when_where"] = guess
        return slots
    if (
        requested in ("complaint_description", "complaint_when_where")
        and reading.request_text
        and not looks_like_when_where(rest)
    ):
        # "要求赔偿" or "希望给我们换一间房" while the story or the place was asked: it is the request
        # (and "11月25号晚上，厦门康莱德酒店。希望退一晚的房费" answers both).
        if len(rest) - len(reading.request_text) < 6 or requested == "complaint_when_where":
            slots["complaint_request"] = reading.request_label or "other"
            slots[REQUEST_TEXT_SLOT] = reading.request_text[:MAX_REQUEST_TEXT_CHARS]
            if requested == "complaint_when_where" and reading.when_where_clause:
                slots["complaint_when_where"] = reading.when_where_clause[:MAX_WHEN_WHERE_CHARS]
            return slots
    if (
        requested == "complaint_request"
        and not reading.request_text
        and not request_code(rest)
        and looks_like_when_where(rest)
    ):
        # "昨天晚上 芭提雅步行街" where the request was asked: a time and place, not a request. It
        # fills the time and place when that is empty or only what the story let us guess;
        # else the request's check says what it expects.
        updated = _when_where_update(tracker, rest)
        if updated:
            slots["complaint_when_where"] = updated[:MAX_WHEN_WHERE_CHARS]
        else:
            slots["complaint_request"], slots[REQUEST_TEXT_SLOT] = rest, rest
        return slots
    if requested in FREE_TEXT_SLOTS and rest and not yes_no:
        slots.update(_answer(requested, reading))
    description = tracker.get_slot("complaint_description")
    # "我真的没有订单号" (at the number question) is about the number, not what happened.
    story = without_no_booking(rest)
    # What happened, without what they ask for ("要求退钱并道歉" is the request, not the story).
    told = _without_request(story, reading.request_text)
    held_out = False  # a request that would have gone into the story goes to the request only
    # "那好吧 我同意 赶紧给我登记" answers the consent question: no more of the story.
    consented_now = requested == "complaint_consent" and "complaint_consent" in slots
    if "complaint_description" not in slots and is_descriptive(story) and not yes_no and not consented_now:
        if not (requested == "complaint_when_where" or looks_like_when_where(story)):
            held_out = told != story
            if not is_descriptive(told):
                pass  # a request and little else
            elif not description:
                slots["complaint_description"] = story  # the first story is kept whole, in their words
            elif told not in description and requested not in FREE_TEXT_SLOTS:
                # More of the story while something else was asked: added, nothing lost.
                slots["complaint_description"] = f"{description}\n{told}"[:MAX_DESCRIPTION_CHARS]
    if "complaint_description" in slots:
        # A full story may also say what they want ("要求退款并道歉"): kept in their words.
        story = read(slots["complaint_description"])
        if story.when_where_said and not tracker.get_slot("complaint_when_where"):
            # An explicit date *and* a place ("昨天晚上在丽江的酒店里", "10月4号九寨沟喜来登"):
            # said, not guessed.
            slots["complaint_when_where"] = story.when_where_said[:MAX_WHEN_WHERE_CHARS]
        if story.request_text and not tracker.get_slot("complaint_request"):
            slots["complaint_request"] = story.request_label or "other"
            slots[REQUEST_TEXT_SLOT] = story.request_text[:MAX_REQUEST_TEXT_CHARS]
    elif (
        not tracker.get_slot("complaint_when_where")
        and "complaint_when_where" not in slots
        and requested not in ("complainant_name", "complaint_request")
        and rest
        and looks_like_when_where(rest)
        and (tracker.get_slot("complaint_description") or requested == "booking_ref")
    ):
        # "11月26日 鼓浪屿" while another question was asked: it is the time and place.
        slots["complaint_when_where"] = rest
    if reading.request_text and "complaint_request" not in slots:
        given, words = tracker.get_slot("complaint_request"), tracker.get_slot(REQUEST_TEXT_SLOT)
        if not given:
            slots["complaint_request"] = reading.request_label or "other"
            slots[REQUEST_TEXT_SLOT] = reading.request_text[:MAX_REQUEST_TEXT_CHARS]
        elif held_out and words and reading.request_text not in words:
            # A second request beside the first, in their words; the first one's label stays
            # unless it was only "other".
            slots["complaint_request"] = (reading.request_label or "other") if given == "other" else given
            slots[REQUEST_TEXT_SLOT] = f"{words}；{reading.request_text}"[:MAX_REQUEST_TEXT_CHARS]
    return slots


# Words asking for a person ("转人工", "找人工客服", "real person"): no request, whatever else is said.
ASKS_FOR_A_PERSON = re.compile(
    r"人工|真人|转人|找客服|客服人员|接客服|经理|主管|human|agent|person|operator|staff", re.I
)
# Questions the form asks after the request: a request said there updates it.
AFTER_REQUEST = ("complaint_consent", "complainant_name", "phone")
# A request and nothing else, without "要求/希望" ("赔偿损失", "退款", "我要赔偿"): short.
_MAX_BARE_REQUEST = 12
_CONSENT_LEAD = re.compile(
    r"^(?:不同意|同意|可以|好的?|行|没问题|ok|okay|嗯+|是的|确认)[\s，,。.!！~～、]+", re.I
)


def _while_drop_asked(tracker: Tracker, reading: Reading) -> Dict[str, Any]:
    """At "确定放弃这次投诉吗？" the message answers that question, not the one the form asked
    before ("不，继续吧" is no time and place): only values that say what they are are kept, a
    request ("退款", "要求赔偿"), a time and place, a name said as one."""
    slots: Dict[str, Any] = {}
    rest = reading.rest
    said = reading.request_text or _bare_request(reading)  # "不，继续投诉，要求赔偿" too
    if said:
        slots.update(_updated_request(tracker, said))
    elif rest and looks_like_when_where(rest) and _when_where_update(tracker, rest):
        slots["complaint_when_where"] = _when_where_update(tracker, rest)[:MAX_WHEN_WHERE_CHARS]
    if reading.name and not tracker.get_slot("complainant_name"):
        slots["complainant_name"] = reading.name
    return slots


def _when_where_update(tracker: Tracker, said: str) -> Optional[str]:
    """The time and place once `said` (a time and place given out of turn) is taken: `said` where
    the field is open; a place added to a time given alone ("就是这周" + "在电话里"); None when
    `said` adds nothing to what is held."""
    if _when_where_open(tracker, said):
        return said
    given = tracker.get_slot("complaint_when_where") or ""
    held, new = read(given), read(said)
    if held.when and not (held.where or held.place_guess) and (new.where or new.place_guess) and not new.when:
        return f"{given}，{said}"
    return None


def _when_where_open(tracker: Tracker, said: str) -> bool:
    """The time and place is still empty, "不记得", only the guess the story offered, or less
    than what is said now ("昨天" before "昨天晚上 芭提雅步行街")."""
    given = tracker.get_slot("complaint_when_where")
    if not given or given == NOT_GIVEN or given in said:
        return True
    return given == read(tracker.get_slot("complaint_description") or "").when_where


def _bare_request(reading: Reading) -> Optional[str]:
    """The request a message that is only a request says, in the traveller's words: a marked
    clause ("要求赔偿") or, short, unmarked ("赔偿损失")."""
    rest = reading.rest
    if reading.request_text:
        # More of the story with it ("导游后来还骂人，希望退还半天费用") is read below.
        return reading.request_text if len(rest) - len(reading.request_text) < MIN_DESCRIPTION_CHARS else None
    rest = _CONSENT_LEAD.sub("", rest)  # "同意，赔偿损失": the consent is read on its own
    if rest and len(rest) <= _MAX_BARE_REQUEST and request_code(rest) and not YES_NO.match(rest):
        return rest
    return None


def _updated_request(tracker: Tracker, words: str) -> Dict[str, Any]:
    """The request updated with `words`: a second request goes beside the first; words that
    were no request (a place taken for one) are replaced."""
    label = request_code(words) or "other"
    given, before = tracker.get_slot("complaint_request"), tracker.get_slot(REQUEST_TEXT_SLOT)
    changed = list(CHANGE_OF_MIND.finditer(words))
    if changed:  # "不要退款了，赔偿损失": replaces the request, labelled by what follows
        label = request_code(words[changed[-1].end() :]) or "other"
    elif given and before and request_code(before) and words not in before:
        label = given if given != "other" else label
        words = f"{before}；{words}"
    elif given and before and words in before:
        return {}
    return {"complaint_request": label, REQUEST_TEXT_SLOT: words[:MAX_REQUEST_TEXT_CHARS]}


def _without_request(text: str, request: Optional[str]) -> str:
    """`text` without the clause that says what they want ("…三个购物店，希望退还半天费用")."""
    if not request or request not in text:
        return text
    head, _, tail = text.partition(request)
    return re.sub(r"^[\s，,。.！!；;]+|[\s，,。.！!；;]+$", "", f"{head.rstrip()}{tail}")


def complaint_slots_of(tracker: Tracker, text: Optional[str] = None) -> Dict[str, Any]:
    """What the latest message (or `text`, part of it) says for a complaint, read as if it started one."""
    reading = read(latest_text(tracker) if text is None else text)
    slots = _complaint_slots(tracker, reading, "complain", None)
    return {k: v for k, v in slots.items() if tracker.get_slot(k) != v}


def _answer(requested: str, reading: Reading) -> Dict[str, Any]:
    """The message answers the question the form asked."""
    rest = reading.rest
    if requested == "complaint_description":
        return {"complaint_description": rest}
    if requested == "complaint_when_where":
        return {"complaint_when_where": without_field_label(rest) or rest}
    if requested == "complaint_request":
        words = rest  # the whole answer is what they ask for, in their words
        return {
            "complaint_request": request_code(words) or "other",
            REQUEST_TEXT_SLOT: words[:MAX_REQUEST_TEXT_CHARS],
        }
    if requested == "complainant_name":
        return {"complainant_name": reading.name or rest}
    return {}


class ActionReadMessage(Action):
    def name(self) -> Text:
        return "action_read_message"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> List[EventType]:
        message_id = (tracker.latest_message or {}).get("message_id")
        slots = read_slots(tracker)
        events: List[EventType] = [SlotSet(name, value) for name, value in slots.items()]
        if tracker.is_paused() and tracker.get_slot("read_message_id") != message_id:
            if latest_intent(tracker) == "emergency":
                # Waiting for an agent: Rasa runs no action, but the queue must know at once, and
                # Rasa keeps only the slot events of a slot-mapping action: the API relays the advice.
                await raise_waiting_handoff(tracker)
            else:
                acknowledge_waiting(tracker)
        return events + [SlotSet("read_message_id", message_id)]
