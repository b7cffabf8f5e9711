"""Stranger test 4, complaints replayed against the real services (s4b5-10, s4b8-07).

1. A story told before the complaint started, and answered then with a policy ("行李丢了…航空公司
   说找不到" got the baggage rules; "10月14日 三亚凤凰机场" started the complaint), is its
   description. The tracker Rasa sends to validate the form at activation already holds the
   activation (`active_loop` event, the form's action): the events below are those of the real
   conversation, so the form is known to be starting from them, not from "no active form".
2. A complaint about something over, read as an emergency by the NLU ("描述：领队把我们扔在机场
   自己走了…11月6号 曼谷机场，要求赔偿+道歉" where the booking number was asked), is read for the
   form as action_emergency would read it: story, time and place, request, not only the number.
3. Hurry ("先说好我很急，马上要登机") is no story; "描述：" is a label, not their words; a surname
   alone ("我姓赵", "免贵姓李") is the name.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any, Dict, List, Optional

import pytest
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.complaint import ValidateComplaintForm
from actions.fields import REQUEST_TEXT_SLOT
from actions.reader import read_slots
from actions.utils.reading import is_descriptive, read
from actions.utils.refund import china_today
from tests.actions.form_turns import COMPLAINT_DOMAIN as DOMAIN
from tests.actions.form_turns import action, slot_events, user_turn

# 1. The story told before the complaint: the activation's real event sequence.


def _user(text: str, intent: str, message_id: str) -> Dict[str, Any]:
    parse = {"intent": {"name": intent}, "entities": [], "text": text, "message_id": message_id}
    return {"event": "user", "text": text, "parse_data": parse, "message_id": message_id}


def _activation(told: str, started_by: str, candidates: Dict[str, Any]) -> Tracker:
    """What validate_complaint_form receives when "10月14日 三亚凤凰机场" starts the form (events
    as in the tracker of the replayed conversation, GET /conversations/<id>/tracker)."""
    before: List[Dict[str, Any]] = [
        action("action_session_start"),
        {"event": "session_started"},
        action("action_listen"),
        _user(told, "policy", "m1"),
        *slot_events({"read_message_id": "m1"}),
        {"event": "user_featurization", "use_text_for_featurization": False},
        action("action_answer_policy"),
        {"event": "bot", "text": "行李规定（以出票航空公司为准，行程单上有写）：…"},
        *slot_events({"answered_message_id": "m1"}),
    ]
    after: List[Dict[str, Any]] = [
        *slot_events({"read_message_id": "m2"}),
        {"event": "user_featurization", "use_text_for_featurization": False},
        action("action_route_message"),
        {"event": "bot", "text": "非常抱歉给您带来不好的体验，我来帮您登记投诉。"},
        *slot_events({"form_failures": 0.0}),
        {"event": "followup", "name": "complaint_form"},
        {"event": "active_loop", "name": "complaint_form"},
        *slot_events({"read_message_id": "m2", "requested_slot": None}),
        action("complaint_form"),
        *slot_events(candidates),
    ]
    return user_turn(
        started_by,
        message_id="m2",
        before=before,
        parsed=True,
        after=after,
        slots={"form_failures": 0.0, "requested_slot": None, **candidates},
        loop="complaint_form",
        sender="s4b-start",
        latest_action="complaint_form",
    )


def _slots(events: List[Dict[str, Any]]) -> Dict[str, Any]:
    return {e["name"]: e["value"] for e in events if e.get("event") == "slot"}


@pytest.mark.parametrize(
    "told, story, started_by, candidates",
    [
        (
            "行李丢了！！飞到三亚行李箱就没出来 航空公司说找不到 TR20260003",
            "行李丢了！！飞到三亚行李箱就没出来 航空公司说找不到",
            "10月14日 三亚凤凰机场",
            {"booking_ref": "TR20260003", "complaint_when_where": "10月14日 三亚凤凰机场"},
        ),
        (
            "酒店房间里有蟑螂，跟前台说了也没人管",
            "酒店房间里有蟑螂，跟前台说了也没人管",
            "就在三亚的酒店，10月13号晚上",
            {"complaint_when_where": "就在三亚的酒店，10月13号晚上"},
        ),
        (
            "航班延误了五个小时，地接一直没人来接我们，在机场干等 TR20260007",
            "航班延误了五个小时，地接一直没人来接我们，在机场干等",
            "11月20号 桂林两江机场",
            {"booking_ref": "TR20260007", "complaint_when_where": "11月20号 桂林两江机场"},
        ),
    ],
)
async def test_the_story_told_before_is_the_description_when_rasa_activates_the_form(
    told, story, started_by, candidates
):
    events = await ValidateComplaintForm().run(
        CollectingDispatcher(), _activation(told, started_by, candidates), DOMAIN
    )
    assert _slots(events)["complaint_description"] == story


async def test_a_form_started_on_an_earlier_message_takes_no_story_from_before():
    # The form was activated before the latest message (it asks its question now): the
    # validation of that message is no start, and nothing said before it is taken again.
    tracker = _activation("酒店房间里有蟑螂，跟前台说了也没人管", "我要投诉", {})
    tracker.events += [
        {"event": "slot", "name": "requested_slot", "value": "complaint_description"},
        {"event": "action", "name": "action_listen"},
        _user("王芳", "inform", "m3"),
        {"event": "action", "name": "complaint_form"},
        {"event": "slot", "name": "complainant_name", "value": "王芳"},
    ]
    tracker.slots.update(requested_slot="complaint_description", complainant_name="王芳")
    events = await ValidateComplaintForm().run(CollectingDispatcher(), tracker, DOMAIN)
    assert "complaint_description" not in _slots(events)


# 2. A complaint about the past read as an emergency, inside the form.


def _in_form(text: str, intent: str, requested: str, held: Optional[Dict[str, Any]] = None) -> Tracker:
    slots = {"requested_slot": requested, **(held or {})}
    return user_turn(
        text,
        intent,
        message_id="m9",
        listen=False,
        slots=slots,
        loop="complaint_form",
        sender="s4b-emergency",
    )


_A_MONTH_AGO = china_today() - timedelta(days=31)
_DATE = f"{_A_MONTH_AGO.month}月{_A_MONTH_AGO.day}号"


@pytest.mark.parametrize(
    "text, when_where, label",
    [
        (
            f"描述：领队把我们扔在机场自己走了，订单TR20260005，{_DATE} 曼谷机场，要求赔偿+道歉",
            f"{_DATE} 曼谷机场",
            "compensation",
        ),
        ("昨天晚上在清迈夜市 导游把我们丢下自己走了 没人管我们 要求退款", None, "refund"),
        ("上周在普吉岛码头，司机把我们甩了开走了，要求道歉", None, "apology"),
    ],
)
def test_a_past_complaint_read_as_an_emergency_answers_the_form(text, when_where, label):
    slots = read_slots(_in_form(text, "emergency", "booking_ref"))
    assert slots["complaint_description"] and "描述" not in slots["complaint_description"]
    assert slots["complaint_request"] == label and slots[REQUEST_TEXT_SLOT]
    if when_where:
        assert slots["complaint_when_where"] == when_where


@pytest.mark.parametrize(
    "text",
    [
        "TR20260005 领队把我们扔在机场了，现在怎么办，没人管我们",
        "我们现在被困在码头，司机开走了，要求你们马上派人",
    ],
)
def test_an_emergency_now_is_not_read_for_the_form(text):
    slots = read_slots(_in_form(text, "emergency", "booking_ref"))
    assert not {"complaint_description", "complaint_request", "complaint_when_where"} & set(slots)


# 3. Hurry, a label, a surname.


@pytest.mark.parametrize(
    "text",
    [
        "我要投诉，先说好我很急，马上要登机",
        "投诉！我赶时间，快点",
        "我要投诉 时间不多 马上要上飞机了",
        "我想投诉一下，没什么时间，抓紧",
    ],
)
def test_hurry_beside_a_complaint_is_no_story(text):
    assert not is_descriptive(read(text).rest)


@pytest.mark.parametrize(
    "text, story",
    [
        ("描述：领队把我们扔在机场自己走了", "领队把我们扔在机场自己走了"),
        ("事情经过：酒店把我们的房间给了别人", "酒店把我们的房间给了别人"),
        ("TR20260003，具体情况: 导游一直催购物", "导游一直催购物"),
    ],
)
def test_a_story_label_is_not_part_of_the_story(text, story):
    assert read(text).rest == story


@pytest.mark.parametrize(
    "text, name",
    [
        ("我姓赵", "赵"),
        ("免贵姓李", "李"),
        ("本人姓张 13900001111", "张"),
        ("我姓欧阳，电话13812345678", "欧阳"),
    ],
)
def test_a_surname_alone_is_the_name(text, name):
    assert read(text).name == name


@pytest.mark.parametrize("text", ["导游姓王，很凶", "那个姓李的司机骂人"])
def test_someone_elses_surname_is_not_the_name(text):
    assert read(text).name is None


@pytest.mark.parametrize("text, name", [("我姓赵", "赵"), ("免贵姓李", "李"), ("鄙人姓周", "周")])
def test_a_surname_at_the_name_question_is_the_name(text, name):
    slots = read_slots(_in_form(text, "inform", "complainant_name", {"complaint_consent": True}))
    assert slots["complainant_name"] == name


def test_a_surname_beside_a_complaint_is_the_name():
    text = "我要投诉 TR20260003 导游一路上都在催我们购物，不买就甩脸色 我姓赵 13698765432"
    slots = read_slots(_in_form(text, "complain", "booking_ref"))
    assert slots["complainant_name"] == "赵"
    assert "赵" not in slots["complaint_description"]


# 4. An emergency now inside the form: the form refuses it, so Rasa's rule for an emergency inside
# the form runs action_emergency (the booking number the reader took from it made Rasa run the
# form, which asked for the story).


def _form_turn(text: str, intent: str, requested: str, candidates: Dict[str, Any]) -> Tracker:
    """validate_complaint_form for a message answering the form's question (events as replayed)."""
    return user_turn(
        text,
        intent,
        message_id="m5",
        before=[
            {"event": "active_loop", "name": "complaint_form"},
            *slot_events({"requested_slot": requested}),
        ],
        parsed=True,
        after=[*slot_events({"read_message_id": "m5"}), action("complaint_form"), *slot_events(candidates)],
        slots={"form_failures": 0.0, "requested_slot": requested, **candidates},
        loop="complaint_form",
        sender="s4b-form",
        latest_action="complaint_form",
    )


