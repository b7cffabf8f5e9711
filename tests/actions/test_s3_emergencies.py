"""Emergencies the third stranger's test missed or mis-advised (report section C).

- written in English or half English ("help! my wife is hurt badly … Osaka"), a booking
  number beside it: the advice first, not the verification question;
- several people ill after a meal, ill now ("上吐下泻，现在很难受"): a hospital, the food kept,
  the guide told; the same told of yesterday stays a complaint;
- someone not breathing: 120 and CPR; an outbound booking not under way is no proof the
  traveller is abroad (China's numbers, and one line for abroad);
- a complaint about a trip that is over ("我要投诉 … 高反严重导游不管") is a complaint, unless
  the message says it is happening now.

The lexicon goes through the NLU component as in test_emergency_advice.py.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from rasa_sdk.executor import CollectingDispatcher

from actions.emergency import ActionEmergency, emergency_advice, whereabouts
from actions.utils.refund import china_today

from tests.actions.emergency_turns import Desk as _Desk
from tests.actions.emergency_turns import intent_of as _intent
from tests.actions.emergency_turns import kinds_of as _kinds
from tests.actions.emergency_turns import safety_lines as _safety
from tests.actions.emergency_turns import tracker as _tracker


# --- E12: English and half-English emergencies -------------------------------------------

ENGLISH = [
    ("help! my wife is hurt badly, we are at Osaka castle, booking TR20260004", "medical"),
    ("my son is missing in the night market, please help", "missing"),
    ("we lost our child at the airport!", "missing"),
    ("we were robbed just now, the man had a knife", "crime"),
    ("my dad collapsed and he is not breathing", "cardiac"),
    ("our bus crashed on the highway, people are bleeding", "medical"),
    ("我老婆hurt了 bleeding很厉害", "medical"),
    ("there's a fire in our hotel, smoke everywhere", "fire"),
    ("someone stole my passport just now in Bangkok", "documents"),
    ("my friend is drowning!", "water"),
    ("we are stranded at the airport, nobody picked us up", "stranded"),
    ("call an ambulance please, my mum fainted", "medical"),
]


@pytest.mark.parametrize("text, kind", ENGLISH)
def test_emergencies_in_english_are_emergencies_whatever_diet_read(text, kind):
    assert _intent(text) == "emergency"
    assert kind in _kinds(text)


NOT_NOW = [
    "the guide was rude to us, I want a refund",
    "my wallet was stolen last week, can the insurance pay",
    "what if my passport is stolen in Japan",
    "is accident insurance included in the price?",
    "the fire exit of the hotel was locked, I want to complain",
    "I want to cancel my trip to Japan",
]


@pytest.mark.parametrize("text", NOT_NOW)
def test_ordinary_english_questions_and_past_troubles_are_not_emergencies(text):
    assert _intent(text, "complain") != "emergency"


async def test_the_osaka_message_gets_japans_ambulance_the_line_and_the_guide_not_a_verification(desk):
    desk(_Desk("outbound"))
    text = "help! my wife is hurt badly, we are at Osaka castle, booking TR20260004"
    said = await emergency_advice(_tracker(text, {"booking_ref": "TR20260004"}))
    assert "119" in _safety(said) and "120" not in _safety(said)  # Japan's ambulance
    assert "12308" in said and "13145670000" in said and "紧急救援电话" in said


# --- E14: ill now, several after a meal -----------------------------------------------------

ILL_NOW = [
    ("我们团里五六个人吃完晚饭上吐下泻，现在很难受，订单TR20260011", "poisoning"),
    ("三个人吃了海鲜都在拉肚子", "poisoning"),
    ("全家吃完自助餐都吐了", "poisoning"),
    ("我吃完晚饭一直在吐，现在很难受", "poisoning"),
    ("好像食物中毒了", "poisoning"),
    ("孩子发烧39.5度，怎么办", "illness"),
    ("我老公胸口疼得受不了", "illness"),
    ("爸爸高反很难受，喘不上气", "medical"),
]


@pytest.mark.parametrize("text, kind", ILL_NOW)
def test_acute_illness_now_is_an_emergency(text, kind):
    assert _intent(text, "complain") == "emergency"
    assert kind in _kinds(text)


OVER = [
    "昨天的晚饭很难吃，吃完拉肚子，要求退餐费",
    "上次行程里高反很难受导游不管，我要投诉",
    "那天好几个人吃完团餐拉肚子，导游也不管",
    "现在肚子有点饿，附近有什么吃的",
    "孩子咳嗽，但没有呼吸困难，需要去医院吗",
    "车胎没气了，司机在换胎，等了半小时",
]


@pytest.mark.parametrize("text", OVER)
def test_illness_that_is_over_and_no_illness_are_not_emergencies(text):
    assert _intent(text, "complain") != "emergency"


async def test_food_poisoning_advice_is_a_hospital_the_food_kept_and_the_guide():
    said = await emergency_advice(_tracker("我们团里五六个人吃完晚饭上吐下泻，现在很难受"))
    assert "120" in said and "医院" in said and "保留" in said and "导游" in said


# --- E06: not breathing; where the traveller is ----------------------------------------------


async def test_someone_not_breathing_gets_120_and_cpr_before_the_trip_of_an_outbound_booking(desk):
    desk(_Desk("outbound", start_in_days=3))  # trip starts in 3 days: most likely at home
    said = await emergency_advice(_tracker("我妈突然晕倒了没有呼吸了", {"booking_ref": "TR20260013"}))
    assert "120" in _safety(said) and "心肺复苏" in said and "CPR" in said
    assert "当地急救电话" not in said.splitlines()[1] and "您在境外" not in said
    assert "如果您现在在境外" in said  # may be on the way: one line for abroad
    assert "保持清醒" not in said  # CPR, not the injury advice


async def test_an_outbound_trip_under_way_is_abroad(desk):
    desk(_Desk("outbound", start_in_days=-1))
    said = await emergency_advice(_tracker("我妈突然晕倒了没有呼吸了", {"booking_ref": "TR20260013"}))
    assert "当地急救电话" in said and "120" not in _safety(said) and "使领馆" in said


async def test_after_the_return_the_traveller_is_home_and_a_domestic_trip_is_home(desk):
    desk(_Desk("domestic", start_in_days=-2))
    said = await emergency_advice(_tracker("我爸晕倒了叫不醒", {"booking_ref": "TR20260001"}))
    assert "120" in said and "境外" not in said and "12308" not in said


async def test_without_a_booking_or_a_place_china_and_the_abroad_line():
    said = await emergency_advice(_tracker("我妈晕倒了叫不醒"))
    assert "120" in _safety(said) and "如果您现在在境外" in said and "12308" in said


def test_whereabouts():
    today = china_today()
    ahead = {
        "tour_type": "outbound",
        "departure_date": str(today + timedelta(days=3)),
        "return_date": str(today + timedelta(days=8)),
    }
    back = {
        **ahead,
        "departure_date": str(today - timedelta(days=9)),
        "return_date": str(today - timedelta(days=2)),
    }
    under_way = {**ahead, "departure_date": str(today)}
    assert whereabouts(False, ahead) == "home"
    assert whereabouts(False, back) == "home"
    assert whereabouts(False, under_way) == "abroad"
    assert whereabouts(False, {"tour_type": "outbound"}) == "unknown"
    assert whereabouts(False, None) == "unknown"
    assert whereabouts(True, ahead) == "abroad"


# --- F03: a complaint about a trip that is over ----------------------------------------------


async def test_a_complaint_about_an_ended_trip_opens_the_complaint_form_not_the_handoff(desk):
    desk(_Desk("domestic", start_in_days=-17, days=8))  # ended 10 days ago
    text = "我要投诉 TR20260002 高反严重导游不管"
    tracker = _tracker(text, {"booking_ref": "TR20260002"})
    dispatcher = CollectingDispatcher()
    events = await ActionEmergency().run(dispatcher, tracker, {})
    said = " ".join(m.get("text") or m.get("response") or "" for m in dispatcher.messages)
    assert "120" not in said and "utter_complaint_start" in said
    assert any(e.get("event") == "followup" and e["name"] == "complaint_form" for e in events)
    story = [e["value"] for e in events if e.get("event") == "slot" and e["name"] == "complaint_description"]
    assert story and "高反" in story[0]
    assert not any(e.get("event") == "pause" for e in events)


@pytest.mark.parametrize(
    "text",
    [
        "我要投诉 TR20260002 现在高反严重导游不管",  # happening now
        "TR20260002 我妈突然晕倒了没有呼吸了",  # no complaint: maybe at home today
        "我要投诉 TR20260002 我妈没有呼吸了",  # not breathing is always now
    ],
)
async def test_an_ended_trip_with_something_happening_now_stays_an_emergency(desk, text):
    from actions.emergency import complaint_about_past_trip

    d = desk(_Desk("domestic", start_in_days=-17, days=8))
    assert _intent(text, "complain") == "emergency"
    assert not complaint_about_past_trip(_tracker(text), d.booking)


async def test_a_complaint_during_the_trip_stays_an_emergency(desk):
    from actions.emergency import complaint_about_past_trip

    d = desk(_Desk("domestic", start_in_days=-2))
    assert not complaint_about_past_trip(_tracker("我要投诉 高反严重导游不管"), d.booking)
