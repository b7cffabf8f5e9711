"""Days said in words other than "第N天" or "明天": the journey home ("那回程呢", "回来那天在哪集合",
"最后一天几点去机场") is the trip's last day, and a calendar date ("12月9号", "12/9") is the trip day
it falls on. Also the booking record's facts (how many travel, what was paid) and a
recommendation asked beside the booking (declined in words, never answered with a hotel name).
Dates are China's; "today" is injected, never the clock."""

from __future__ import annotations

from datetime import date

import pytest

from actions.reader import itinerary_queries
from actions.utils.text import format_itinerary_answer
from tests.actions.form_turns import user_turn
from tests.actions.test_itinerary_followups import BOOKINGS, ONGOING, TODAY, ask, day

OSAKA, DANANG, LHASA = BOOKINGS["TR20260004"], BOOKINGS["TR20260013"], BOOKINGS["TR20260002"]


@pytest.fixture
def china_today(monkeypatch):
    monkeypatch.setattr("actions.itinerary.china_today", lambda: TODAY, raising=False)


def last(booking):
    return booking["itinerary"][-1]


@pytest.mark.parametrize(
    "text, queries",
    [
        ("那回程呢", [(None, "最后一天")]),
        ("返程呢？", [(None, "最后一天")]),
        ("那回程在哪集合", [("meeting", "最后一天")]),
        ("回来那天几点集合", [("meeting", "最后一天")]),
        ("回国那天住哪", [("hotel", "最后一天")]),
        ("最后一天几点去机场", [("meeting", "最后一天"), ("flight", "最后一天")]),
        ("最后一天的航班几点起飞", [("flight", "最后一天")]),
        ("我们回国是哪天的飞机", [("return_flight", None)]),
        # The return flight named as such is no day for the other items.
        ("回程航班几点，住哪", [("return_flight", None), ("hotel", None)]),
        ("12月9号去哪里玩", [(None, "12月9日")]),
        ("12/9几点集合", [("meeting", "12月9日")]),
        ("9号住哪", [("hotel", "9日")]),
        ("十二月九号住哪", [("hotel", "12月9日")]),
        # Numbers that are no dates: a gate, a product's length.
        ("是在2号门集合吗", [("meeting", None)]),
        ("云南6日游第3天住哪", [("hotel", "3")]),
        ("我订了几个人，付了多少钱", [("travellers", None), ("price", None)]),
        ("我们酒店附近有什么好吃的推荐", [("recommend", None)]),
        # A story naming a recommendation, a fee asked of a policy: neither asks the record.
        ("导游推荐的购物店强制消费", [("guide", None)]),
        ("改期要交多少钱", []),
        ("我们十几个人都没吃上饭", []),
    ],
)
def test_the_day_is_read_from_the_words_travellers_use(text, queries):
    assert itinerary_queries(text) == queries


def test_the_return_days_meeting_is_not_day_ones():
    answer = format_itinerary_answer(OSAKA, "meeting", "最后一天", today=TODAY)
    assert last(OSAKA)["meeting"]["place"] in answer and "第7天" in answer
    assert day(OSAKA, 1)["meeting"]["place"] not in answer


def test_a_date_inside_the_trip_is_its_trip_day():
    answer = format_itinerary_answer(ONGOING, None, "12月9日", today=TODAY)
    assert day(ONGOING, 5)["title"] in answer and "第5天" in answer
    assert day(ONGOING, 3)["title"] not in answer


def test_a_date_outside_the_trip_says_so():
    answer = format_itinerary_answer(ONGOING, "hotel", "12月20日", today=TODAY)
    assert "不在" in answer and "12月5日" in answer
    assert not any(d["hotel"] and d["hotel"] in answer for d in ONGOING["itinerary"])


def test_a_day_of_the_month_alone_is_found_in_the_trip():
    answer = format_itinerary_answer(ONGOING, "hotel", "9日", today=TODAY)
    assert day(ONGOING, 5)["hotel"] in answer


def test_the_return_flight_says_its_day():
    answer = format_itinerary_answer(ONGOING, "return_flight", None, today=TODAY)
    assert "MU5876" in answer and "第6天（2026-12-10）" in answer


def test_the_plan_of_one_day_shows_its_flight():
    answer = format_itinerary_answer(ONGOING, None, "最后一天", today=TODAY)
    assert "MU5876" in answer and "MU5715" not in answer


def _follow(item):
    return [
        {"event": "user", "text": "第一天几点集合"},
        {"event": "slot", "name": "itinerary_item", "value": item},
        {"event": "slot", "name": "itinerary_item", "value": None},
    ]


async def test_return_follow_up_after_the_summary_gives_the_return_day(client, china_today):
    said = "\n".join(await ask("那回程呢", ONGOING, [{"event": "user", "text": "查下行程"}]))
    assert "MU5876" in said and day(ONGOING, 6)["title"] in said
    assert day(ONGOING, 3)["title"] not in said


async def test_return_follow_up_after_a_meeting_gives_that_days_meeting_and_flight(client, china_today):
    said = "\n".join(await ask("那回程呢", DANANG, _follow("meeting")))
    assert last(DANANG)["meeting"]["place"] in said and "VN520" in said
    assert day(DANANG, 1)["meeting"]["place"] not in said


async def test_where_to_meet_for_the_return_is_the_last_days_meeting(client, china_today):
    said = "\n".join(await ask("那回程在哪集合", OSAKA))
    assert last(OSAKA)["meeting"]["place"] in said
    assert day(OSAKA, 1)["meeting"]["place"] not in said


async def test_when_to_leave_for_the_airport_on_the_last_day(client, china_today):
    said = "\n".join(await ask("我想问下最后一天几点去机场", OSAKA))
    assert last(OSAKA)["meeting"]["time"] in said and "MU516" in said
    assert day(OSAKA, 1)["meeting"]["place"] not in said and "NH920" not in said


