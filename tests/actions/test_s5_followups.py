"""Fifth stranger's follow-ups: the day asked before verification is the one answered after it
(s5b9-02 '我们周三几点集合' got today; s5b5-01 '…我想问问明天去哪里' was called out of scope), and
'熱氣球是哪天' is the day whose programme names it (s5b8-03 got day 1). Dates are injected."""

from __future__ import annotations

from typing import Any, Dict

import pytest
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.itinerary import answer_itinerary, own_business
from actions.reader import itinerary_slots
from actions.utils.text import day_offset
from tests.actions.form_turns import user_turn
from tests.actions.test_itinerary_followups import BOOKINGS, ONGOING, TODAY  # TODAY: Mon 12-07, day 3
from tests.actions.test_own_business import followup, slot
from tests.actions.test_own_business import tracker as out_of_scope

TURKEY = BOOKINGS["TR20260022"]


def _tracker(text: str, slots: Dict[str, Any]) -> Tracker:
    return user_turn(text, "query_itinerary", listen=False, slots=slots, sender="s5")


def _said(text: str, slots: Dict[str, Any], booking: Dict[str, Any] = ONGOING) -> str:
    dispatcher = CollectingDispatcher()
    answer_itinerary(dispatcher, _tracker(text, slots), booking, today=TODAY)
    return "\n".join(m.get("text") or "" for m in dispatcher.messages)


@pytest.mark.parametrize(
    "text, word, offset",
    [
        ("我们周三几点集合", "周三", 2),
        ("星期三住哪", "周三", 2),
        ("礼拜三去哪玩", "周三", 2),
        ("週三幾點集合", "周三", 2),
        ("周一几点集合", "周一", 0),  # today is Monday: today
        ("下周一住哪", "下周一", 7),
        ("这周日几点集合", "本周日", 6),
    ],
)
def test_a_weekday_is_a_day_relative_to_today(text, word, offset):
    day = itinerary_slots(text)[1]
    assert day == word and day_offset(day, TODAY) == offset


@pytest.mark.parametrize("text", ["一周一次", "每周三都有吗"])
def test_a_week_is_no_weekday(text):
    assert itinerary_slots(text)[1] is None


def test_the_weekday_asked_before_verification_is_answered_after_it():
    # Wednesday 12-09 is day 5 of TR20260001: its meeting, not today's (day 3).
    said = _said("5678", {"itinerary_item": "meeting", "day_number": "周三"})
    assert "第5天" in said and "12月9日" in said and "第3天" not in said


@pytest.mark.parametrize(
    "text",
    [
        "老师你好我是张伟的父亲我儿子给我报的团我想问问明天去哪里",
        "您好 我家孩子报的团 后天去哪玩",
        "请问周三几点集合",
        "明天住哪个酒店？",
    ],
)
def test_a_day_of_the_trip_asked_unverified_asks_for_the_booking_and_keeps_the_day(text):
    events = own_business(out_of_scope(text))
    assert followup(events) == "verify_form" and slot(events, "verify_purpose") == "itinerary"
    assert slot(events, "day_number") == itinerary_slots(text)[1]


@pytest.mark.parametrize("text", ["明天会下雨吗", "几点在哪儿集合", "周末有什么好玩的电影"])
def test_no_day_of_the_trip_stays_out_of_scope(text):
    assert own_business(out_of_scope(text)) is None


@pytest.mark.parametrize(
    "text, number",
    [
        ("熱氣球是哪天", 4),
        ("什么时候坐热气球", 4),
        ("热气球那天是几号", 4),
        ("格雷梅露天博物馆是第几天", 4),
        ("哪天去棉花堡", 5),
        ("博斯普鲁斯海峡游船是哪一天", 8),
    ],
)
def test_which_day_something_happens_is_the_day_whose_programme_names_it(text, number):
    said = _said(text, {}, TURKEY)
    assert f"第{number}天" in said and "第1天" not in said
