"""Typing cues between the agent's console and the traveller's widget (issue 15).

The widget talks to Rasa's socket.io channel and the console to this API, so the cues cross
at Rasa, through two routes the channel adds (bot/channels/socketio.py), authenticated like
the rest of Rasa's HTTP API with a short-lived admin JWT (RasaJWT, as rasa_client.py sends):

- POST /webhooks/socketio/typing/agent {conversation, typing, agent}: the channel emits
  `agent_typing` to that conversation's room (the widget shows "客服正在输入…");
- POST /webhooks/socketio/typing/traveller {conversation}: whether the traveller typed in the
  widget in the last seconds (the channel keeps the moment in memory, never in the tracker).

Cues are best effort: a short timeout, and any failure is "no cue", never an error for the
agent (the transcript poll must not fail because a cue could not be read).
"""

from __future__ import annotations

import logging
import httpx
from starlette.requests import HTTPConnection

from app.core.clients import clients_of
from app.core.config import Settings
from app.services.rasa_client import RasaJWT

log = logging.getLogger(__name__)

AGENT_ROUTE = "/webhooks/socketio/typing/agent"
TRAVELLER_ROUTE = "/webhooks/socketio/typing/traveller"
# Only the widget has typing cues; WeChat and REST travellers have nothing to show them on.
TYPING_CHANNELS = frozenset({"socketio"})


class TypingRelay:
    def __init__(
        self,
        base_url: str,
        jwt_secret: str,
        timeout: float = 2.0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self._client = httpx.Client(
            base_url=base_url.rstrip("/"),
            timeout=timeout,
            auth=RasaJWT(jwt_secret, username="ticketing-api-typing"),
            transport=transport,
        )

    def close(self) -> None:
        self._client.close()

    def _post(self, path: str, body: dict) -> dict | None:
        try:
            response = self._client.post(path, json=body)
        except httpx.HTTPError as error:
            log.debug("typing cue not passed on: %s", type(error).__name__)
            return None
        if response.status_code != 200:
            log.debug("typing cue refused by Rasa: %s", response.status_code)
            return None
        try:
            data = response.json()
        except ValueError:
            return None
        return data if isinstance(data, dict) else None

    def agent(self, conversation_id: str, channel: str, typing: bool, agent: str | None) -> bool:
        """Tell the traveller's widget the agent is (no longer) typing; True if it was passed on."""
        if channel not in TYPING_CHANNELS:
            return False
        data = self._post(AGENT_ROUTE, {"conversation": conversation_id, "typing": typing, "agent": agent})
        return bool(data and data.get("ok"))

    def traveller(self, conversation_id: str, channel: str) -> bool:
        """Is the traveller typing in the widget now?"""
        if channel not in TYPING_CHANNELS:
            return False
        data = self._post(TRAVELLER_ROUTE, {"conversation": conversation_id})
        return bool(data and data.get("typing") is True)


def typing_relay_from(settings: Settings) -> TypingRelay:
    return TypingRelay(settings.rasa_url, settings.rasa_jwt_secret)


def get_typing_relay(request: HTTPConnection) -> TypingRelay:
    """The request's app's relay, built from its settings on first use (no I/O at import);
    routes take it as a dependency that tests override."""
    return clients_of(request).get("typing_relay", typing_relay_from)
