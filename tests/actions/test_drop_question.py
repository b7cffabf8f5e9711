"""An answer the NLU found ambiguous at "确定放弃这次投诉吗？" (nlu_fallback)."""

from __future__ import annotations

from typing import Dict, List

from rasa_sdk import Tracker
from rasa_sdk.events import FollowupAction, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.cancel import ActionResolveDrop, drop_answer


def ranking(*pairs) -> List[Dict]:
    return [{"name": "nlu_fallback", "confidence": 0.45}] + [{"name": n, "confidence": c} for n, c in pairs]


def test_readings_that_agree_decide():
    # "不，我还是要投诉": deny and complain both mean "go on".
    assert drop_answer(ranking(("deny", 0.48), ("complain", 0.43), ("cancel", 0.03))) == "keep"
    assert drop_answer(ranking(("cancel", 0.44), ("affirm", 0.40), ("deny", 0.05))) == "drop"
    assert drop_answer(ranking(("complain", 0.62), ("thank", 0.2), ("cancel", 0.02))) == "keep"


def test_readings_that_disagree_decide_nothing():
    assert drop_answer(ranking(("deny", 0.40), ("affirm", 0.38))) is None
    assert drop_answer(ranking(("complain", 0.62), ("thank", 0.2), ("cancel", 0.15))) is None
    assert drop_answer(ranking(("greet", 0.4), ("thank", 0.3))) is None
    assert drop_answer([{"name": "nlu_fallback", "confidence": 1.0}]) is None


def tracker(intent_ranking: List[Dict]) -> Tracker:
    return Tracker(
        sender_id="unit-test",
        slots={"cancel_pending": True, "complaint_description": "导游在车上骂人"},
        latest_message={"text": "…", "intent": intent_ranking[0], "intent_ranking": intent_ranking},
        events=[],
        paused=False,
        followup_action=None,
        active_loop={},
        latest_action_name="action_listen",
    )


async def test_the_complaint_goes_on_or_the_question_is_asked_again():
    dispatcher = CollectingDispatcher()
    keep = tracker(ranking(("deny", 0.48), ("complain", 0.43)))
    events = await ActionResolveDrop().run(dispatcher, keep, {})
    assert SlotSet("cancel_pending", None) in events and FollowupAction("complaint_form") in events
    assert [m["response"] for m in dispatcher.messages] == ["utter_complaint_resumed"]

    dispatcher = CollectingDispatcher()
    unsure = tracker(ranking(("deny", 0.40), ("affirm", 0.38)))
    events = await ActionResolveDrop().run(dispatcher, unsure, {})
    assert events == [] and [m["response"] for m in dispatcher.messages] == ["utter_confirm_drop_complaint"]
