"""Itinerary questions as travellers ask them: relative days (今天/明天/后天), several items in one
message, and "后天呢" after an answer. Dates are China's; "today" is injected, never the clock."""

from __future__ import annotations

import json
from datetime import date
from typing import Any, Dict, List, Optional

import pytest
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.reader import read_slots
from actions.utils.text import format_itinerary_answer
from actions.verification import ActionVerified
from tests.services import ROOT

TODAY = date(2026, 12, 7)  # TR20260001 left on 12-05: today is its day 3
BOOKINGS = {
    b["ref"]: b for b in json.loads((ROOT / "api" / "fixtures" / "bookings.json").read_text())["bookings"]
}
ONGOING, ENDED, FUTURE = BOOKINGS["TR20260001"], BOOKINGS["TR20260003"], BOOKINGS["TR20260004"]


def day(booking: Dict[str, Any], number: int) -> Dict[str, Any]:
    return next(d for d in booking["itinerary"] if d["day"] == number)


def other_hotels(booking: Dict[str, Any], number: int) -> set:
    keep = day(booking, number)["hotel"]
    return {d["hotel"] for d in booking["itinerary"] if d["hotel"] and d["hotel"] != keep}


# --- reading the question -------------------------------------------------------------------


@pytest.mark.parametrize(
    "text, queries",
    [
        ("第三天住哪 导游电话多少", [("hotel", "3"), ("guide", None)]),
        ("今天住哪个酒店 导游叫什么", [("hotel", "今天"), ("guide", None)]),
        ("明天几点集合？另外回程航班是几点的", [("meeting", "明天"), ("return_flight", None)]),
        ("TR20260001 尾号5678 明天几点集合", [("meeting", "明天")]),
        ("今晚住哪", [("hotel", "今天")]),
        ("明早几点集合", [("meeting", "明天")]),
        ("後天幾點集合", [("meeting", "后天")]),  # traditional
        ("大后天住哪里", [("hotel", "大后天")]),
        ("集合时间是明天几点", [("meeting", "明天")]),  # the day after the item, same clause
        ("去程航班几点出发", [("outbound_flight", None)]),  # "几点出发" of a flight is no meeting
        ("出发后天气怎么样，导游是谁", [("guide", None)]),  # 后天气 is the weather, not a day
    ],
)
def test_every_item_is_read_with_its_day_in_the_order_asked(text, queries):
    from actions.reader import itinerary_queries

    assert itinerary_queries(text) == queries


def tracker(
    text: str, slots: Optional[Dict[str, Any]] = None, events: Optional[List[Dict[str, Any]]] = None
) -> Tracker:
    return Tracker(
        sender_id="unit-test",
        slots=dict(slots or {}),
        latest_message={"text": text, "intent": {"name": "query_itinerary"}, "entities": []},
        events=list(events or []) + [{"event": "user", "text": text}],
        paused=False,
        followup_action=None,
        active_loop={},
        latest_action_name="action_listen",
    )


def test_the_reader_keeps_every_item_asked_for_after_verification():
    # The digits may be asked between question and answer: the slots carry the whole question.
    slots = read_slots(tracker("明天几点集合？另外回程航班是几点的"))
    assert (slots["itinerary_item"], slots["day_number"]) == ("meeting,return_flight", "明天")


def test_a_relative_day_alone_is_an_itinerary_question_only_when_it_asks_again():
    from actions.itinerary import own_business

    def slots(text: str) -> Dict[str, Any]:
        message = tracker(text, {"verified_booking": "TR20260001"})
        message.latest_message["intent"] = {"name": "out_of_scope"}
        return {e["name"]: e["value"] for e in own_business(message) or [] if e.get("event") == "slot"}

    assert slots("那明天呢？").get("day_number") == "明天"
    assert slots("明天会下雨吗") == {}  # the weather, not the trip


# --- answering from the booking (pure, explicit today) ---------------------------------------


