"""servicekit.QUESTION: what makes a clause a question (clause answers, the reader, the forms)."""

from __future__ import annotations

import pytest

from servicekit import QUESTION


@pytest.mark.parametrize("text", ["几点集合", "要等几个小时", "你们几个人负责", "行李能带多重", "能退不"])
def test_questions(text):
    assert QUESTION.search(text)


@pytest.mark.parametrize(
    "text",
    [
        "就这两个月 每天好几个电话",  # 好几个: many, not "how many"
        "在机场等了十几个小时",
        "我们玩得挺开心",
        "差不多大",
    ],
)
def test_statements(text):
    assert not QUESTION.search(text)
