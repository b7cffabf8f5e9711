"""Stranger test 4, complaint values: a demand stated in a long message ("…要赔偿 我姓赵…",
s4b5-08) is the request; a vague time ("就这几天", "就是這週", "上周", "前几天") at the time and
place question is the answer, whatever the NLU read it as (s4b4-22, s4b5-09); "在電話裡" is a place."""

from __future__ import annotations

from typing import Any, Dict, Optional

import pytest
from rasa_sdk.executor import CollectingDispatcher

from actions.fields import REQUEST_TEXT_SLOT
from actions.forms.complaint_checks import check_complaint_when_where
from actions.reader import read_slots
from actions.utils.reading import looks_like_when_where, read
from tests.actions.form_turns import user_turn


def _tracker(text: str, intent: str, slots: Optional[Dict[str, Any]] = None, loop: Optional[str] = None):
    return user_turn(
        text, intent, message_id="m1", listen=False, slots=slots, loop=loop, sender="s4-complaint"
    )


# 1. A demand said in the message is the request (s4b5-08).

STORY = "空调大巴坏了一路没空调 热死了 司机态度还很冲 11月23号 阳朔到桂林的路上 TR20260007"


@pytest.mark.parametrize(
    "demand, label",
    [
        ("要赔偿", "compensation"),
        ("给个说法", "apology"),
        ("要个说法！", "apology"),
        ("必须道歉", "apology"),
        ("要全额退款", "refund"),
        ("退钱 道歉", "refund"),
    ],
)
def test_a_demand_in_a_whole_complaint_is_the_request(demand, label):
    text = f"{STORY} {demand} 我姓赵 电话13567891234"
    slots = read_slots(_tracker(text, "complain"))
    assert slots["complaint_request"] == label
    # "我姓赵" is the name now (cut from the rest, as a full name is): the "！" before it ends the rest.
    assert slots[REQUEST_TEXT_SLOT] == demand.rstrip("！")
    assert slots["complainant_name"] == "赵"
    assert slots["booking_ref"] == "TR20260007" and slots["phone"] == "13567891234"
    assert "空调大巴坏了" in slots["complaint_description"]


@pytest.mark.parametrize(
    "text",
    [
        "导游骂人 事后也不道歉 酒店说可以退款但一直没退",
        "司机说要赔偿才给修空调，一路没空调",
        "客服一直说会处理，到现在也没解决",
        "导游让我们在店里待了两个小时，说不买就不走",
    ],
)
def test_a_story_that_mentions_a_refund_or_an_apology_states_no_demand(text):
    assert read(text).request_text is None


# 2. A vague time at the time and place question (s4b4-22, s4b5-09).


@pytest.mark.parametrize(
    "text, intent",
    [
        ("就这几天", "affirm"),
        ("就是這週", "affirm"),
        ("上周", "nlu_fallback"),
        ("前几天", "policy"),
        ("上个礼拜", "goodbye"),
        ("这几天", "out_of_scope"),
        ("大概这个月初", "inform"),
    ],
)
def test_a_vague_time_answers_the_time_and_place_question(text, intent):
    held = {"requested_slot": "complaint_when_where", "complaint_description": "你们泄露了我的个人信息"}
    slots = read_slots(_tracker(text, intent, held, loop="complaint_form"))
    assert slots == {"complaint_when_where": text}
    assert looks_like_when_where(text)
    # The form's check takes it as it is: no place is needed for a leak or a phone call.
    dispatcher = CollectingDispatcher()
    checked = check_complaint_when_where(text, dispatcher, _tracker(text, intent, held), {})
    assert checked["complaint_when_where"] == text and not dispatcher.messages


@pytest.mark.parametrize("text", ["是的", "好的", "同意"])
def test_a_yes_at_the_time_and_place_question_is_still_no_time(text):
    held = {"requested_slot": "complaint_when_where", "complaint_description": "你们泄露了我的个人信息"}
    assert "complaint_when_where" not in read_slots(_tracker(text, "affirm", held, loop="complaint_form"))


@pytest.mark.parametrize(
    "text, when",
    [("就这几天", "这几天"), ("前几天", "前几天"), ("上个礼拜", "上个礼拜"), ("这个星期五", "这个星期五")],
)
def test_vague_times_are_times(text, when):
    assert read(text).when == when


@pytest.mark.parametrize(
    "text, place",
    [("在電話裡", "电话里"), ("上周在电话里", "电话里"), ("前几天在微信上", "微信上"), ("在网上", "网上")],
)
def test_a_phone_call_or_a_chat_is_a_place(text, place):
    assert read(text).where == place
    assert looks_like_when_where(text)


@pytest.mark.parametrize(
    "held, text",
    [("就是這週", "在電話裡"), ("昨天晚上", "在酒店大堂"), ("上个礼拜", "在鼓浪屿"), ("前几天", "在微信上")],
)
def test_a_place_after_a_time_given_alone_completes_the_time_and_place(held, text):
    before = {
        "requested_slot": "complaint_request",
        "complaint_description": "打电话过去一直没人接",
        "complaint_when_where": held,
    }
    slots = read_slots(_tracker(text, "nlu_fallback", before, loop="complaint_form"))
    assert slots == {"complaint_when_where": f"{held}，{text}"}


def test_a_place_after_a_time_and_place_replaces_nothing():
    before = {
        "requested_slot": "complaint_request",
        "complaint_description": "打电话过去一直没人接",
        "complaint_when_where": "11月26日 鼓浪屿",
    }
    slots = read_slots(_tracker("在酒店大堂", "inform", before, loop="complaint_form"))
    assert "complaint_when_where" not in slots


@pytest.mark.parametrize(
    "text, when_where",
    [
        # the widget at phone size, 2026-12-07: the place ran on into the story
        ("昨天在丽江导游逼我们购物 还凶人 要投诉", "昨天，丽江"),
        ("12月6日在大理古城我的包被偷了", "12月6日，大理古城"),
        ("在机场我们等了三个小时", "机场"),
        ("昨天在丽江的酒店房间里发现蟑螂", "昨天，丽江的酒店房间"),
    ],
)
def test_the_place_stops_before_who_did_it(text, when_where):
    assert read(text).when_where == when_where
