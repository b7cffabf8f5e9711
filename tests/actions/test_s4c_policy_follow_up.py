"""A short follow-up question right after a policy answer is about that answer's topic
(stranger 4: s4b8-05 "延误险怎么理赔" then "要什么材料" got the off-topic reply; s4b1-08 "发票怎么开"
then "电子的行不行" opened a complaint form).

The NLU reads such fragments as anything (the readings below are the model's): the rule is
questions.follow_up_key, used by every path that takes them (off-topic, policy, the router).
A new topic, a complaint, an off-topic question the NLU is sure of, still go their own way.
"""

from __future__ import annotations

from typing import Any, Dict, List, Optional

import pytest
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.policy import DELAY_MATERIALS, ActionAnswerPolicy
from actions.questions import follow_up_key
from actions.router import misread_as_complaint, route
from actions.scope import ActionOutOfScope, misunderstood_in_a_row
from tests.actions.form_turns import user_turn


def answered(key: str, question: str) -> List[Dict[str, Any]]:
    return [
        {"event": "action", "name": "action_listen"},
        {"event": "user", "text": question, "parse_data": {"intent": {"name": "policy"}}},
        {"event": "bot", "text": "…", "metadata": {"utter_action": f"utter_{key}"}},
    ]


DELAY = answered("policy/delay", "延误险怎么理赔")
INVOICE = answered("policy/invoice", "发票怎么开")


def tracker(
    text: str,
    intent: str,
    confidence: float,
    before: Optional[List[Dict[str, Any]]] = None,
    key: Optional[str] = None,
    key_confidence: float = 0.0,
) -> Tracker:
    return user_turn(
        text,
        intent,
        confidence=confidence,
        key=key,
        key_confidence=key_confidence,
        message_id="m1",
        before=before or [],
        slots={"form_failures": 0.0},
        sender="unit-follow-up",
    )


def responses(dispatcher: CollectingDispatcher) -> List[str]:
    return [m.get("response") or m.get("text") or "" for m in dispatcher.messages]


async def out_of_scope(t: Tracker) -> List[str]:
    dispatcher = CollectingDispatcher()
    await ActionOutOfScope().run(dispatcher, t, {})
    return responses(dispatcher)


async def policy(t: Tracker) -> List[str]:
    dispatcher = CollectingDispatcher()
    await ActionAnswerPolicy().run(dispatcher, t, {})
    return responses(dispatcher)


@pytest.mark.parametrize(
    "before,text,confidence,expected",
    [
        (DELAY, "要什么材料", 0.43, DELAY_MATERIALS),  # s6 P16: the materials, not the answer again
        (DELAY, "多久能到", 0.48, "utter_policy/delay"),
        (INVOICE, "能补开吗", 0.49, "utter_policy/invoice"),
        (INVOICE, "怎么申请", 0.25, "utter_policy/invoice"),
    ],
)
async def test_a_follow_up_read_as_off_topic_gets_the_topic_answer(before, text, confidence, expected):
    assert await out_of_scope(tracker(text, "out_of_scope", confidence, before)) == [expected]


@pytest.mark.parametrize(
    "before,text,intent,expected",
    [
        (DELAY, "需要啥证明", "nlu_fallback", DELAY_MATERIALS),
        (INVOICE, "抬头写公司行不行", "inform", "utter_policy/invoice"),
        (INVOICE, "发到哪个邮箱啊", "nlu_fallback", "utter_policy/invoice"),
    ],
)
def test_a_follow_up_the_router_takes_gets_the_topic_answer(before, text, intent, expected):
    dispatcher = CollectingDispatcher()
    assert route(dispatcher, tracker(text, intent, 0.45, before)) == []
    assert responses(dispatcher) == [expected]


@pytest.mark.parametrize("text", ["那要多久", "要准备什么"])
async def test_a_follow_up_read_as_an_unsure_other_policy_keeps_the_topic(text):
    t = tracker(text, "policy", 1.0, INVOICE, key="policy/insurance", key_confidence=0.26)
    assert await policy(t) == ["utter_policy/invoice"]


