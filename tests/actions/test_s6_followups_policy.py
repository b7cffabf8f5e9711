"""Sixth stranger: a follow-up that asks one part of the policy topic just answered. '能改到下个月吗'
after the change answer got the change answer again; '要什么材料' after the delay answer (P16,
out_of_scope 0.73), '日本的' after the visa answer (inform 0.99) and '跟团去日本的' after a refund line
(P01, not a question) were no follow-ups. specific_follow_up says which messages are one, whatever
the NLU read; answer_specific_follow_up answers them."""

from __future__ import annotations

from typing import Any, List

import pytest
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.policy import (
    CHANGE_DEPENDS,
    DELAY_MATERIALS,
    ActionAnswerPolicy,
    answer_specific_follow_up,
    specific_follow_up,
)
from actions.refunds import REFUND_WAY
from actions.utils.refund import bracket_line
from tests.actions.form_turns import user_turn


def after(
    topic: str, text: str, intent: str = "out_of_scope", first: str = "之前的问题", **kw: Any
) -> Tracker:
    before = [
        {"event": "user", "text": first},
        {"event": "bot", "text": "…", "metadata": {"utter_action": f"utter_{topic}"}},
    ]
    return user_turn(text, intent, before=before, listen=False, **kw)


def texts(dispatcher: CollectingDispatcher) -> List[str]:
    return [m.get("text") or m.get("response") or "" for m in dispatcher.messages]


@pytest.mark.parametrize(
    "key, text",
    [
        ("policy/delay", "要什么材料"),
        ("policy/delay", "需要哪些证明"),
        ("policy/delay", "理赔要准备什么"),
        ("policy/change", "能改到下个月吗"),
        ("policy/change", "改到15号行不行"),
        ("policy/change", "推迟一周可以吗"),
        ("policy/visa", "日本的"),
        ("policy/visa", "去泰国呢"),
        ("policy/visa", "香港的"),
        ("policy/refund", "跟团去日本的"),
        ("policy/refund", "那出境呢"),
        ("policy/refund", "钱退到哪里"),
    ],
)
def test_a_part_of_the_topic_just_answered_is_a_follow_up(key, text):
    assert specific_follow_up(key, text)


@pytest.mark.parametrize(
    "key, text",
    [
        ("policy/delay", "今天天气怎么样"),
        ("policy/visa", "签证要多久"),
        ("policy/change", "换人要什么手续"),
        ("policy/invoice", "日本的"),
        ("policy/refund", "退团怎么算"),
    ],
)
def test_other_messages_are_none(key, text):
    assert not specific_follow_up(key, text)


def test_the_delay_materials_are_listed():
    dispatcher = CollectingDispatcher()
    assert answer_specific_follow_up(
        dispatcher, after("policy/delay", "要什么材料", confidence=0.73), "policy/delay"
    )
    assert texts(dispatcher) == [DELAY_MATERIALS]
    assert "延误证明" in DELAY_MATERIALS and "登机牌" in DELAY_MATERIALS
    # Recorded as the delay answer: a further follow-up still follows the delay topic.
    assert dispatcher.messages[0]["utter_action"] == "utter_policy/delay"


@pytest.mark.parametrize("text, place", [("日本的", "日本"), ("去泰国呢", "泰国")])
def test_the_visa_of_a_country_says_who_sends_its_materials(text, place):
    dispatcher = CollectingDispatcher()
    answer_specific_follow_up(
        dispatcher, after("policy/visa", text, "inform", confidence=0.99), "policy/visa"
    )
    said = texts(dispatcher)[0]
    assert place in said and "签证专员" in said and "材料清单" in said and "6个月" in said


def test_hong_kong_needs_the_permit_not_a_visa():
    dispatcher = CollectingDispatcher()
    answer_specific_follow_up(dispatcher, after("policy/visa", "香港的", "inform"), "policy/visa")
    said = texts(dispatcher)[0]
    assert "港澳通行证" in said and "签证专员" not in said


def test_the_other_kind_of_trip_named_without_a_question_gets_its_line():
    dispatcher = CollectingDispatcher()
    tracker = after("policy/refund", "跟团去日本的", "nlu_fallback", first="出发前10天退呢", confidence=0.45)
    assert answer_specific_follow_up(dispatcher, tracker, "policy/refund")
    assert texts(dispatcher)[0] == bracket_line("outbound", 10)


def test_the_way_back_of_the_money_after_a_refund_answer():
    dispatcher = CollectingDispatcher()
    answer_specific_follow_up(dispatcher, after("policy/refund", "钱退到哪里"), "policy/refund")
    assert texts(dispatcher) == [REFUND_WAY]


@pytest.mark.parametrize("text", ["能改到下个月吗", "改到15号行不行", "可以推迟到春节吗"])
async def test_a_particular_change_says_what_it_depends_on_and_how_to_go_on(text):
    tracker = after("policy/change", text, "policy", key="policy/change", confidence=1.0)
    dispatcher = CollectingDispatcher()
    await ActionAnswerPolicy().run(dispatcher, tracker, {})
    said = texts(dispatcher)
    assert "utter_policy/change" not in said  # not the same answer again
    assert said[0].startswith(CHANGE_DEPENDS) and "订单号" in said[0] and "转人工" in said[0]


async def test_a_particular_change_with_the_booking_known_does_not_ask_for_it():
    tracker = after(
        "policy/change", "能改到下个月吗", "policy", key="policy/change", confidence=1.0,
        slots={"booking_ref": "TR20260004"},
    )  # fmt: skip
    dispatcher = CollectingDispatcher()
    await ActionAnswerPolicy().run(dispatcher, tracker, {})
    said = texts(dispatcher)[0]
    assert "TR20260004" in said and "请提供订单号" not in said