async def test_an_ended_trips_return_day_is_given_as_the_record(client, china_today):
    said = "\n".join(await ask("那回程呢", LHASA, [{"event": "user", "text": "查行程"}]))
    assert "CA4112" in said and day(LHASA, 1)["meeting"]["place"] not in said


async def test_a_date_asked_after_verification(client, china_today):
    said = "\n".join(await ask("12月9号住哪", ONGOING))
    assert day(ONGOING, 5)["hotel"] in said and day(ONGOING, 3)["hotel"] not in said


async def test_how_many_travel_and_what_was_paid(client, china_today):
    said = "\n".join(await ask("我订了几个人，付了多少钱", BOOKINGS["TR20260010"]))
    assert "3 人" in said and "19740" in said


def test_the_record_without_the_facts_says_where_to_look():
    bare = {k: v for k, v in BOOKINGS["TR20260010"].items() if k not in ("travellers", "price_cny")}
    assert "合同" in format_itinerary_answer(bare, "travellers", None, today=TODAY)
    assert "付款凭证" in format_itinerary_answer(bare, "price", None, today=TODAY)


async def test_a_recommendation_is_declined_not_answered_with_the_hotel(client, china_today):
    said = "\n".join(await ask("我们酒店附近有什么好吃的推荐", ONGOING))
    assert "不在我的服务范围" in said and ONGOING["guide_phone"] in said
    assert day(ONGOING, 3)["hotel"] not in said


def test_a_date_keeps_its_month_across_the_year_end():
    trip = {**ONGOING, "departure_date": "2026-12-30", "return_date": "2027-01-02"}
    trip["itinerary"] = [
        {**d, "day": n, "date": f"{when}"}
        for n, (d, when) in enumerate(
            zip(ONGOING["itinerary"], ["2026-12-30", "2026-12-31", "2027-01-01", "2027-01-02"]), start=1
        )
    ]
    answer = format_itinerary_answer(trip, None, "1月1日", today=date(2026, 12, 29))
    assert "第3天" in answer


# --- "我订了几个人，付了多少钱" read as a policy question -----------------------------------------

RECORD_CLAUSES = [
    {"intent": "policy", "response_key": "policy/change", "confidence": 0.8, "text": "我订了几个人"},
    {"intent": "out_of_scope", "confidence": 0.9, "text": "付了多少钱"},
]


def _policy_message(text, clauses, slots=None, key="policy/change"):
    return user_turn(text, "policy", clauses=clauses, key=key, message_id="m1", slots=slots, listen=False)


async def test_a_question_about_the_record_goes_to_the_booking_not_the_change_policy():
    from rasa_sdk.executor import CollectingDispatcher

    from actions.questions import answer_policy_question

    dispatcher = CollectingDispatcher()
    events = await answer_policy_question(
        dispatcher, _policy_message("TR20260010 6781 我订了几个人，付了多少钱", RECORD_CLAUSES)
    )
    assert dispatcher.messages == []
    assert {"event": "followup", "name": "verify_form"} in [
        {k: e.get(k) for k in ("event", "name")} for e in events
    ]
    assert any(e.get("name") == "itinerary_item" and e.get("value") == "travellers,price" for e in events)
    # The verification form that runs next must not answer the same message as a policy question.
    assert any(e.get("name") == "answered_message_id" and e.get("value") == "m1" for e in events)


async def test_the_verification_form_then_says_no_policy_for_that_message():
    from rasa_sdk.executor import CollectingDispatcher

    from actions.questions import answer_policy_question, answer_side_questions

    message = _policy_message("订单上是几位出行", [])
    events = await answer_policy_question(CollectingDispatcher(), message)
    for event in events:
        if event.get("event") == "slot":
            message.slots[event["name"]] = event["value"]
    message.active_loop = {"name": "verify_form"}
    dispatcher = CollectingDispatcher()
    await answer_side_questions(dispatcher, message, primary=True)
    assert dispatcher.messages == []


async def test_a_change_fee_question_is_still_the_change_policy():
    from rasa_sdk.executor import CollectingDispatcher

    from actions.questions import answer_policy_question

    clauses = [
        {"intent": "policy", "response_key": "policy/change", "confidence": 0.9, "text": "改期要交多少钱"}
    ]
    dispatcher = CollectingDispatcher()
    await answer_policy_question(dispatcher, _policy_message("改期要交多少钱？", clauses))
    assert [m.get("response") for m in dispatcher.messages] == ["utter_policy/change"]


async def test_after_verification_the_record_is_answered_once_and_nothing_declined(client, china_today):
    from rasa_sdk.executor import CollectingDispatcher

    from actions.clients.ticketing import get_client
    from actions.verification import ActionVerified

    booking = BOOKINGS["TR20260010"]
    grant = (await get_client().verify_booking(booking["ref"], booking["phone"][-4:], "unit-test"))["grant"]
    slots = {
        "verified_booking": booking["ref"],
        "verify_grant": grant,
        "verify_purpose": "itinerary",
        "itinerary_item": "travellers,price",
    }
    clauses = RECORD_CLAUSES + [{"intent": "query_itinerary", "confidence": 0.9, "text": "付了多少钱"}]
    dispatcher = CollectingDispatcher()
    await ActionVerified().run(
        dispatcher, _policy_message("TR20260010 6781 我订了几个人，付了多少钱", clauses, slots), {}
    )
    said = [m.get("text") or m.get("response") or "" for m in dispatcher.messages]
    joined = "\n".join(said)
    assert "3 人" in joined and joined.count("19740") == 1
    assert "utter_policy/change" not in said and "服务范围" not in joined
