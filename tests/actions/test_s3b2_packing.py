"""What to bring (third stranger's test, X06): "我的团明天出发，需要带什么东西" got the day-1 plan
and nothing about what to bring. The booking holds no packing list; the departure notice (出团通知,
sent before departure) does: the itinerary answer keeps the day-1 meeting and points to it, and
to the guide or a person for specifics. Dates are injected, never the clock."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any, Dict, List, Optional

import pytest
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.itinerary import answer_itinerary
from actions.utils.text import PACKING_NOTE, packing_note
from tests.actions.form_turns import user_turn
from tests.actions.test_itinerary_followups import FUTURE, day

DEPARTURE = date.fromisoformat(FUTURE["departure_date"])


@pytest.mark.parametrize(
    "text",
    [
        "我的团明天出发，需要带什么东西",
        "出发要准备什么",
        "出国需要带哪些证件",
        "去日本要带啥",
        "明天集合要带身份证吗",
        "护照要带原件吗",
        "行李要准备些什么",
        "what should we bring for the trip",
    ],
)
def test_asking_what_to_bring_gets_the_departure_notice(text):
    assert packing_note([text]) == PACKING_NOTE


@pytest.mark.parametrize(
    "text", ["明天几点集合", "第二天住哪", "导游要带我们去哪里玩", "我们要带孩子一起去吗", "回程航班几点"]
)
def test_other_itinerary_questions_do_not(text):
    assert packing_note([text]) is None


def _tracker(events: List[Dict[str, Any]], slots: Optional[Dict[str, Any]] = None) -> Tracker:
    last = next(e["text"] for e in reversed(events) if e["event"] == "user")
    return user_turn(last, "query_itinerary", history=events, slots=slots, sender="s3b2-packing")


def _said(events: List[Dict[str, Any]], slots: Dict[str, Any]) -> str:
    dispatcher = CollectingDispatcher()
    answer_itinerary(dispatcher, _tracker(events, slots), FUTURE, today=DEPARTURE - timedelta(days=1))
    return "\n".join(m.get("text") or "" for m in dispatcher.messages)


def test_leaving_tomorrow_what_to_bring_gets_day_one_and_the_notice():
    said = _said([{"event": "user", "text": "我的团明天出发，需要带什么东西"}], {"day_number": "明天"})
    assert day(FUTURE, 1)["meeting"]["place"] in said
    assert "出团通知" in said and "转人工" in said


def test_the_question_asked_before_verification_counts():
    events = [
        {"event": "user", "text": "出发要准备什么证件"},
        {"event": "action", "name": "verify_form"},
        {"event": "active_loop", "name": "verify_form"},
        {"event": "bot", "text": "请告诉我订单号和手机尾号后四位。"},
        {"event": "action", "name": "action_listen"},
        {"event": "user", "text": f"{FUTURE['ref']} {FUTURE['phone'][-4:]}"},
        {"event": "active_loop", "name": None},
    ]
    assert "出团通知" in _said(events, {})


def test_an_older_question_is_not_this_one():
    events = [
        {"event": "user", "text": "护照要带原件吗"},
        {"event": "bot", "text": "…"},
        {"event": "user", "text": "第一天几点集合"},
    ]
    said = _said(events, {"itinerary_item": "meeting", "day_number": "1"})
    assert day(FUTURE, 1)["meeting"]["place"] in said and "出团通知" not in said
