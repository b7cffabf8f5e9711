"""The channels' state shared by every Rasa replica (`make run-scale`, docs/scale.md).

One Rasa process keeps its channels' state in memory; with several replicas behind a load
balancer that state must be shared, or it silently works for some travellers only:

- socket.io rooms: an emit (the bot's reply, an agent's message relayed by the ticketing
  API through any replica, a typing cue) reaches only the sockets held by the emitting
  process. With `CHANNEL_REDIS_URL` set, the channel's `AsyncServer` gets python-socketio's
  `AsyncRedisManager`: every emit is handled locally and published on a Redis channel, and
  every other replica delivers it to the sockets it holds (`share_rooms`, called by
  `bot/channels/socketio.py` right after Rasa builds the server).
- WeChat: the retry cache (a retry may reach another replica while the first delivery is
  being answered), the replay guard, the numbered-button memory and the access token
  (`bot/channels/wechat_shared.py`; the token store already spoke Redis).

`CHANNEL_REDIS_URL` empty or unset (the embedded `make run`): everything stays per process,
as before. Keys and the pub/sub channel start with `REDIS_KEY_PREFIX` so that one Redis can
serve several deployments.

If Redis goes away: socket.io still delivers what the process itself emits to its own
sockets (python-socketio handles an emit locally before publishing; the publish is logged
and dropped) and its listener reconnects with back-off; WeChat falls back to this
process's memory for the retry cache and buttons until Redis answers again (logged).
"""

from __future__ import annotations

import logging
import os
from typing import Any, Mapping, Optional, Text

logger = logging.getLogger(__name__)

URL_ENV = "CHANNEL_REDIS_URL"
PREFIX_ENV = "REDIS_KEY_PREFIX"
DEFAULT_PREFIX = "travel"


def redis_url(environ: Optional[Mapping[Text, Text]] = None) -> Optional[Text]:
    """The Redis URL of the channels' shared state, or None (per-process state)."""
    env = os.environ if environ is None else environ
    return (env.get(URL_ENV) or "").strip() or None


def key_prefix(environ: Optional[Mapping[Text, Text]] = None) -> Text:
    env = os.environ if environ is None else environ
    return (env.get(PREFIX_ENV) or "").strip() or DEFAULT_PREFIX


def socketio_channel(environ: Optional[Mapping[Text, Text]] = None) -> Text:
    """The Redis pub/sub channel the replicas' socket.io servers share."""
    return f"{key_prefix(environ)}:socketio"


def share_rooms(sio: Any, environ: Optional[Mapping[Text, Text]] = None) -> bool:
    """Give a freshly built socket.io `AsyncServer` the Redis manager; True if it did.

    python-socketio builds its client manager in the server's constructor and initialises it
    on the first connection (`manager_initialized`), so replacing it before the server
    accepts anything is the same as passing `client_manager=` to the constructor, which Rasa's
    `SocketIOInput.blueprint()` does not let us do.
    """
    url = redis_url(environ)
    if not url:
        return False
    import socketio

    manager = socketio.AsyncRedisManager(url, channel=socketio_channel(environ))
    manager.set_server(sio)
    sio.manager = manager
    sio.manager_initialized = False
    logger.info("socket.io rooms shared through Redis (channel %s)", manager.channel)
    return True
