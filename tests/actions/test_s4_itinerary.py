"""Fourth stranger's itinerary findings. s4b3-02: TR20260006 meets at 22:50 for CA933 at 01:50 on
the same date, so the meeting is the evening before and is said with that date ("是前一天晚上吗"
gets it again). s4b5-17: "有早餐吗" got today's overview; meals are answered from what the fee
includes. s4b2-04: "酒店呢" after "第5天去哪玩" listed every night's hotel. s4b5-18: a day of a trip
that has ended did not say it had. Dates are injected, never the clock."""

from __future__ import annotations

from datetime import date
from typing import Any, Dict, List

import pytest
from rasa_sdk.executor import CollectingDispatcher

from actions.itinerary import own_business
from actions.questions import answer_itinerary_clauses
from actions.utils.text import format_itinerary_answer, with_meals
from tests.actions.form_turns import user_turn
from tests.actions.test_itinerary_followups import (  # noqa: F401  (china_today is a fixture)
    BOOKINGS,
    ONGOING,
    TODAY,
    ask,
    china_today,
    day,
    other_hotels,
    tracker,
)

EUROPE, CAIRO, ISTANBUL, HONG_KONG = (
    BOOKINGS["TR20260006"],
    BOOKINGS["TR20260018"],
    BOOKINGS["TR20260022"],
    BOOKINGS["TR20260023"],
)
EVE = "4月9日（出发前一晚）22:50"


def _turn(text: str, **slots: Any) -> List[Dict[str, Any]]:
    """An earlier, answered question: its slots set, then cleared."""
    events: List[Dict[str, Any]] = [{"event": "user", "text": text}]
    events += [{"event": "slot", "name": k, "value": v} for k, v in slots.items()]
    events += [{"event": "slot", "name": k, "value": None} for k in slots]
    return events


# --- s4b3-02: a meeting the evening before an early flight -------------------------------------


@pytest.mark.parametrize(
    "item, day_asked, today",
    [
        ("meeting", None, TODAY),  # before departure: day 1's
        ("meeting", "1", TODAY),
        (None, None, TODAY),  # the overview
        (None, "1", TODAY),  # day 1's plan
        ("meeting", "明天", date(2027, 4, 9)),
        ("meeting", "今天", date(2027, 4, 9)),  # not started yet: day 1's meeting, which is tonight
    ],
)
def test_the_meeting_before_an_early_flight_is_on_the_evening_before(item, day_asked, today):
    answer = format_itinerary_answer(EUROPE, item, day_asked, today=today)
    assert EVE in answer and "CA933 4月10日 01:50 起飞" in answer
    assert "（2027-04-10）：22:50" not in answer and "出发当天" not in answer


def test_another_booking_with_a_night_flight_too():
    answer = format_itinerary_answer(CAIRO, "meeting", "1", today=TODAY)
    assert "11月15日（出发前一晚）22:35" in answer


def test_an_ordinary_meeting_keeps_its_own_day():
    answer = format_itinerary_answer(ONGOING, "meeting", "1", today=TODAY)
    assert f"第1天（2026-12-05）：{day(ONGOING, 1)['meeting']['time']} 在" in answer
    assert "前一晚" not in answer and "前一天晚上" not in answer


def test_a_meeting_far_from_the_flight_is_left_as_the_booking_says():
    # TR20260022's last day: meeting 07:30, TK26 at 01:40; no evening before fits (18 hours).
    answer = format_itinerary_answer(ISTANBUL, "meeting", "10", today=TODAY)
    assert "第10天（2027-05-10）：07:30 在" in answer and "前一天晚上" not in answer


@pytest.mark.parametrize(
    "text",
    [
        "这么晚？22:50集合是前一天晚上吗",
        "集合是头一天晚上吗",
        "是前一天晚上吗",
        "当天还是前一天？",
        "是提前一天去机场吗",
    ],
)
@pytest.mark.usefixtures("china_today")
async def test_asking_whether_it_is_the_evening_before_gets_that_line(client, text):
    before = _turn(
        "查一下我订单 TR20260006，手机13723456789，第一天的集合时间地点",
        itinerary_item="meeting",
        day_number="1",
    )
    said = "\n".join(await ask(text, EUROPE, before))
    assert EVE in said and day(EUROPE, 1)["meeting"]["place"] in said
    assert day(EUROPE, 2)["title"] not in said


