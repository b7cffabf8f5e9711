"""Stranger test 6 (C09): danger on the road that was narrowly escaped ("差点撞车") is safety, not
transport, whatever else the complaint says (DESIGN §3: what endangers people is safety).

Sentences written for this test; none is copied from data/complaints/.
"""

from __future__ import annotations

import pytest

from app.services.classifier import ComplaintClassifier, ensure_model
from app.services.classifier import model as model_mod


@pytest.fixture(scope="module")
def clf() -> ComplaintClassifier:
    path = ensure_model()
    assert model_mod.is_current(path)
    return ComplaintClassifier.load(path)


NEAR_MISSES = [
    "太气人了，大巴车司机开车的时候一直打电话，还差点撞车，要求处理司机并道歉",
    "师傅开着车回微信，好几次开到对面车道上去了，要不是对面车躲得快就撞了",
    "司机昨晚应该是没睡好，在高速上打盹，车往护栏那边偏过去，一车人尖叫他才醒",
    "下山的路又陡又弯，司机还一直超车，有一次差点跟迎面的大货车撞上",
    "包车司机闯了两个红灯，还差点撞到过马路的小孩",
]


@pytest.mark.parametrize("text", NEAR_MISSES)
def test_a_near_miss_on_the_road_is_safety(clf, text):
    assert clf.classify(text).category == "safety"


@pytest.mark.parametrize(
    "text",
    ["司机开车太慢了，本来两个小时的路开了四个小时", "大巴晚到了四十分钟，司机连个电话都不打"],
)
def test_a_slow_or_late_coach_is_still_transport(clf, text):
    assert clf.classify(text).category == "transport"
