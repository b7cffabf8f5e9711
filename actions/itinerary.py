"""Itinerary answers for a verified traveller: the question asked, from their booking."""

from __future__ import annotations

import re
from datetime import date
from typing import Any, Dict, List, Optional, Tuple

from rasa_sdk import Tracker
from rasa_sdk.events import EventType, FollowupAction, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.forms.base import latest_text
from actions.reader import is_elliptical, itinerary_slots, queries_from_slots
from actions.utils.parsing import to_simplified
from actions.utils.reading import is_question, read
from actions.utils.refund import china_today
from actions.utils.text import (
    DAY_FREE_ITEMS,
    DISCONTENT,
    FREE_TIME,
    LAST_DAY,
    MEAL_QUESTION,
    WHOLE_ITINERARY,
    arrival_note,
    asks_arrival_time,
    asks_when_to_arrive,
    asks_which_day,
    day_ref,
    days_with,
    free_time_answer,
    itinerary_answers,
    packing_note,
    whole_itinerary,
    with_meals,
)

# A day's plan asked without an item of ours ("12月9号去哪里玩", "最后一天干什么").
PLAN_WORDS = re.compile(r"去哪|玩什么|玩啥|干什么|干嘛|做什么|安排|行程|景点|活动|去什么地方")
# "是前一天晚上吗", "当天还是头一天": which date the answer just given falls on, asked without
# naming it again: the question before, again (its answer says the date).
_WHICH_DATE = re.compile(r"前一天|前一晚|头一天|头天|前天晚上|提前一天|当天还是|当晚还是|哪一?天晚上")
# Items whose answer changes with the day: "酒店呢" after "第5天去哪玩" keeps day 5.
_DAY_ITEMS = {"meeting", "hotel", "flight"}
# "酒店都住哪些", "每天几点集合": every day, not the one asked before.
_EVERY_DAY = re.compile(r"都|所有|每天|每晚|全部|各|哪些|哪几")
_PUNCTUATION = re.compile(r"[\s，,。.？?！!~～、：:]")
_CLAUSE_BREAK = re.compile(r"[\s，,。.？?！!；;~～]+")


def follow_up_clause(text: str) -> str:
    """ "那后天呢" of "哦今天已经过了 那后天呢": the last clause when it is a short follow-up on its own
    (what comes before only comments on the answer), else the whole message."""
    parts = [p for p in _CLAUSE_BREAK.split(text or "") if p]
    last = parts[-1] if parts else ""
    return last if len(parts) > 1 and is_elliptical(last) else text or ""


def answer_itinerary(
    dispatcher: CollectingDispatcher,
    tracker: Tracker,
    booking: Dict[str, Any],
    today: Optional[date] = None,
) -> List[EventType]:
    """Every item the question asked, in the order asked; "明天" is China's tomorrow."""
    # Slots hold what the question asked, even when verification came in between.
    queries = queries_from_slots(tracker.get_slot("itinerary_item"), tracker.get_slot("day_number"))
    queries = _same_item_again(tracker, queries)
    queries, kept_day = _same_day_again(tracker, queries)
    if queries == [(None, None)] and _asks_which_date(latest_text(tracker)):
        asked = last_question(tracker)
        queries = queries_from_slots(asked.get("itinerary_item"), asked.get("day_number"))
    if queries == [(None, None)]:
        # "熱氣球是哪天": the day whose programme names it (its plan says the date and hotel).
        thing = asks_which_day(latest_text(tracker))
        found = days_with(booking, thing) if thing else []
        queries = [(None, number) for number in found] or queries
    texts = _asking_texts(tracker)
    simple = [to_simplified(t) for t in texts]
    if queries == [(None, None)] and any(asks_when_to_arrive(t) for t in texts):
        queries = [("meeting", None)]  # "要提前多久到": the meeting, and the margin below
    elif queries == [(None, None)] and asks_arrival_time(latest_text(tracker)):
        queries = [(asks_arrival_time(latest_text(tracker)), None)]  # "几点到北京": the landing
    queries = with_meals(queries, texts)
    if queries == [(None, None)] and any(FREE_TIME.search(t) for t in simple):
        # "行程里有没有自由活动时间": the days with free time, not day 1's overview.
        dispatcher.utter_message(text=free_time_answer(booking))
    elif queries == [(None, None)] and any(WHOLE_ITINERARY.search(t) for t in simple):
        # "我的行程单发我一份": every day, not day 1's overview.
        dispatcher.utter_message(text=whole_itinerary(booking))
    else:
        for text in itinerary_answers(booking, queries, today or china_today()):
            dispatcher.utter_message(text=text)
    for note in (packing_note(texts), arrival_note(texts, booking)):
        if note:
            # "明天出发要带什么": the plan above, and where the list of what to bring is;
            # "要提前多久到": the meeting above, and the margin to keep.
            dispatcher.utter_message(text=note)
    # The day kept is recorded as asked ("酒店呢", then "那集合呢": still that day), then cleared.
    kept = [SlotSet("day_number", kept_day)] if kept_day else []
    return kept + [SlotSet("itinerary_item", None), SlotSet("day_number", None)]


