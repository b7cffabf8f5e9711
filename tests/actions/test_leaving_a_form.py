"""Leaving while a form asks for a number: goodbye, not the question again, also when the NLU
is unsure of the message ("算了 谢谢啊 拜拜" between cancel, thank and goodbye)."""

from __future__ import annotations

import pytest
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.handoff import ActionFallback


def tracker(text: str, loop: str) -> Tracker:
    return Tracker(
        sender_id="unit-test",
        slots={"requested_slot": "ticket_no"},
        latest_message={"text": text, "intent": {"name": "nlu_fallback"}, "entities": []},
        events=[{"event": "action", "name": "action_listen"}, {"event": "user", "text": text}],
        paused=False,
        followup_action=None,
        active_loop={"name": loop},
        latest_action_name="action_listen",
    )


@pytest.mark.parametrize("loop", ["ticket_form", "verify_form"])
@pytest.mark.parametrize("text", ["算了 谢谢啊 拜拜", "那先这样吧", "ok bye", "回头再说 再见"])
async def test_a_farewell_the_nlu_was_unsure_of_ends_the_form(text, loop):
    dispatcher = CollectingDispatcher()
    events = await ActionFallback().run(dispatcher, tracker(text, loop), {})
    assert [m.get("response") for m in dispatcher.messages] == ["utter_goodbye"]
    assert any(e.get("event") == "active_loop" and e.get("name") is None for e in events)
    assert any(e.get("event") == "followup" and e.get("name") == "action_listen" for e in events)


async def test_anything_else_not_understood_still_gets_the_usual_answer():
    dispatcher = CollectingDispatcher()
    events = await ActionFallback().run(dispatcher, tracker("嗯 那个 就是", "ticket_form"), {})
    assert [m.get("response") for m in dispatcher.messages] == ["utter_default"] and events == []
