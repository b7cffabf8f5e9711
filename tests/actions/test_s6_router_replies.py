"""Short replies after an answer (the lead's probes after stranger 6): the booking number given after
the invoice answer is for the invoice (it showed the itinerary), and "好的" right after the greeting
is asked what for (it was "没太明白")."""

from __future__ import annotations

from typing import Any, Dict, List

import pytest
from rasa_sdk.executor import CollectingDispatcher

from actions.router import ActionRouteMessage, route
from tests.actions.form_turns import action, user_turn


def _followups(events: List[Dict[str, Any]]) -> List[str]:
    return [e.get("name") for e in events if e.get("event") == "followup"]


def _said(dispatcher: CollectingDispatcher) -> List[str]:
    return [m.get("response") or m.get("text") or "" for m in dispatcher.messages]


# --- the lead's probe: the booking number after the invoice answer -------------------------------


def _after(policy_key: str) -> List[Dict[str, Any]]:
    return [
        action("action_listen"),
        {"event": "user", "text": "我想开发票"},
        action("action_answer_policy"),
        {"event": "bot", "text": "发票说明", "metadata": {"utter_action": f"utter_{policy_key}"}},
    ]


@pytest.mark.parametrize("text", ["TR20260001", "订单号是TR20260001", "TR20260001 5678"])
async def test_a_booking_number_after_the_invoice_answer_goes_to_a_person(text):
    tracker = user_turn(text, "inform", before=_after("policy/invoice"))
    dispatcher = CollectingDispatcher()
    events = await ActionRouteMessage().run(dispatcher, tracker, {})
    assert _followups(events) == ["action_request_human"], events
    said = "\n".join(_said(dispatcher))
    assert "发票抬头" in said and "TR20260001" in said


async def test_a_booking_number_after_another_answer_is_still_the_itinerary():
    tracker = user_turn("TR20260001", "inform", before=_after("policy/baggage"))
    events = route(CollectingDispatcher(), tracker) or []
    assert "action_request_human" not in _followups(events)


# --- "好的" right after the greeting -------------------------------------------------------------


@pytest.mark.parametrize("text", ["好的", "嗯嗯", "ok", "好的呀"])
async def test_an_acknowledgement_is_asked_what_for_not_misunderstood(text):
    before = [action("action_listen"), {"event": "user", "text": "你好"}, action("utter_greet")]
    dispatcher = CollectingDispatcher()
    routed = route(dispatcher, user_turn(text, "affirm", before=before))
    assert _said(dispatcher) == ["utter_ask_what_for"]
    # Read as `affirm`, no rule follows: without a listen the fallback ran again and again.
    assert _followups(routed) == ["action_listen"], routed
