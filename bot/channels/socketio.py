"""The stock socket.io channel with rasa issue #13027 fixed and conversations bound to sockets.

#13027: with `session_persistence: true` (which rasa-webchat relies on) the stock channel
calls `sio.enter_room(...)` without awaiting it; in python-socketio 5.x that is a
coroutine, so the socket never joins the session room and the client receives nothing.
We await it (RASA-NOTES, "Socket.io channel bug") and keep the name `socketio`.

Conversation identity: the stock channel joins whatever room the client names and takes
the sender from each message's `session_id`, so whoever knew a session id spoke as that
traveller and received the agent's replies. Here the server issues the id
(`bot/channels/session_ids.py`):

- `session_request` with no token, or a forged, foreign or expired one, starts a new
  conversation; a genuine token resumes its conversation (a reloaded or reconnected tab)
  and is renewed. `session_confirm` carries the token; only its first part, the
  conversation id, is Rasa's sender id and the socket.io room.
- The socket is bound to that conversation: `user_uttered` is spoken in the bound
  conversation only; a message naming another session, or sent before
  `session_request`, is refused (the socket gets `session_refused`).
"""

from __future__ import annotations

import json
import logging
from typing import Any, Awaitable, Callable, Dict, Optional, Text

from rasa.core.channels.channel import InputChannel, UserMessage
from rasa.core.channels.socketio import SocketIOInput as StockSocketIOInput
from rasa.core.channels.socketio import SocketIOOutput
from sanic import Blueprint

from bot.channels.session_ids import DEFAULT_MAX_AGE, SessionSigner

logger = logging.getLogger(__name__)

PURPOSE = "socketio"
REFUSED_EVT = "session_refused"


class SocketIOInput(StockSocketIOInput):
    @classmethod
    def from_credentials(cls, credentials: Optional[Dict[Text, Any]]) -> InputChannel:
        credentials = credentials or {}
        channel = super().from_credentials(credentials)  # builds cls(...) with the stock options
        channel.signer = SessionSigner(
            credentials.get("session_secret"), PURPOSE,
            float(credentials.get("session_max_age") or DEFAULT_MAX_AGE),
        )
        return channel

    def __init__(self, *args: Any, session_secret: Optional[Text] = None,
                 session_max_age: float = DEFAULT_MAX_AGE, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.signer = SessionSigner(session_secret, PURPOSE, session_max_age)

    def blueprint(
        self, on_new_message: Callable[[UserMessage], Awaitable[Any]]
    ) -> Blueprint:
        webhook = super().blueprint(on_new_message)
        sio = self.sio
        namespace = self.namespace

        async def session_request(sid: Text, data: Optional[Dict]) -> None:
            presented = data.get("session_id") if isinstance(data, dict) else None
            conversation = self.signer.verify(presented) if self.session_persistence else None
            if presented and conversation is None:
                logger.info("socket %s presented an invalid or expired session id: new conversation", sid)
            token = self.signer.issue(conversation)
            conversation = token.split(".", 1)[0]
            bound = await sio.get_session(sid, namespace=namespace)
            previous = bound.get("conversation")
            if previous and previous != conversation:
                await sio.leave_room(sid, previous, namespace=namespace)
            await sio.save_session(sid, {"conversation": conversation}, namespace=namespace)
            # Awaited: the stock handler's missing await is rasa#13027.
            await sio.enter_room(sid, conversation, namespace=namespace)
            await sio.emit("session_confirm", token, room=sid, namespace=namespace)
            logger.debug("socket %s bound to its conversation", sid)

        async def handle_message(sid: Text, data: Any) -> None:
            data = data if isinstance(data, dict) else {}
            conversation = (await sio.get_session(sid, namespace=namespace)).get("conversation")
            claimed = data.get("session_id")
            if not conversation or (
                claimed not in (None, "", conversation) and self.signer.verify(claimed) != conversation
            ):
                logger.warning("socket %s: message for a session it does not hold refused", sid)
                await sio.emit(REFUSED_EVT, {"reason": "session_request first" if not conversation
                                             else "not this socket's session"}, room=sid, namespace=namespace)
                return
            metadata = data.get(self.metadata_key) or {}
            if isinstance(metadata, str):
                try:
                    metadata = json.loads(metadata)
                except ValueError:
                    metadata = {}
            if not isinstance(metadata, dict):
                metadata = {}
            text = data.get("message", "")
            message = UserMessage(
                text if isinstance(text, str) else "",
                SocketIOOutput(sio, self.bot_message_evt),
                conversation,
                input_channel=self.name(),
                metadata=metadata,
            )
            await on_new_message(message)

        # Registering again replaces the stock handlers for these events.
        sio.on("session_request", session_request, namespace=namespace)
        sio.on(self.user_message_evt, handle_message, namespace=namespace)
        return webhook
