"""Conversation identity on the real Rasa server (credentials.yml as shipped, dev.env's settings).

A socket.io client plays the widget: the server issues the session id, the bot answers in
that conversation only, a stolen conversation id opens nothing, a message for another
session is refused. The REST channel stays open on the embedded defaults (DESIGN §5) and
also issues signed senders, the ones production requires.
"""

from __future__ import annotations

import asyncio
import re

import httpx
import pytest

from tests.bot.test_web_channels import Widget  # python-socketio client (with the aiohttp shim)

pytestmark = pytest.mark.e2e
TOKEN = re.compile(r"^[0-9a-f]{32}\.[0-9a-z]+\.[0-9a-f]{32}$")


async def test_widget_handshake_and_conversation_binding_on_the_real_server(rasa_url):
    traveller, intruder = Widget(rasa_url), Widget(rasa_url)
    try:
        token = await traveller.connect()
        assert TOKEN.match(token)
        conversation = token.split(".")[0]
        await traveller.say("你好", token)
        reply = await traveller.next_reply(timeout=60)
        assert "您好" in reply.get("text", "")

        # Knowing the conversation id (agents, logs) neither resumes it nor speaks in it.
        stolen = await intruder.connect(conversation)
        assert stolen.split(".")[0] != conversation
        await intruder.say("我要退团", token)
        assert (await asyncio.wait_for(intruder.refused.get(), 10))["reason"]
        assert await traveller.nothing_for(1.0)

        # The traveller's own tab reconnects to the same conversation.
        await traveller.close()
        again = Widget(rasa_url)
        try:
            renewed = await again.connect(token)
            assert renewed.split(".")[0] == conversation
        finally:
            await again.close()
    finally:
        for widget in (traveller, intruder):
            if widget.client.connected:
                await widget.close()


async def test_rest_is_open_on_the_embedded_defaults_and_issues_signed_senders(rasa_url):
    async with httpx.AsyncClient(base_url=rasa_url, timeout=60) as http:
        issued = (await http.post("/webhooks/rest/session")).json()["sender"]
        assert TOKEN.match(issued)
        reply = await http.post("/webhooks/rest/webhook", json={"sender": issued, "message": "你好"})
        assert reply.status_code == 200
        assert reply.json() and all(r["recipient_id"] == issued.split(".")[0] for r in reply.json())
