"""The API's client for Rasa's HTTP API (DESIGN §1: only the ticketing API uses it).

It reads a conversation's tracker for the agent's transcript, relays an agent's message
into the conversation and resumes the bot. Rasa facts relied on (RASA-NOTES, "Handoff"):
- a `bot` event appended with `execute_side_effects=true` and `output_channel=<channel>`
  is pushed to the traveller on channels that can push (socketio); on REST it only lands
  in the tracker;
- resuming needs `resume` AND `action_listen`, or the next fallback rewinds past the resume.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

import httpx
from starlette.requests import HTTPConnection

from app.core.clients import AppClients, clients_of
from app.core.config import Settings
from app.core.servicekit import rasa_admin_jwt

log = logging.getLogger(__name__)

RESUME_EVENTS = [{"event": "resume"}, {"event": "action", "name": "action_listen"}]
# Channels whose output channel can push a message to the traveller.
PUSH_CHANNELS = frozenset({"socketio", "wechat"})


class RasaJWT(httpx.Auth):
    """`Authorization: Bearer <JWT>` on every call: Rasa runs with --jwt-secret, never ?token=
    (a query-string secret lands in access logs). A fresh short-lived admin token per request."""

    def __init__(self, secret: str, username: str = "ticketing-api") -> None:
        self._secret, self._username = secret, username

    def auth_flow(self, request: httpx.Request):
        request.headers["Authorization"] = f"Bearer {rasa_admin_jwt(self._secret, self._username)}"
        yield request


class RasaUnavailable(Exception):
    """Rasa did not answer, or answered with an error."""


class ConversationNotFound(Exception):
    pass


@dataclass(frozen=True)
class TranscriptLine:
    sender: str  # traveller | bot | agent | system
    text: str
    at: datetime
    agent: str | None = None
    buttons: tuple[str, ...] = ()


class RasaClient:
    def __init__(
        self,
        base_url: str,
        jwt_secret: str,
        timeout: float = 10.0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self._client = httpx.Client(
            base_url=base_url.rstrip("/"), timeout=timeout, auth=RasaJWT(jwt_secret), transport=transport
        )

    def close(self) -> None:
        self._client.close()

    def _call(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        try:
            response = self._client.request(method, path, **kwargs)
        except httpx.HTTPError as error:
            log.warning("Rasa unreachable: %s %s (%s)", method, path.split("/")[1], type(error).__name__)
            raise RasaUnavailable(f"Rasa unreachable: {type(error).__name__}") from error
        if response.status_code == 404:
            # Never the path: it holds the raw conversation id (a WeChat openid), and this
            # message reaches agents (502 detail) and logs.
            raise ConversationNotFound(f"Rasa has no such conversation ({method} {path.rsplit('/', 1)[-1]})")
        if response.status_code >= 400:
            raise RasaUnavailable(f"Rasa answered {response.status_code}")
        return response

    def tracker(self, conversation_id: str) -> dict:
        # include_events=ALL: the whole conversation, including what was said while paused.
        return self._call(
            "GET", f"/conversations/{_quote(conversation_id)}/tracker", params={"include_events": "ALL"}
        ).json()

    def append_events(
        self, conversation_id: str, events: list[dict], output_channel: str | None = None
    ) -> None:
        params: dict[str, str] = {}
        if output_channel:
            params = {"output_channel": output_channel, "execute_side_effects": "true"}
        self._call(
            "POST", f"/conversations/{_quote(conversation_id)}/tracker/events", params=params, json=events
        )

    def say(self, conversation_id: str, channel: str, text: str, agent: str | None = None) -> bool:
        """Append a bot utterance as the agent; True if the channel could push it to the traveller."""
        # socketio splits a text at blank lines; one agent message should stay one bubble.
        text = "\n".join(part for part in text.replace("\r\n", "\n").split("\n") if part.strip())
        event: dict[str, Any] = {"event": "bot", "text": text, "timestamp": datetime.now(UTC).timestamp()}
        if agent:
            event["metadata"] = {"handoff_agent": agent}
            # socketio emits `custom` as a second bot_uttered {"handoff_agent": ...} right after the
            # text, so the widget can label the message as coming from a person.
            event["data"] = {"custom": {"data": {"handoff_agent": agent}}}
        self.append_events(conversation_id, [event], output_channel=channel)
        return channel in PUSH_CHANNELS

    def resume(self, conversation_id: str) -> None:
        self.append_events(conversation_id, RESUME_EVENTS)


def _quote(conversation_id: str) -> str:
    return quote(conversation_id, safe="")


def transcript_lines(tracker: dict) -> list[TranscriptLine]:
    """The readable part of a tracker: traveller and bot/agent messages, pause and resume."""
    lines: list[TranscriptLine] = []
    for event in tracker.get("events") or []:
        kind = event.get("event")
        at = datetime.fromtimestamp(float(event.get("timestamp") or 0), UTC)
        if kind == "user":
            text = event.get("text") or ""
            if text.startswith("/"):  # a button payload: show the intent, not the raw payload
                text = f"[按钮] {text}"
            lines.append(TranscriptLine("traveller", text, at))
        elif kind == "bot":
            agent = (event.get("metadata") or {}).get("handoff_agent")
            data = event.get("data") or {}
            buttons = tuple(str(b.get("title", "")) for b in data.get("buttons") or [])
            lines.append(
                TranscriptLine("agent" if agent else "bot", event.get("text") or "", at, agent, buttons)
            )
        elif kind == "pause":
            lines.append(TranscriptLine("system", "机器人已暂停，等待人工客服", at))
        elif kind == "resume":
            lines.append(TranscriptLine("system", "已交还机器人", at))
    return lines


def rasa_client_from(settings: Settings) -> RasaClient:
    """A client for the Rasa of these settings (RASA_URL, RASA_JWT_SECRET, RASA_TIMEOUT_SECONDS)."""
    return RasaClient(settings.rasa_url, settings.rasa_jwt_secret, settings.rasa_timeout_seconds)


def app_rasa_client(clients: AppClients) -> RasaClient:
    """The app's Rasa client, built from its settings on first use (the lifespan closes it)."""
    return clients.get("rasa", rasa_client_from)


def get_rasa_client(request: HTTPConnection) -> RasaClient:
    """The request's app's Rasa client (no I/O at import); routes take it as a dependency that
    tests override."""
    return app_rasa_client(clients_of(request))
