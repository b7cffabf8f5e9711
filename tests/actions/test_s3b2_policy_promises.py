"""Policy answers promise only what happens (third stranger's test, P03/P04/P12/P15).

The visa answer ended "告诉我目的地和订单号，我把清单发给你" and the delay answer "请告诉我订单号，
我马上通知值班人员": the bot sends no list and notifies no one when given a number. The list
comes from the visa team after booking; a person is reached with "转人工".
"""

from __future__ import annotations

import re

import pytest
import yaml

from actions.policy import without_asking_for_given
from tests.services import ROOT

RESPONSES = yaml.safe_load((ROOT / "data" / "nlu" / "policy.yml").read_text(encoding="utf-8"))["responses"]
# The bot itself sending or notifying on the strength of a number it is told.
_BOT_PROMISES = re.compile(r"我(?:马上|立刻|会|来)?(?:把[^，。；]{0,10})?(?:发给你|发送给你|通知)")


def _text(key: str) -> str:
    return RESPONSES[key][0]["text"]


@pytest.mark.parametrize("key", sorted(RESPONSES))
def test_no_policy_answer_promises_that_the_bot_sends_or_notifies(key):
    for text in (_text(key), without_asking_for_given(_text(key), "TR20251234")):
        assert not _BOT_PROMISES.search(text), text


def test_the_visa_list_comes_from_the_visa_team_and_a_person_answers_specifics():
    closing = _text("utter_policy/visa").splitlines()[-1]
    assert "签证专员" in closing and "报名后" in closing and "转人工" in closing


def test_a_delay_at_the_airport_goes_to_a_person_with_the_handoff_words():
    closing = _text("utter_policy/delay").splitlines()[-1]
    assert "机场" in closing and "转人工" in closing and "通知值班" not in closing
