"""The first reply to an emergency fits what happened and where (DESIGN §5).

Each case goes the real way: the trainers' lexicon through the NLU component
(`EmergencyDetector`, which sets `emergency_kind` and `abroad`), then the action's
`emergency_advice` on a tracker holding that parse. Only key phrases are checked.
"""

from __future__ import annotations

from typing import Any, Dict, Optional

import pytest
import yaml
from rasa.shared.nlu.constants import ENTITIES, INTENT, INTENT_RANKING_KEY, TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa_sdk import Tracker

from actions.clients import ticketing
from actions.emergency import emergency_advice
from bot.components.emergency import EmergencyDetector, Lexicon
from tests.services import ROOT

LEXICON_RAW = yaml.safe_load((ROOT / "data" / "emergency" / "lexicon.yml").read_text(encoding="utf-8"))
DETECTOR = EmergencyDetector(EmergencyDetector.get_default_config(), None, None, Lexicon(LEXICON_RAW))


def _parse(text: str) -> Dict[str, Any]:
    # As a request for a human reads in DIET ("转人工 …"): the lexicon makes it an emergency.
    ranking = [{"name": "request_human", "confidence": 0.8}, {"name": "complain", "confidence": 0.2}]
    message = Message(data={TEXT: text, INTENT: dict(ranking[0]), INTENT_RANKING_KEY: ranking})
    DETECTOR.process([message])
    return {"text": text, "intent": message.get(INTENT), "entities": message.get(ENTITIES) or []}


def _tracker(text: str, slots: Optional[Dict[str, Any]] = None) -> Tracker:
    return Tracker("emergency-advice", slots or {}, _parse(text), [], False, None, {}, "action_listen")


def _kinds(text: str):
    return [e["value"] for e in _parse(text)["entities"] if e["entity"] == "emergency_kind"]


async def _advice(text: str, slots: Optional[Dict[str, Any]] = None) -> str:
    return await emergency_advice(_tracker(text, slots))


def _safety(said: str) -> str:
    """The advice without the company's line and the guide's phone (their digits may hold "119")."""
    return "\n".join(line for line in said.splitlines() if not line.startswith(("本公司", "您的导游")))


# --- 1. someone in the water -------------------------------------------------------------

WATER = [
    "转人工 我朋友在海边游泳 被冲走了 现在看不到人了",
    "孩子在酒店泳池溺水了，快来人",
    "漂流的时候船翻了，我老公掉进河里了",
    "我同伴浮潜到现在还没上来，急死了",
    "我儿子在海里游泳被浪卷走了，救命",
    "潜水的时候我老婆不见了",
]


@pytest.mark.parametrize("text", WATER)
async def test_someone_in_the_water_gets_water_rescue_advice(text):
    assert _kinds(text)[:1] == ["water"]
    said = await _advice(text)
    assert "110" in said and "120" in said
    assert "不要下水" in said and "救生" in said and "漂浮" in said
    assert "自然灾害" not in said and "走失者" not in said


async def test_in_the_water_abroad_the_local_numbers_are_given_not_110():
    text = "在普吉岛 朋友游泳被浪卷走了 现在看不到人"
    assert "water" in _kinds(text)
    said = await _advice(text)
    assert "1669" in said and "191" in said  # Thailand: ambulance, police
    assert "110" not in _safety(said) and "120" not in _safety(said)
    assert "不要下水" in said and "12308" in said


# --- 2. lost in the wild (the traveller themselves) --------------------------------------

LOST = [
    "我们在玉龙雪山迷路了 天快黑了 手机只剩10%电",
    "徒步走错路了，现在在山里出不去，手机快没电了",
    "我和我妈在山里迷路了，天黑了怎么办",
    "我们一家人在森林里迷路了，救命",
]


