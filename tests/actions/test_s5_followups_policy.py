"""Fifth stranger's policy follow-ups. s5b1-05: '出发前10天呢' after the refund table started a
verification for the traveller's own amount; it asks the table's line for 10 days."""

from __future__ import annotations

from typing import Any, Dict, List, Optional

import pytest
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.questions import answer_follow_up
from actions.refunds import bracket_follow_up
from actions.utils.refund import bracket_line
from tests.actions.form_turns import user_turn


def after_policy_answer(key: str, text: str, intent: str, slots: Optional[Dict[str, Any]] = None) -> Tracker:
    before = [
        {"event": "user", "text": "退团要扣多少钱啊"},
        {"event": "bot", "text": "…", "metadata": {"utter_action": f"utter_{key}"}},
    ]
    return user_turn(text, intent, confidence=0.6, before=before, listen=False, slots=slots, sender="s5p")


def said_texts(dispatcher: CollectingDispatcher) -> List[str]:
    return [m.get("text") or m.get("response") for m in dispatcher.messages]


@pytest.mark.parametrize(
    "text, intent, days",
    [
        ("出发前10天呢", "query_itinerary", 10),
        ("出发前3天退呢", "nlu_fallback", 3),
        ("那提前20天呢？", "out_of_scope", 20),
        ("要是出发当天呢", "inform", 0),
        ("离出发还有五天退呢", "policy", 5),
    ],
)
def test_a_number_of_days_after_the_refund_table_gets_its_line(text, intent, days):
    dispatcher = CollectingDispatcher()
    assert bracket_follow_up(dispatcher, after_policy_answer("policy/refund", text, intent)) is not None
    said = said_texts(dispatcher)
    assert said[0] == bracket_line("domestic", days) + "\n" + bracket_line("outbound", days)
    assert "utter_policy/refund" not in said  # not the whole table again
    dispatcher = CollectingDispatcher()
    answer_follow_up(dispatcher, after_policy_answer("policy/refund", text, intent))
    assert said_texts(dispatcher)[0] == said[0]


def test_an_outbound_tour_named_gets_the_outbound_line_only():
    dispatcher = CollectingDispatcher()
    bracket_follow_up(
        dispatcher, after_policy_answer("policy/refund", "出境团出发前10天呢", "query_itinerary")
    )
    assert said_texts(dispatcher)[0] == bracket_line("outbound", 10)


@pytest.mark.parametrize(
    "key, text",
    [
        ("policy/invoice", "出发前10天呢"),  # not after the refund table
        ("policy/refund", "第10天住哪"),  # a day of the trip
        ("policy/refund", "TR20260001 出发前10天呢"),  # their own booking: verification
    ],
)
def test_anything_else_is_no_bracket_question(key, text):
    assert (
        bracket_follow_up(CollectingDispatcher(), after_policy_answer(key, text, "query_itinerary")) is None
    )


def _policy(text: str, clauses: List[Dict[str, Any]], key: str, message_id: str, sender: str) -> Tracker:
    """A policy question the NLU is sure of, read as `clauses`."""
    return user_turn(
        text,
        "policy",
        confidence=1.0,
        key=key,
        clauses=clauses,
        message_id=message_id,
        listen=False,
        sender=sender,
    )


# --- s5b7-10: a fragment asking more of the policy answer is not declined ---------------------


def _two_clauses(first: str, key: str, second: str, confidence: float) -> Tracker:
    clauses = [
        {"text": first, "intent": "policy", "response_key": key, "confidence": 1.0},
        {"text": second, "intent": "out_of_scope", "response_key": None, "confidence": confidence},
    ]
    return _policy(f"{first} {second}", clauses, key, "m1", "s5c")


@pytest.mark.parametrize(
    "first, key, second",
    [
        ("意外险怎么理赔", "policy/insurance", "需要什么材料"),
        ("航班延误能赔吗", "policy/delay", "要什么证明？"),
        ("发票怎么开", "policy/invoice", "多久能收到"),
        ("签证怎么办", "policy/visa", "流程是啥"),
    ],
)
async def test_a_fragment_beside_a_policy_answer_is_part_of_it(first, key, second):
    from actions.questions import answer_policy_question

    dispatcher = CollectingDispatcher()
    await answer_policy_question(dispatcher, _two_clauses(first, key, second, 0.67))
    said = said_texts(dispatcher)
    assert said[0] == f"utter_{key}" and not any("不在我的服务范围" in (m or "") for m in said)


