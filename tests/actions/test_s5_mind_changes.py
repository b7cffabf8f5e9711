"""A change of mind inside a form (stranger test 5: s5b4-10, s5b6-13, s5b7-15): the traveller takes
back what they asked for and asks something else. The question is what they want: it is no value
for the form, the form stops (a complaint is set aside with what it holds) and the question is
taken up."""

from __future__ import annotations

from typing import Any, Dict, List, Optional

import pytest
from rasa_sdk import Tracker
from rasa_sdk.events import ActiveLoop, FollowupAction, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.cancel import ActionAskDropComplaint, ActionCancelForm
from actions.complaint import ActionPrefillComplaint, ValidateComplaintForm
from actions.forms.change_of_mind import other_question
from actions.verification import ValidateVerifyForm
from tests.actions.form_turns import COMPLAINT_DOMAIN, DOMAIN, slots
from tests.actions.form_turns import turn as form_turn


@pytest.mark.parametrize(
    "text, question",
    [
        ("算了我先查下行程", "我先查下行程"),
        ("算了，我还是先问一下明天几点出发吧", "我还是先问一下明天几点出发吧"),
        ("等等，我先看看行程", "我先看看行程"),
        ("先不投诉了，我想问下酒店叫什么", "我想问下酒店叫什么"),
        ("我要投诉 不对 我是想问下 导游电话", "我是想问下 导游电话"),
        ("投诉 哦不 我想查行程", "我想查行程"),
        ("不是投诉，我想问导游电话", "我想问导游电话"),
        ("算了 还是先问问延误怎么赔", "还是先问问延误怎么赔"),
        ("我要退团 算了 还是问下行李能带多少", "还是问下行李能带多少"),
        ("算了，导游电话是多少？", "导游电话是多少？"),
        # No change of mind: an answer, a correction of a value, a story, a plain cancel.
        ("第二天几点集合", None),
        ("不对，是第二天下午", None),
        ("不对 我说错了 是三个小时", None),
        ("不是导游的问题，是司机绕路", None),
        ("不对，问题是导游没来", None),
        ("算了，反正导游也不会改，你们记录一下吧", None),
        ("导游太差了 算了 我想问下能退多少", None),
        ("算了不投诉了", None),
    ],
)
def test_a_change_of_mind_is_told_from_an_answer(text, question):
    assert other_question(text) == question


def _tracker(
    text: str,
    read: Dict[str, Any],
    intent: str,
    form: Optional[str],
    held: Dict[str, Any],
    after: List[Dict[str, Any]] = (),
    **message: Any,
) -> Tracker:
    """`message`: more of user_turn's keywords (key and key_confidence, the selector's answer)."""
    return form_turn(text, read, held, form, intent, after=after, **message)


@pytest.mark.parametrize(
    "text, requested",
    [
        ("算了我先查下行程", "complaint_description"),
        ("等等，我先问下导游电话", "complaint_when_where"),
        ("算了，我还是先问一下明天几点出发吧", "complaint_description"),
        ("算了 先问问行李能带多少", "complainant_name"),
    ],
)
async def test_inside_the_complaint_the_change_of_mind_is_no_answer(text, requested):
    # s5b4-10: the reader took the message for the question asked; it is not kept.
    held = {"booking_ref": "TR20260019", "requested_slot": requested}
    turn = _tracker(text, {requested: text}, "query_itinerary", "complaint_form", held)
    events = await ValidateComplaintForm().run(CollectingDispatcher(), turn, COMPLAINT_DOMAIN)
    assert SlotSet(requested, None) in events
    assert ActiveLoop(None) in events and FollowupAction("action_cancel_form") in events


async def test_a_story_after_a_question_is_still_the_story():
    story = "不对，是第二天下午在大理古城"
    held = {
        "booking_ref": "TR20260019",
        "complaint_description": "导游把我们丢在景区",
        "requested_slot": "complaint_when_where",
    }
    turn = _tracker(story, {"complaint_when_where": story}, "inform", "complaint_form", held)
    events = await ValidateComplaintForm().run(CollectingDispatcher(), turn, COMPLAINT_DOMAIN)
    assert slots(events).get("complaint_when_where") == "第二天下午在大理古城"
    assert FollowupAction("action_cancel_form") not in events