def _asking_texts(tracker: Tracker) -> List[str]:
    """The traveller's messages of this question: the latest, back to the one that opened the
    verification form (the question may have been asked before the booking number and digits);
    only the latest when no opening is in reach (an older question is not this one)."""
    texts: List[str] = []
    opened = False
    for event in reversed(tracker.events or []):
        if event.get("event") == "user":
            texts.append(event.get("text") or "")
            if opened:
                return texts
            if len(texts) > 5:
                break
        elif event.get("event") == "active_loop" and event.get("name") == "verify_form":
            opened = True
    return [latest_text(tracker)]


def _same_item_again(tracker: Tracker, queries: List[Any]) -> List[Any]:
    """ "后天呢" after "明天几点集合": the items asked last time that change with the day, for
    the day named now (the slots were cleared after that answer: the tracker's events keep it)."""
    if len(queries) != 1 or queries[0][0] or queries[0][1] is None:
        return queries
    if not is_elliptical(follow_up_clause(latest_text(tracker))):
        return queries  # "后天的安排" asks for that day's plan
    previous = _previous_items(tracker)
    day = queries[0][1]
    again = [(item, day) for item, _ in previous if item and item not in DAY_FREE_ITEMS]
    if again and day == LAST_DAY and not any(item == "flight" for item, _ in again):
        again.append(("flight", day))  # "那回程呢" after "第一天几点集合": that day's flight too
    return again or queries


def _same_day_again(tracker: Tracker, queries: List[Any]) -> Tuple[List[Any], Optional[str]]:
    """ "酒店呢" after "第5天去哪玩": a short follow-up naming only items that change with the
    day keeps the day asked last (without it, every day's hotel would be listed); that day's
    slot value too, None when none is kept."""
    if not queries or any(item not in _DAY_ITEMS or day is not None for item, day in queries):
        return queries, None
    said = _PUNCTUATION.sub("", to_simplified(latest_text(tracker)))
    if _EVERY_DAY.search(said) or not (len(said) <= 6 or said.endswith("呢") or said.startswith("那")):
        return queries, None
    day = last_question(tracker).get("day_number")
    if not day or "," in str(day):
        return queries, None
    return [(item, day_ref(str(day))) for item, _ in queries], str(day)


def _asks_which_date(text: str) -> bool:
    simple = to_simplified(text)
    # "当天还是前一天" asks by its choice alone.
    return bool(_WHICH_DATE.search(simple)) and (is_question(simple) or "还是" in simple)


def last_question(tracker: Tracker) -> Dict[str, Any]:
    """The itinerary item and day the last question before this message asked (the slots are
    cleared once it is answered; the tracker's events keep them)."""
    events = list(tracker.events or [])
    users = [i for i, e in enumerate(events) if e.get("event") == "user"]
    end = users[-1] if users else len(events)
    turn: Dict[str, Any] = {}
    for event in reversed(events[:end]):
        if event.get("event") == "user":
            if turn:
                return turn
            continue
        name = event.get("name")
        if event.get("event") == "slot" and name in ("itinerary_item", "day_number") and event.get("value"):
            turn.setdefault(name, event["value"])
    return turn