@pytest.mark.parametrize(
    "text",
    [
        "TR20260005 我们现在被困在机场了，领队不见了，怎么办",
        "TR20260003 救命 我老公刚才在海边被浪卷走了",
        "订单TR20260007，孩子现在找不到了，在景区门口",
    ],
)
async def test_an_emergency_now_inside_the_form_is_refused_by_the_form(text):
    turn = _form_turn(text, "emergency", "booking_ref", {"booking_ref": read(text).booking_ref})
    events = await ValidateComplaintForm().run(CollectingDispatcher(), turn, DOMAIN)
    assert [(e["event"], e.get("name")) for e in events] == [("action_execution_rejected", "complaint_form")]


async def test_a_past_complaint_read_as_an_emergency_goes_on_in_the_form():
    text = f"描述：领队把我们扔在机场自己走了，订单TR20260005，{_DATE} 曼谷机场，要求赔偿+道歉"
    read_now = read_slots(_in_form(text, "emergency", "booking_ref"))
    turn = _form_turn(text, "emergency", "booking_ref", read_now)
    slots = _slots(await ValidateComplaintForm().run(CollectingDispatcher(), turn, DOMAIN))
    assert slots["booking_ref"] == "TR20260005" and slots["complaint_when_where"] == f"{_DATE} 曼谷机场"


# 5. "我要投诉" where the time and place is asked is no time and place.


@pytest.mark.parametrize("text", ["我要投诉", "投诉一下，我很急", "我想投诉"])
async def test_asking_to_complain_is_no_time_and_place(text):
    turn = _form_turn(text, "complain", "complaint_when_where", {"complaint_when_where": text})
    slots = _slots(await ValidateComplaintForm().run(CollectingDispatcher(), turn, DOMAIN))
    assert slots["complaint_when_where"] is None


async def test_the_form_back_after_action_emergency_does_not_refuse_again():
    # action_emergency took "TR… 导游不管我们，高反严重" for a complaint about a trip that is over
    # and went back to the form: the form asks its next question instead of refusing again.
    text = "TR20260005 导游不管我们，高反严重，一直没人管"
    turn = _form_turn(text, "emergency", "booking_ref", {})
    turn.events[-1:-1] = [
        {"event": "action", "name": "action_emergency"},
        {"event": "slot", "name": "complaint_description", "value": "导游不管我们，高反严重，一直没人管"},
    ]
    events = await ValidateComplaintForm().run(CollectingDispatcher(), turn, DOMAIN)
    assert "action_execution_rejected" not in [e["event"] for e in events]
