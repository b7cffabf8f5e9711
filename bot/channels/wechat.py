"""WeChat Official Account (公众号) input channel: `/webhooks/wechat/webhook`.

WeChat's rules shape this module:
- Every request is signed (token, timestamp, nonce). That signature does not cover
  the body, so with an `aes_key` configured only safe mode (`encrypt_type=aes`) is
  accepted: the body is AES-encrypted and `msg_signature` covers the ciphertext.
  Plaintext is then refused (403): a captured signed URL must not carry any body.
- Checks run cheapest and unauthenticated-first: timestamp within
  `max_clock_skew` (5 minutes, both ways), query signature, body size
  (`max_body_bytes`, 64 KB, 413; read by streaming, so nothing larger is buffered),
  then in safe mode `msg_signature` over the ciphertext, found without an XML
  parser; only authenticated XML is parsed. Signatures are compared in constant time.
- Replays: a signed (timestamp, nonce) pair is bound to the one message it first
  carried, and a message key is remembered for twice the clock skew, so nothing
  signed can be processed twice while its timestamp is still accepted.
- WeChat waits 5 seconds for the HTTP answer, then retries the same message up
  to three times. The bot gets `reply_budget` seconds (default 4.0): if it is done,
  its messages go back in the HTTP answer (a "passive reply"); otherwise we answer
  `success` at once and send the messages, when ready, through the
  customer-service message API (see `wechat_api.py`).
- Retries are processed once: the first delivery of a `MsgId` (events:
  FromUserName + CreateTime + event) starts the work and every delivery waits for
  its outcome, kept for `dedup_ttl` seconds in a bounded in-process cache.
- Several Rasa replicas (`CHANNEL_REDIS_URL`, bot/channels/scale.py): the retry cache,
  the replay guard, the button memory and the access token are shared in Redis
  (`wechat_shared.py`), so a retry reaching another replica is still processed once.
- The development token, app secret and AES key (dev.env) are refused at start-up
  unless APP_ENV=development is set explicitly.

Settings (credentials.yml, under `bot.channels.wechat.WeChatInput`): `app_id`,
`app_secret`, `token`, `aes_key` (EncodingAESKey; empty = plaintext mode only),
`api_base`, `reply_budget`, `token_cache` (file path or redis:// URL).
"""

from __future__ import annotations

import asyncio
import heapq
import hmac
import inspect
import logging
import os
import re
import time
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any, Awaitable, Callable, Dict, List, Optional, Set, Text, Tuple

from rasa.core.channels.channel import InputChannel, OutputChannel, UserMessage
from rasa.shared.exceptions import RasaException
from sanic import Blueprint, response
from sanic.exceptions import PayloadTooLarge
from sanic.request import Request
from sanic.response import HTTPResponse
from wechatpy import parse_message
from wechatpy.crypto import PrpCrypto, WeChatCrypto
from wechatpy.replies import TextReply
from wechatpy.utils import WeChatSigner

from bot.channels import scale
from bot.channels.wechat_api import (
    RedisTokenStore,
    WeChatAPI,
    WeChatAPIError,
    WeChatOutput,
    maybe,
    token_store,
)
from bot.channels.wechat_shared import SharedButtonMemory, SharedDedup, SharedReplayGuard, connect
from bot.channels.wechat_text import (
    FAILURE_TEXT,
    IMAGE_TEXT,
    UNSUPPORTED_TEXT,
    VOICE_NOT_RECOGNISED_TEXT,
    WELCOME_TEXT,
    ButtonMemory,
    describe_text,
    mask,
    split_text,
)

logger = logging.getLogger(__name__)

DEFAULT_API_BASE = "https://api.weixin.qq.com"
SUBSCRIBE_EVENTS = {"subscribe", "subscribe_scan"}
# WeChat's messages are a few KB; nothing unauthenticated gets near Sanic's 100 MB.
MAX_BODY_BYTES = 64 * 1024

# dev.env's values: refused outside APP_ENV=development. The AES key is also the one
# of WeChat's published sample, i.e. public.
DEV_SECRET_PREFIX = "dev-"
DEV_AES_KEYS = frozenset({"abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"})

# The ciphertext of a safe-mode envelope, found without an XML parser so that nothing
# unauthenticated is parsed (base64 needs no escaping; CDATA is optional).
_ENCRYPT = re.compile(rb"<Encrypt>\s*(?:<!\[CDATA\[([A-Za-z0-9+/=]+)\]\]>|([A-Za-z0-9+/=]+))\s*</Encrypt>")