@pytest.mark.parametrize("text", ["是前一天晚上吗", "难道是头一天晚上？", "当天还是前一天"])
def test_read_as_off_topic_it_still_asks_the_meeting_again(text):
    # NLU puts "是前一天晚上吗" in inform or out_of_scope: the itinerary flow still answers it.
    before = _turn("第一天几点集合", itinerary_item="meeting", day_number="1")
    events = own_business(tracker(text, {"verified_booking": EUROPE["ref"]}, before))
    slots = {e["name"]: e["value"] for e in events or [] if e.get("event") == "slot"}
    assert slots.get("itinerary_item") == "meeting" and slots.get("day_number") == "1"


# --- s4b5-17: meals, from what the fee includes ------------------------------------------------


MEAL_PHRASES = [
    "有早餐吗",
    "含不含午餐",
    "晚饭自理吗",
    "包餐吗",
    "中午管饭吗",
    "早餐包含吗",
    "酒店有早饭吗",
    "含早吗",
]


@pytest.mark.parametrize("text", MEAL_PHRASES)
@pytest.mark.usefixtures("china_today")
async def test_a_meal_question_is_answered_from_the_included_items(client, text):
    before = _turn("明天集合地点在哪 tr20260001 5678", itinerary_item="meeting", day_number="明天")
    said = "\n".join(await ask(text, ONGOING, before))
    assert "行程内早餐及所列正餐" in said and "早餐包含在团费里" in said and "自理" in said
    # Not today's overview, nor the whole fee list.
    assert day(ONGOING, 3)["title"] not in said and "旅行社责任险" not in said


@pytest.mark.parametrize("text", ["晚饭自理吗", "午饭怎么解决？", "中午管饭吗", "含早吗", "包餐吗"])
def test_a_meal_question_read_as_off_topic_goes_to_the_booking(text):
    events = own_business(tracker(text, {"verified_booking": ONGOING["ref"]}))
    slots = {e["name"]: e["value"] for e in events or [] if e.get("event") == "slot"}
    assert slots.get("itinerary_item") == "meals"


@pytest.mark.parametrize("text", ["午饭太难吃了", "明天早点集合", "今天天气怎么样"])
def test_a_story_or_other_words_are_no_meal_question(text):
    events = own_business(tracker(text, {"verified_booking": ONGOING["ref"]})) or []
    assert not any(e.get("name") == "itinerary_item" and e.get("value") == "meals" for e in events)


def test_the_whole_fee_list_is_kept_when_it_is_asked_too():
    assert with_meals([("included", None)], ["费用包含哪些，有早餐吗"]) == [
        ("included", None),
        ("meals", None),
    ]
    assert with_meals([("included", None)], ["含不含午餐"]) == [("meals", None)]
    assert with_meals([("hotel", "3")], ["第三天住哪，有晚饭吗"]) == [("hotel", "3"), ("meals", None)]
    assert with_meals([("hotel", "3")], ["第三天住哪"]) == [("hotel", "3")]


def test_no_meal_in_the_record_says_so_without_inventing():
    bare = {**ONGOING, "included": ["往返机票"], "excluded": ["单房差"]}
    answer = format_itinerary_answer(bare, "meals", None, today=TODAY)
    assert "没有写用餐" in answer and "早餐包含" not in answer


async def test_a_meal_clause_beside_a_policy_question(client, monkeypatch):
    from actions.clients.ticketing import get_client

    monkeypatch.setattr("actions.utils.refund.china_today", lambda: TODAY)
    grant = (await get_client().verify_booking(ONGOING["ref"], ONGOING["phone"][-4:], "unit-test"))["grant"]
    message = user_turn(
        "行李限重多少？有早餐吗",
        "policy",
        clauses=[{"intent": "query_itinerary", "confidence": 0.9, "text": "有早餐吗"}],
        slots={"verified_booking": ONGOING["ref"], "verify_grant": grant},
        listen=False,
    )
    dispatcher = CollectingDispatcher()
    await answer_itinerary_clauses(dispatcher, message)
    said = "\n".join(m.get("text") or "" for m in dispatcher.messages)
    assert "早餐包含在团费里" in said and day(ONGOING, 3)["title"] not in said


