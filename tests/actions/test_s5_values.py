"""Stranger test 5, values given but lost: the phone's end named in words ("phone ends 6789",
"手机后面是2233": s5b1-13, s5b6-01); a second booking number beside the first (s5b4-06); a
complaint told in one message without commas (s5b4-12); a correction of the day alone ("不对，是26号
晚上": s5b5-07); a duration taken for a place ("迟到了一个小时": s5b9-07)."""

from __future__ import annotations

from functools import partial

import pytest
from rasa_sdk.executor import CollectingDispatcher

from actions.correction import ActionCorrectComplaint, when_where_corrected
from actions.reader import read_slots
from actions.utils.parsing import parse_booking_refs
from actions.utils.reading import read
from actions.verification import ActionStartVerification
from tests.actions.form_turns import slots
from tests.actions.test_s4_digits import reader_turn


# The message the reader reads, as in test_s4_digits, outside any form unless `loop` is given.
_tracker = partial(reader_turn, loop=None, sender="s5-values")


# 1. The end of the phone number named in words (s5b1-13, s5b6-01).


@pytest.mark.parametrize(
    "text, booking, digits",
    [
        ("Hi, I want to check my trip. Booking TR20260006, phone ends 6789", "TR20260006", "6789"),
        ("booking TR20260006, my phone number ending 6789", "TR20260006", "6789"),
        ("TR20260006 mobile ends in 6789", "TR20260006", "6789"),
        ("我想问一下哈尔滨的团几号出发我订单是TR20260017手机后面是2233", "TR20260017", "2233"),
        ("订单TR20260017，电话号码最后几位是2233", "TR20260017", "2233"),
        ("手机号结尾是2233 TR20260017 几点集合", "TR20260017", "2233"),
        ("TR20260017 手机后几位2233", "TR20260017", "2233"),
    ],
)
def test_the_end_of_the_phone_said_in_words_is_its_last_four(text, booking, digits):
    reading = read(text)
    assert (reading.booking_ref, reading.phone_last4) == (booking, digits)
    assert "2233" not in reading.rest and "6789" not in reading.rest
    assert read_slots(_tracker(text, intent="query_itinerary"))["phone_last4"] == digits


@pytest.mark.parametrize(
    "text", ["TR20260017 手机后面没电了", "TR20260017 电话后面2026年再说", "TR20260017 我们行程后面是2233"]
)
def test_no_digits_after_the_cue_are_no_last_four(text):
    assert read(text).phone_last4 is None


# 2. Two booking numbers in one message: say which is checked (s5b4-06).


def test_every_booking_number_of_a_message_is_found():
    assert parse_booking_refs("查一下我的订单TR20260001和TR20260013") == ["TR20260001", "TR20260013"]
    assert parse_booking_refs("TR20260001，还有 tr20260013 的") == ["TR20260001", "TR20260013"]
    assert parse_booking_refs("tr 2026-0001") == ["TR20260001"]
    assert parse_booking_refs("TR20260001 就是 TR20260001") == ["TR20260001"]


@pytest.mark.parametrize(
    "text",
    [
        "查一下我的订单TR20260001和TR20260013",
        "TR20260001 TR20260013 这两个团的行程",
        "订单TR20260001、TR20260013",
    ],
)
async def test_a_second_booking_number_is_not_dropped_silently(text):
    dispatcher = CollectingDispatcher()
    tracker = _tracker(text, {"booking_ref": "TR20260001"}, intent="query_itinerary")
    await ActionStartVerification().run(dispatcher, tracker, {})
    said = " ".join(m.get("text") or "" for m in dispatcher.messages)
    assert "先为您查 TR20260001" in said and "TR20260013" in said


async def test_one_booking_number_says_nothing_about_others():
    dispatcher = CollectingDispatcher()
    tracker = _tracker("查一下TR20260001的行程", {"booking_ref": "TR20260001"}, intent="query_itinerary")
    await ActionStartVerification().run(dispatcher, tracker, {})
    assert not any("订单号" in (m.get("text") or "") for m in dispatcher.messages)


# 3. "我要投诉…要求赔偿" without commas: the story is not swallowed by the request (s5b4-12).


