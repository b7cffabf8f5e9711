"""Cancelling the order read as `cancel` (stranger 6, X02): "取消订单TR20260010 手机尾号6781" said
"这次查询先停下了（您的订单没有任何变动）"; it is the trip's cancellation, verified, with its deduction."""

from __future__ import annotations

from typing import Any, Dict, List

import pytest
from rasa_sdk.executor import CollectingDispatcher

from actions.cancel import ActionCancelForm
from tests.actions.form_turns import DOMAIN, slots, user_turn


def _followups(events: List[Dict[str, Any]]) -> List[str]:
    return [e.get("name") for e in events if e.get("event") == "followup"]


def _said(dispatcher: CollectingDispatcher) -> List[str]:
    return [m.get("response") or m.get("text") or "" for m in dispatcher.messages]


# --- X02: cancelling the order, read as `cancel` ------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "取消订单TR20260010 手机尾号6781",
        "帮我把这个订单取消掉 TR20260010 尾号6781",
        "TR20260010 6781 取消这个团",
    ],
)
async def test_cancelling_the_order_read_as_cancel_starts_the_cancellation(text):
    tracker = user_turn(text, "cancel", slots={"booking_ref": "TR20260010"})
    dispatcher = CollectingDispatcher()
    events = await ActionCancelForm().run(dispatcher, tracker, DOMAIN)
    assert _followups(events) == ["verify_form"], events
    assert slots(events)["verify_purpose"] == "cancellation"
    assert slots(events).get("phone_last4") == "6781"
    assert "utter_request_stopped" not in _said(dispatcher)


async def test_a_bare_cancel_still_stops():
    dispatcher = CollectingDispatcher()
    events = await ActionCancelForm().run(dispatcher, user_turn("取消", "cancel", loop="verify_form"), DOMAIN)
    assert "verify_form" not in _followups(events)
