"""Emergencies the fifth stranger's test missed, mis-advised or raised falsely.

- s5b3-07: a cry for help and nothing else ("救命"): every number, then what happened;
- s5b6-08: someone fainted, also in Cantonese ("我阿媽喺酒店暈咗" -> "晕了" after the normaliser);
- s5b7-01: kept in a locked shop now: police, no fight, not "lock the door";
- s5b7-09: a theft a moment ago ("刚发生的", "五分钟前"): a police report, cards blocked;
- s5b8-04: at the hotel with no booking, luggage in the lobby: stranded now;
- s5b8-15: someone hit, the fight going on: police, 120 if hurt;
- s5b2-02: a child missing in Hong Kong or Macau: missing-person advice, their 999, no consulate;
- s5b7-07: news of a quake read at home, asking whether the trip goes: no emergency.

The lexicon goes through the NLU component, as in test_s4_emergencies.py; Cantonese through the
NLU's normaliser first, as at run time.
"""

from __future__ import annotations

import pytest
from rasa.shared.nlu.constants import INTENT, INTENT_RANKING_KEY, TEXT
from rasa.shared.nlu.training_data.message import Message

from actions.emergency import country_in, country_numbers, emergency_advice
from bot.components.emergency import Lexicon
from bot.components.ensemble import DIET_INTENT
from bot.components.normaliser import normalise
from tests.actions.emergency_turns import DETECTOR, LEXICON_RAW
from tests.actions.emergency_turns import intent_of as _intent_of
from tests.actions.emergency_turns import kinds_of as _kinds_of
from tests.actions.emergency_turns import safety_lines as _safety
from tests.actions.emergency_turns import tracker as _tracker_of


LEXICON = Lexicon(LEXICON_RAW)


def _n(text: str) -> str:
    return normalise(text)[0]


def _intent(text: str, diet: str = "inform") -> str:
    return _intent_of(_n(text), diet)


def _kinds(text: str):
    return _kinds_of(_n(text))


async def _advice(text: str) -> str:
    return await emergency_advice(_tracker_of(_n(text)), booking={})


def _diet_sure_emergency(text: str) -> str:
    """DIET alone calls it an emergency, sure of it (0.97, above the detector's 0.9)."""
    top = {"name": "emergency", "confidence": 0.97}
    ranking = [top, {"name": "query_itinerary", "confidence": 0.02}]
    message = Message(data={TEXT: _n(text), INTENT: dict(top), INTENT_RANKING_KEY: ranking, DIET_INTENT: top})
    DETECTOR.process([message])
    return message.get(INTENT)["name"]


# --- s5b3-07: "救命" ---------------------------------------------------------------------

CRIES = ["救命", "救命啊！！", "SOS", "救救我们", "快来人啊 救命", "救命呀，有没有人"]


@pytest.mark.parametrize("text", CRIES)
async def test_a_cry_for_help_alone_is_an_emergency_with_every_number(text):
    assert _intent(text, "nlu_fallback") == "emergency"
    assert _kinds(text) == ["help"]
    said = _safety(await _advice(text))
    assert "110" in said and "120" in said and "119" in said and "发生了什么" in said


@pytest.mark.parametrize(
    "text",
    ["救命 这酒店也太脏了吧", "帮帮我", "help", "救命，导游的普通话我一句都听不懂"],
)
def test_an_exclamation_or_a_request_is_no_cry_for_help(text):
    assert "help" not in _kinds(text)
    assert _intent(text, "complain") == "complain"


def test_a_cry_with_what_happened_gets_that_kinds_advice():
    assert _kinds("救命 我老婆晕倒了") == ["medical"]


# --- s5b6-08: fainted, Cantonese ----------------------------------------------------------

FAINTED = [
    "有冇人可以幫我 我阿媽喺酒店暈咗",
    "我老公在景区突然晕了",
    "团友在大巴上昏倒了",
    "我爸在餐厅倒在地上了 叫他没反应",
    "快来人 有人在大堂晕了",
]


@pytest.mark.parametrize("text", FAINTED)
async def test_someone_fainted_is_an_emergency_with_the_ambulance(text):
    assert _intent(text, "check_ticket") == "emergency"
    assert "medical" in _kinds(text)
    assert "120" in _safety(await _advice(text))