def test_tomorrow_is_the_trip_day_of_china_tomorrow():
    answer = format_itinerary_answer(ONGOING, "meeting", "明天", today=TODAY)
    meeting = day(ONGOING, 4)["meeting"]
    assert "第4天" in answer and "12月8日" in answer and "12月5日" in answer
    assert meeting["time"] in answer and meeting["place"] in answer
    assert day(ONGOING, 1)["meeting"]["place"] not in answer


def test_tonight_names_one_hotel():
    answer = format_itinerary_answer(ONGOING, "hotel", "今天", today=TODAY)
    assert day(ONGOING, 3)["hotel"] in answer and "第3天" in answer
    assert not any(hotel in answer for hotel in other_hotels(ONGOING, 3))


def test_a_trip_that_ended_gets_no_meeting_point():
    answer = format_itinerary_answer(ENDED, "meeting", "明天", today=TODAY)
    assert "已于10月18日结束" in answer
    assert not any(d["meeting"]["place"] in answer for d in ENDED["itinerary"])


def test_before_departure_says_the_trip_has_not_started():
    answer = format_itinerary_answer(FUTURE, "hotel", "明天", today=TODAY)
    assert "12月18日" in answer and "还没有开始" in answer
    assert not any(d["hotel"] in answer for d in FUTURE["itinerary"] if d["hotel"])


def test_several_questions_get_several_answers_and_the_day_is_explained_once():
    from actions.utils.text import itinerary_answers

    answers = itinerary_answers(
        ONGOING, [("meeting", "明天"), ("hotel", "明天"), ("guide", None)], today=TODAY
    )
    assert len(answers) == 3
    assert day(ONGOING, 4)["meeting"]["place"] in answers[0] and day(ONGOING, 4)["hotel"] in answers[1]
    assert ONGOING["guide_phone"] in answers[2]
    assert sum("是第4天" in a for a in answers) == 1


# --- the action, against the real ticketing API -----------------------------------------------


@pytest.fixture
def china_today(monkeypatch):
    # The action's own clock, whatever the machine's date and zone.
    monkeypatch.setattr("actions.itinerary.china_today", lambda: TODAY, raising=False)


async def ask(text: str, booking: Dict[str, Any], events: Optional[List[Dict[str, Any]]] = None) -> List[str]:
    from actions.clients.ticketing import get_client

    grant = (await get_client().verify_booking(booking["ref"], booking["phone"][-4:], "unit-test"))["grant"]
    slots = {
        **read_slots(tracker(text, events=events)),
        "verified_booking": booking["ref"],
        "verify_grant": grant,
        "verify_purpose": "itinerary",
    }
    dispatcher = CollectingDispatcher()
    await ActionVerified().run(dispatcher, tracker(text, slots, events), {})
    return [m.get("text") or "" for m in dispatcher.messages]


async def test_tomorrows_meeting_is_not_day_ones(client, china_today):
    said = "\n".join(await ask("TR20260001 尾号5678 明天几点集合", ONGOING))
    assert day(ONGOING, 4)["meeting"]["place"] in said and "第4天" in said
    assert day(ONGOING, 1)["meeting"]["place"] not in said


async def test_an_ended_trip_is_said_to_have_ended(client, china_today):
    said = "\n".join(await ask("明天几点集合", ENDED))
    assert "已于10月18日结束" in said and day(ENDED, 1)["meeting"]["place"] not in said


async def test_hotel_and_guide_are_both_answered_in_order(client, china_today):
    said = "\n".join(await ask("今天住哪个酒店 导游叫什么", ONGOING))
    assert day(ONGOING, 3)["hotel"] in said and ONGOING["guide_name"] in said
    assert said.index(day(ONGOING, 3)["hotel"]) < said.index(ONGOING["guide_name"])
    assert not any(hotel in said for hotel in other_hotels(ONGOING, 3))


async def test_day_three_hotel_and_the_guides_phone(client, china_today):
    said = "\n".join(await ask("第三天住哪 导游电话多少", ONGOING))
    assert day(ONGOING, 3)["hotel"] in said and ONGOING["guide_phone"] in said


