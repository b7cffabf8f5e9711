"""What the assistant can do, and the other question of the same message (stranger 4, s4b4-14:
"你都有哪些功能？能帮我订机票吗" got only the list; the booking question needs the sales line)."""

from __future__ import annotations

from typing import Any, Dict, List

import pytest
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.scope import ActionCapabilities
from actions.settings import get_settings
from tests.actions.form_turns import user_turn


def _tracker(text: str, clauses: List[Dict[str, Any]]) -> Tracker:
    return user_turn(
        text,
        "ask_capabilities",
        confidence=0.99,
        clauses=clauses,
        message_id="m1",
        slots={"form_failures": 0.0},
        sender="unit-capabilities",
    )


def _clause(text: str, intent: str, confidence: float, key: Any = None) -> Dict[str, Any]:
    return {"text": text, "intent": intent, "confidence": confidence, "response_key": key}


async def _said(t: Tracker) -> List[str]:
    dispatcher = CollectingDispatcher()
    await ActionCapabilities().run(dispatcher, t, {})
    return [m.get("response") or m.get("text") or "" for m in dispatcher.messages]


@pytest.mark.parametrize(
    "text, second",
    [
        ("你都有哪些功能？能帮我订机票吗", "能帮我订机票吗"),
        ("你能干嘛？可以帮我订酒店吗", "可以帮我订酒店吗"),
        ("你会什么 我想报个新的团去云南可以吗", "我想报个新的团去云南可以吗"),
    ],
)
async def test_the_list_and_the_sales_line_for_a_new_booking_beside_it(text, second):
    said = await _said(
        _tracker(
            text,
            [_clause(text.split(second)[0], "ask_capabilities", 0.99), _clause(second, "out_of_scope", 0.82)],
        )
    )
    assert said[0] == "utter_capabilities"
    assert len(said) == 2 and get_settings().sales_line in said[1], said


async def test_the_list_and_a_policy_answer_beside_it():
    text = "你能做什么？另外保险怎么买"
    said = await _said(
        _tracker(
            text,
            [
                _clause("你能做什么?", "ask_capabilities", 0.99),
                _clause("保险怎么买", "policy", 1.0, "policy/insurance"),
            ],
        )
    )
    assert said == ["utter_capabilities", "utter_policy/insurance"]


async def test_the_list_alone_when_nothing_else_is_asked():
    assert await _said(_tracker("你能做什么", [])) == ["utter_capabilities"]


async def test_an_off_topic_question_beside_it_is_declined_in_words():
    text = "你会干啥？今天股市怎么样"
    said = await _said(
        _tracker(
            text,
            [_clause("你会干啥?", "ask_capabilities", 0.99), _clause("今天股市怎么样", "out_of_scope", 0.9)],
        )
    )
    assert said[0] == "utter_capabilities" and "不在我的服务范围内" in said[1]