@pytest.mark.parametrize(
    "text, wanted",
    [
        (
            "我的电话号码是13812345678订单TR20260001我要投诉昨天晚上在大理的餐厅吃坏肚子了要求赔偿医药费我叫张伟",
            "要求赔偿医药费",
        ),
        ("我要投诉导游昨天在车上一直骂人态度特别差要求道歉", "要求道歉"),
        ("我要反映一下酒店房间有蟑螂空调也坏了希望给我们换房", "希望给我们换房"),
    ],
)
def test_a_complaint_in_one_breath_keeps_its_story(text, wanted):
    reading = read(text)
    assert reading.request_text == wanted
    got = read_slots(_tracker(text, intent="complain"))
    assert got["complaint_request"] and got["complaint_request_text"] == wanted
    assert "complaint_description" in got and len(got["complaint_description"]) > len(wanted)


def test_the_place_said_with_zai_before_what_happened_there_is_said():
    text = (
        "我的电话号码是13812345678订单TR20260001我要投诉昨天晚上在大理的餐厅吃坏肚子了要求赔偿医药费我叫张伟"  # noqa: E501
    )
    got = read_slots(_tracker(text, intent="complain"))
    assert got["complaint_when_where"] == "昨天晚上，大理的餐厅"
    assert got["complainant_name"] == "张伟" and got["phone"] == "13812345678"


# 4. A duration is no place (s5b9-07).


@pytest.mark.parametrize(
    "text, when_where",
    [
        ("导游迟到了一个小时 今天早上 在大理", "今天早上，大理"),
        ("司机晚到了两个小时，昨天下午在丽江古城", "昨天下午在丽江古城"),
        ("大巴等到了半个钟头才来 今天早上", "今天早上"),
    ],
)
def test_a_duration_is_no_place(text, when_where):
    reading = read(text)
    assert reading.when_where == when_where
    assert "小" not in (reading.place_guess or "") and "钟" not in (reading.place_guess or "")


# 5. A correction of the day alone (s5b5-07).


@pytest.mark.parametrize(
    "text, value, old, new",
    [
        ("不对，是26号晚上", "26号晚上", "时间是11月25号晚上", "11月26号晚上"),
        ("不对，是26号晚上", "26号晚上", "11月25号晚上，鼓浪屿的酒店", "11月26号晚上，鼓浪屿的酒店"),
        ("说错了，应该是27号上午", "27号上午", "11月25日晚上 鼓浪屿", "11月27号上午，鼓浪屿"),
        ("时间不对，是12月1号", "12月1号", "11月25号晚上，鼓浪屿的酒店", "12月1号，鼓浪屿的酒店"),
    ],
)
def test_a_corrected_day_keeps_the_month_and_the_place(text, value, old, new):
    assert when_where_corrected(text, value, old) == new


def test_the_field_name_is_not_kept_in_the_answer():
    held = {"requested_slot": "complaint_when_where", "complaint_description": "酒店和合同写的不一样"}
    for text, value in [("时间是11月25号晚上", "11月25号晚上"), ("地点：鼓浪屿的酒店", "鼓浪屿的酒店")]:
        got = read_slots(_tracker(text, held, loop="complaint_form"))
        assert got["complaint_when_where"] == value


async def test_correcting_the_day_inside_the_form_replaces_only_the_day():
    held = {
        "booking_ref": "TR20260019",
        "complaint_description": "鼓浪屿的酒店和合同写的不一样 降级成快捷酒店了",
        "complaint_when_where": "时间是11月25号晚上",
        "requested_slot": "complaint_request",
    }
    tracker = _tracker("不对，是26号晚上", held, intent="correct", loop="complaint_form")
    events = await ActionCorrectComplaint().run(CollectingDispatcher(), tracker, {})
    assert slots(events)["complaint_when_where"] == "11月26号晚上"


def test_no_stray_marks_where_the_number_was_cut():
    rest = read("投诉 订单TR20260019 鼓浪屿的酒店和合同写的不一样 降级成快捷酒店了").rest
    assert rest == "投诉，鼓浪屿的酒店和合同写的不一样 降级成快捷酒店了"
