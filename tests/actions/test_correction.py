"""Corrections of complaint fields: parsing the traveller's words, and the action against the real API."""

from __future__ import annotations

import pytest
from rasa_sdk.events import ActiveLoop, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.complaint import ValidateComplaintForm
from actions.correction import ActionCorrectComplaint, parse_correction
from actions.fields import LABELS
from actions.forms.complaint_checks import CHECKS
from tests.actions.test_actions import BOOKING, PHONE, tracker

SLOTS = {
    "booking_ref": BOOKING,
    "complaint_description": "房间很脏，床单有污渍",
    "complaint_when_where": "12月4号晚上，在酒店",
    "complaint_request": "apology",
    "complainant_name": "李娜",
    "phone": PHONE,
}


@pytest.mark.parametrize(
    "text, field, value",
    [
        ("时间说错了，是12月5号晚上", "complaint_when_where", "12月5号晚上"),
        ("地点不对，应该在丽江古城的客栈里", "complaint_when_where", "丽江古城的客栈里"),
        ("时间不对，不是4号是5号", "complaint_when_where", "5号"),
        ("12月5号晚上，不是4号", "complaint_when_where", "12月5号晚上"),
        ("名字写错了，应该是王芳", "complainant_name", "王芳"),
        ("不是李娜，是李雪", "complainant_name", "李雪"),  # the old value names the field
        ("我的名字是王芳不是李娜", "complainant_name", "王芳"),
        ("名字改成李改", "complainant_name", "李改"),  # "改" inside a value stays
        ("姓名寫錯了，應該是張偉", "complainant_name", "張偉"),  # traveller's characters kept
        ("诉求改成退款", "complaint_request", "退款"),
        ("我要的是赔偿", "complaint_request", "赔偿"),
        ("手机号填错了，是13912345678", "phone", "13912345678"),
        ("电话错了 139 1234 5678", "phone", "13912345678"),
        ("订单号不是TR20260001，是TR20260002", "booking_ref", "TR20260002"),
        ("描述补充一下：导游还骂人了", "complaint_description", "导游还骂人了"),
        (
            "补充一点，司机全程在打电话",
            "complaint_description",
            "司机全程在打电话",
        ),  # "电话" is not the phone
        ("打错字了，我叫孙丽", "complainant_name", "我叫孙丽"),
        ("时间弄错啦，是昨天早上不是晚上", "complaint_when_where", "昨天早上"),
        ("時間說錯了，是12月5號", "complaint_when_where", "12月5號"),
        ("the time is wrong, 应该是12月5号", "complaint_when_where", "12月5号"),
        # A field without its new value: asked again.
        ("我想改一下名字", "complainant_name", ""),
        ("时间有误", "complaint_when_where", ""),
        ("诉求不对", "complaint_request", ""),
        # Nothing says which field: ask.
        ("不对", None, ""),
        ("信息有误，需要修改", None, ""),
        ("我想修改一下刚才填的信息", None, ""),
    ],
)
def test_parse_correction(text, field, value):
    assert parse_correction(text, SLOTS) == (field, value)


def test_a_correction_is_checked_as_the_form_checks_the_field():
    # Every correctable field has one check, and the form validates that field with it.
    assert set(CHECKS) == set(LABELS)
    form = ValidateComplaintForm()
    assert all(getattr(form, f"validate_{slot}") is check for slot, check in CHECKS.items())


def test_button_hint_names_the_field():
    assert parse_correction("/correct", SLOTS, "phone") == ("phone", "")


async def test_correction_at_the_summary_shows_the_summary_again(client):
    dispatcher = CollectingDispatcher()
    t = tracker({**SLOTS, "complaint_confirming": True}, text="名字写错了，应该是王芳", intent="correct")
    events = await ActionCorrectComplaint().run(dispatcher, t, {})
    assert SlotSet("complainant_name", "王芳") in events
    assert not any(isinstance(e, dict) and e.get("event") == "active_loop" for e in events)
    responses = [m["response"] for m in dispatcher.messages]
    assert responses == ["utter_correction_done", "utter_complaint_summary"]
    summary = dispatcher.messages[1]
    assert summary["name"] == "王芳" and summary["booking_ref"] == BOOKING
    assert "初步分类" in summary["category"]  # classified by the real API


