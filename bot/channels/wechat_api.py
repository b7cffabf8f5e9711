"""WeChat's server API as the channel needs it: access token and customer-service messages.

The access token is shared by every worker. WeChat keeps only the newest token
valid (an older one dies a few minutes after a new one is fetched) and limits
fetches per day, so workers must not each fetch their own:

- `FileTokenStore` (default): one JSON file, written atomically; a `flock` on a
  lock file beside it makes the refresh exclusive across the processes of one
  host.
- `RedisTokenStore` (when the cache setting is a `redis://` URL): the token in
  Redis with a TTL, a `SET NX` lock key for the refresh; shared by replicas on
  several hosts.

Inside one process an `asyncio.Lock` lets only one coroutine refresh; the others
wait and then read the fresh token from the store.
"""

from __future__ import annotations

import asyncio
import fcntl
import inspect
import json
import logging
import os
import time
import uuid
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, AsyncIterator, Callable, Dict, List, Optional, Text

import aiohttp
from rasa.core.channels.channel import OutputChannel

from bot.channels.wechat_text import ButtonMemory, mask, render_buttons, split_text

logger = logging.getLogger(__name__)

# errcodes meaning "this access token is no longer valid": fetch a new one and retry once.
TOKEN_ERRORS = {40001, 40014, 42001}


async def maybe(value: Any) -> Any:
    """The value, awaited if it is awaitable: the button memory is in-process (plain methods)
    or shared in Redis (coroutines, wechat_shared.py)."""
    return await value if inspect.isawaitable(value) else value


class WeChatAPIError(Exception):
    def __init__(self, errcode: int, errmsg: Text) -> None:
        super().__init__(f"WeChat API error {errcode}: {errmsg}")
        self.errcode = errcode


