"""Questions no policy of ours answers get "it depends on the product, a person confirms", not the
nearest policy (stranger 5: 单房差 and a separate car got the change policy, leaving luggage the
baggage allowance; stranger 4: an infant's ticket and a pet got the invoice and baggage answers)."""

from __future__ import annotations

from typing import Any, Dict, List

import pytest
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.questions import answer_policy_question
from tests.actions.form_turns import user_turn


def _tracker(text: str, key: str, clauses: List[Dict[str, Any]] = ()) -> Tracker:
    return user_turn(
        text,
        "policy",
        confidence=0.99,
        key=key,
        clauses=list(clauses),
        message_id="m1",
        sender="s5-not-covered",
    )


async def _said(t: Tracker) -> List[str]:
    dispatcher = CollectingDispatcher()
    await answer_policy_question(dispatcher, t)
    return [m.get("response") or m.get("text") or "" for m in dispatcher.messages]


@pytest.mark.parametrize(
    "text, key",
    [
        ("一个人参团要补单房差吗", "policy/change"),
        ("老人家走路慢 能不能单独安排个车", "policy/change"),
        ("請問可以寄放行李嗎", "policy/baggage"),
        ("婴儿要买票吗", "policy/invoice"),
        ("可以带宠物吗", "policy/baggage"),
        # stranger 7: a child's price got the refund deductions
        ("小孩不占床怎么收费", "policy/refund"),
        ("儿童多少钱 6岁", "policy/refund"),
    ],
)
async def test_what_no_policy_answers_is_said_so(text, key):
    said = await _said(_tracker(text, key))
    assert len(said) == 1 and "具体产品" in said[0] and "转人工" in said[0], said


async def test_a_question_we_answer_beside_it_gets_the_usual_answers():
    text = "婴儿要买票吗？另外发票怎么开"
    clauses = [
        {"text": "婴儿要买票吗?", "intent": "policy", "confidence": 0.9, "response_key": "policy/invoice"},
        {"text": "另外发票怎么开", "intent": "policy", "confidence": 0.99, "response_key": "policy/invoice"},
    ]
    said = await _said(_tracker(text, "policy/invoice", clauses))
    assert "utter_policy/invoice" in said


@pytest.mark.parametrize("text, key", [("行李限重多少", "policy/baggage"), ("改期怎么收费", "policy/change")])
async def test_our_policies_are_answered_as_before(text, key):
    assert await _said(_tracker(text, key)) == [f"utter_{key}"]