async def test_field_without_value_at_the_summary_goes_back_into_the_form():
    dispatcher = CollectingDispatcher()
    t = tracker({**SLOTS, "complaint_confirming": True}, text="时间说错了", intent="correct")
    events = await ActionCorrectComplaint().run(dispatcher, t, {})
    assert events == [
        SlotSet("complaint_when_where", None),
        SlotSet("complaint_confirming", None),
        ActiveLoop("complaint_form"),
    ]
    assert [m["response"] for m in dispatcher.messages] == ["utter_correction_ask_again"]


async def test_bare_no_at_the_summary_asks_which_field_and_keeps_everything():
    dispatcher = CollectingDispatcher()
    t = tracker({**SLOTS, "complaint_confirming": True}, text="不对", intent="deny")
    assert await ActionCorrectComplaint().run(dispatcher, t, {}) == []
    assert [m["response"] for m in dispatcher.messages] == ["utter_ask_correction_field"]


async def test_invalid_new_phone_is_rejected_and_asked_again():
    dispatcher = CollectingDispatcher()
    t = tracker({**SLOTS, "complaint_confirming": True}, text="手机号填错了，是12345", intent="correct")
    events = await ActionCorrectComplaint().run(dispatcher, t, {})
    assert SlotSet("phone", None) in events and ActiveLoop("complaint_form") in events
    assert "utter_invalid_phone" in [m["response"] for m in dispatcher.messages]


async def test_description_asked_for_is_kept_whole_even_if_it_reads_like_a_correction():
    text = "导游说的集合时间不对，害我们在机场等了三个小时，也没人道歉"
    t = tracker(
        {"booking_ref": BOOKING, "requested_slot": "complaint_description"}, text=text, intent="correct"
    )
    t.active_loop = {"name": "complaint_form"}
    events = await ActionCorrectComplaint().run(CollectingDispatcher(), t, {})
    assert SlotSet("complaint_description", text) in events


async def test_addition_to_the_description_is_appended():
    t = tracker(
        {**SLOTS, "requested_slot": "complainant_name"}, text="描述补充一下：前台态度也很差", intent="correct"
    )
    t.active_loop = {"name": "complaint_form"}
    events = await ActionCorrectComplaint().run(CollectingDispatcher(), t, {})
    assert SlotSet("complaint_description", "房间很脏，床单有污渍\n补充：前台态度也很差") in events


async def test_correcting_the_description_keeps_the_first_words():
    text = "描述有误，房间不是没热水，是没空调"
    t = tracker({**SLOTS, "requested_slot": "complainant_name"}, text=text, intent="correct")
    t.active_loop = {"name": "complaint_form"}
    events = await ActionCorrectComplaint().run(CollectingDispatcher(), t, {})
    assert SlotSet("complaint_description", f"房间很脏，床单有污渍\n更正：{text}") in events


async def test_a_correction_while_the_request_is_asked_is_not_taken_as_the_request():
    # "不对 我说错了 是三个小时" names no field and is no request: it corrects the story told before.
    text = "不对 我说错了 是三个小时"
    before = {**SLOTS, "complaint_request": None, "requested_slot": "complaint_request"}
    t = tracker(before, text=text, intent="correct")
    t.active_loop = {"name": "complaint_form"}
    dispatcher = CollectingDispatcher()
    events = await ActionCorrectComplaint().run(dispatcher, t, {})
    assert SlotSet("complaint_description", f"房间很脏，床单有污渍\n更正：{text}") in events
    assert not [e for e in events if e.get("name") == "complaint_request" and e.get("value")]
    assert [m["field"] for m in dispatcher.messages if m["response"] == "utter_correction_done"] == [
        "情况描述"
    ]


async def test_a_new_request_in_a_correction_while_the_request_is_asked_is_still_the_request():
    t = tracker(
        {**SLOTS, "complaint_request": None, "requested_slot": "complaint_request"},
        text="不对，我要的是退款",
        intent="correct",
    )
    t.active_loop = {"name": "complaint_form"}
    events = await ActionCorrectComplaint().run(CollectingDispatcher(), t, {})
    assert SlotSet("complaint_request", "refund") in events