async def test_meeting_then_return_flight(client, china_today):
    said = "\n".join(await ask("明天几点集合？另外回程航班是几点的", ONGOING))
    meeting = day(ONGOING, 4)["meeting"]["place"]
    flight = day(ONGOING, len(ONGOING["itinerary"]))["flights"][0]["number"]
    assert meeting in said and flight in said and said.index(meeting) < said.index(flight)


async def test_the_day_after_tomorrow_follows_up_the_item_asked_before(client, china_today):
    # "明天几点集合" was answered (its item set, then cleared); "后天呢" asks the same for day 5.
    before = [
        {"event": "user", "text": "明天几点集合"},
        {"event": "slot", "name": "itinerary_item", "value": "meeting"},
        {"event": "slot", "name": "day_number", "value": "明天"},
        {"event": "slot", "name": "itinerary_item", "value": None},
    ]
    said = "\n".join(await ask("后天呢", ONGOING, before))
    assert day(ONGOING, 5)["meeting"]["place"] in said and "第5天" in said
    assert day(ONGOING, 1)["meeting"]["place"] not in said
    # Naming something else of that day is a new question: the day's plan, not the meeting again.
    plan = "\n".join(await ask("后天的行程安排", ONGOING, before))
    assert day(ONGOING, 5)["title"] in plan and day(ONGOING, 1)["title"] not in plan


async def test_an_itinerary_clause_beside_a_policy_question_gets_its_day(client, monkeypatch):
    # "行李限重多少？明天几点集合": the clause is answered by the policy flow, with China's tomorrow.
    from actions.clients.ticketing import get_client
    from actions.questions import answer_itinerary_clauses

    monkeypatch.setattr("actions.utils.refund.china_today", lambda: TODAY)
    grant = (await get_client().verify_booking(ONGOING["ref"], ONGOING["phone"][-4:], "unit-test"))["grant"]
    message = tracker(
        "行李限重多少？明天几点集合 导游电话多少", {"verified_booking": ONGOING["ref"], "verify_grant": grant}
    )
    message.latest_message.update(
        intent={"name": "policy"},
        clauses=[{"intent": "query_itinerary", "confidence": 0.9, "text": "明天几点集合 导游电话多少"}],
    )
    dispatcher = CollectingDispatcher()
    await answer_itinerary_clauses(dispatcher, message)
    said = "\n".join(m.get("text") or "" for m in dispatcher.messages)
    assert day(ONGOING, 4)["meeting"]["place"] in said and ONGOING["guide_phone"] in said
    assert day(ONGOING, 1)["meeting"]["place"] not in said


# --- no day named: today's trip day while the trip is under way ---------------------------------


def test_a_meeting_asked_without_a_day_during_the_trip_is_todays():
    answer = format_itinerary_answer(ONGOING, "meeting", None, today=TODAY)
    assert "今天" in answer and "第3天" in answer
    assert day(ONGOING, 3)["meeting"]["time"] in answer
    assert day(ONGOING, 1)["meeting"]["place"] not in answer


def test_a_hotel_asked_without_a_day_during_the_trip_is_tonights():
    answer = format_itinerary_answer(ONGOING, "hotel", None, today=TODAY)
    assert day(ONGOING, 3)["hotel"] in answer and "第3天" in answer
    assert not any(hotel in answer for hotel in other_hotels(ONGOING, 3))


def test_the_overview_during_the_trip_shows_today():
    answer = format_itinerary_answer(ONGOING, None, None, today=TODAY)
    assert day(ONGOING, 3)["title"] in answer and "第3天" in answer
    assert day(ONGOING, 1)["title"] not in answer


def test_before_departure_a_meeting_without_a_day_is_still_day_ones():
    answer = format_itinerary_answer(FUTURE, "meeting", None, today=TODAY)
    assert day(FUTURE, 1)["meeting"]["place"] in answer and "今天" not in answer


def test_after_the_trip_a_meeting_without_a_day_says_it_has_ended_and_gives_the_record():
    answer = format_itinerary_answer(ENDED, "meeting", None, today=TODAY)
    assert "已于10月18日结束" in answer and "当时的集合安排" in answer
    # The record comes after the word that the trip is over, never as if it were still ahead.
    assert answer.index("结束") < answer.index(ENDED["itinerary"][0]["meeting"]["place"])


