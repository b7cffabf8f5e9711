"""Emergencies of the fourth stranger's test: where the traveller is, and a lift.

- s4b6-17: "help!! my son is missing at Changi airport 儿子不见了" got China's 110 and the generic
  abroad line; places written in English (airports, cities, country names) find the country as
  the Chinese names do, from the one table of place words (data/emergency/numbers.yml), and
  are abroad for the NLU's lexicon too;
- s4b8-14: stuck in a hotel lift got the 'stranded' advice ("我们会尽快为您安排后续行程和住宿"):
  it gets its own (the alarm button, the front desk, 119, no forced doors).

The lexicon goes through the NLU component as in test_s4_emergencies.py.
"""

from __future__ import annotations

import pytest

from actions.emergency import country_in, emergency_advice
from tests.actions.emergency_turns import LEXICON_RAW
from tests.actions.emergency_turns import intent_of as _intent
from tests.actions.emergency_turns import kinds_of as _kinds
from tests.actions.emergency_turns import safety_lines as _safety
from tests.actions.emergency_turns import tracker as _tracker
from bot.components.emergency import Lexicon

LEXICON = Lexicon(LEXICON_RAW)


async def _advice(text: str) -> str:
    return await emergency_advice(_tracker(text), booking={})


# --- s4b6-17: places written in English ------------------------------------------------------

ENGLISH_PLACES = [
    ("help!! my son is missing at Changi airport 儿子不见了", "singapore", "999"),
    ("my daughter is lost at Suvarnabhumi airport please help", "thailand", "191"),
    ("we cannot find our child at Narita, help", "japan", "110"),
    ("my mother is missing in Haneda terminal 3 急", "japan", "110"),
    ("lost my son at Incheon airport!! 孩子不见了", "korea", "112"),
    ("my wife is missing at CDG terminal 2, help", "france", "17"),
    ("our kid went missing in a Dubai mall, please help", "uae", "999"),
    ("my dad is missing near Sydney opera house!!", "australia", "000"),
    ("我儿子在Zurich火车站走丢了 急", "europe_112", "112"),
    ("老人在Istanbul大巴扎走失了 快帮忙", "turkey", "112"),
    ("my son is missing at the Cairo museum, help", "egypt", "122"),
    ("孩子不见了 在Male airport 急", "maldives", "119"),
    ("我女儿找不到了 在Da Nang海边 急", "vietnam", "113"),
    ("my husband is missing in Kuala Lumpur, help!!", "malaysia", "999"),
    ("妈妈在Seoul明洞走丢了 急", "korea", "112"),
    ("my friend went missing in Osaka last hour, help", "japan", "110"),
    ("help, my son is missing in the USA, at a mall in Las Vegas", "north_america", "911"),
    ("my child is missing in the UK, at Heathrow!!", "united_kingdom", "999"),
]


@pytest.mark.parametrize("text, country, police", ENGLISH_PLACES)
async def test_a_place_written_in_english_gets_its_countrys_numbers(text, country, police):
    assert country_in(text) == country
    assert _intent(text) == "emergency" and _kinds(text) == ["missing"]
    said = _safety(await _advice(text))
    assert f"拨打 {police}" in said, said
    assert "如果您现在在境外" not in said and "您在境外" in said  # abroad for sure, the consulate
    if police != "110":
        assert "110" not in said


@pytest.mark.parametrize(
    "word",
    [
        "Changi",
        "Suvarnabhumi",
        "Narita",
        "Haneda",
        "Incheon",
        "CDG",
        "Charles de Gaulle",
        "Dubai",
        "Zurich",
        "Male airport",
        "Malé",
        "Kuala Lumpur",
        "Da Nang",
        "USA",
        "United States",
        "UK",
        "Egypt",
        "Turkey",
    ],
)
def test_english_place_names_are_abroad_for_the_nlu(word):
    assert LEXICON.read(f"help, my son is missing at {word} now")["abroad"], word


@pytest.mark.parametrize(
    "text",
    [
        "a female guide helped us, my son is missing at the park 急",  # "male" inside "female"
        "孩子在公园走丢了 急 我们住在维也纳酒店",  # a Chinese hotel chain, not Vienna
        "孩子在西贡码头走丢了 急",  # Sai Kung, Hong Kong
        "北戴河黄金海岸 孩子走丢了 急",
        "my son is missing at the mall, we are from Hangzhou, help",
    ],
)
async def test_a_place_at_home_or_an_english_word_inside_another_is_no_country(text):
    assert country_in(text) is None
    assert not LEXICON.read(text)["abroad"]
    assert "拨打 110" in _safety(await _advice(text))


def test_an_english_name_is_a_whole_word():
    assert country_in("we are in Phuket") == "thailand"  # not "uk"
    assert country_in("stuck in Ukraine") is None
    assert country_in("an email from Paris") == "france"
    assert country_in("a comparison of prices") is None  # "paris" inside a word


# --- s4b8-14: stuck in a lift ------------------------------------------------------------------

LIFT = [
    "我被困在电梯里了 酒店的电梯 打不开",
    "电梯卡住了 我和孩子在里面 怎么办",
    "酒店电梯突然停了 我们被困在里面",
    "救命 困在电梯里半天了",
    "电梯门打不开 我们出不去",
    "we are stuck in the elevator at our hotel, help",
    "the lift is stuck between floors and we are inside",
    "trapped in the lift!!",
    "电梯困人了，我们在酒店电梯里出不来",
    "SOS 被困在电梯里了",
]


@pytest.mark.parametrize("text", LIFT)
async def test_stuck_in_a_lift_gets_the_lift_advice(text):
    assert _intent(text, "complain") == "emergency"
    assert _kinds(text) == ["lift"]
    said = _safety(await _advice(text))
    assert "警铃" in said and "对讲" in said and "前台" in said and "119" in said
    assert "不要强行扒门" in said and "保持冷静" in said
    assert "安排后续行程和住宿" not in said


async def test_stuck_in_a_lift_abroad_gets_the_local_fire_number():
    said = _safety(await _advice("we are stuck in the elevator of our hotel in Tokyo, help"))
    assert "拨打 119" in said and "警铃" in said


@pytest.mark.parametrize(
    "text",
    [
        "酒店电梯坏了只能爬楼梯 我要投诉",
        "昨天被困在电梯里半个小时 酒店也不道歉 我要投诉",
        "如果电梯卡住了怎么办",
        "the elevator was out of order all week",
    ],
)
def test_a_broken_lift_nobody_is_in_is_no_emergency(text):
    assert "lift" not in _kinds(text)
    assert _intent(text, "complain") != "emergency"


def test_stranded_still_stranded():
    assert _kinds("在曼谷机场被困了，航班取消了没人管我们") == ["stranded"]
