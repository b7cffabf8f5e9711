"""Two policy questions in one message are answered in the order they were asked, also when the
whole message's answer comes from a clause the clause reader was unsure of."""

from __future__ import annotations

from typing import Any, Dict, List

from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.questions import answer_policy_question


def tracker(text: str, key: str, clauses: List[Dict[str, Any]]) -> Tracker:
    return Tracker(
        sender_id="unit-test",
        slots={},
        latest_message={
            "text": text,
            "message_id": "m1",
            "intent": {"name": "policy"},
            "entities": [],
            "response_selector": {"policy": {"response": {"intent_response_key": key}}},
            "clauses": clauses,
        },
        events=[],
        paused=False,
        followup_action=None,
        active_loop={},
        latest_action_name="action_listen",
    )


def clause(text: str, key: str, confidence: float) -> Dict[str, Any]:
    return {"text": text, "intent": "policy", "confidence": confidence, "response_key": key}


async def said(text: str, key: str, clauses: List[Dict[str, Any]]) -> List[str]:
    dispatcher = CollectingDispatcher()
    await answer_policy_question(dispatcher, tracker(text, key, clauses))
    return [m.get("response") or m.get("text") for m in dispatcher.messages]


async def test_the_whole_message_answer_takes_the_place_of_its_unsure_clause():
    # The whole message reads as baggage; its baggage clause alone was below the clause threshold.
    clauses = [clause("签证要多久？", "policy/visa", 0.93), clause("行李能带多重", "policy/baggage", 0.41)]
    assert await said("签证要多久？行李能带多重", "policy/baggage", clauses) == [
        "utter_policy/visa",
        "utter_policy/baggage",
    ]


async def test_an_unsure_clause_read_otherwise_still_keeps_its_place():
    # The second clause was read as another topic with low confidence; the whole message's answer
    # belongs to the only question not answered by a sure clause.
    clauses = [clause("能开发票吗", "policy/invoice", 0.95), clause("保险怎么买呀", "policy/visa", 0.35)]
    assert await said("能开发票吗 保险怎么买呀", "policy/insurance", clauses) == [
        "utter_policy/invoice",
        "utter_policy/insurance",
    ]


async def test_when_the_whole_message_answer_is_a_sure_clause_the_order_is_the_clauses():
    clauses = [
        clause("能开发票吗？", "policy/invoice", 0.95),
        clause("另外行李限重多少", "policy/baggage", 0.9),
    ]
    assert await said("能开发票吗？另外行李限重多少", "policy/baggage", clauses) == [
        "utter_policy/invoice",
        "utter_policy/baggage",
    ]


async def test_a_refund_question_beside_an_itinerary_question_verifies_once_for_both():
    # "退团怎么扣费顺便问下导游电话多少" read as a policy question as a whole.
    clauses = [
        clause("我想问下退团怎么扣费", "policy/refund", 1.0),
        {"text": "导游电话多少", "intent": "query_itinerary", "confidence": 1.0, "response_key": None},
    ]
    dispatcher = CollectingDispatcher()
    events = await answer_policy_question(
        dispatcher, tracker("我想问下退团怎么扣费顺便问下导游电话多少", "policy/refund", clauses)
    )
    said = [m.get("response") or m.get("text") for m in dispatcher.messages]
    assert said == ["utter_policy/refund", "utter_refund_after_verify"], said
    slots = {e["name"]: e["value"] for e in events if e.get("event") == "slot"}
    assert slots["verify_purpose"] == "itinerary" and slots["refund_after_verify"] is True
    assert any(e.get("event") == "followup" and e.get("name") == "verify_form" for e in events)


async def test_a_fragment_about_the_trip_is_not_declined_as_off_topic():
    from actions.questions import decline_off_topic_clauses

    phone = {"text": "电话多少", "intent": "out_of_scope", "confidence": 0.9, "response_key": None}
    weather = {
        "text": "明天大理天气怎么样",
        "intent": "out_of_scope",
        "confidence": 0.9,
        "response_key": None,
    }
    dispatcher = CollectingDispatcher()
    assert not decline_off_topic_clauses(dispatcher, tracker("导游叫什么，电话多少", "policy/x", [phone]))
    both = "明天大理天气怎么样，导游叫什么，电话多少"
    assert decline_off_topic_clauses(dispatcher, tracker(both, "policy/x", [weather, phone]))
    assert (
        "明天大理天气怎么样" in dispatcher.messages[0]["text"]
        and "电话" not in dispatcher.messages[0]["text"]
    )
