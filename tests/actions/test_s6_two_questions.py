"""Two questions in one message, two answers (stranger 6 P11, P17, P24, P25).

The clauses are as the NLU gives them (bot/components/clauses.py with the trained model,
tests/bot/test_s6_clauses.py). Each test waits for a change in a file another helper owns
(named in its mark); it is strict, so it fails once the change is there and the mark must go.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Dict, List

import pytest
import yaml
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.questions import answer_policy_question
from tests.actions.form_turns import user_turn

ROOT = Path(__file__).resolve().parents[2]


def _tracker(text: str, key: str, clauses: List[Dict[str, Any]]) -> Tracker:
    return user_turn(
        text, "policy", confidence=1.0, key=key, clauses=clauses, message_id="m1", sender="s6-two-questions"
    )


async def _said(t: Tracker) -> List[str]:
    dispatcher = CollectingDispatcher()
    await answer_policy_question(dispatcher, t)
    return [m.get("response") or m.get("text") or "" for m in dispatcher.messages]


def _clause(text: str, key: Any, intent: str = "policy", **extra: Any) -> Dict[str, Any]:
    return {"text": text, "intent": intent, "confidence": 1.0, "response_key": key, **extra}


@pytest.mark.parametrize(
    "text, key, clauses, answers",
    [
        (
            "我想问下退团的事另外发票怎么开",
            "policy/invoice",
            [
                _clause("我想问下退团的事", "policy/refund", announced=True),
                _clause("发票怎么开", "policy/invoice"),
            ],
            ["utter_policy/refund", "utter_policy/invoice"],
        ),
        (
            "我想咨询一下退款的问题,还有发票怎么开",
            "policy/invoice",
            [
                _clause("我想咨询一下退款的问题", "policy/refund", announced=True),
                _clause("发票怎么开", "policy/invoice"),
            ],
            ["utter_policy/refund", "utter_policy/invoice"],
        ),
    ],
)
async def test_an_announced_question_is_answered_too(text, key, clauses, answers):
    said = await _said(_tracker(text, key, clauses))
    assert [s for s in said if s.startswith("utter_policy/")] == answers, said


@pytest.mark.parametrize(
    "text, clauses",
    [
        (
            "老人家80岁可以参团吗需要买什么保险",
            [_clause("老人家80岁可以参团吗", None), _clause("需要买什么保险", "policy/insurance")],
        ),
        (
            "我妈75岁了能报名吗,意外险包含吗",
            [_clause("我妈75岁了能报名吗", None), _clause("意外险包含吗", "policy/insurance")],
        ),
        (
            "我爸82岁了还能跟团吗保险怎么买",
            [_clause("我爸82岁了还能跟团吗", "policy/change"), _clause("保险怎么买", "policy/insurance")],
        ),
    ],
)
async def test_a_question_no_policy_answers_is_said_so_beside_the_other(text, clauses):
    said = await _said(_tracker(text, "policy/insurance", clauses))
    # the age question read as the nearest policy (change, sure) gets no such answer
    assert [s for s in said if s.startswith("utter_policy/")] == ["utter_policy/insurance"], said
    assert any("具体产品" in s and "转人工" in s for s in said), said


@pytest.mark.parametrize(
    "text",
    [
        "国内游出发前5天退团扣多少那出境呢",
        "出发前5天退团 国内团和出境团分别扣多少",
        "出境游出发前5天退多少,国内呢",
    ],
)
async def test_both_tour_types_named_get_both_lines(text):
    clauses = [_clause(text, "policy/refund")]
    said = "\n".join(await _said(_tracker(text, "policy/refund", clauses)))
    assert "境内旅游：出发前5天" in said and "出境旅游：出发前5天" in said, said


def test_the_complaint_process_answer_says_what_if_the_result_does_not_satisfy():
    # "投诉了多久能有结果 不满意可以再投诉吗": both clauses are the complaint process (sure), so its
    # one answer must answer both.
    responses = yaml.safe_load((ROOT / "data" / "nlu" / "policy.yml").read_text(encoding="utf-8"))[
        "responses"
    ]
    text = responses["utter_policy/complaint_process"][0]["text"]
    assert "不满意" in text and "再次投诉" in text, text