# --- s4b2-04: a follow-up keeps the day asked last ---------------------------------------------


@pytest.mark.parametrize("text", ["酒店呢", "住哪", "那住哪里呢", "酒店？"])
@pytest.mark.usefixtures("china_today")
async def test_the_hotel_after_a_days_plan_is_that_days(client, text):
    before = _turn("第5天去哪玩", day_number="5")
    said = "\n".join(await ask(text, ONGOING, before))
    assert day(ONGOING, 5)["hotel"] in said
    assert not any(hotel in said for hotel in other_hotels(ONGOING, 5))


@pytest.mark.parametrize(
    "text, item", [("那集合呢", "meeting"), ("几点集合", "meeting"), ("航班呢", "flight")]
)
@pytest.mark.usefixtures("china_today")
async def test_other_items_after_a_days_question_keep_the_day_too(client, text, item):
    before = _turn("最后一天住哪", itinerary_item="hotel", day_number="最后一天")
    said = "\n".join(await ask(text, ONGOING, before))
    last = day(ONGOING, 6)
    assert (last["meeting"]["place"] if item == "meeting" else last["flights"][0]["number"]) in said
    assert day(ONGOING, 3)["meeting"]["place"] not in said  # not today's
    assert day(ONGOING, 1)["flights"][0]["number"] not in said  # nor every flight


@pytest.mark.usefixtures("china_today")
async def test_the_day_kept_carries_on_to_the_next_follow_up(client):
    # "第5天去哪玩", "酒店呢" (day 5 kept), then "那集合呢": still day 5.
    from actions.verification import ActionVerified
    from tests.actions.test_itinerary_followups import read_slots

    before = _turn("第5天去哪玩", day_number="5")
    from actions.clients.ticketing import get_client

    grant = (await get_client().verify_booking(ONGOING["ref"], ONGOING["phone"][-4:], "unit-test"))["grant"]
    slots = {
        **read_slots(tracker("酒店呢", events=before)),
        "verified_booking": ONGOING["ref"],
        "verify_grant": grant,
        "verify_purpose": "itinerary",
    }
    events = await ActionVerified().run(CollectingDispatcher(), tracker("酒店呢", slots, before), {})
    after = before + [
        {"event": "user", "text": "酒店呢"},
        {"event": "slot", "name": "itinerary_item", "value": "hotel"},
    ]
    after += [e for e in events if e.get("event") == "slot"]
    said = "\n".join(await ask("那集合呢", ONGOING, after))
    assert day(ONGOING, 5)["meeting"]["place"] in said and day(ONGOING, 3)["meeting"]["place"] not in said


@pytest.mark.usefixtures("china_today")
async def test_asking_every_nights_hotel_does_not_keep_the_day(client):
    # During the trip a hotel asked without a day is tonight's (test_itinerary_followups).
    said = "\n".join(await ask("酒店都住哪些", ONGOING, _turn("第5天去哪玩", day_number="5")))
    assert "第5天" not in said and "第3天" in said


# --- s4b5-18: a day of a trip that has ended ---------------------------------------------------


@pytest.mark.parametrize(
    "text", ["第2天住哪", "第二天去哪玩", "11月23号住哪", "第3天几点集合", "最后一天的航班"]
)
@pytest.mark.usefixtures("china_today")
async def test_a_day_of_an_ended_trip_says_it_has_ended(client, text):
    said = "\n".join(await ask(text, HONG_KONG))
    assert "已于11月26日结束" in said


def test_a_day_of_a_trip_under_way_says_nothing_of_ending():
    assert "结束" not in format_itinerary_answer(ONGOING, "hotel", "2", today=TODAY)


@pytest.mark.parametrize("text", ["落地是几点", "几点降落", "what time do we land", "landing time?"])
def test_landing_asks_the_flight(text):
    # s4b6-05: after the return flight, "落地是几点" got today's overview.
    from actions.reader import itinerary_slots

    assert itinerary_slots(text)[0] == "flight"


@pytest.mark.parametrize("text", ["island tour", "我们在Iceland玩"])
def test_land_inside_a_word_is_no_flight(text):
    from actions.reader import itinerary_slots

    assert itinerary_slots(text)[0] is None