def test_an_explicit_day_is_kept_during_the_trip():
    answer = format_itinerary_answer(ONGOING, "meeting", 5, today=TODAY)
    assert day(ONGOING, 5)["meeting"]["place"] in answer and "第5天" in answer and "今天" not in answer


async def test_where_to_meet_during_the_trip_is_todays_meeting(client, china_today):
    said = "\n".join(await ask("在哪集合", ONGOING))
    assert "第3天" in said and day(ONGOING, 3)["meeting"]["time"] in said
    assert day(ONGOING, 1)["meeting"]["place"] not in said


# --- flights of a day ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text, queries",
    [
        ("明天的航班", [("flight", "明天")]),
        ("今天坐哪个航班", [("flight", "今天")]),
        ("第6天的航班几点起飞", [("flight", "6")]),
        ("航班信息", [("flight", None)]),
        # A day said for another item does not carry on to the flights.
        ("明天几点集合？另外航班是几点的", [("meeting", "明天"), ("flight", None)]),
    ],
)
def test_a_day_said_with_the_flight_is_kept(text, queries):
    from actions.reader import itinerary_queries

    assert itinerary_queries(text) == queries


def test_the_flight_of_a_day_with_one():
    answer = format_itinerary_answer(ONGOING, "flight", "今天", today=date(2026, 12, 10))
    assert "MU5876" in answer and "MU5715" not in answer


def test_a_day_without_a_flight_says_so_and_gives_the_next_one():
    answer = format_itinerary_answer(ONGOING, "flight", "明天", today=TODAY)
    assert "第4天" in answer and "没有航班" in answer
    assert "MU5876" in answer and "回程" in answer and "MU5715" not in answer


def test_an_explicit_day_without_a_flight_gives_the_next_one():
    answer = format_itinerary_answer(ONGOING, "flight", 2, today=TODAY)
    assert "没有航班" in answer and "MU5876" in answer and "MU5715" not in answer


def test_tomorrows_flight_before_departure_is_the_outbound_flight():
    answer = format_itinerary_answer(FUTURE, "flight", "明天", today=TODAY)
    assert "还没有开始" in answer and day(FUTURE, 1)["flights"][0]["number"] in answer


def test_without_a_day_every_flight_is_still_listed():
    answer = format_itinerary_answer(ONGOING, "flight", None, today=TODAY)
    assert "MU5715" in answer and "MU5876" in answer


async def test_tomorrows_flight_through_the_action(client, china_today):
    said = "\n".join(await ask("明天的航班", ONGOING))
    assert "没有航班" in said and "MU5876" in said and "MU5715" not in said


async def test_the_day_after_a_flight_question_asks_for_that_days_flight(client, china_today):
    before = [
        {"event": "user", "text": "明天的航班"},
        {"event": "slot", "name": "itinerary_item", "value": "flight"},
        {"event": "slot", "name": "day_number", "value": "明天"},
        {"event": "slot", "name": "itinerary_item", "value": None},
    ]
    said = "\n".join(await ask("那后天呢", ONGOING, before))
    assert "第5天" in said and "没有航班" in said and "MU5876" in said


@pytest.mark.parametrize(
    "text, queries",
    [
        # A day in a complaint beside the question asks nothing about that day.
        ("明天几点集合？另外今天午饭太差了我要投诉", [("meeting", "明天")]),
        # A day said alone, or asked, still asks again for the item before it.
        ("第三天住哪，第四天呢", [("hotel", "3"), ("hotel", "4")]),
        ("住哪，第三天", [("hotel", "3")]),
        ("明天几点集合 后天呢", [("meeting", "明天"), ("meeting", "后天")]),
    ],
)
def test_a_day_in_a_story_beside_the_question_is_not_asked_about(text, queries):
    from actions.reader import itinerary_queries

    assert itinerary_queries(text) == queries
