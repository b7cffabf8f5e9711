"""What the traveller is told when queued for a human (issue 15/16, DESIGN §6): the wait in
minutes only from agents online within the opening hours; with nobody online, that; out of
hours, when agents are back (China time, the clock given); emergencies get the 24-hour line
whenever nobody can answer now. The API's side is api/tests/routes/test_presence_notes_typing.py."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from actions.handoff import queue_message
from actions.settings import get_settings

CHINA = timezone(timedelta(hours=8))
WAITING = {"status": "waiting", "position": 2, "created": True, "opening_hours": "08:00–22:00"}


def at_china(hour: int, minute: int = 0, day: int = 6) -> datetime:
    return datetime(2026, 12, day, hour, minute, tzinfo=CHINA)


def test_agents_online_in_hours_give_the_wait_in_minutes():
    text = queue_message(
        {**WAITING, "open_now": True, "agents_online": 2, "expected_wait_minutes": 6}, "request_human"
    )
    assert "正在为您转接人工客服" in text and "排在第 2 位" in text and "预计等待约 6 分钟" in text
    assert "没有客服在线" not in text and "非服务时间" not in text


def test_nobody_online_is_said_and_no_minutes_are_promised():
    text = queue_message(
        {**WAITING, "open_now": True, "agents_online": 0, "expected_wait_minutes": None}, "request_human"
    )
    assert "目前暂时没有客服在线" in text and "排在第 2 位" in text
    assert "分钟" not in text and "正在为您转接" not in text


@pytest.mark.parametrize(
    ("now", "reopening", "back"),
    [
        (at_china(23, 10), at_china(8, day=7), "明天 08:00"),  # late evening: tomorrow
        (at_china(6, 30), at_china(8), "今天 08:00"),  # early morning: today
        (at_china(23, 10, day=31), at_china(8, day=31) + timedelta(days=1), "明天 08:00"),  # month's end
        (at_china(23, 10), at_china(8, day=9), "12月9日 08:00"),  # further away: the date
    ],
)
def test_out_of_hours_says_when_agents_are_back_and_keeps_the_place(now, reopening, back):
    handoff = {
        **WAITING,
        "open_now": False,
        "agents_online": 1,
        "expected_wait_minutes": None,
        "next_opening": reopening.astimezone(timezone.utc).isoformat(),
    }
    text = queue_message(handoff, "request_human", now=now.astimezone(timezone.utc))
    assert "非服务时间（每天 08:00–22:00，北京时间）" in text
    assert f"客服将于{back}上班后" in text and "排在第 2 位" in text and "保留在队列中" in text
    assert "分钟" not in text and get_settings().emergency_line not in text  # not an emergency


def test_an_emergency_with_nobody_to_answer_points_to_the_duty_line():
    line = get_settings().emergency_line
    closed = {**WAITING, "open_now": False, "next_opening": "2026-12-07T00:00:00+00:00", "severity": "urgent"}
    text = queue_message(closed, "emergency", now=datetime(2026, 12, 6, 15, tzinfo=timezone.utc))
    assert "情况紧急" in text and f"24 小时紧急救援电话 {line}" in text
    # The duty line handles it now: no "agents reply at 08:00 in queue order" for an emergency.
    assert "按排队顺序" not in text and "第一个跟进" in text
    assert text.index(line) < text.index("上班后")
    text = queue_message({**WAITING, "open_now": True, "agents_online": 0, "severity": "urgent"}, "emergency")
    assert f"24 小时紧急救援电话 {line}" in text and "按排队顺序" not in text
    staffed = {
        **WAITING,
        "open_now": True,
        "agents_online": 1,
        "expected_wait_minutes": 2,
        "severity": "urgent",
    }
    assert line not in queue_message(staffed, "emergency")  # an agent is coming: the advice already gave it


def test_an_older_api_without_the_fields_keeps_the_estimate():
    text = queue_message({"status": "waiting", "position": 1, "expected_wait_minutes": 3}, "request_human")
    assert "预计等待约 3 分钟" in text


class ClosedDesk:
    """The ticketing API at night: the handoff is queued, nobody can take it before 08:00."""

    def __init__(self) -> None:
        self.opened: list = []

    async def open_handoff(self, payload):
        self.opened.append(payload)
        return {
            "id": 7,
            "status": "waiting",
            "created": True,
            "severity": "urgent",
            "position": 1,
            "expected_wait_minutes": None,
            "agents_online": 0,
            "open_now": False,
            "opening_hours": "08:00–22:00",
            "next_opening": "2026-12-07T00:00:00+00:00",
        }

    async def emergency_contact(self, ref):
        return None


async def test_an_emergency_out_of_hours_still_gets_the_duty_line_first_and_an_urgent_handoff():
    from rasa_sdk import Tracker
    from rasa_sdk.executor import CollectingDispatcher

    from actions.clients import ticketing
    from actions.emergency import ActionEmergency

    desk = ClosedDesk()
    ticketing.set_client(desk)
    try:
        tracker = Tracker(
            "night-emergency",
            {},
            {
                "text": "我爸在酒店晕倒了",
                "intent": {"name": "emergency", "confidence": 1.0},
                "entities": [{"entity": "emergency_kind", "value": "medical"}],
            },
            [],
            False,
            None,
            {},
            "action_listen",
        )
        dispatcher = CollectingDispatcher()
        events = await ActionEmergency().run(dispatcher, tracker, {})
    finally:
        ticketing.set_client(None)
    line = get_settings().emergency_line
    first, queued = (m["text"] for m in dispatcher.messages)
    assert "120" in first and f"24 小时紧急救援电话：{line}" in first  # the advice comes first, any hour
    assert "非服务时间" in queued and f"24 小时紧急救援电话 {line}" in queued
    assert desk.opened[0]["reason"] == "emergency" and desk.opened[0]["severity"] == "urgent"
    assert {"event": "pause"} in [{"event": e["event"]} for e in events]