def _previous_items(tracker: Tracker) -> List[Any]:
    events = list(tracker.events or [])
    # Skip the current message: its own reading named no item.
    last_user = max((i for i, e in enumerate(events) if e.get("event") == "user"), default=len(events))
    for event in reversed(events[:last_user]):
        if event.get("event") == "slot" and event.get("name") == "itinerary_item" and event.get("value"):
            return queries_from_slots(event["value"], None)
    return []


def asks_about_meals(text: str) -> bool:
    """ "包餐吗", "今天的晚餐含在团费里吗": a question about the meals, which the booking's fee
    answers; not a complaint about the food asked as a question ("晚餐太差了，能退钱吗")."""
    simple = to_simplified(text or "")
    return is_question(simple) and bool(MEAL_QUESTION.search(simple)) and not DISCONTENT.search(simple)


def own_business(tracker: Tracker) -> Optional[List[EventType]]:
    """A message NLU put out of scope or did not understand that is still about the traveller's
    own trip: it carries one of our ticket or booking numbers ("帮我查一下TR20260002，尾号1111"),
    or asks for a part of the verified itinerary ("几点在哪儿集合", "第10天呢"). The form that
    handles it takes over (verification happens there if it has not yet). None otherwise."""
    if tracker.active_loop:
        return None  # a form is asking: the reader gives it what the message holds
    said = latest_text(tracker)
    reading = read(said)
    if reading.ticket_no:
        return [SlotSet("form_failures", 0.0), FollowupAction("ticket_form")]
    # "哦今天已经过了 那后天呢": the follow-up at its end is what is asked.
    text = follow_up_clause(said)
    item, day = itinerary_slots(text)
    if day and not item and not day.isdigit() and not (is_elliptical(text) or PLAN_WORDS.search(text)):
        # "明天会下雨吗" is the weather; "明天呢", "12月9号去哪里玩" ask the itinerary
        day = None
    if not item and not day and tracker.get_slot("verified_booking"):
        if asks_about_meals(text):
            item = "meals"  # "晚饭自理吗": what the booking's fee includes says
        elif _asks_which_date(text):
            # "是前一天晚上吗" after the meeting: that question again, its answer says the date
            asked = last_question(tracker)
            item, day = asked.get("itinerary_item"), asked.get("day_number")
        elif asks_when_to_arrive(text):
            # "要提前多久到" after the meeting point: the meeting (its answer adds the margin)
            item, day = "meeting", last_question(tracker).get("day_number")
        elif asks_arrival_time(text):
            item = asks_arrival_time(text)  # "几点到北京" after the itinerary: the flight lands
    simple = to_simplified(text)
    # "行程单发我一份", "有没有自由活动": the whole trip (answer_itinerary reads which part).
    whole_trip = bool(tracker.get_slot("verified_booking")) and bool(
        WHOLE_ITINERARY.search(simple) or FREE_TIME.search(simple)
    )
    verified = tracker.get_slot("verified_booking")
    # "我想问问明天去哪里" before any verification: a day of the trip and what happens on it is
    # our traveller's own trip; verification asks for the booking and keeps the day asked.
    asks_a_day = bool(day) and bool(
        PLAN_WORDS.search(text) or (item and is_question(to_simplified(text)) and not DISCONTENT.search(text))
    )
    if not (reading.booking_ref or whole_trip or ((verified or asks_a_day) and (item or day))):
        return None
    events: List[EventType] = [
        SlotSet("verify_purpose", "itinerary"),
        SlotSet("verify_blocked", None),
        SlotSet("form_failures", 0.0),
    ]
    if item:
        events.append(SlotSet("itinerary_item", item))
    if day:
        events.append(SlotSet("day_number", day))
    return events + [FollowupAction("verify_form")]
