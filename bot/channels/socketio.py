"""The stock socket.io channel with rasa issue #13027 fixed.

With `session_persistence: true` (which rasa-webchat relies on) the stock
channel calls `sio.enter_room(...)` without awaiting it; in python-socketio 5.x
that is a coroutine, so the socket never joins the session room and the client
receives nothing. We replace that one handler and keep the name `socketio`.
"""

from __future__ import annotations

import logging
import uuid
from typing import Any, Awaitable, Callable, Dict, Optional, Text

from rasa.core.channels.channel import UserMessage
from rasa.core.channels.socketio import SocketIOInput as StockSocketIOInput
from sanic import Blueprint

logger = logging.getLogger(__name__)


class SocketIOInput(StockSocketIOInput):
    def blueprint(
        self, on_new_message: Callable[[UserMessage], Awaitable[Any]]
    ) -> Blueprint:
        webhook = super().blueprint(on_new_message)
        sio = self.sio

        async def session_request(sid: Text, data: Optional[Dict]) -> None:
            data = dict(data or {})
            if not data.get("session_id"):
                data["session_id"] = uuid.uuid4().hex
            if self.session_persistence:
                await sio.enter_room(sid, data["session_id"], namespace=self.namespace)
            await sio.emit("session_confirm", data["session_id"], room=sid, namespace=self.namespace)
            logger.debug("socket %s joined its session room", sid)

        # Registering again replaces the stock handler for this event.
        sio.on("session_request", session_request, namespace=self.namespace)
        return webhook