@pytest.mark.parametrize("text", ["电子的行不行", "纸质的可以吗", "个人抬头能开吗"])
def test_a_follow_up_read_as_a_complaint_is_still_a_follow_up(text):
    # s4b1-08: "电子的行不行" reads complain 0.95; the complaint start (action_prefill_complaint)
    # is where it must be asked.
    assert follow_up_key(tracker(text, "complain", 0.95, INVOICE)) == "policy/invoice"


# --- What is not a follow-up ---------------------------------------------------------------


async def test_a_new_policy_topic_gets_its_own_answer():
    t = tracker("签证要多久", "policy", 1.0, INVOICE, key="policy/visa", key_confidence=0.99)
    assert await policy(t) == ["utter_policy/visa"]


async def test_an_off_topic_question_the_nlu_is_sure_of_is_declined():
    assert await out_of_scope(tracker("今天天气怎么样", "out_of_scope", 0.95, DELAY)) == [
        "utter_out_of_scope"
    ]


@pytest.mark.parametrize(
    "text,intent",
    [
        ("怎么这么慢？", "complain"),
        ("凭什么不赔？", "complain"),
        ("晚餐太差了", "out_of_scope"),
        ("我要投诉，你们管不管", "complain"),
        ("TR20260001 要什么材料", "inform"),
        ("能帮我订机票吗", "out_of_scope"),
        ("转人工吧？", "request_human"),
        ("早餐包含吗", "out_of_scope"),
    ],
)
def test_a_complaint_or_its_own_business_is_not_a_follow_up(text, intent):
    assert follow_up_key(tracker(text, intent, 0.45, DELAY)) is None


def test_without_a_policy_answer_just_before_there_is_no_follow_up():
    earlier = DELAY + [
        {"event": "action", "name": "action_listen"},
        {"event": "user", "text": "你好"},
        {"event": "bot", "text": "您好", "metadata": {"utter_action": "utter_greet"}},
    ]
    assert follow_up_key(tracker("要什么材料", "out_of_scope", 0.43, earlier)) is None
    assert follow_up_key(tracker("要什么材料", "out_of_scope", 0.43)) is None


def test_a_follow_up_answered_does_not_count_as_misunderstood():
    # s4b8-05 replayed: "多久能到" (out_of_scope, answered with the delay answer), then "今天天气怎么样"
    # was declined with a human offered, as if the bot had failed twice in a row.
    answered_follow_up = DELAY + [
        {"event": "action", "name": "action_listen"},
        {"event": "user", "text": "多久能到", "parse_data": {"intent": {"name": "out_of_scope"}}},
        {"event": "bot", "text": "…", "metadata": {"utter_action": "utter_policy/delay"}},
    ]
    t = tracker("今天天气怎么样", "out_of_scope", 0.91, answered_follow_up)
    assert misunderstood_in_a_row(t) == 1


@pytest.mark.parametrize("text", ["电子的行不行", "纸质的可以吗"])
def test_a_follow_up_read_as_a_complaint_gets_the_answer_from_the_complaint_hook(text):
    dispatcher = CollectingDispatcher()
    assert misread_as_complaint(dispatcher, tracker(text, "complain", 0.95, INVOICE)) == []
    assert responses(dispatcher) == ["utter_policy/invoice"]


VISA = answered("policy/visa", "签证需要什么材料")


@pytest.mark.parametrize(
    "before,text,intent,confidence,expected",
    [
        (DELAY, "要什么材料", "out_of_scope", 0.73, "延误证明"),  # s6 P16: the NLU sure it is off-topic
        (VISA, "日本的", "inform", 0.9, "护照"),  # the lead's probe: a destination after the visa answer
    ],
)
async def test_a_part_of_the_topic_gets_its_own_answer_whatever_the_nlu_made_of_it(
    before, text, intent, confidence, expected
):
    dispatcher = CollectingDispatcher()
    if intent == "out_of_scope":
        await ActionOutOfScope().run(dispatcher, tracker(text, intent, confidence, before), {})
    else:
        route(dispatcher, tracker(text, intent, confidence, before))
    said = " ".join(responses(dispatcher))
    assert expected in said, said
    assert "不在我的服务范围" not in said
