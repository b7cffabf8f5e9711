"""Emergencies the fourth stranger's test missed or mis-advised.

- s4b4-24: gas or smoke in the room now ("闻到很重的煤气味 还有烟 现在怎么办"): leave, no switch
  or flame, 119/120, and the handoff; a room smelling of cigarettes stays a complaint;
- s4b3-17: forced shopping with detention that is over (dated before today, a complaint with
  a request) opens the complaint form; detention going on now stays an emergency;
- s4b2-13: a robbery that is over, nobody hurt: a police report, not "lock the door";
- s4b3-13: someone already out of the water and unresponsive: CPR / recovery position, not
  "do not go into the water";
- s4b5-01: the local police number where we send travellers (Paris 17 or 112, Vietnam 113, ...).

The lexicon goes through the NLU component, as in test_s3_emergencies.py.
"""

from __future__ import annotations

import json
from datetime import date, timedelta
from typing import List

import pytest
from rasa_sdk.executor import CollectingDispatcher

from actions.emergency import (
    ActionEmergency,
    complaint_about_past_trip,
    country_in,
    dated_before_today,
    emergency_advice,
)
from actions.utils.refund import china_today
from tests.actions.emergency_turns import Desk as _Desk
from tests.actions.emergency_turns import intent_of as _intent
from tests.actions.emergency_turns import kinds_of as _kinds
from tests.actions.emergency_turns import safety_lines as _safety
from tests.actions.emergency_turns import tracker as _tracker
from tests.services import ROOT


async def _advice(text: str) -> str:
    return await emergency_advice(_tracker(text), booking={})


# --- s4b4-24: gas, smoke ------------------------------------------------------------------

GAS = [
    "刚才在酒店房间闻到很重的煤气味 还有烟 现在怎么办",
    "房间里一股燃气味，头有点晕，怎么办",
    "我们房间烧炭取暖 我老公头晕恶心 快来人",
    "酒店卫生间的热水器好像漏气了，天然气味很重",
    "smell gas in our hotel room, what should we do",
]


@pytest.mark.parametrize("text", GAS)
async def test_gas_in_the_room_is_an_emergency_leave_no_switch_no_flame(text):
    assert _intent(text, "out_of_scope") == "emergency"
    assert _kinds(text) == ["gas"]
    said = _safety(await _advice(text))
    assert "离开房间" in said and "不要开关电灯" in said and "不要点火" in said
    assert "119" in said and "120" in said


SMOKE = [
    "酒店走廊全是烟 出不去 怎么办",
    "楼道里冒烟了 好大的味道 现在怎么办",
    "the smoke alarm is going off and the corridor is full of smoke",
]


@pytest.mark.parametrize("text", SMOKE)
async def test_smoke_in_the_building_is_a_fire(text):
    assert _intent(text, "out_of_scope") == "emergency"
    assert "fire" in _kinds(text)
    assert "119" in _safety(await _advice(text))


@pytest.mark.parametrize(
    "text",
    [
        "房间有烟味 要求换房",
        "房间里全是烟味，我要投诉",
        "无烟房里有烟灰缸和烟头，太恶心了",
        "如果房间有煤气味怎么办",
        "昨晚房间有煤气味 我要投诉酒店",
    ],
)
def test_a_room_smelling_of_cigarettes_or_a_gas_what_if_is_no_emergency(text):
    assert _intent(text, "complain") != "emergency"


# --- s4b3-17: forced shopping with detention, over or going on --------------------------------


def _day(offset: int) -> str:
    day = china_today() + timedelta(days=offset)
    return f"{day.month}月{day.day}号"


def _over() -> List[str]:
    return [
        "强制购物！！导游把我们关在玉石店里两个小时不让走，不买就不让上车，"
        f"{_day(-1)}大理，订单TR20260001，我要全额退款+公开道歉，我叫张伟 手机13812345678",
        "昨天导游把我们关在购物店三个小时不让走！！我要投诉，要求退款",
        f"{_day(-2)}被导游关在珠宝店里不让走，不买东西不让上车，要求赔偿",
        "前天被关在茶叶店里不让走 导游态度极差 必须给个说法 急！！",
    ]


def _going_on() -> List[str]:
    return [
        "导游现在把我们关在玉石店里不让走，我要投诉！！",
        f"{_day(-2)}出发的团，导游还把我们关在店里不让走，要退款，救命",
        f"{_day(0)}大理，导游把我们关在店里不让走，我要投诉！！",
        "导游把我们关在玉石店里不让走 我要投诉",  # undated: may be now
    ]


DESCRIPTION = "complaint_description"


