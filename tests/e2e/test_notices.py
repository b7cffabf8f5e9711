"""Notices to a website traveller and the survey, against the real Rasa, action server and API.

A ticket opened from a widget conversation is moved through its statuses by a supervisor in
the API; every move reaches the open widget over socket.io; a move while the traveller is away
is in the server-side history when they come back; the written result comes with its confirm
buttons, and the survey answered in chat (buttons, or typed "确认" and "5") lands on the ticket,
a low rating opening the second follow-up.
"""

from __future__ import annotations

import asyncio
import time
from typing import Callable, Dict, List

import httpx
import pytest

from tests import staff
from tests.bot.test_web_channels import Widget  # python-socketio client (with the aiohttp shim)

pytestmark = pytest.mark.e2e

SERVICE = {"Authorization": "Bearer dev-service-token"}
RESULT = {
    "findings": "经核实，酒店当晚确有卫生问题，前台未及时处理。",
    "measures": "已为您退还一晚房费，酒店已整改并对前台员工进行培训。",
    "apology": "感谢您的反馈，给您带来不便，我们深表歉意。",
}


def buttons_of(reply: Dict) -> List[Dict]:
    return reply.get("quick_replies") or reply.get("buttons") or []


async def until(widget: Widget, wanted: Callable[[Dict], bool], timeout: float = 60) -> Dict:
    """The first bot message that matches; the ones before it are skipped."""
    deadline = time.monotonic() + timeout
    seen = []
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise AssertionError(f"no matching message within {timeout}s; got {seen}")
        try:
            reply = await widget.next_reply(timeout=remaining)
        except asyncio.TimeoutError:
            raise AssertionError(f"no matching message within {timeout}s; got {seen}") from None
        seen.append(reply.get("text"))
        if wanted(reply):
            return reply


def has(text: str) -> Callable[[Dict], bool]:
    return lambda reply: text in (reply.get("text") or "")


class Desk:
    """The supervisor's side, over the API."""

    def __init__(self, api_url: str) -> None:
        self.api = api_url
        self.headers = staff.login(api_url, "supervisor")

    def open_ticket(self, conversation: str) -> str:
        created = httpx.post(
            f"{self.api}/tickets",
            json={
                "booking_ref": "TR20260001",
                "name": "张伟",
                "phone": "13812345678",
                "channel": "socketio",
                "conversation_id": conversation,
                "description": "酒店房间有蟑螂，前台态度冷淡，不给换房。",
            },
            headers=SERVICE,
            timeout=30,
        )
        assert created.status_code == 201, created.text
        return created.json()["ticket_no"]

    def move(self, no: str, status: str) -> None:
        moved = httpx.post(
            f"{self.api}/tickets/{no}/transitions",
            json={"status": status, **({"plan": "核实后与酒店协商处理"} if status == "plan_made" else {})},
            headers=self.headers,
            timeout=30,
        )
        assert moved.status_code == 200, moved.text

    def note(self, no: str, text: str) -> None:
        added = httpx.post(
            f"{self.api}/tickets/{no}/notes",
            json={"text": text, "public": True},
            headers=self.headers,
            timeout=30,
        )
        assert added.status_code == 201, added.text

    def follow_up_and_close(self, no: str, conversation: str) -> None:
        # The follow-up call's rating, as an agent records it, before followed_up.
        noted = httpx.post(
            f"{self.api}/tickets/{no}/survey",
            json={"rating": 4},
            headers={**SERVICE, "X-Sender-Id": conversation},
            timeout=30,
        )
        assert noted.status_code == 200, noted.text
        self.move(no, "followed_up")
        result = httpx.put(f"{self.api}/tickets/{no}/result", json=RESULT, headers=self.headers, timeout=30)
        assert result.status_code == 200, result.text
        self.move(no, "closed")

    def ticket(self, no: str) -> Dict:
        return httpx.get(f"{self.api}/tickets/{no}", headers=self.headers, timeout=30).json()

    def notices(self, no: str) -> List[Dict]:
        return httpx.get(f"{self.api}/tickets/{no}/notices", headers=self.headers, timeout=30).json()


