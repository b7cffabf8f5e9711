"""At the complaint's time/place question "不记得了" is an answer, and at "确定放弃这次投诉吗？"
only a yes drops the complaint: "不，继续吧" goes on, "退款" (neither yes nor no) never drops it."""

from __future__ import annotations

from typing import Any, Dict, List

import pytest
from rasa_sdk import Tracker
from rasa_sdk.events import FollowupAction, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.cancel import (
    ActionAskDropComplaint,
    ActionDropComplaint,
    ActionResolveDrop,
    ActionResumeComplaint,
    drop_answer,
)
from actions.complaint import ValidateComplaintForm
from actions.fields import NOT_GIVEN, REQUEST_TEXT_SLOT
from actions.utils.reading import drop_reply
from tests.actions.form_turns import user_turn

HELD = {
    "booking_ref": "TR20260011",
    "complaint_description": "导游强制我们买天门山的自费项目，不买就甩脸色",
    "requested_slot": "complaint_when_where",
}


def _tracker(
    text: str,
    intent: str,
    ranking: List[Dict[str, Any]] | None = None,
    loop: bool = True,
    read: Dict[str, Any] | None = None,
    **slots: Any,
) -> Tracker:
    return user_turn(
        text,
        intent,
        intent_ranking=ranking or [{"name": intent, "confidence": 0.9}],
        read=read,
        slots={**HELD, **slots},
        loop="complaint_form" if loop else None,
    )


def _responses(dispatcher: CollectingDispatcher) -> List[str]:
    return [m.get("response") or m.get("text") for m in dispatcher.messages]


@pytest.mark.parametrize(
    "text", ["不记得了", "忘了", "忘记了", "记不清了", "时间地点都不记得了", "想不起来了"]
)
async def test_dont_know_read_as_cancel_is_the_answer_not_a_drop_question(text):
    dispatcher = CollectingDispatcher()
    events = await ActionAskDropComplaint().run(dispatcher, _tracker(text, "cancel"), {})
    assert SlotSet("complaint_when_where", NOT_GIVEN) in events
    assert FollowupAction("complaint_form") in events
    assert "utter_confirm_drop_complaint" not in _responses(dispatcher)


async def test_a_real_cancel_at_the_time_question_still_asks_first():
    dispatcher = CollectingDispatcher()
    events = await ActionAskDropComplaint().run(dispatcher, _tracker("取消", "cancel"), {})
    assert _responses(dispatcher) == ["utter_confirm_drop_complaint"]
    assert SlotSet("cancel_pending", True) in events


def test_dont_know_with_a_guess_keeps_the_guess():
    # "不清楚，大概是上周" says something: kept in their words, not "未说明".
    dispatcher = CollectingDispatcher()
    said = "不清楚，大概是上周在酒店"
    turn = _tracker(said, "inform", read={"complaint_when_where": said})
    result = ValidateComplaintForm().validate_complaint_when_where(said, dispatcher, turn, {})
    assert result["complaint_when_where"] == said


@pytest.mark.parametrize(
    "text, meaning",
    [
        ("不，继续吧", "keep"),
        ("不了，还是继续投诉", "keep"),
        ("继续填写", "keep"),
        ("我还是要投诉", "keep"),
        ("别取消", "keep"),
        ("不", "keep"),
        ("确定放弃", "drop"),
        ("放弃吧", "drop"),
        ("不想继续了", "drop"),
        ("算了吧", "drop"),
        ("是的", "drop"),
        ("退款", None),
        ("10月15日中午，蜈支洲岛的餐厅", None),
    ],
)
def test_the_words_answer_the_drop_question(text, meaning):
    assert drop_reply(text) == meaning


def test_two_weak_readings_that_agree_decide_nothing():
    # "退款": affirm 0.17 and cancel 0.17 under nlu_fallback is no yes.
    ranking = [
        {"name": "nlu_fallback", "confidence": 0.45},
        {"name": "affirm", "confidence": 0.17},
        {"name": "cancel", "confidence": 0.17},
    ]
    assert drop_answer(ranking) is None


FALLBACK_EVEN = [
    {"name": "nlu_fallback", "confidence": 0.45},
    {"name": "deny", "confidence": 0.45},
    {"name": "affirm", "confidence": 0.45},
]