class InsecureWeChatConfiguration(RasaException):
    """The channel was about to start with development secrets outside development."""


def _sign(*parts: Text) -> Text:
    signer = WeChatSigner()
    signer.add_data(*parts)
    return signer.signature


def _same(expected: Text, given: Optional[Text]) -> bool:
    """Constant-time comparison: `!=` stops at the first wrong character, which tells a
    forger how much of a guessed signature is right."""
    if not given:
        return False
    return hmac.compare_digest(expected.encode("utf-8"), given.encode("utf-8"))


def _envelope_ciphertext(body: bytes) -> Optional[Text]:
    """The one `Encrypt` value of a safe-mode body, or None."""
    found = _ENCRYPT.findall(body)
    if len(found) != 1:
        return None
    cdata, bare = found[0]
    return (cdata or bare).decode("ascii")


def refuse_development_secrets(
    token: Text, app_secret: Text, aes_key: Optional[Text], app_env: Optional[Text]
) -> None:
    """Raises unless APP_ENV=development is set explicitly (unset is production)."""
    if (app_env or "").strip().lower() == "development":
        return
    weak = [
        name
        for name, is_dev in (
            ("WECHAT_TOKEN", token.startswith(DEV_SECRET_PREFIX)),
            ("WECHAT_APP_SECRET", app_secret.startswith(DEV_SECRET_PREFIX)),
            ("WECHAT_AES_KEY", (aes_key or "") in DEV_AES_KEYS),
        )
        if is_dev
    ]
    if weak:
        raise InsecureWeChatConfiguration(
            f"WeChat channel refuses to start: APP_ENV is {app_env or 'unset, i.e. production'} "
            f"but these settings keep their development values (dev.env): {', '.join(weak)}. "
            "Set the account's real values, or APP_ENV=development on a developer's machine."
        )


@dataclass(frozen=True)
class Outcome:
    """How a message was answered: `text` in the HTTP reply, or None for `success`."""

    text: Optional[Text] = None


NO_REPLY = Outcome(None)


