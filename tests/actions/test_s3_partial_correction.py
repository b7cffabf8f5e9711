"""A correction of the time replaces only the time: the place given before stays (and the other
way round); a new time and place together replace the whole."""

from __future__ import annotations

from typing import Any, Dict

import pytest
from rasa_sdk import Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.correction import ActionCorrectComplaint, correct_field, when_where_corrected
from tests.actions.form_turns import action, slot_events, user_turn

OLD = "前天晚上，在昆明滇池温德姆酒店"
HELD: Dict[str, Any] = {
    "booking_ref": "TR20260001",
    "complaint_description": "房间很脏，床单有污渍，换房也不给换",
    "complaint_when_where": OLD,
    "requested_slot": "complaint_request",
}


def _tracker(text: str, intent: str = "correct") -> Tracker:
    before = [*slot_events(HELD), action("complaint_form")]
    return user_turn(text, intent, before=before, slots=HELD, loop="complaint_form")


@pytest.mark.parametrize(
    "text, value, expected",
    [
        ("不对，时间是12月5日晚上", "12月5日晚上", "12月5日晚上，在昆明滇池温德姆酒店"),
        ("时间弄错啦，是昨天早上不是晚上", "昨天早上", "昨天早上，在昆明滇池温德姆酒店"),
        ("日期错了，应该是12月5号", "12月5号", "12月5号，在昆明滇池温德姆酒店"),
        ("地点不对，应该在丽江古城的客栈里", "丽江古城的客栈里", "前天晚上，丽江古城的客栈里"),
        ("不对，是在洱海边的民宿", "在洱海边的民宿", "前天晚上，在洱海边的民宿"),
        # Both parts new: the whole is replaced.
        ("不对，是12月5日晚上在大理古城", "12月5日晚上在大理古城", "12月5日晚上在大理古城"),
    ],
)
def test_a_correction_replaces_only_the_part_it_names(text, value, expected):
    assert when_where_corrected(text, value, OLD) == expected


def test_nothing_given_before_takes_the_value():
    assert when_where_corrected("时间是12月5号", "12月5号", None) == "12月5号"
    assert when_where_corrected("时间是12月5号", "12月5号", "未说明") == "12月5号"


async def test_the_time_correction_in_the_form_keeps_the_place():
    dispatcher = CollectingDispatcher()
    events = await ActionCorrectComplaint().run(dispatcher, _tracker("不对，时间是12月5日晚上"), {})
    assert SlotSet("complaint_when_where", "12月5日晚上，在昆明滇池温德姆酒店") in events


def test_the_time_correction_given_as_an_answer_keeps_the_place():
    dispatcher = CollectingDispatcher()
    text = "不对 我说错了，时间是12月5日晚上"
    result = correct_field("complaint_request", text, dispatcher, _tracker(text, "inform"), {})
    assert result["complaint_when_where"] == "12月5日晚上，在昆明滇池温德姆酒店"
    assert result["complaint_request"] is None