async def test_every_move_reaches_the_widget_and_the_history_and_the_survey_lands_on_the_ticket(
    rasa_url, api_url
):
    desk = Desk(api_url)
    traveller = Widget(rasa_url)
    token = await traveller.connect()
    conversation = token.split(".")[0]
    await traveller.say("你好", token)
    await until(traveller, has("您好"))
    no = desk.open_ticket(conversation)

    desk.move(no, "investigating")
    notice = await until(traveller, has(no))
    text = notice["text"]
    assert "调查核实中" in text and "预计完成时间" in text and "负责人" in text

    # Away: the tab is closed while the plan is made.
    await traveller.close()
    desk.note(no, "已联系酒店核实，安排当晚换房")
    desk.move(no, "plan_made")
    back = Widget(rasa_url)
    try:
        assert (await back.connect(token)).split(".")[0] == conversation
        history = await asyncio.wait_for(back.history.get(), 30)
        shown = [m["text"] for m in history["messages"] if m["from"] == "bot"]
        assert any("已制定处理方案" in m and "已联系酒店核实，安排当晚换房" in m for m in shown), shown

        desk.move(no, "resolved")
        await until(back, has("处理方案已落实"))
        desk.follow_up_and_close(no, conversation)
        await until(back, has("已回访"))
        result = await until(back, has("投诉处理结果"))
        assert RESULT["findings"] in result["text"] and RESULT["apology"] in result["text"]
        assert [b["payload"] for b in buttons_of(result)] == ["/affirm", "/deny"]

        # The confirm button, then the star buttons.
        await back.say("/affirm", token)
        await until(back, has("感谢您确认处理结果"))
        question = await until(back, lambda r: len(buttons_of(r)) == 5)
        assert [b["title"][:2] for b in buttons_of(question)] == ["1星", "2星", "3星", "4星", "5星"]
        await back.say(buttons_of(question)[1]["payload"], token)  # 2 stars
        await until(back, has("2星（40分/100分）"))
        await until(back, has("负责人会再次与您联系"))
        await until(back, has("意见或建议"))
        await back.say("处理得太慢了，希望以后能快一点", token)
        await until(back, has("您的意见已记录"))
    finally:
        await back.close()

    ticket = desk.ticket(no)
    assert (ticket["confirmed"], ticket["satisfaction"], ticket["second_follow_up"]) == (True, 2, True)
    sent = [(n["event"], n["status"], n["route"], n["attempts"]) for n in desk.notices(no)]
    assert sent == [
        ("status:investigating", "sent", "rasa:socketio", 1),
        ("status:plan_made", "sent", "rasa:socketio", 1),
        ("status:resolved", "sent", "rasa:socketio", 1),
        ("status:followed_up", "sent", "rasa:socketio", 1),
        ("result", "sent", "rasa:socketio", 1),
    ]
    notes = [n["text"] for n in ticket["notes"]]
    assert "旅客评价留言：处理得太慢了，希望以后能快一点" in notes
    assert any("二次回访" in n for n in notes)


async def test_typed_answers_after_the_result_confirm_and_rate(rasa_url, api_url):
    desk = Desk(api_url)
    traveller = Widget(rasa_url)
    try:
        token = await traveller.connect()
        conversation = token.split(".")[0]
        await traveller.say("你好", token)
        await until(traveller, has("您好"))
        no = desk.open_ticket(conversation)
        for status in ("investigating", "plan_made", "resolved"):
            desk.move(no, status)
        desk.follow_up_and_close(no, conversation)
        await until(traveller, has("投诉处理结果"))

        await traveller.say("确认", token)
        await until(traveller, has("感谢您确认处理结果"))
        await traveller.say("5", token)
        await until(traveller, has("5星（100分/100分）"))
        await traveller.say("不用了", token)
        await until(traveller, has("感谢您的评价"))
    finally:
        await traveller.close()
    ticket = desk.ticket(no)
    assert (ticket["confirmed"], ticket["satisfaction"], ticket["second_follow_up"]) == (True, 5, False)
