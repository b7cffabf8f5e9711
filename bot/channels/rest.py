"""Rasa's REST channel (still named `rest`: `/webhooks/rest/webhook`) with a sender policy.

The stock channel takes any `sender`: whoever knows a conversation id talks as that
traveller. `senders` (credentials.yml, `REST_SENDERS`) decides:

- `open`: any sender, as stock Rasa (the embedded defaults: development and the test
  suite drive it, DESIGN §5). Refused unless `APP_ENV=development`.
- `signed`: the sender must be a token the server issued (`POST /webhooks/rest/session`
  answers `{"sender": token}`; `bot/channels/session_ids.py`); the conversation is the
  token's first part. Anything else is answered 403 and reaches no conversation.
- `off`: the webhook answers 404 (production with the widget and WeChat only).

Empty means `open` with `APP_ENV=development` and `signed` otherwise (production, or
APP_ENV unset, as for the WeChat channel). In every mode a genuine
token is understood, so a client written for production works against development.
"""

from __future__ import annotations

import logging
from typing import Any, Awaitable, Callable, Dict, Optional, Text

from rasa.core.channels.channel import InputChannel, UserMessage
from rasa.core.channels.rest import RestInput as StockRestInput
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from bot.channels.session_ids import DEFAULT_MAX_AGE, SessionSigner, is_production

logger = logging.getLogger(__name__)

PURPOSE = "rest"
MODES = ("open", "signed", "off")


class InsecureRestChannel(ValueError):
    """An open REST channel where production refuses it, or an unknown mode."""


def sender_mode(configured: Optional[Text]) -> Text:
    mode = (configured or "").strip().lower() or ("signed" if is_production() else "open")
    if mode not in MODES:
        raise InsecureRestChannel(f"REST_SENDERS must be one of {', '.join(MODES)}, not {configured!r}")
    if mode == "open" and is_production():
        raise InsecureRestChannel(
            "REST_SENDERS=open needs APP_ENV=development: use signed or off in production"
        )
    return mode


class RestInput(StockRestInput):
    @classmethod
    def name(cls) -> Text:
        return "rest"

    @classmethod
    def from_credentials(cls, credentials: Optional[Dict[Text, Any]]) -> InputChannel:
        credentials = credentials or {}
        return cls(
            senders=credentials.get("senders"),
            session_secret=credentials.get("session_secret"),
            session_max_age=float(credentials.get("session_max_age") or DEFAULT_MAX_AGE),
        )

    def __init__(
        self,
        senders: Optional[Text] = None,
        session_secret: Optional[Text] = None,
        session_max_age: float = DEFAULT_MAX_AGE,
    ) -> None:
        self.mode = sender_mode(senders)
        self.signer = SessionSigner(session_secret, PURPOSE, session_max_age)

    async def _extract_sender(self, req: Request) -> Optional[Text]:
        sender = (req.json or {}).get("sender")
        conversation = self.signer.verify(sender)
        if conversation:
            return conversation
        return sender if self.mode == "open" else None

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[None]]) -> Blueprint:
        webhook = super().blueprint(on_new_message)
        mode, signer = self.mode, self.signer
        channel = self

        # The stock routes stay; a middleware in front of them applies the sender policy.
        @webhook.middleware("request")
        async def sender_policy(request: Request) -> Optional[HTTPResponse]:
            if not request.path.endswith("/webhook") or request.method != "POST":
                return None
            if mode == "off":
                return response.json({"error": "the REST channel is switched off"}, status=404)
            try:
                body = request.json
            except Exception:  # Sanic raises on a body that is not JSON
                body = None
            if not isinstance(body, dict):
                return response.json({"error": "a JSON object with sender and message"}, status=400)
            if mode == "signed" and await channel._extract_sender(request) is None:
                logger.warning("REST message with an unsigned or expired sender refused")
                return response.json(
                    {"error": "sender must be a session token from POST /webhooks/rest/session"}, status=403
                )
            return None

        @webhook.route("/session", methods=["POST"])
        async def new_session(request: Request) -> HTTPResponse:
            if mode == "off":
                return response.json({"error": "the REST channel is switched off"}, status=404)
            return response.json({"sender": signer.issue()})

        return webhook