async def test_a_question_of_its_own_beside_a_policy_answer_is_still_declined():
    from actions.questions import answer_policy_question

    dispatcher = CollectingDispatcher()
    await answer_policy_question(
        dispatcher, _two_clauses("能开发票吗", "policy/invoice", "今天天气怎么样", 0.93)
    )
    assert any("不在我的服务范围" in (m or "") for m in said_texts(dispatcher))


# --- s5b5-11: our own phone number is ours to give --------------------------------------------


def _out_of_scope(text: str, intent: str = "out_of_scope") -> Tracker:
    return user_turn(text, intent, confidence=0.9, listen=False, sender="s5d")


@pytest.mark.parametrize(
    "text, action",
    [
        ("你们公司电话多少", "action_out_of_scope"),
        ("客服电话是多少", "action_out_of_scope"),
        ("你們的客服熱線是幾號", "action_out_of_scope"),
        ("怎么联系你们？", "action_route_message"),
        ("旅行社的联系方式有吗", "action_route_message"),
    ],
)
async def test_our_service_line_is_given_not_refused(text, action):
    from actions.router import ActionRouteMessage
    from actions.scope import ActionOutOfScope
    from actions.settings import get_settings

    run = ActionOutOfScope() if action == "action_out_of_scope" else ActionRouteMessage()
    dispatcher = CollectingDispatcher()
    await run.run(dispatcher, _out_of_scope(text, "nlu_fallback"), {})
    said = "\n".join(m or "" for m in said_texts(dispatcher))
    assert get_settings().emergency_line in said and "utter_out_of_scope" not in said


@pytest.mark.parametrize("text", ["导游电话多少", "你们公司在哪", "我的电话号码是多少", "大使馆电话多少"])
def test_someone_elses_number_is_not_our_line(text):
    from actions.scope import answer_our_line

    assert not answer_our_line(CollectingDispatcher(), text)


# --- s5b6-09: the itinerary words no clause took are not dropped ------------------------------


def _one_clause(text: str, clause: str, key: str) -> Tracker:
    clauses = [{"text": clause, "intent": "policy", "response_key": key, "confidence": 1.0}]
    return _policy(text, clauses, key, "m2", "s5e")


@pytest.mark.parametrize(
    "text, clause, key, item, day",
    [
        ("明天集合时间 顺便问下能开发票吗", "能开发票吗", "policy/invoice", "meeting", "明天"),
        ("第三天住哪 另外行李限重多少", "行李限重多少", "policy/baggage", "hotel", "3"),
        ("后天几点集合，还有签证要多久", "签证要多久", "policy/visa", "meeting", "后天"),
    ],
)
async def test_a_trip_question_beside_a_policy_one_is_asked_for(text, clause, key, item, day):
    from actions.questions import answer_policy_question

    dispatcher = CollectingDispatcher()
    events = await answer_policy_question(dispatcher, _one_clause(text, clause, key))
    assert said_texts(dispatcher)[0] == f"utter_{key}"
    assert [e["name"] for e in events if e["event"] == "followup"] == ["verify_form"]
    slots = {e["name"]: e["value"] for e in events if e["event"] == "slot"}
    assert (slots["itinerary_item"], slots["day_number"]) == (item, day)


@pytest.mark.parametrize(
    "text, clause, key",
    [
        ("能开发票吗", "能开发票吗", "policy/invoice"),  # the clause is the whole message
        ("我们家老人多 签证要多久", "签证要多久", "policy/visa"),  # the rest asks nothing of the trip
        ("我们的航班延误了 能赔吗", "能赔吗", "policy/delay"),  # what happened, beside the question
        ("酒店太差了 能退钱吗", "能退钱吗", "policy/complaint"),
    ],
)
async def test_nothing_else_starts_a_verification(text, clause, key):
    from actions.questions import answer_policy_question

    events = await answer_policy_question(CollectingDispatcher(), _one_clause(text, clause, key))
    assert not [e for e in events if e["event"] == "followup"]
