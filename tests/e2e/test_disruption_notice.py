"""A disruption notice end to end, against the real Rasa (trained model), action server and API.

A website traveller verifies a booking over socket.io (booking number and phone digits, the
bot's verify form calling the API), which records the conversation as a contact of the
booking; a supervisor posts a disruption for the booking's departure; the open widget receives
it, the traveller answers, and the answer shows on the disruption (read from the tracker,
masked). The notice is also in the widget's server-side history when the traveller comes back.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import time
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Dict

import httpx
import pytest

from tests import staff
from tests.bot.test_web_channels import Widget  # python-socketio client (with the aiohttp shim)
from tests.e2e.test_notices import has, until

pytestmark = pytest.mark.e2e

REPO = Path(__file__).resolve().parents[2]
CHINA = timezone(timedelta(hours=8))


def a_departure_not_yet_back(api_url: str, headers: Dict[str, str]) -> Dict:
    """A demo booking whose departure the API offers (not back yet in China's date)."""
    offered = httpx.get(f"{api_url}/disruptions/departures", headers=headers, timeout=30)
    assert offered.status_code == 200, offered.text
    keys = {(d["product"], d["departure_date"]) for d in offered.json()}
    demo = json.loads((REPO / "api" / "fixtures" / "bookings.json").read_text(encoding="utf-8"))["bookings"]
    for booking in sorted(demo, key=lambda b: b["departure_date"]):
        if (booking["product"], booking["departure_date"]) in keys:
            return booking
    pytest.skip(f"no demo departure is still ahead on {datetime.now(CHINA).date()}")


def contacts_of(api_url: str, headers: Dict[str, str], booking: Dict) -> int:
    listed = httpx.get(f"{api_url}/disruptions/departures", headers=headers, timeout=30).json()
    return next(
        d["contacts"]
        for d in listed
        if (d["product"], d["departure_date"]) == (booking["product"], booking["departure_date"])
    )


def masked(conversation: str) -> str:
    # masking.mask_conversation_id for a socket.io conversation.
    return f"web:{conversation[:4]}…{hashlib.sha256(conversation.encode()).hexdigest()[:6]}"


async def test_a_verified_traveller_gets_the_disruption_and_the_reply_shows_on_it(rasa_url, api_url):
    supervisor = staff.login(api_url, "supervisor")
    booking = a_departure_not_yet_back(api_url, supervisor)
    before = contacts_of(api_url, supervisor, booking)

    traveller = Widget(rasa_url)
    token = await traveller.connect()
    conversation = token.split(".")[0]
    try:
        await traveller.say(f"查行程 {booking['ref']} 尾号{booking['phone'][-4:]}", token)
        deadline = time.monotonic() + 90
        while contacts_of(api_url, supervisor, booking) == before:
            assert time.monotonic() < deadline, "the verification was not recorded as a contact"
            await asyncio.sleep(0.5)

        marker = uuid.uuid4().hex[:6]
        text = f"因航班调整，集合时间提前至早上7点（通知编号{marker}），其余行程不变。"
        posted = httpx.post(
            f"{api_url}/disruptions",
            json={"product": booking["product"], "departure_date": booking["departure_date"], "text": text},
            headers=supervisor,
            timeout=60,
        )
        assert posted.status_code == 201, posted.text
        disruption = posted.json()["id"]

        notice = await until(traveller, has(marker), timeout=60)
        assert "出行变更通知" in notice["text"] and booking["ref"] in notice["text"]

        await traveller.say("那我们几点到机场合适？", token)
        await traveller.next_reply(timeout=60)  # the bot has answered: the message is in the tracker
    finally:
        await traveller.close()

    deadline = time.monotonic() + 60
    while True:
        replies = httpx.get(f"{api_url}/disruptions/{disruption}/replies", headers=supervisor, timeout=60)
        assert replies.status_code == 200, replies.text
        ours = next(r for r in replies.json()["recipients"] if r["conversation"] == masked(conversation))
        if ours["replies"]:
            break
        assert time.monotonic() < deadline, ours
        await asyncio.sleep(0.5)
    assert ours["notice_delivered"] is True
    assert [r["text"] for r in ours["replies"]] == ["那我们几点到机场合适？"]
    assert conversation not in replies.text  # never the whole conversation id

    detail = httpx.get(f"{api_url}/disruptions/{disruption}", headers=supervisor, timeout=30).json()
    row = next(r for r in detail["recipients"] if r["conversation"] == masked(conversation))
    # The bot does not say its channel when it verifies: the API read it from the tracker.
    assert (row["booking_ref"], row["channel"], row["status"], row["route"]) == (
        booking["ref"],
        "socketio",
        "sent",
        "rasa:socketio",
    )

    # Away and back: the notice is in the widget's server-side history.
    back = Widget(rasa_url)
    try:
        assert (await back.connect(token)).split(".")[0] == conversation
        history = await asyncio.wait_for(back.history.get(), 30)
        assert any(marker in (m.get("text") or "") for m in history["messages"] if m["from"] == "bot")
    finally:
        await back.close()