@pytest.mark.parametrize(
    "text",
    ["坐了一天车头都晕了", "我妈坐车坐晕了", "我妈看到账单都气晕了", "导游讲得我都听晕了", "我爸头晕了一下"],
)
def test_a_dizzy_head_or_a_figure_of_speech_is_no_fainting(text):
    assert _kinds(text) == []


# --- s5b7-01: kept in a shop now ----------------------------------------------------------

DETAINED = [
    "急！！导游让我们在购物店待了3个小时不让走，门都锁了，现在还在店里，泰国芭提雅，订单TR20260005",
    "现在被导游锁在玉石店里出不去 怎么办",
    "店员把门锁上了 不买不让我们走 现在还在里面",
    "司机现在不让我们下车，非要每人交200",
]


@pytest.mark.parametrize("text", DETAINED)
async def test_kept_in_a_shop_now_is_an_emergency_with_the_police(text):
    assert _intent(text, "complain") == "emergency"
    assert "detained" in _kinds(text) and "crime" not in _kinds(text)
    said = _safety(await _advice(text))
    assert "报警" in said and "不要与店员或导游发生肢体冲突" in said and "锁好房门" not in said


async def test_kept_in_a_shop_in_pattaya_gets_the_thai_police():
    said = _safety(await _advice(DETAINED[0]))
    assert "191" in said and "1155" in said and "110" not in said


@pytest.mark.parametrize(
    "text",
    [
        "导游把车门锁了，不买东西不让下车",
        "强制购物 不买不让走 我要投诉你们",
        "我们被拉到乳胶店耗了一上午，不买不让走，现在想起来还来气",
        "上周在购物店被关了三个小时不让走",
        "台风天现在被困在酒店里出不去",
    ],
)
def test_forced_shopping_told_afterwards_is_no_detention_now(text):
    assert "detained" not in _kinds(text)


# --- s5b7-09: a theft a moment ago --------------------------------------------------------

THEFT_NOW = [
    "钱包在成都被偷了，刚发生的，小偷跑了",
    "手机刚被扒了 在春熙路",
    "五分钟前在地铁上钱包被偷了",
    "我的包刚被偷了",
]


@pytest.mark.parametrize("text", THEFT_NOW)
async def test_a_theft_a_moment_ago_gets_a_police_report_and_cards_blocked(text):
    assert _intent(text, "complain") == "emergency"
    assert _kinds(text) == ["theft"]
    said = _safety(await _advice(text))
    assert "110" in said and "报案证明" in said and "挂失" in said and "锁好房门" not in said


@pytest.mark.parametrize(
    "text",
    [
        "上周在成都钱包被偷了，想投诉",
        "钱包被偷了",
        "那天刚到酒店行李就被偷了 我要投诉",
    ],
)
def test_a_theft_told_afterwards_stays_a_complaint(text):
    assert _kinds(text) == []


# --- s5b8-04: stranded at the hotel -------------------------------------------------------

STRANDED = [
    "我们团今天到丽江 酒店说没有我们的预订 一家三口拖着行李站在大堂 TR20260001",
    "刚到酒店，前台查不到我们的预订，现在怎么办",
    "到了酒店说没有我们的房间，带着孩子和行李在门口等",
    "今晚没地方住了，酒店说订单被取消了",
]


@pytest.mark.parametrize("text", STRANDED)
async def test_at_the_hotel_with_no_booking_is_stranded_now(text):
    assert _intent(text, "complain") == "emergency"
    assert _kinds(text) == ["stranded"]
    assert "安排后续行程和住宿" in _safety(await _advice(text))


@pytest.mark.parametrize(
    "text",
    [
        "我打电话问了，酒店说没有我们的预订，是不是没订上？我下个月出发",
        "上次去丽江，酒店前台说没有我们的预订，等了两个小时",
        "酒店房间很脏，前台态度很差",
    ],
)
def test_a_booking_question_or_a_past_story_is_not_stranded(text):
    assert "stranded" not in _kinds(text)


# --- s5b8-15: someone hit, the fight going on ---------------------------------------------