class Deduplicator:
    """Bounded, time-limited map from a message key to the future of its outcome."""

    def __init__(
        self, ttl: float = 120.0, max_items: int = 10000, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.ttl = ttl
        self.max_items = max_items
        self.clock = clock
        self._items: "OrderedDict[Text, Tuple[float, asyncio.Future]]" = OrderedDict()

    def _prune(self) -> float:
        now = self.clock()
        while self._items:
            oldest_key, (created, _) = next(iter(self._items.items()))
            if now - created <= self.ttl and len(self._items) < self.max_items:
                break
            self._items.pop(oldest_key)
        return now

    def __contains__(self, key: Text) -> bool:
        self._prune()
        return key in self._items

    def claim(self, key: Text) -> Tuple[bool, "asyncio.Future[Outcome]"]:
        """(True, new future) for the first delivery; (False, its future) for a retry."""
        now = self._prune()
        if key in self._items:
            return False, self._items[key][1]
        future: "asyncio.Future[Outcome]" = asyncio.get_running_loop().create_future()
        self._items[key] = (now, future)
        return True, future

    def __len__(self) -> int:
        return len(self._items)


class ReplayGuard:
    """Keys seen recently, each kept until its own expiry (a min-heap prunes them).

    Bounded: past `max_items` the soonest-expiring keys go first, with a warning
    (that many signed messages within the window means the cap needs raising).
    """

    def __init__(self, clock: Callable[[], float], max_items: int = 200_000) -> None:
        self.clock = clock
        self.max_items = max_items
        self._items: Dict[Text, Tuple[float, Text]] = {}
        self._heap: List[Tuple[float, Text]] = []

    def _prune(self) -> None:
        now, full = self.clock(), False
        while self._heap and (self._heap[0][0] <= now or len(self._items) > self.max_items):
            full = full or self._heap[0][0] > now
            expiry, key = heapq.heappop(self._heap)
            item = self._items.get(key)
            if item is not None and item[0] == expiry:  # else remembered again since
                del self._items[key]
        if full:
            logger.warning("WeChat replay cache full (%d keys): oldest dropped early", self.max_items)

    def get(self, key: Text) -> Optional[Text]:
        self._prune()
        item = self._items.get(key)
        return item[1] if item is not None else None

    def remember(self, key: Text, value: Text, expires_at: float) -> None:
        current = self._items.get(key)
        if current is not None and current[0] >= expires_at:
            return
        self._items[key] = (expires_at, value)
        heapq.heappush(self._heap, (expires_at, key))
        self._prune()

    def __len__(self) -> int:
        return len(self._items)


class TurnOutput(WeChatOutput):
    """Collects the bot's messages for the passive reply; after `go_live` it sends
    the collected ones and everything that follows through the message API."""

    def __init__(self, api: WeChatAPI, buttons: ButtonMemory) -> None:
        super().__init__(api, buttons)
        self.collected: List[Text] = []
        self.live = False
        self._lock = asyncio.Lock()

    async def deliver(self, recipient_id: Text, text: Text) -> None:
        async with self._lock:
            if not self.live:
                self.collected.append(text)
                return
            await self._send(recipient_id, text)

    async def go_live(self, recipient_id: Text) -> None:
        async with self._lock:
            self.live = True
            pending, self.collected = self.collected, []
            for text in pending:
                await self._send(recipient_id, text)

    async def _send(self, recipient_id: Text, text: Text) -> None:
        try:
            await WeChatOutput.deliver(self, recipient_id, text)
        except Exception as error:
            # Lost for this traveller (the tracker still has it for agents). Only the
            # error's type or errcode is logged: aiohttp's messages hold the token URL.
            detail = f"errcode {error.errcode}" if isinstance(error, WeChatAPIError) else type(error).__name__
            logger.error("customer-service message to %s failed: %s", mask(recipient_id), detail)


class WeChatInput(InputChannel):
    @classmethod
    def name(cls) -> Text:
        return "wechat"

    @classmethod
    def from_credentials(cls, credentials: Optional[Dict[Text, Any]]) -> "WeChatInput":
        if not credentials or not credentials.get("token"):
            cls.raise_missing_credentials_exception()
        token = str(credentials["token"])
        app_secret = str(credentials.get("app_secret") or "")
        aes_key = str(credentials.get("aes_key") or "") or None
        # Rasa builds its channels from credentials.yml at start-up: refuse there.
        refuse_development_secrets(token, app_secret, aes_key, os.environ.get("APP_ENV"))
        return cls(
            token=token,
            app_id=str(credentials.get("app_id") or ""),
            app_secret=app_secret,
            aes_key=aes_key,
            api_base=str(credentials.get("api_base") or DEFAULT_API_BASE),
            reply_budget=float(credentials.get("reply_budget") or 4.0),
            token_cache=credentials.get("token_cache"),
        )

    def __init__(
        self,
        token: Text,
        app_id: Text = "",
        app_secret: Text = "",
        aes_key: Optional[Text] = None,
        api_base: Text = DEFAULT_API_BASE,
        reply_budget: float = 4.0,
        token_cache: Optional[Text] = None,
        max_clock_skew: float = 300.0,
        dedup_ttl: float = 120.0,
        clock: Callable[[], float] = time.time,
        max_body_bytes: int = MAX_BODY_BYTES,
    ) -> None:
        self.token = token
        self.app_id = app_id
        self.crypto = WeChatCrypto(token, aes_key, app_id) if aes_key else None
        self.reply_budget = reply_budget
        self.max_clock_skew = max_clock_skew
        self.max_body_bytes = max_body_bytes
        # One clock (epoch seconds) for timestamps, caches and the access token, so
        # that what is "fresh" and what is "remembered" can never disagree.
        self.clock = clock
        store = token_store(token_cache, clock)
        self.buttons: Any = ButtonMemory()
        self.dedup = Deduplicator(ttl=dedup_ttl, clock=clock)
        self.replays = ReplayGuard(clock)
        # Several replicas: the same memories in Redis (bot/channels/scale.py); the in-process
        # ones above still join the deliveries that reach this replica.
        self.shared_dedup: Optional[SharedDedup] = None
        self.shared_replays: Optional[SharedReplayGuard] = None
        shared_url = scale.redis_url()
        if shared_url:
            prefix = scale.key_prefix()
            redis = connect(shared_url)
            if not isinstance(store, RedisTokenStore):
                store = RedisTokenStore(shared_url, prefix=f"{prefix}:wechat:access_token:", clock=clock)
            self.buttons = SharedButtonMemory(redis, prefix)
            self.shared_dedup = SharedDedup(redis, prefix, ttl=dedup_ttl)
            self.shared_replays = SharedReplayGuard(redis, prefix, clock)
        self.api = WeChatAPI(app_id, app_secret, api_base, store, clock=clock)
        self._tasks: Set[asyncio.Task] = set()

    def get_output_channel(self) -> Optional[OutputChannel]:
        # Used by Rasa's `output_channel=wechat` (agent replies during a handoff).
        return WeChatOutput(self.api, self.buttons)

    # -- HTTP ---------------------------------------------------------------

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        webhook = Blueprint(f"wechat_webhook_{id(self)}", inspect.getmodule(self).__name__)

        @webhook.route("/", methods=["GET"])
        async def health(_: Request) -> HTTPResponse:
            return response.json({"status": "ok"})

        @webhook.route("/webhook", methods=["GET"])
        async def verify(request: Request) -> HTTPResponse:
            timestamp, nonce = request.args.get("timestamp", ""), request.args.get("nonce", "")
            echostr = request.args.get("echostr", "")
            if not self._fresh(timestamp):
                return response.text("stale timestamp", status=403)
            msg_signature = request.args.get("msg_signature")
            if msg_signature and self.crypto:
                if not _same(_sign(self.token, timestamp, nonce, echostr), msg_signature):
                    return response.text("bad signature", status=403)
                return response.text(self._decrypt_echo(echostr))
            if not self._signed(request.args.get("signature"), timestamp, nonce):
                return response.text("bad signature", status=403)
            return response.text(echostr)

        # stream=True: Sanic does not buffer the body; `_read_body` reads it with our cap
        @webhook.route("/webhook", methods=["POST"], stream=True)
        async def receive(request: Request) -> HTTPResponse:
            answer = await self._receive(request, on_new_message)
            stream = getattr(request, "stream", None)
            if stream is not None and stream.request_body:
                # refused before reading it all: say "Connection: close", we hang up
                stream.keep_alive = False
            return answer

        return webhook

    async def _receive(
        self, request: Request, on_new_message: Callable[[UserMessage], Awaitable[Any]]
    ) -> HTTPResponse:
        stream = getattr(request, "stream", None)
        if stream is not None:
            # Sanic lifts its limit for streaming routes and drains an unread body up to
            # 100 MB after an early answer: with ours it hangs up at once instead.
            stream.request_max_size = self.max_body_bytes
        args = request.args
        timestamp, nonce = args.get("timestamp", ""), args.get("nonce", "")
        safe_mode = args.get("encrypt_type", "raw").lower() == "aes"
        # Everything up to the body's size is decided from the query alone.
        if not self._fresh(timestamp):
            logger.warning("rejected a WeChat request with a stale or missing timestamp")
            return response.text("stale timestamp", status=403)
        if self.crypto and not safe_mode:
            # The plain signature does not cover the body: with a key, only safe mode.
            logger.warning("rejected a plaintext WeChat message: the account is in safe mode")
            refusal = "plaintext messages are refused: use safe mode (encrypt_type=aes)"
            return response.text(refusal, status=403)
        if safe_mode and not self.crypto:
            return response.text("safe mode is not configured", status=400)
        # In safe mode msg_signature covers the ciphertext; WeChat also sends the
        # plain signature, which must then be right as well.
        if (not safe_mode or args.get("signature")) and not self._signed(
            args.get("signature"), timestamp, nonce
        ):
            logger.warning("rejected a WeChat request with a bad signature")
            return response.text("bad signature", status=403)

        body = await self._read_body(request)
        if body is None:
            logger.warning("rejected a WeChat request larger than %d bytes", self.max_body_bytes)
            return response.text("request body too large", status=413)

        if safe_mode:
            encrypt = _envelope_ciphertext(body)
            if encrypt is None:
                return response.text("malformed XML", status=400)
            if not _same(_sign(self.token, timestamp, nonce, encrypt), args.get("msg_signature")):
                logger.warning("rejected a WeChat request with a bad msg_signature")
                return response.text("bad signature", status=403)
        try:
            if safe_mode:
                xml = PrpCrypto(self.crypto.key).decrypt(encrypt, self.app_id)
            else:
                xml = body.decode("utf-8")
            # No DTDs: xmltodict would expand entities (billion laughs).
            upper = xml.upper()
            if "<!DOCTYPE" in upper or "<!ENTITY" in upper:
                raise ValueError("DTD")
            message = parse_message(xml)
            if message is None or not message.source:
                raise ValueError("no sender")
            key = self._dedup_key(message)
        except Exception as error:  # expat, base64, padding, app id, missing fields
            logger.warning("rejected a malformed WeChat message: %s", type(error).__name__)
            return response.text("malformed XML", status=400)

        if self.shared_replays is not None:
            refusal = await self._replayed_shared(key, timestamp, nonce)
        else:
            refusal = self._replayed(key, timestamp, nonce)
        if refusal:
            logger.warning("rejected a replayed WeChat request from %s: %s", mask(message.source), refusal)
            return response.text("replayed request", status=403)
        first, future = self.dedup.claim(key)
        if first and self.shared_dedup is not None and not await self.shared_dedup.claim(key):
            # The first delivery reached another replica: wait for the outcome it shares.
            logger.info("WeChat retry from %s: answered by another replica", mask(message.source))
            self._background(self._await_shared(future, key))
        elif first:
            self._background(self._resolve(future, message, on_new_message, key))
        else:
            logger.info("WeChat retry from %s: answered from the first delivery", mask(message.source))
        try:
            # shield: WeChat hanging up must not cancel the work itself
            outcome = await asyncio.wait_for(asyncio.shield(future), timeout=self.reply_budget + 0.5)
        except asyncio.TimeoutError:
            outcome = NO_REPLY
        return self._reply(outcome, message, safe_mode, nonce)

    async def _read_body(self, request: Request) -> Optional[bytes]:
        """The body, or None when it is larger than `max_body_bytes` (the rest is never read)."""
        declared = request.headers.get("content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_body_bytes:
            return None
        stream = getattr(request, "stream", None)
        if stream is None or not getattr(stream, "request_body", None):
            body = request.body or b""  # already read (a non-streaming mount) or empty
            return body if len(body) <= self.max_body_bytes else None
        # chunked bodies have no length to check up front: the cap stops the reading
        chunks, size = [], 0
        try:
            while True:
                chunk = await stream.read()
                if chunk is None:
                    break
                size += len(chunk)
                if size > self.max_body_bytes:
                    return None
                chunks.append(chunk)
        except PayloadTooLarge:
            return None
        return b"".join(chunks)

    def _replayed(self, key: Text, timestamp: Text, nonce: Text) -> Optional[Text]:
        """Why this signed request is a replay, or None (and then it is remembered).

        WeChat's retries carry the same message (a retry may reuse its URL); anything
        else under a used (timestamp, nonce), or a message seen before whose retry
        window has passed, is a replay. Both are kept while a timestamp that could
        carry them is still fresh.
        """
        nonce_key = f"nonce:{timestamp}:{nonce}"
        bound = self.replays.get(nonce_key)
        if bound is not None and bound != key:
            return "signed URL reused for another message"
        if key not in self.dedup and self.replays.get(f"msg:{key}") is not None:
            return "message seen before, after its retry window"
        now = self.clock()
        self.replays.remember(nonce_key, key, max(now, int(timestamp)) + self.max_clock_skew)
        self.replays.remember(f"msg:{key}", "", now + 2 * self.max_clock_skew)
        return None

    async def _replayed_shared(self, key: Text, timestamp: Text, nonce: Text) -> Optional[Text]:
        """`_replayed` with the guard and the retry cache in Redis (several replicas)."""
        nonce_key = f"nonce:{timestamp}:{nonce}"
        bound = await self.shared_replays.get(nonce_key)
        if bound is not None and bound != key:
            return "signed URL reused for another message"
        if not await self.shared_dedup.seen(key) and await self.shared_replays.get(f"msg:{key}") is not None:
            return "message seen before, after its retry window"
        now = self.clock()
        await self.shared_replays.remember(nonce_key, key, max(now, int(timestamp)) + self.max_clock_skew)
        await self.shared_replays.remember(f"msg:{key}", "", now + 2 * self.max_clock_skew)
        return None

    async def _await_shared(self, future: asyncio.Future, key: Text) -> None:
        shared = await self.shared_dedup.outcome(key, timeout=self.reply_budget + 0.5)
        if not future.done():
            future.set_result(Outcome(shared.get("text")) if shared else NO_REPLY)

    # -- protocol helpers ------------------------------------------------------

    def _fresh(self, timestamp: Text) -> bool:
        try:
            return abs(self.clock() - int(timestamp)) <= self.max_clock_skew
        except (TypeError, ValueError):
            return False

    def _signed(self, signature: Optional[Text], timestamp: Text, nonce: Text) -> bool:
        # wechatpy's check_signature compares with `!=`: same digest, constant-time check
        return _same(_sign(self.token, timestamp, nonce), signature)

    def _decrypt_echo(self, echostr: Text) -> Text:
        # WeChat Work style verification sends an encrypted echostr; Official
        # Accounts send it in clear. Answer with whichever we can read.
        try:
            return PrpCrypto(self.crypto.key).decrypt(echostr, self.app_id)
        except Exception:
            return echostr

    @staticmethod
    def _dedup_key(message: Any) -> Text:
        if message.type != "event" and message.id:
            return f"msg:{message.id}"
        return f"evt:{message.source}:{message.time}:{getattr(message, 'event', message.type)}"

    def _reply(self, outcome: Outcome, message: Any, safe_mode: bool, nonce: Text) -> HTTPResponse:
        if outcome.text is None:
            return response.text("success")
        now = int(self.clock())
        # wechatpy wraps the text in CDATA unescaped: split any "]]>" across two sections
        content = outcome.text.replace("]]>", "]]]]><![CDATA[>")
        xml = TextReply(source=message.target, target=message.source, content=content, time=now).render()
        if safe_mode:
            xml = self.crypto.encrypt_message(xml, nonce, str(now))
        return response.text(xml, content_type="application/xml; charset=utf-8")

    def _background(self, coroutine: Awaitable[Any]) -> None:
        task = asyncio.ensure_future(coroutine)
        self._tasks.add(task)  # keep a reference until it is done
        task.add_done_callback(self._tasks.discard)

    # -- message handling ------------------------------------------------------

    async def _resolve(
        self,
        future: asyncio.Future,
        message: Any,
        on_new_message: Callable[[UserMessage], Awaitable[Any]],
        key: Optional[Text] = None,
    ) -> None:
        try:
            outcome = await self._process(message, on_new_message)
        except Exception:
            logger.exception("WeChat message from %s failed", mask(message.source))
            outcome = Outcome(FAILURE_TEXT)
        if not future.done():
            future.set_result(outcome)
        if key is not None and self.shared_dedup is not None:
            await self.shared_dedup.settle(key, outcome.text)

    async def _process(
        self, message: Any, on_new_message: Callable[[UserMessage], Awaitable[Any]]
    ) -> Outcome:
        sender = message.source
        metadata: Optional[Dict[Text, Any]] = None
        if message.type == "event":
            if message.event in SUBSCRIBE_EVENTS:
                return Outcome(WELCOME_TEXT)
            return NO_REPLY  # unsubscribe, menu views, location reports: nothing to say
        if message.type == "text":
            text = (message.content or "").strip()
        elif message.type == "voice":
            text = (message.recognition or "").strip()
            if not text:
                return Outcome(VOICE_NOT_RECOGNISED_TEXT)
        elif message.type == "image":
            # Evidence for a complaint: Rasa gets a placeholder text and the media in metadata.
            text = IMAGE_TEXT
            metadata = {
                "wechat_media": {
                    "type": "image",
                    "media_id": message.media_id,
                    "pic_url": message.image,
                    "msg_id": str(message.id),
                }
            }
        else:
            return Outcome(UNSUPPORTED_TEXT)
        if not text:
            return NO_REPLY

        chosen = await maybe(self.buttons.resolve(sender, text))
        await maybe(self.buttons.forget(sender))  # numbers only answer the buttons of the last turn
        logger.info(
            "WeChat %s message %s from %s%s",
            message.type,
            describe_text(text),
            mask(sender),
            " (numbered choice)" if chosen else "",
        )
        output = TurnOutput(self.api, self.buttons)
        user_message = UserMessage(
            chosen or text, output, sender, input_channel=self.name(), metadata=metadata
        )
        bot = asyncio.ensure_future(on_new_message(user_message))
        done, _ = await asyncio.wait({bot}, timeout=self.reply_budget)
        if bot not in done:
            logger.info("bot slower than %.1fs for %s: answering later", self.reply_budget, mask(sender))
            self._background(self._finish_late(bot, output, sender))
            return NO_REPLY
        if bot.exception() is not None:
            error = type(bot.exception()).__name__
            logger.error("bot failed on a WeChat message from %s: %s", mask(sender), error)
            return Outcome(FAILURE_TEXT)
        pieces = split_text("\n\n".join(output.collected))
        if len(pieces) <= 1:
            return Outcome(pieces[0]) if pieces else NO_REPLY
        # A passive reply holds one message: send them all, in order, by the API.
        self._background(output.go_live(sender))
        return NO_REPLY

    async def _finish_late(self, bot: "asyncio.Future[Any]", output: TurnOutput, sender: Text) -> None:
        await output.go_live(sender)
        try:
            await bot
        except Exception:
            logger.exception("bot failed on a WeChat message from %s", mask(sender))
            await output.deliver(sender, FAILURE_TEXT)
