"""A message with an off-topic question beside one of ours: both are acknowledged."""

from __future__ import annotations

from typing import Any, Dict, List

from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.questions import answer_policy_question


def tracker(text: str, intent: str, key: str, clauses: List[Dict[str, Any]]) -> Tracker:
    return Tracker(
        sender_id="unit-test",
        slots={},
        latest_message={
            "text": text,
            "message_id": "m1",
            "intent": {"name": intent},
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


WEATHER = {"text": "今天大理天气怎么样？", "intent": "out_of_scope", "confidence": 0.93, "response_key": None}
INVOICE = {
    "text": "顺便问下你们能开发票吗",
    "intent": "policy",
    "confidence": 0.99,
    "response_key": "policy/invoice",
}


async def test_the_off_topic_question_beside_a_policy_question_is_declined_by_name():
    dispatcher = CollectingDispatcher()
    text = "今天大理天气怎么样？顺便问下你们能开发票吗"
    await answer_policy_question(dispatcher, tracker(text, "policy", "policy/invoice", [WEATHER, INVOICE]))
    said = [m.get("response") or m.get("text") for m in dispatcher.messages]
    assert said[0] == "utter_policy/invoice", said
    assert len(said) == 2 and "今天大理天气怎么样" in said[1] and "不在我的服务范围" in said[1], said


async def test_a_statement_or_an_unsure_clause_is_not_declined():
    dispatcher = CollectingDispatcher()
    story = {**WEATHER, "text": "我们在大理玩得挺开心"}
    unsure = {**WEATHER, "confidence": 0.4}
    for other in (story, unsure):
        dispatcher = CollectingDispatcher()
        await answer_policy_question(dispatcher, tracker("…", "policy", "policy/invoice", [other, INVOICE]))
        assert [m.get("response") for m in dispatcher.messages] == ["utter_policy/invoice"]


async def test_a_message_read_as_off_topic_still_gets_its_policy_question_answered():
    from actions.scope import ActionOutOfScope

    text = "今天大理天气怎么样？顺便问下你们能开发票吗"
    dispatcher = CollectingDispatcher()
    await ActionOutOfScope().run(dispatcher, tracker(text, "out_of_scope", None, [WEATHER, INVOICE]), {})
    said = [m.get("response") or m.get("text") for m in dispatcher.messages]
    assert said[0] == "utter_policy/invoice" and "今天大理天气怎么样" in said[1], said
    assert "utter_out_of_scope" not in said

    # Without a question of ours in it, the whole message is declined as before.
    dispatcher = CollectingDispatcher()
    await ActionOutOfScope().run(dispatcher, tracker("今天大理天气怎么样？", "out_of_scope", None, []), {})
    assert [m.get("response") for m in dispatcher.messages] == ["utter_out_of_scope"]