class FileTokenStore:
    def __init__(self, path: Text) -> None:
        self.path = Path(path)

    async def get(self, key: Text) -> Optional[Dict[Text, Any]]:
        try:
            data = json.loads(self.path.read_text())
        except (FileNotFoundError, ValueError):
            return None
        entry = data.get(key)
        return entry if isinstance(entry, dict) else None

    async def set(self, key: Text, entry: Dict[Text, Any]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            data = json.loads(self.path.read_text())
        except (FileNotFoundError, ValueError):
            data = {}
        data[key] = entry
        tmp = self.path.with_name(f".{self.path.name}.{os.getpid()}.tmp")
        tmp.write_text(json.dumps(data))
        os.chmod(tmp, 0o600)  # it is a credential
        os.replace(tmp, self.path)

    @asynccontextmanager
    async def refresh_lock(self, key: Text, timeout: float = 15.0) -> AsyncIterator[None]:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(f"{self.path}.lock", os.O_CREAT | os.O_RDWR, 0o600)
        try:
            deadline = time.monotonic() + timeout
            while True:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    if time.monotonic() > deadline:
                        raise TimeoutError("another worker holds the WeChat token lock")
                    await asyncio.sleep(0.05)  # never block the event loop
            try:
                yield
            finally:
                fcntl.flock(fd, fcntl.LOCK_UN)
        finally:
            os.close(fd)


class RedisTokenStore:
    def __init__(
        self, url: Text, prefix: Text = "wechat:access_token:", clock: Callable[[], float] = time.time
    ) -> None:
        import redis.asyncio as redis

        self.redis = redis.from_url(url)
        self.prefix = prefix
        self.clock = clock  # the clock `expires_at` was computed with

    async def get(self, key: Text) -> Optional[Dict[Text, Any]]:
        raw = await self.redis.get(self.prefix + key)
        return json.loads(raw) if raw else None

    async def set(self, key: Text, entry: Dict[Text, Any]) -> None:
        ttl = max(1, int(entry["expires_at"] - self.clock()))
        await self.redis.set(self.prefix + key, json.dumps(entry), ex=ttl)

    @asynccontextmanager
    async def refresh_lock(self, key: Text, timeout: float = 15.0) -> AsyncIterator[None]:
        name, me = f"{self.prefix}{key}:lock", uuid.uuid4().hex
        deadline = time.monotonic() + timeout
        while not await self.redis.set(name, me, nx=True, ex=int(timeout) + 5):
            if time.monotonic() > deadline:
                raise TimeoutError("another worker holds the WeChat token lock")
            await asyncio.sleep(0.05)
        try:
            yield
        finally:
            if await self.redis.get(name) == me.encode():
                await self.redis.delete(name)


def token_store(setting: Optional[Text], clock: Callable[[], float] = time.time) -> Any:
    setting = setting or "var/wechat-token.json"
    if setting.startswith(("redis://", "rediss://", "unix://")):
        return RedisTokenStore(setting, clock=clock)
    return FileTokenStore(setting)


class WeChatAPI:
    """Async client for `/cgi-bin/token` and `/cgi-bin/message/custom/send`.

    `clock` (epoch seconds) decides when a cached token is due for refresh; tests
    pass a fake one to move time forward instead of sleeping.
    """

    def __init__(
        self,
        app_id: Text,
        app_secret: Text,
        api_base: Text = "https://api.weixin.qq.com",
        store: Any = None,
        refresh_margin: float = 300.0,
        timeout: float = 10.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.app_id = app_id
        self.app_secret = app_secret
        self.api_base = api_base.rstrip("/")
        self.store = store or FileTokenStore("var/wechat-token.json")
        self.refresh_margin = refresh_margin
        self.clock = clock
        self.timeout = aiohttp.ClientTimeout(total=timeout)
        # one cache entry per account and API host, so test servers never see real tokens
        self.cache_key = f"{self.api_base}|{app_id}"
        self._lock: Optional[asyncio.Lock] = None
        self._lock_loop: Optional[asyncio.AbstractEventLoop] = None

    def _process_lock(self) -> asyncio.Lock:
        loop = asyncio.get_running_loop()
        if self._lock is None or self._lock_loop is not loop:
            self._lock, self._lock_loop = asyncio.Lock(), loop
        return self._lock

    def _usable(self, entry: Optional[Dict[Text, Any]], rejected: Optional[Text]) -> bool:
        return bool(
            entry
            and entry.get("access_token")
            and entry["access_token"] != rejected
            and self.clock() < entry.get("refresh_at", 0)
        )

    async def access_token(self, rejected: Optional[Text] = None) -> Text:
        """A valid token; `rejected` is one WeChat just refused, so it is never returned."""
        entry = await self.store.get(self.cache_key)
        if self._usable(entry, rejected):
            return entry["access_token"]
        async with self._process_lock():
            async with self.store.refresh_lock(self.cache_key):
                # someone may have refreshed while we waited for the locks
                entry = await self.store.get(self.cache_key)
                if self._usable(entry, rejected):
                    return entry["access_token"]
                entry = await self._fetch_token()
                await self.store.set(self.cache_key, entry)
                return entry["access_token"]

    async def _fetch_token(self) -> Dict[Text, Any]:
        params = {"grant_type": "client_credential", "appid": self.app_id, "secret": self.app_secret}
        async with aiohttp.ClientSession(timeout=self.timeout) as session:
            async with session.get(f"{self.api_base}/cgi-bin/token", params=params) as response:
                data = await response.json(content_type=None)
        if "access_token" not in data:
            raise WeChatAPIError(int(data.get("errcode", -1)), str(data.get("errmsg", "")))
        expires_in = float(data.get("expires_in", 7200))
        now = self.clock()
        # refresh ahead of expiry; never wait past half the lifetime of a short-lived token
        margin = min(self.refresh_margin, expires_in / 2)
        logger.info("fetched a WeChat access token valid for %ss", int(expires_in))
        return {
            "access_token": data["access_token"],
            "expires_at": now + expires_in,
            "refresh_at": now + expires_in - margin,
        }

    async def send_text(self, openid: Text, text: Text) -> None:
        body = {"touser": openid, "msgtype": "text", "text": {"content": text}}
        await self._post("/cgi-bin/message/custom/send", body)

    async def _post(self, path: Text, body: Dict[Text, Any]) -> Dict[Text, Any]:
        token: Optional[Text] = None
        payload = json.dumps(body, ensure_ascii=False).encode("utf-8")
        for attempt in (1, 2):
            token = await self.access_token(rejected=token)
            async with aiohttp.ClientSession(timeout=self.timeout) as session:
                async with session.post(
                    f"{self.api_base}{path}",
                    params={"access_token": token},
                    data=payload,
                    headers={"Content-Type": "application/json; charset=utf-8"},
                ) as response:
                    data = await response.json(content_type=None)
            errcode = int(data.get("errcode", 0))
            if errcode == 0:
                return data
            if errcode in TOKEN_ERRORS and attempt == 1:
                logger.info("WeChat refused the access token (%s); fetching a new one", errcode)
                continue
            raise WeChatAPIError(errcode, str(data.get("errmsg", "")))
        raise AssertionError("unreachable")


class WeChatOutput(OutputChannel):
    """Sends bot messages to a WeChat user (recipient = OpenID) through the
    customer-service message API: late answers and agents' replies during a handoff.

    WeChat only accepts these within 48 hours of the traveller's last message.
    """

    def __init__(self, api: WeChatAPI, buttons: Optional[ButtonMemory] = None) -> None:
        self.api = api
        self.buttons = buttons if buttons is not None else ButtonMemory()

    @classmethod
    def name(cls) -> Text:
        return "wechat"

    async def deliver(self, recipient_id: Text, text: Text) -> None:
        """Sends one bot message, split at WeChat's size limit."""
        for piece in split_text(text):
            await self.api.send_text(recipient_id, piece)
        logger.debug("sent a customer-service message to %s", mask(recipient_id))

    async def send_text_message(self, recipient_id: Text, text: Text, **kwargs: Any) -> None:
        await self.deliver(recipient_id, text)

    async def send_text_with_buttons(
        self, recipient_id: Text, text: Text, buttons: List[Dict[Text, Any]], **kwargs: Any
    ) -> None:
        if buttons:
            await maybe(self.buttons.remember(recipient_id, buttons))
        await self.deliver(recipient_id, render_buttons(text, buttons))

    async def send_image_url(self, recipient_id: Text, image: Text, **kwargs: Any) -> None:
        # Images need an upload to WeChat's media API first; a link works everywhere.
        await self.deliver(recipient_id, f"图片：{image}")

    async def send_attachment(self, recipient_id: Text, attachment: Text, **kwargs: Any) -> None:
        await self.deliver(recipient_id, f"附件：{attachment}")

    async def send_custom_json(
        self, recipient_id: Text, json_message: Dict[Text, Any], **kwargs: Any
    ) -> None:
        # Custom payloads are meant for the web widget; only their text fits WeChat.
        text = json_message.get("text") if isinstance(json_message, dict) else None
        if text:
            await self.deliver(recipient_id, str(text))