async def test_no_continue_at_the_drop_question_goes_on():
    dispatcher = CollectingDispatcher()
    turn = _tracker("不，继续吧", "nlu_fallback", FALLBACK_EVEN, loop=False, cancel_pending=True)
    events = await ActionResolveDrop().run(dispatcher, turn, {})
    assert FollowupAction("complaint_form") in events and SlotSet("cancel_pending", None) in events
    assert _responses(dispatcher) == ["utter_complaint_resumed"]


async def test_a_request_at_the_drop_question_keeps_the_complaint():
    dispatcher = CollectingDispatcher()
    ranking = [
        {"name": "nlu_fallback", "confidence": 0.45},
        {"name": "affirm", "confidence": 0.17},
        {"name": "cancel", "confidence": 0.17},
    ]
    read = {"complaint_when_where": "退款"}
    turn = _tracker("退款", "nlu_fallback", ranking, loop=False, read=read, cancel_pending=True)
    events = await ActionResolveDrop().run(dispatcher, turn, {})
    assert FollowupAction("complaint_form") in events
    assert not any(e.get("name") == "complaint_description" and e.get("value") is None for e in events)


async def test_the_request_read_for_the_time_question_goes_to_the_request():
    # When the form comes back, "退款" read for the pending time question is the request.
    dispatcher = CollectingDispatcher()
    turn = _tracker("退款", "nlu_fallback", loop=False, read={"complaint_when_where": "退款"})
    result = ValidateComplaintForm().validate_complaint_when_where("退款", dispatcher, turn, {})
    assert result["complaint_when_where"] is None
    assert result["complaint_request"] == "refund" and result[REQUEST_TEXT_SLOT] == "退款"


async def test_an_unclear_answer_without_a_value_is_asked_again():
    dispatcher = CollectingDispatcher()
    turn = _tracker("嗯？", "nlu_fallback", FALLBACK_EVEN, loop=False, cancel_pending=True)
    events = await ActionResolveDrop().run(dispatcher, turn, {})
    assert events == [] and _responses(dispatcher) == ["utter_confirm_drop_complaint"]


async def test_go_on_words_read_as_cancel_or_affirm_do_not_drop():
    for text, intent in (("不了，还是继续投诉", "cancel"), ("好的，继续", "affirm")):
        dispatcher = CollectingDispatcher()
        turn = _tracker(text, intent, loop=False, cancel_pending=True)
        events = await ActionDropComplaint().run(dispatcher, turn, {})
        assert FollowupAction("complaint_form") in events, text
        assert not any(e.get("name") == "complaint_description" for e in events)


async def test_a_yes_still_drops_and_a_no_that_says_drop_drops():
    dispatcher = CollectingDispatcher()
    events = await ActionDropComplaint().run(dispatcher, _tracker("确定", "affirm", loop=False), {})
    assert SlotSet("complaint_description", None) in events
    dispatcher = CollectingDispatcher()
    turn = _tracker("不，不想继续了", "deny", loop=False)
    events = await ActionResumeComplaint().run(dispatcher, turn, {})
    assert SlotSet("complaint_description", None) in events and FollowupAction("action_listen") in events


async def test_no_continue_read_as_the_pending_answer_is_undone():
    # The reader took "不，继续吧" as the time and place: it answered "give it up?", not that.
    dispatcher = CollectingDispatcher()
    read = {"complaint_when_where": "不，继续吧"}
    turn = _tracker("不，继续吧", "nlu_fallback", FALLBACK_EVEN, loop=False, read=read, cancel_pending=True)
    events = await ActionResolveDrop().run(dispatcher, turn, {})
    assert SlotSet("complaint_when_where", None) in events
    assert FollowupAction("complaint_form") in events


@pytest.mark.parametrize("intent", ["deny", "cancel", "nlu_fallback"])
async def test_dont_know_read_as_anything_is_checked_as_the_answer(intent):
    # The reader sets nothing for "想不起来了" read as `deny`; the form records "未说明" and goes
    # on instead of being refused (which ended in "抱歉，我没太明白").
    from tests.actions.test_actions import COMPLAINT_DOMAIN

    dispatcher = CollectingDispatcher()
    turn = _tracker("想不起来了", intent)
    events = await ValidateComplaintForm().run(dispatcher, turn, COMPLAINT_DOMAIN)
    assert SlotSet("complaint_when_where", NOT_GIVEN) in events