async def test_forced_shopping_that_is_over_opens_the_complaint_form(desk):
    desk(_Desk("domestic", start_in_days=-2, days=6))  # the trip is under way
    for text in _over():
        assert _intent(text, "complain") == "emergency", text  # the lexicon reads a detention
        tracker = _tracker(text, {"booking_ref": "TR20260001"})
        dispatcher = CollectingDispatcher()
        events = await ActionEmergency().run(dispatcher, tracker, {})
        said = " ".join(m.get("text") or m.get("response") or "" for m in dispatcher.messages)
        assert "110" not in said and "utter_complaint_start" in said, text
        assert any(e.get("event") == "followup" and e["name"] == "complaint_form" for e in events), text
        assert not any(e.get("event") == "pause" for e in events), text
        story = [e["value"] for e in events if e.get("event") == "slot" and e["name"] == DESCRIPTION]
        assert story and "店" in story[0], text


async def test_detention_going_on_stays_an_emergency(desk):
    d = desk(_Desk("domestic", start_in_days=-2, days=6))
    for text in _going_on():
        assert _intent(text, "complain") == "emergency", text
        assert not complaint_about_past_trip(_tracker(text), d.booking), text


def test_dated_before_today():
    today = date(2026, 12, 7)
    assert dated_before_today("12月6号大理", today)
    assert dated_before_today("十二月五日在昆明", today)
    assert dated_before_today("6号那天", today)
    assert dated_before_today("昨天下午", today)
    assert dated_before_today("yesterday at the shop", today)
    assert not dated_before_today("12月7号", today)
    assert not dated_before_today("12月9号回程", today)
    assert dated_before_today("1月3号", today)  # this year's
    assert not dated_before_today("12月31号", today)
    assert not dated_before_today("云南6日游 4号柜台", today)
    assert not dated_before_today("导游把我们关在店里", today)


# --- s4b2-13: a robbery that is over ---------------------------------------------------------

ROBBED = [
    "刚被抢了 人没事",
    "在街上被抢了包，人没事，现在怎么办",
    "刚才有人抢了我的手机跑了",
    "我们刚刚遭遇抢劫了 还好没受伤 护照也被抢走了",
    "we were just robbed, we are ok but they took our bags",
]


@pytest.mark.parametrize("text", ROBBED)
async def test_a_robbery_that_is_over_gets_a_police_report_not_a_locked_door(text):
    assert _intent(text) == "emergency"
    said = _safety(await _advice(text))
    assert "报案证明" in said and "挂失" in said
    assert "锁好房门" not in said and "正面冲突" not in said


async def test_a_robber_still_there_keeps_the_safety_advice():
    said = _safety(await _advice("有人持刀抢劫 现在还在门外"))
    assert "锁好房门" in said


# --- s4b3-13: out of the water, unresponsive ---------------------------------------------------

RESCUED = [
    "朋友溺水了 已经拉上来了 但是没有意识",
    "我儿子刚从泳池里被救上来，叫不醒，怎么办",
    "朋友游泳呛水 刚拉上岸 昏迷了 快来人",
    "we pulled him out of the water but he is unconscious, help",
]


@pytest.mark.parametrize("text", RESCUED)
async def test_someone_out_of_the_water_gets_cpr_or_the_recovery_position(text):
    assert _intent(text) == "emergency"
    said = _safety(await _advice(text))
    assert "心肺复苏" in said and "侧躺" in said and "120" in said
    assert "不要下水" not in said


async def test_out_of_the_water_and_not_breathing_gets_cpr_and_still_in_it_the_water_rescue():
    said = _safety(await _advice("救上岸了但是没有呼吸了 救命"))
    assert "心肺复苏" in said and "不要下水" not in said
    said = _safety(await _advice("朋友溺水还没拉上来 救命"))
    assert "不要下水" in said and "侧躺" not in said


# --- s4b5-01: the local numbers where our tours go -----------------------------------------------


@pytest.mark.parametrize(
    "text, number",
    [
        ("在巴黎护照丢了 急", "17"),
        ("在巴黎护照被偷了 现在怎么办", "112"),
        ("在岘港护照丢了，急", "113"),
        ("我们在开罗护照丢了 急", "122"),
        ("在马尔代夫护照找不到了 急", "119"),
        ("在伊斯坦布尔护照丢了 急", "112"),
    ],
)
async def test_a_lost_passport_abroad_gets_the_local_police_number(text, number):
    said = _safety(await _advice(text))
    assert number in said and "报案证明" in said and "使领馆" in said


async def test_a_fall_in_vietnam_gets_the_vietnamese_ambulance_not_120():
    said = _safety(await _advice("我妈在会安摔倒了起不来 急"))
    assert "115" in said and "120" not in said


def test_every_outbound_destination_of_our_bookings_has_its_numbers():
    bookings = json.loads((ROOT / "api" / "fixtures" / "bookings.json").read_text(encoding="utf-8"))
    bookings = bookings if isinstance(bookings, list) else bookings["bookings"]
    # Hong Kong and Macau are no consular posts' business (outbound for the tour type only).
    places = {
        place
        for b in bookings
        if b["tour_type"] == "outbound"
        for place in str(b["destination"]).split()
        if place not in ("香港", "澳门")
    }
    assert places
    assert {place: country_in(place) for place in places if not country_in(place)} == {}
