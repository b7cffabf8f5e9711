"""Inside the complaint form, an answer in the traveller's own words that the NLU reads as
off-topic ("就这两个月 每天好几个电话") is the answer, not a question to decline: the off-topic
action says nothing and hands the words to the form, which checks them like any answer. A
real off-topic question there is still declined."""

from __future__ import annotations

from typing import Any, Dict, List

import pytest
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.complaint import ValidateComplaintForm
from actions.scope import ActionOutOfScope, asks_a_question
from tests.actions.form_turns import COMPLAINT_DOMAIN as DOMAIN

HELD = {
    "booking_ref": "TR20260001",
    "complaint_description": "你们把我的手机号泄露出去了，一直有推销电话打过来",
    "form_failures": 0.0,
}


def in_form(text: str, requested: str, held: Dict[str, Any], after: List[Dict[str, Any]] = ()) -> Tracker:
    events = [
        {"event": "action", "name": "complaint_form"},
        {"event": "action", "name": "action_listen"},
        {"event": "user", "text": text, "parse_data": {"intent": {"name": "out_of_scope"}}},
        *after,
    ]
    return Tracker(
        sender_id="unit-test",
        slots={**held, "requested_slot": requested},
        latest_message={"text": text, "intent": {"name": "out_of_scope"}, "entities": []},
        events=events,
        paused=False,
        followup_action=None,
        active_loop={"name": "complaint_form"},
        latest_action_name="action_out_of_scope" if after else "action_listen",
    )


def slots(events: List[Dict[str, Any]]) -> Dict[str, Any]:
    return {e["name"]: e["value"] for e in events if e.get("event") == "slot"}


@pytest.mark.parametrize(
    "text, requested, held, expected",
    [
        (
            "就这两个月 每天好几个电话",
            "complaint_when_where",
            HELD,
            {"complaint_when_where": "就这两个月 每天好几个电话"},
        ),
        (
            "查清楚是谁泄露的，给我个说法",
            "complaint_request",
            {**HELD, "complaint_when_where": "最近两个月"},
            {"complaint_request": "apology", "complaint_request_text": "查清楚是谁泄露的，给我个说法"},
        ),
        (
            "前后打了几十个骚扰电话，烦死了",
            "complaint_description",
            {"booking_ref": "TR20260001", "form_failures": 0.0},
            {"complaint_description": "前后打了几十个骚扰电话，烦死了"},
        ),
    ],
)
async def test_an_answer_read_as_off_topic_is_the_forms_answer(text, requested, held, expected):
    dispatcher = CollectingDispatcher()
    events = await ActionOutOfScope().run(dispatcher, in_form(text, requested, held), DOMAIN)
    assert dispatcher.messages == [], dispatcher.messages  # no "不在我的服务范围内"
    assert slots(events) == expected
    # The complaint form runs next: its check sees these values as the answer and keeps them.
    form = CollectingDispatcher()
    checked = await ValidateComplaintForm().run(form, in_form(text, requested, held, after=events), DOMAIN)
    kept = slots(checked)
    for slot, value in expected.items():
        # A slot the form does not return (the request's words) keeps the value set before it.
        assert kept.get(slot, value) == value, (slot, kept, form.messages)
    assert kept.get(requested) == expected[requested]
    assert form.messages == [], form.messages  # not refused: the form asks its next question


@pytest.mark.parametrize(
    "text, requested",
    [
        ("今天股市怎么样？", "complaint_when_where"),
        ("你们觉得明天会下雨吗", "complaint_request"),
        ("谁能推荐个好吃的餐厅", "complaint_description"),
    ],
)
async def test_a_real_off_topic_question_in_the_form_is_still_declined(text, requested):
    dispatcher = CollectingDispatcher()
    events = await ActionOutOfScope().run(dispatcher, in_form(text, requested, HELD), DOMAIN)
    assert [m.get("response") for m in dispatcher.messages] == ["utter_out_of_scope"]
    assert not slots(events)


async def test_a_new_booking_at_a_free_text_question_still_gets_the_sales_line():
    dispatcher = CollectingDispatcher()
    tracker = in_form("帮我订张去成都的机票", "complaint_request", HELD)
    await ActionOutOfScope().run(dispatcher, tracker, DOMAIN)
    assert [m.get("response") for m in dispatcher.messages] == ["utter_out_of_scope_booking"]


async def test_the_name_question_is_not_answered_by_an_off_topic_statement():
    # Only the story's questions take free words this way; a name is checked on its own.
    dispatcher = CollectingDispatcher()
    await ActionOutOfScope().run(dispatcher, in_form("天气真好", "complainant_name", HELD), DOMAIN)
    assert [m.get("response") for m in dispatcher.messages] == ["utter_out_of_scope"]


@pytest.mark.parametrize(
    "text, asks",
    [
        ("每天好几个电话", False),
        ("一共十几天", False),
        ("查清楚是谁泄露的", False),
        ("不知道是谁拿的", False),
        ("今天股市怎么样", True),
        ("几点集合", True),
        ("是谁泄露的？", True),
    ],
)
def test_indefinite_and_reported_question_words_ask_nothing(text, asks):
    assert asks_a_question(text) is asks
