"""Questions no policy of ours answers, whatever the NLU read them as (stranger 6): a room change on
the spot goes to the guide or the front desk (O13, O16: "能换个房间吗" was an emergency or "没太明白"),
an upgrade is priced by a person (P21: it got the change policy), a sight's ticket is included
when the itinerary lists it (O02: "丽江古城门票要钱吗" got "收到。请问您是想…"), and our service line
is given when asked for without a question mark (H03: "我要直接打电话")."""

from __future__ import annotations

from typing import List

import pytest
from rasa_sdk.executor import CollectingDispatcher

from actions.questions import answer_policy_question
from actions.router import route
from actions.scope import ActionOutOfScope
from tests.actions.form_turns import user_turn

ROOM = [
    "酒店隔壁房间太吵了 能不能帮我换个房",
    "我老公打呼噜太响了 能换个房间吗",
    "空调坏了 想换一间房",
    "可以调个房吗 太吵了",
]
UPGRADE = ["酒店能升级吗 要加多少钱", "房型可以升级吗", "能不能升舱"]
TICKET = ["那丽江古城门票要钱吗", "景区门票包含吗", "进景点要另外买票吗", "门票是自理还是含在团费里"]


def _texts(dispatcher: CollectingDispatcher) -> List[str]:
    return [m.get("response") or m.get("text") or "" for m in dispatcher.messages]


@pytest.mark.parametrize("text", ROOM)
@pytest.mark.parametrize("intent", ["inform", "nlu_fallback"])
def test_a_room_change_goes_to_the_guide_or_front_desk(text, intent):
    dispatcher = CollectingDispatcher()
    events = route(dispatcher, user_turn(text, intent))
    assert [e.get("name") for e in events or []] == ["action_listen"], events
    said = "\n".join(_texts(dispatcher))
    assert "前台" in said and "导游" in said and "投诉" in said and "转人工" in said, said


@pytest.mark.parametrize("text", UPGRADE)
async def test_an_upgrade_is_quoted_by_a_person(text):
    dispatcher = CollectingDispatcher()
    await answer_policy_question(dispatcher, user_turn(text, "policy", confidence=0.9, key="policy/change"))
    said = _texts(dispatcher)
    assert "utter_policy/change" not in said and any("转人工" in s and "报价" in s for s in said), said


@pytest.mark.parametrize("text", TICKET)
async def test_a_sights_ticket_is_answered_by_the_contract(text):
    for intent in ("inform", "out_of_scope"):
        dispatcher = CollectingDispatcher()
        if intent == "inform":
            route(dispatcher, user_turn(text, intent))
        else:
            await ActionOutOfScope().run(dispatcher, user_turn(text, intent, confidence=0.9), {})
        said = "\n".join(_texts(dispatcher))
        assert "团费" in said and "自理" in said, (intent, said)
        assert "utter_out_of_scope" not in said and "utter_ask_what_for" not in said


@pytest.mark.parametrize("text", ["没去的景点门票能退吗", "我想订个房间", "第二天住哪个酒店"])
def test_other_questions_are_not_taken(text):
    dispatcher = CollectingDispatcher()
    route(dispatcher, user_turn(text, "inform"))
    said = "\n".join(_texts(dispatcher))
    assert "前台" not in said and "首道门票" not in said and "报价" not in said, said


@pytest.mark.parametrize("text", ["给我个客服电话 我自己打", "把你们客服热线发我，我直接打过去"])
def test_our_line_asked_for_is_given(text):
    from actions.scope import answer_our_line
    from actions.settings import get_settings

    dispatcher = CollectingDispatcher()
    assert answer_our_line(dispatcher, text)
    assert get_settings().emergency_line in _texts(dispatcher)[0]


def test_a_complaint_about_the_line_is_no_request_for_it():
    from actions.scope import answer_our_line

    assert not answer_our_line(CollectingDispatcher(), "客服电话一直打不通 我要投诉")


@pytest.mark.parametrize("text", ["你们有没有客服电话？我要直接打电话", "给我个客服电话 我自己打"])
async def test_the_line_asked_for_as_a_request_for_a_person_is_given(text):
    # s6 H03: read as request_human, the traveller was queued without the number they asked for.
    from actions.handoff import ActionRequestHuman

    dispatcher = CollectingDispatcher()
    events = await ActionRequestHuman().run(dispatcher, user_turn(text, "request_human"), {})
    said = " ".join(m.get("text") or "" for m in dispatcher.messages)
    assert "400-820-1190" in said, said
    assert not any(e.get("event") == "pause" for e in events), events


async def test_a_plain_request_for_a_person_is_still_handed_over(client):
    from actions.handoff import ActionRequestHuman

    dispatcher = CollectingDispatcher()
    events = await ActionRequestHuman().run(dispatcher, user_turn("转人工", "request_human"), {})
    assert any(e.get("event") == "pause" for e in events), events


async def test_the_line_asked_for_read_as_a_complaint_is_given():
    # Replay of s6 H03 on the retrained model: read as complain, it opened the complaint form.
    from actions.complaint import ActionPrefillComplaint

    dispatcher = CollectingDispatcher()
    text = "你们有没有客服电话？我要直接打电话"
    events = await ActionPrefillComplaint().run(dispatcher, user_turn(text, "complain"), {})
    said = " ".join(m.get("text") or m.get("response") or "" for m in dispatcher.messages)
    assert "400-820-1190" in said and "utter_complaint_start" not in said, said
    assert not any(e.get("event") == "followup" and e.get("name") == "complaint_form" for e in events)
