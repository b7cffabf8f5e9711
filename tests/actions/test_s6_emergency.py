"""The emergency action for what the sixth stranger's test missed (E06, E12).

- E12: altitude sickness asked about ("有点头晕 可能是高反 要紧吗"): the altitude advice (rest,
  oxygen, the guide; the ambulance if it gets worse) and how to reach a person, without an urgent
  handoff (nobody is in danger yet, DESIGN §5); severe, with a medical sign, it hands over;
- E06: left behind at a sight at nightfall, in the first message: the stranded advice and the
  urgent handoff, not the complaint form.

The lexicon goes through the NLU component (tests.actions.emergency_turns), as at run time.
"""

from __future__ import annotations

from typing import Any, Dict, List

import pytest
from rasa_sdk.executor import CollectingDispatcher

import actions.emergency as emergency
from actions.emergency import ActionEmergency, raise_waiting_handoff
from tests.actions.emergency_turns import Desk
from tests.actions.emergency_turns import tracker as _tracker


@pytest.fixture
def handoffs(monkeypatch) -> List[Dict[str, Any]]:
    """The urgent handoffs opened (the queue stands in), and what went to a paused conversation."""
    opened: List[Dict[str, Any]] = []

    async def open_handoff(tracker, dispatcher, reason, ticket_no=None, extra_summary=None, notice=None):
        opened.append({"reason": reason, "notice": notice})
        return [{"event": "pause"}]

    monkeypatch.setattr(emergency, "open_handoff", open_handoff)
    monkeypatch.setattr(emergency, "say_to_paused", lambda *args: opened.append({"paused": args[-1]}))
    return opened


async def _run(text: str, slots=None, loop=None):
    dispatcher = CollectingDispatcher()
    events = await ActionEmergency().run(dispatcher, _tracker(text, slots, loop), {})
    return "\n".join(m.get("text") or m.get("response") or "" for m in dispatcher.messages), events


MILD_ALTITUDE = [
    "有点头晕 可能是高反 要紧吗",  # E12
    "我在拉萨 头晕想吐 是不是高原反应",  # E12
    "到了西藏有点喘不上来 头疼 正常吗",
    "高反了怎么办",
]


@pytest.mark.parametrize("text", MILD_ALTITUDE)
async def test_mild_altitude_sickness_gets_the_advice_without_an_urgent_handoff(text, handoffs, desk):
    desk(Desk("domestic", start_in_days=-1))
    said, events = await _run(text, {"booking_ref": "TR20260013"})
    assert "高原反应" in said and "吸氧" in said and "120" in said, said
    assert "转人工" in said and "400-" in said and "13145670000" in said, said  # a person, the guide
    assert "请先确保" not in said and "境外" not in said, said  # no alarm, no abroad lines at home
    assert handoffs == [] and not any(e.get("event") == "pause" for e in events)


async def test_severe_altitude_sickness_hands_over_at_once(handoffs, desk):
    desk(Desk("domestic", start_in_days=-1))
    said, _ = await _run("我妈高原反应很严重 喘不上气 现在怎么办", {"booking_ref": "TR20260013"})
    assert "高原反应" in said and "120" in said and "请先确保" in said, said
    assert [h["reason"] for h in handoffs] == ["emergency"]


@pytest.mark.parametrize(
    "text",
    [
        "我们被导游扔在景区了 天快黑了 没车回酒店 TR20260001 尾号5678",  # E06
        "我们被司机甩在服务区了 现在怎么办",
        "天都黑了 还是打不到车 一家人在山脚下",
    ],
)
async def test_left_behind_at_nightfall_gets_the_stranded_advice_and_an_urgent_handoff(text, handoffs):
    said, events = await _run(text)
    assert "被困或滞留" in said and "400-" in said, said
    assert [h["reason"] for h in handoffs] == ["emergency"]
    assert not any(e.get("event") == "followup" and e.get("name") == "complaint_form" for e in events)


async def test_altitude_advice_while_waiting_for_an_agent_keeps_the_queue(handoffs):
    await raise_waiting_handoff(_tracker("我在拉萨 头晕想吐 是不是高原反应"))
    assert len(handoffs) == 1 and "paused" in handoffs[0], handoffs  # no urgent raise
    assert "高原反应" in handoffs[0]["paused"] and "转人工" not in handoffs[0]["paused"]