async def test_after_the_form_the_complaint_is_set_aside_and_the_itinerary_asked():
    dispatcher = CollectingDispatcher()
    text = "算了我先查下行程"
    after = [
        {"event": "action", "name": "complaint_form"},
        {"event": "slot", "name": "complaint_description", "value": None},
        {"event": "active_loop", "name": None},
    ]
    held = {"booking_ref": "TR20260019", "requested_slot": None}
    turn = _tracker(text, {}, "query_itinerary", None, held, after=after)
    events = await ActionCancelForm().run(dispatcher, turn, COMPLAINT_DOMAIN)
    assert [m.get("response") for m in dispatcher.messages] == ["utter_complaint_kept"]
    assert slots(events)["verify_purpose"] == "itinerary"
    assert events[-1] == FollowupAction("verify_form")
    assert not any(e.get("name") == "booking_ref" for e in events)  # kept, so only the digits are asked


@pytest.mark.parametrize(
    "text, item",
    [
        ("我要投诉 不对 我是想问下 导游电话", "guide"),
        ("不是投诉，我想问导游电话", "guide"),
        ("投诉 哦不 我想查行程", None),
    ],
)
async def test_a_complaint_taken_back_at_once_opens_no_form(text, item):
    # s5b7-15: the question is what the traveller wants; it is verified, then answered.
    dispatcher = CollectingDispatcher()
    read = {"complaint_description": text}
    turn = _tracker(text, read, "complain", None, {})
    events = await ActionPrefillComplaint().run(dispatcher, turn, COMPLAINT_DOMAIN)
    assert "utter_complaint_start" not in [m.get("response") for m in dispatcher.messages]
    assert slots(events)["complaint_description"] is None
    assert slots(events)["verify_purpose"] == "itinerary"
    assert slots(events)["itinerary_item"] == item
    assert events[-1] == FollowupAction("verify_form")


async def test_a_real_complaint_still_starts():
    dispatcher = CollectingDispatcher()
    turn = _tracker("我要投诉", {}, "complain", None, {})
    await ActionPrefillComplaint().run(dispatcher, turn, COMPLAINT_DOMAIN)
    assert [m.get("response") for m in dispatcher.messages][:1] == ["utter_complaint_start"]


async def test_turning_away_read_as_cancel_sets_the_complaint_aside_and_answers():
    dispatcher = CollectingDispatcher()
    text = "先不投诉了，我想问问延误怎么赔"
    held = {"booking_ref": "TR20260019", "requested_slot": "complaint_description"}
    turn = _tracker(text, {}, "cancel", "complaint_form", held, key="policy/delay", key_confidence=0.97)
    events = await ActionAskDropComplaint().run(dispatcher, turn, COMPLAINT_DOMAIN)
    assert [m.get("response") for m in dispatcher.messages] == ["utter_complaint_kept", "utter_policy/delay"]
    assert ActiveLoop(None) in events and events[-1] == FollowupAction("action_listen")


async def test_a_plain_cancel_still_asks_first():
    dispatcher = CollectingDispatcher()
    held = {"booking_ref": "TR20260019", "requested_slot": "complaint_description"}
    turn = _tracker("取消", {}, "cancel", "complaint_form", held)
    await ActionAskDropComplaint().run(dispatcher, turn, COMPLAINT_DOMAIN)
    assert [m.get("response") for m in dispatcher.messages] == ["utter_confirm_drop_complaint"]


_ANSWERED = [
    {"event": "action", "name": "action_answer_policy"},
    {"event": "bot", "text": "航班延误或取消时：…"},
]


@pytest.mark.parametrize(
    "text",
    ["算了 还是先问问延误怎么赔", "我要退团 算了 还是问下行李能带多少", "等等，先问下签证要多久？"],
)
async def test_a_cancellation_dropped_for_a_question_stops_its_verification(text):
    # s5b6-13: the rule answered the question; the form must not ask the number again.
    dispatcher = CollectingDispatcher()
    held = {"verify_purpose": "cancellation", "requested_slot": "booking_ref"}
    turn = _tracker(text, {}, "policy", "verify_form", held, after=_ANSWERED)
    events = await ValidateVerifyForm().run(dispatcher, turn, DOMAIN)
    assert [m.get("response") for m in dispatcher.messages] == ["utter_cancellation_stopped"]
    assert ActiveLoop(None) in events and events[-1] == FollowupAction("action_listen")


