"""An emergency written while waiting for an agent, with the ticketing API down.

The bot is paused, so the advice normally comes back through the API (test_handoff.py);
when the API cannot be reached the action server appends it through Rasa itself, with a
JWT for that one conversation. Real Rasa, real NLU, a dead port for the API.
"""

from __future__ import annotations

import asyncio
import time

import httpx
import pytest
from rasa_sdk import Tracker

from actions.clients import ticketing
from actions.emergency import raise_waiting_handoff
from actions.settings import get_settings
from tests.conftest import RASA_AUTH, RASA_TOKEN, texts

http = httpx.Client(timeout=120)


@pytest.fixture
def api_down_rasa_known(monkeypatch, rasa_url):
    ticketing.set_client(ticketing.TicketingClient("http://127.0.0.1:9", "dev-service-token", 1))
    monkeypatch.setenv("RASA_URL", rasa_url)
    monkeypatch.setenv("RASA_JWT_SECRET", RASA_TOKEN)
    get_settings.cache_clear()
    yield
    ticketing.set_client(None)
    monkeypatch.undo()
    get_settings.cache_clear()


def _tracker(rasa_url: str, sender: str) -> dict:
    response = http.get(f"{rasa_url}/conversations/{sender}/tracker", headers=RASA_AUTH)
    response.raise_for_status()
    return response.json()


async def _last_bot_text(rasa_url: str, sender: str, seconds: float) -> str:
    deadline = time.monotonic() + seconds
    said = ""
    while time.monotonic() < deadline:
        bots = [e.get("text") or "" for e in _tracker(rasa_url, sender)["events"] if e["event"] == "bot"]
        said = bots[-1] if bots else ""
        if "120" in said:
            break
        await asyncio.sleep(0.3)
    return said


async def test_advice_reaches_a_waiting_traveller_when_the_api_is_down(chat, rasa_url, api_down_rasa_known):
    sender = chat.sender
    assert "人工客服" in texts(chat("转人工"))
    state = _tracker(rasa_url, sender)
    assert state["paused"]
    text = "快来人！我老公突然倒地不省人事了，怎么办"
    parsed = http.post(f"{rasa_url}/model/parse", json={"text": text}, headers=RASA_AUTH).json()
    assert parsed["intent"]["name"] == "emergency"
    state["latest_message"] = {**parsed, "message_id": "m-emergency"}
    await raise_waiting_handoff(Tracker.from_dict(state))
    said = await _last_bot_text(rasa_url, sender, 20)
    assert "120" in said and "24小时紧急电话" in said and get_settings().emergency_line in said, said


async def test_without_the_secret_nothing_is_sent_and_nothing_breaks(chat, rasa_url, monkeypatch):
    """The fallback is off without RASA_JWT_SECRET (a deployment that does not give the
    action server Rasa's secret): the bot stays quiet rather than failing the turn."""
    ticketing.set_client(ticketing.TicketingClient("http://127.0.0.1:9", "dev-service-token", 1))
    monkeypatch.setenv("RASA_JWT_SECRET", "")
    get_settings.cache_clear()
    try:
        sender = chat.sender
        chat("转人工")
        state = _tracker(rasa_url, sender)
        before = len([e for e in state["events"] if e["event"] == "bot"])
        state["latest_message"] = {"text": "救命", "intent": {"name": "emergency"}, "entities": []}
        await raise_waiting_handoff(Tracker.from_dict(state))
        await asyncio.sleep(1)
        after = len([e for e in _tracker(rasa_url, sender)["events"] if e["event"] == "bot"])
        assert after == before
    finally:
        ticketing.set_client(None)
        get_settings.cache_clear()