@pytest.mark.parametrize("text", LOST)
async def test_travellers_lost_in_the_wild_are_told_to_stay_put_and_share_their_location(text):
    assert _kinds(text) == ["lost"]
    said = await _advice(text)
    assert "原地" in said and "110" in said and "位置共享" in said
    assert "电量" in said and "保暖" in said and "不要分开" in said
    assert "走失者" not in said


# --- 3. theft abroad ---------------------------------------------------------------------


async def test_a_theft_in_bangkok_gets_thai_police_a_report_and_the_consulate():
    text = "在曼谷 我钱包和护照刚被偷了"
    assert set(_kinds(text)) == {"theft", "documents"}
    said = await _advice(text)
    assert "191" in said and "1155" in said  # Thai police, tourist police
    assert "报案证明" in said and "使领馆" in said and "12308" in said
    assert "110" not in _safety(said) and "锁好" not in said


async def test_pickpockets_in_paris_get_112_and_a_police_report():
    text = "在巴黎地铁上刚被扒了，钱包护照都没了"
    assert set(_kinds(text)) == {"theft", "documents"}
    said = await _advice(text)
    assert "112" in said and "报案证明" in said and "12308" in said
    assert "110" not in _safety(said) and "锁好" not in said


async def test_a_theft_in_tokyo_gets_japans_110_and_no_locked_door():
    # Japan's police number is 110 too: it is the right number there.
    said = await _advice("在东京 刚才在电车上钱包被偷了")
    assert "110" in said and "报案证明" in said and "12308" in said
    assert "锁好" not in said


async def test_a_theft_at_home_gets_110_and_a_police_report_not_a_locked_door():
    said = await _advice("在西安回民街钱包刚被偷了")
    assert "110" in said and "报案证明" in said and "锁好" not in said


async def test_abroad_in_a_country_without_known_numbers_the_local_police_is_named():
    said = await _advice("在摩洛哥 钱包刚被偷了")
    assert "当地报警电话" in said and "报案证明" in said and "12308" in said
    assert "110" not in _safety(said)


# --- the other kinds, with the place ------------------------------------------------------


async def test_a_robbery_abroad_names_the_local_police_and_an_intruder_at_home_keeps_the_lock():
    said = await _advice("在芭提雅 有人拿刀抢劫我们")
    assert "191" in said and "110" not in _safety(said)
    said = await _advice("有陌生人一直敲我们酒店房门")
    assert "110" in said and "锁好" in said


async def test_a_collapse_in_osaka_gets_japans_ambulance_number():
    said = await _advice("在大阪 我爸晕倒了叫不醒")
    assert "119" in said and "120" not in _safety(said) and "12308" in said


class _OutboundDesk:
    def __init__(self, **dates):
        self.dates = dates

    async def emergency_contact(self, ref):
        return {"tour_type": "outbound", "guide_name": "王导", "guide_phone": "13900001111", **self.dates}


async def _advice_with(desk, text: str) -> str:
    ticketing.set_client(desk)
    try:
        return await _advice(text, {"booking_ref": "TR20260004"})
    finally:
        ticketing.set_client(None)


async def test_an_outbound_trip_under_way_without_a_place_gets_the_local_numbers():
    from actions.utils.refund import china_today

    today = china_today().isoformat()
    said = await _advice_with(_OutboundDesk(departure_date=today, return_date=today), "酒店着火了")
    assert "当地火警电话" in said and "119" not in _safety(said)
    assert "12308" in said and "13900001111" in said


async def test_an_outbound_booking_without_dates_gets_chinas_numbers_and_the_abroad_line():
    said = await _advice_with(_OutboundDesk(), "酒店着火了")
    assert "119" in _safety(said) and "如果您现在在境外" in said and "12308" in said
    assert "13900001111" in said


def test_every_country_with_numbers_is_abroad_for_the_lexicon():
    from actions.emergency import country_numbers

    lexicon = Lexicon(LEXICON_RAW)
    for name, entry in country_numbers()["countries"].items():
        for word in entry["words"].split("|"):
            assert lexicon.read(f"在{word}")["abroad"], (name, word)
