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


def _after(key: str, text: str, intent: str, slots: Optional[Dict[str, Any]] = None) -> Tracker:
    events: List[Dict[str, Any]] = [
        {"event": "user", "text": "退团要扣多少钱啊"},
        {"event": "bot", "text": "…", "metadata": {"utter_action": f"utter_{key}"}},
        {"event": "user", "text": text},
    ]
    latest = {"text": text, "intent": {"name": intent, "confidence": 0.6}, "entities": []}
    return Tracker("s5p", dict(slots or {}), latest, events, False, None, {}, "action_listen")


def _said(dispatcher: CollectingDispatcher) -> List[str]:
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
    assert bracket_follow_up(dispatcher, _after("policy/refund", text, intent)) is not None
    said = _said(dispatcher)
    assert said[0] == bracket_line("domestic", days) + "\n" + bracket_line("outbound", days)
    assert "utter_policy/refund" not in said  # not the whole table again
    dispatcher = CollectingDispatcher()
    answer_follow_up(dispatcher, _after("policy/refund", text, intent))
    assert _said(dispatcher)[0] == said[0]


def test_an_outbound_tour_named_gets_the_outbound_line_only():
    dispatcher = CollectingDispatcher()
    bracket_follow_up(dispatcher, _after("policy/refund", "出境团出发前10天呢", "query_itinerary"))
    assert _said(dispatcher)[0] == bracket_line("outbound", 10)


@pytest.mark.parametrize(
    "key, text",
    [
        ("policy/invoice", "出发前10天呢"),  # not after the refund table
        ("policy/refund", "第10天住哪"),  # a day of the trip
        ("policy/refund", "TR20260001 出发前10天呢"),  # their own booking: verification
    ],
)
def test_anything_else_is_no_bracket_question(key, text):
    assert bracket_follow_up(CollectingDispatcher(), _after(key, text, "query_itinerary")) is None
