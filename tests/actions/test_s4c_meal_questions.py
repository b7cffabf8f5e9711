"""Meal questions from a verified traveller reach the booking's answer whatever the NLU read them
as (helper notes after stranger 4: "包餐吗" read as greet, "今天的晚餐含在团费里吗" as complain; 58cb19e
answers them on the itinerary paths). The one rule is itinerary.asks_about_meals, used by
own_business; a policy the selector is unsure of is handed to it too. A complaint about the food
asked as a question ("晚餐太差了，能退钱吗") is not a meal question.
"""

from __future__ import annotations

from typing import Any, Dict, List, Optional

import pytest
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.itinerary import asks_about_meals, own_business
from actions.policy import ActionAnswerPolicy
from actions.reader import queries_from_slots
from actions.router import misread_as_complaint, route
from actions.scope import ActionOutOfScope
from actions.utils.text import with_meals
from tests.actions.form_turns import user_turn


def verified(text: str, intent: str, key: Optional[str] = None, key_confidence: float = 0.0) -> Tracker:
    return user_turn(
        text,
        intent,
        confidence=0.5,
        key=key,
        key_confidence=key_confidence,
        slots={"form_failures": 0.0, "verified_booking": "TR20260001", "booking_ref": "TR20260001"},
        sender="unit-meals",
    )


def asks_meals(events: Optional[List[Dict[str, Any]]], text: str) -> bool:
    """The itinerary's verification follows and answers the meals (with_meals: "餐费包含吗" reads
    the item 'included', answered as the meals)."""
    events = events or []
    items = [e["value"] for e in events if e.get("event") == "slot" and e.get("name") == "itinerary_item"]
    follow = [e["name"] for e in events if e.get("event") == "followup"]
    queries = with_meals(queries_from_slots(items[-1] if items else None, None), [text])
    return follow == ["verify_form"] and queries == [("meals", None)]


MEAL_QUESTIONS = ["包餐吗", "今天的晚餐含在团费里吗", "明天中午管饭吗", "晚饭自理吗", "餐费包含吗"]
FOOD_COMPLAINTS = ["晚餐太差了，能退钱吗", "饭菜太难吃了吧？", "早餐怎么这么少？", "午餐不干净，凭什么不管？"]


@pytest.mark.parametrize("text", MEAL_QUESTIONS)
def test_a_meal_question_is_one(text):
    assert asks_about_meals(text)


@pytest.mark.parametrize("text", FOOD_COMPLAINTS + ["晚餐太差了", "早点集合吗"])
def test_a_complaint_about_the_food_is_not_a_meal_question(text):
    assert not asks_about_meals(text)


@pytest.mark.parametrize("text", MEAL_QUESTIONS)
@pytest.mark.parametrize("intent", ["inform", "nlu_fallback"])
def test_the_router_sends_a_meal_question_to_the_booking(text, intent):
    assert asks_meals(route(CollectingDispatcher(), verified(text, intent)), text)


@pytest.mark.parametrize("text", ["餐费包含吗", "包餐吗", "晚饭要自己付钱吗"])
async def test_a_meal_question_read_as_an_unsure_policy_goes_to_the_booking(text):
    dispatcher = CollectingDispatcher()
    events = await ActionAnswerPolicy().run(
        dispatcher, verified(text, "policy", "policy/insurance", 0.51), {}
    )
    assert asks_meals(events, text)
    assert dispatcher.messages == []


async def test_a_sure_policy_about_meals_keeps_its_answer():
    dispatcher = CollectingDispatcher()
    t = verified("航班延误了航空公司管饭吗", "policy", "policy/delay", 0.97)
    await ActionAnswerPolicy().run(dispatcher, t, {})
    assert [m.get("response") for m in dispatcher.messages] == ["utter_policy/delay"]


@pytest.mark.parametrize("text", FOOD_COMPLAINTS)
async def test_a_food_complaint_read_as_off_topic_gets_no_meal_information(text):
    assert own_business(verified(text, "out_of_scope")) is None
    dispatcher = CollectingDispatcher()
    events = await ActionOutOfScope().run(dispatcher, verified(text, "out_of_scope"), {})
    assert not asks_meals(events, text)


@pytest.mark.parametrize("text", ["今天的晚餐含在团费里吗", "包餐吗", "明天中午管饭吗"])
def test_a_meal_question_read_as_a_complaint_is_not_one(text):
    assert asks_meals(misread_as_complaint(CollectingDispatcher(), verified(text, "complain")), text)


@pytest.mark.parametrize(
    "text", ["晚餐太差了", "饭菜太难吃了，我要投诉", "TR20260001 导游太差了", "早餐怎么这么少？"]
)
def test_a_real_complaint_stays_one(text):
    assert misread_as_complaint(CollectingDispatcher(), verified(text, "complain")) is None