async def test_a_question_alone_goes_back_to_the_verification():
    dispatcher = CollectingDispatcher()
    held = {"verify_purpose": "cancellation", "requested_slot": "booking_ref"}
    turn = _tracker("延误怎么赔", {}, "policy", "verify_form", held, after=_ANSWERED)
    events = await ValidateVerifyForm().run(dispatcher, turn, DOMAIN)
    assert ActiveLoop(None) not in events
    assert "utter_cancellation_stopped" not in [m.get("response") for m in dispatcher.messages]


async def test_a_complaint_set_aside_after_the_answer_is_kept():
    dispatcher = CollectingDispatcher()
    held = {
        "booking_ref": "TR20260019",
        "complaint_description": "导游把我们丢在景区",
        "requested_slot": "complaint_when_where",
    }
    turn = _tracker("算了 还是先问问延误怎么赔", {}, "policy", "complaint_form", held, after=_ANSWERED)
    events = await ValidateComplaintForm().run(dispatcher, turn, COMPLAINT_DOMAIN)
    assert [m.get("response") for m in dispatcher.messages] == ["utter_complaint_kept"]
    assert ActiveLoop(None) in events
    assert "complaint_description" not in slots(events)


@pytest.mark.parametrize("text", ["算了 还是先问问延误怎么赔", "等等，先问下签证要多久？"])
async def test_a_cancellation_dropped_for_a_question_the_form_answers_stops_too(text):
    # The form ran on the message itself and answered its policy question beside the number.
    dispatcher = CollectingDispatcher()
    held = {"verify_purpose": "cancellation", "requested_slot": "booking_ref"}
    turn = _tracker(
        text, {}, "policy", "verify_form", held, key="policy/delay", key_confidence=0.99, message_id="m-1"
    )
    events = await ValidateVerifyForm().run(dispatcher, turn, DOMAIN)
    responses = [m.get("response") for m in dispatcher.messages]
    assert responses == ["utter_policy/delay", "utter_cancellation_stopped"]
    assert ActiveLoop(None) in events and events[-1] == FollowupAction("action_listen")


@pytest.mark.parametrize("text", ["继续投诉", "我还是要投诉", "接着投诉吧"])
async def test_the_complaint_set_aside_is_taken_up_again(text):
    # utter_complaint_kept promises "继续投诉"; read as `cancel` it must not stop anything.
    dispatcher = CollectingDispatcher()
    held = {"booking_ref": "TR20260019", "complaint_description": "导游把我们丢在景区"}
    turn = _tracker(text, {}, "cancel", None, held)
    events = await ActionCancelForm().run(dispatcher, turn, COMPLAINT_DOMAIN)
    assert [m.get("response") for m in dispatcher.messages] == ["utter_complaint_resumed"]
    assert events[-1] == FollowupAction("complaint_form")
    assert "complaint_description" not in slots(events)


async def test_a_cancel_with_no_form_still_says_what_stopped():
    dispatcher = CollectingDispatcher()
    turn = _tracker("不用了", {}, "cancel", None, {})
    await ActionCancelForm().run(dispatcher, turn, COMPLAINT_DOMAIN)
    assert [m.get("response") for m in dispatcher.messages] == ["utter_request_stopped"]


async def test_taking_up_a_complaint_when_nothing_of_one_is_kept_starts_a_new_one():
    # s6 C03 tail: after a complaint was submitted or dropped, "我要继续刚才的投诉" must not promise
    # "已填写的内容都还在" and then ask for everything again.
    dispatcher = CollectingDispatcher()
    turn = _tracker("我要继续刚才的投诉", {}, "cancel", None, {"booking_ref": "TR20260019"})
    events = await ActionCancelForm().run(dispatcher, turn, COMPLAINT_DOMAIN)
    assert [m.get("response") for m in dispatcher.messages] == ["utter_complaint_start"]
    assert events[-1] == FollowupAction("complaint_form")