VIOLENCE = [
    "你们导游刚才打了我老公 现在还在吵 在黄山 TR20251234",
    "司机动手打人了 现在还在车上",
    "导游和团友打起来了 快来人",
    "领队刚扇了我一耳光",
]


@pytest.mark.parametrize("text", VIOLENCE)
async def test_someone_hit_is_an_emergency_with_police_and_ambulance(text):
    assert _intent(text, "complain") == "emergency"
    assert "crime" in _kinds(text)
    said = _safety(await _advice(text))
    assert "110" in said and "120" in said and "正面冲突" in said


@pytest.mark.parametrize(
    "text",
    [
        "导游打了我三个电话都没说清楚",
        "导游昨天打了我老公，我要投诉",
        "这次行程打了我们一个措手不及",
        "导游打了我的电话",
    ],
)
def test_a_phone_call_or_a_past_fight_is_no_violence_now(text):
    assert "crime" not in _kinds(text)


# --- s5b2-02: missing in Hong Kong / Macau ------------------------------------------------


async def test_a_child_missing_in_cantonese_gets_missing_person_advice_and_hong_kongs_999():
    text = "我個仔喺海洋公園唔見咗 點算啊"
    assert _intent(text, "complain") == "emergency"
    assert _kinds(text) == ["missing"]
    said = await _advice(text)
    assert "工作人员" in said and "留在原地" in said and "999" in said  # the park is not named HK


@pytest.mark.parametrize(
    "text, country",
    [
        ("我个女在香港迪士尼不见了", "hong_kong"),
        ("孩子在尖沙咀走丢了 快帮帮我", "hong_kong"),
        ("老人在澳门大三巴不见了", "macau"),
        ("my son is missing in Hong Kong now", "hong_kong"),
        ("our kid got lost in Macau, please help", "macau"),
    ],
)
async def test_missing_in_hong_kong_or_macau_gets_999_and_no_consulate(text, country):
    assert country_in(_n(text)) == country
    assert "missing" in _kinds(text)
    said = await _advice(text)
    assert "999" in said and "110" not in said
    assert "使领馆" not in said and "12308" not in said and "境外" not in said


async def test_a_fire_in_macau_gets_999():
    said = await _advice("澳门酒店着火了")
    assert "999" in _safety(said) and "119" not in _safety(said) and "使领馆" not in said


async def test_a_lost_permit_in_hong_kong_is_reported_to_its_police_not_a_consulate():
    text = "在香港把港澳通行证弄丢了 现在怎么办"
    assert _kinds(text) == ["documents"]
    said = await _advice(text)
    assert "999" in said and "报案证明" in said and "使领馆" not in said


def test_every_hong_kong_and_macau_word_is_outside_the_mainland_for_the_lexicon():
    for name, entry in country_numbers()["regions"].items():
        for word in entry["words"].split("|"):
            assert LEXICON.read(f"在{word}")["abroad"], (name, word)
            assert country_in(f"孩子在{word}不见了") == name, (name, word)


async def test_abroad_elsewhere_keeps_the_consulate_line():
    said = await _advice("孩子在东京走丢了")
    assert "使领馆" in said and "12308" in said


# --- s5b7-07: news of a quake read at home ------------------------------------------------

NEWS = [
    "我在家 刚看到新闻说日本地震了 我18号的团还能去吗",
    "泰国那边发洪水了，我们下周的团会取消吗",
    "新闻说土耳其地震了，我下个月的行程受影响吗",
    "看到报道说巴厘岛火山喷发了 我们的团还能照常出发吗",
]


@pytest.mark.parametrize("text", NEWS)
def test_news_of_a_disaster_and_a_question_about_the_trip_is_no_emergency(text):
    assert _kinds(text) == []
    assert _intent(text, "query_itinerary") == "query_itinerary"
    assert _diet_sure_emergency(text) != "emergency"  # DIET alone may not raise it either


@pytest.mark.parametrize(
    "text",
    [
        "日本地震了 我们在东京的酒店 楼在晃 怎么办",
        "地震了！我们被困在酒店里",
        "山体滑坡把路堵了 我们的车被埋了一半",
    ],
)
async def test_a_disaster_where_they_are_stays_an_emergency(text):
    assert _intent(text, "query_itinerary") == "emergency"
    assert "disaster" in _kinds(text)
