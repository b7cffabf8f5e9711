"""The WeChat channel's memory in Redis, shared by every Rasa replica (bot/channels/scale.py).

WeChat retries a message it got no answer to within 5 seconds, and behind a load balancer the
retry may reach another replica than the first delivery. With `CHANNEL_REDIS_URL` set:

- retry cache: the first delivery of a message key claims it (`SET NX`); a delivery that finds
  it claimed elsewhere waits for the outcome the first one stores (polling, within the reply
  budget), so a message is processed once whichever replicas its deliveries reach;
- replay guard: the (timestamp, nonce) binding and the seen-message keys, as the in-process
  `ReplayGuard` keeps them, with Redis expiry instead of a heap;
- button memory: the last buttons shown to a traveller, so that "2" means the second button
  whichever replica shows or reads it;
- access token: `RedisTokenStore` (wechat_api.py), under the same key prefix.

Every operation is bounded by a short socket timeout. Redis failing is logged and the channel
goes on with this process's memory (a retry on another replica may then be processed twice;
nothing is refused because Redis is down).
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from typing import Any, Callable, Dict, List, Optional, Sequence, Text

from bot.channels.wechat_text import parse_choice

logger = logging.getLogger(__name__)

PENDING = "pending"
SOCKET_TIMEOUT = 1.0  # seconds per Redis call: the 5-second rule leaves no room for more


def connect(url: Text) -> Any:
    import redis.asyncio as redis

    return redis.from_url(url, socket_timeout=SOCKET_TIMEOUT, socket_connect_timeout=SOCKET_TIMEOUT)


class SharedDedup:
    """Message keys claimed and answered across replicas."""

    def __init__(
        self,
        redis: Any,
        prefix: Text,
        ttl: float = 120.0,
        poll_seconds: float = 0.1,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.redis = redis
        self.prefix = f"{prefix}:wechat:"
        self.ttl = max(1, int(ttl))
        self.poll_seconds = poll_seconds
        self.clock = clock

    def _key(self, key: Text) -> Text:
        return f"{self.prefix}dedup:{key}"

    async def claim(self, key: Text) -> bool:
        """True when this delivery is the first anywhere (or Redis cannot say)."""
        try:
            return bool(await self.redis.set(self._key(key), PENDING, nx=True, ex=self.ttl))
        except Exception as error:
            logger.warning(
                "WeChat retry cache in Redis unavailable (%s): this replica decides", type(error).__name__
            )
            return True

    async def settle(self, key: Text, text: Optional[Text]) -> None:
        try:
            await self.redis.set(self._key(key), json.dumps({"text": text}), ex=self.ttl)
        except Exception as error:
            logger.warning("WeChat outcome not shared through Redis (%s)", type(error).__name__)

    async def outcome(self, key: Text, timeout: float) -> Optional[Dict[Text, Any]]:
        """The first delivery's outcome `{"text": ...}`, or None if not there within `timeout`."""
        deadline = self.clock() + timeout
        while self.clock() < deadline:
            try:
                raw = await self.redis.get(self._key(key))
            except Exception:
                return None
            if raw is None:
                return None  # expired or lost: answer `success`, the traveller's message was taken
            value = raw.decode("utf-8") if isinstance(raw, bytes) else raw
            if value != PENDING:
                return json.loads(value)
            await asyncio.sleep(self.poll_seconds)
        return None

    async def seen(self, key: Text) -> bool:
        try:
            return bool(await self.redis.exists(self._key(key)))
        except Exception:
            return False


class SharedReplayGuard:
    """`ReplayGuard` (wechat.py) in Redis: each key expires at its own time."""

    def __init__(self, redis: Any, prefix: Text, clock: Callable[[], float] = time.time) -> None:
        self.redis = redis
        self.prefix = f"{prefix}:wechat:replay:"
        self.clock = clock

    async def get(self, key: Text) -> Optional[Text]:
        try:
            raw = await self.redis.get(self.prefix + key)
        except Exception as error:
            logger.warning("WeChat replay guard in Redis unavailable (%s)", type(error).__name__)
            return None
        if raw is None:
            return None
        return raw.decode("utf-8") if isinstance(raw, bytes) else raw

    async def remember(self, key: Text, value: Text, expires_at: float) -> None:
        ttl = max(1, int(expires_at - self.clock()))
        try:
            # NX: the first binding of a key stays (a retry must not re-bind a nonce).
            await self.redis.set(self.prefix + key, value, ex=ttl, nx=True)
        except Exception as error:
            logger.warning("WeChat replay guard in Redis unavailable (%s)", type(error).__name__)


class SharedButtonMemory:
    """`ButtonMemory` (wechat_text.py) in Redis; its methods are coroutines."""

    def __init__(self, redis: Any, prefix: Text, ttl: float = 3600.0) -> None:
        self.redis = redis
        self.prefix = f"{prefix}:wechat:buttons:"
        self.ttl = max(1, int(ttl))

    async def remember(self, user: Text, buttons: Sequence[Dict[Text, Any]]) -> None:
        try:
            await self.redis.set(
                self.prefix + user, json.dumps(list(buttons), ensure_ascii=False), ex=self.ttl
            )
        except Exception as error:
            logger.warning("WeChat buttons not shared through Redis (%s)", type(error).__name__)

    async def forget(self, user: Text) -> None:
        try:
            await self.redis.delete(self.prefix + user)
        except Exception as error:
            logger.warning("WeChat buttons not shared through Redis (%s)", type(error).__name__)

    async def resolve(self, user: Text, text: Text) -> Optional[Text]:
        choice = parse_choice(text)
        if choice is None:
            return None
        try:
            raw = await self.redis.get(self.prefix + user)
        except Exception as error:
            logger.warning("WeChat buttons in Redis unavailable (%s)", type(error).__name__)
            return None
        buttons: List[Dict[Text, Any]] = json.loads(raw) if raw else []
        if not 1 <= choice <= len(buttons):
            return None
        button = buttons[choice - 1]
        return button.get("payload") or button.get("title")
