"""Sexual harassment going on now is an emergency (stranger 7, S7-01: "the guide keeps groping me,
I'm scared, I'm in Ha Long Bay" went into the complaint form); told afterwards it is a complaint."""

from __future__ import annotations

import pytest
from rasa.shared.nlu.constants import INTENT
from rasa.shared.nlu.training_data.message import Message

from tests.bot.test_s6_emergency import kinds, read_message


def read_as_complaint(text: str) -> Message:
    """What DIET gave such messages: a complaint, sure."""
    return read_message(text, [("complain", 0.97), ("emergency", 0.02)])


@pytest.mark.parametrize(
    "text",
    [
        "那个司机老是对我动手动脚 我好害怕 现在还在车上",
        "领队一直在对我女儿动手动脚，我们现在在酒店，怎么办",
        "有个男的在车上猥亵我 我现在不敢动",
        "the local guide keeps groping me on the bus, I'm scared",
    ],
)
def test_harassment_going_on_is_an_emergency(text):
    message = read_as_complaint(text)
    assert message.get(INTENT)["name"] == "emergency"
    assert "crime" in kinds(message)


@pytest.mark.parametrize(
    "text",
    [
        "上个月的团 导游对团里的女生动手动脚 回来越想越气 我要投诉",
        "去年在泰国的时候领队对我动手动脚，当时没敢说，现在想投诉",
    ],
)
def test_harassment_told_afterwards_is_a_complaint(text):
    assert read_as_complaint(text).get(INTENT)["name"] == "complain"
