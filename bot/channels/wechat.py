"""WeChat Official Account (公众号) input channel: `/webhooks/wechat/webhook`.

WeChat's rules shape this module:
- Every request is signed (token, timestamp, nonce); in safe mode (`encrypt_type=aes`)
  the body is AES-encrypted and signed again with `msg_signature`. Forged or stale
  (more than 5 minutes off) requests get 403 before anything is parsed.
- WeChat waits 5 seconds for the HTTP answer, then retries the same message up
  to three times. The bot gets `reply_budget` seconds (default 4.0): if it is done,
  its messages go back in the HTTP answer (a "passive reply"); otherwise we answer
  `success` at once and send the messages, when ready, through the
  customer-service message API (see `wechat_api.py`).
- Retries are processed once: the first delivery of a `MsgId` (events:
  FromUserName + CreateTime + event) starts the work and every delivery waits for
  its outcome, kept for `dedup_ttl` seconds in a bounded in-process cache.

Settings (credentials.yml, under `bot.channels.wechat.WeChatInput`): `app_id`,
`app_secret`, `token`, `aes_key` (EncodingAESKey; empty = plaintext mode only),
`api_base`, `reply_budget`, `token_cache` (file path or redis:// URL).
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import time
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any, Awaitable, Callable, Dict, List, Optional, Set, Text, Tuple

import xmltodict
from rasa.core.channels.channel import InputChannel, OutputChannel, UserMessage
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse
from wechatpy import parse_message
from wechatpy.crypto import PrpCrypto, WeChatCrypto
from wechatpy.exceptions import InvalidSignatureException
from wechatpy.replies import TextReply
from wechatpy.utils import WeChatSigner, check_signature

from bot.channels.wechat_api import WeChatAPI, WeChatAPIError, WeChatOutput, token_store
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


def _sign(*parts: Text) -> Text:
    signer = WeChatSigner()
    signer.add_data(*parts)
    return signer.signature


@dataclass(frozen=True)
class Outcome:
    """How a message was answered: `text` in the HTTP reply, or None for `success`."""

    text: Optional[Text] = None


NO_REPLY = Outcome(None)


class Deduplicator:
    """Bounded, time-limited map from a message key to the future of its outcome."""

    def __init__(self, ttl: float = 120.0, max_items: int = 10000) -> None:
        self.ttl = ttl
        self.max_items = max_items
        self._items: "OrderedDict[Text, Tuple[float, asyncio.Future]]" = OrderedDict()

    def claim(self, key: Text) -> Tuple[bool, "asyncio.Future[Outcome]"]:
        """(True, new future) for the first delivery; (False, its future) for a retry."""
        now = time.monotonic()
        while self._items:
            oldest_key, (created, _) = next(iter(self._items.items()))
            if now - created <= self.ttl and len(self._items) < self.max_items:
                break
            self._items.pop(oldest_key)
        if key in self._items:
            return False, self._items[key][1]
        future: "asyncio.Future[Outcome]" = asyncio.get_running_loop().create_future()
        self._items[key] = (now, future)
        return True, future

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
        return cls(
            token=str(credentials["token"]),
            app_id=str(credentials.get("app_id") or ""),
            app_secret=str(credentials.get("app_secret") or ""),
            aes_key=str(credentials.get("aes_key") or "") or None,
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
    ) -> None:
        self.token = token
        self.app_id = app_id
        self.crypto = WeChatCrypto(token, aes_key, app_id) if aes_key else None
        self.reply_budget = reply_budget
        self.max_clock_skew = max_clock_skew
        self.clock = clock
        self.api = WeChatAPI(app_id, app_secret, api_base, token_store(token_cache))
        self.buttons = ButtonMemory()
        self.dedup = Deduplicator(ttl=dedup_ttl)
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
                if _sign(self.token, timestamp, nonce, echostr) != msg_signature:
                    return response.text("bad signature", status=403)
                return response.text(self._decrypt_echo(echostr))
            if not self._signed(request.args.get("signature"), timestamp, nonce):
                return response.text("bad signature", status=403)
            return response.text(echostr)

        @webhook.route("/webhook", methods=["POST"])
        async def receive(request: Request) -> HTTPResponse:
            return await self._receive(request, on_new_message)

        return webhook

    async def _receive(
        self, request: Request, on_new_message: Callable[[UserMessage], Awaitable[Any]]
    ) -> HTTPResponse:
        args = request.args
        timestamp, nonce = args.get("timestamp", ""), args.get("nonce", "")
        safe_mode = args.get("encrypt_type", "raw").lower() == "aes"
        if not self._fresh(timestamp):
            logger.warning("rejected a WeChat request with a stale or missing timestamp")
            return response.text("stale timestamp", status=403)
        # In safe mode msg_signature covers the ciphertext; WeChat also sends the
        # plain signature, which must then be right as well.
        if (not safe_mode or args.get("signature")) and not self._signed(
            args.get("signature"), timestamp, nonce
        ):
            logger.warning("rejected a WeChat request with a bad signature")
            return response.text("bad signature", status=403)
        if safe_mode and not self.crypto:
            return response.text("safe mode is not configured", status=400)

        body = request.body or b""
        # No DTDs: xmltodict would expand entities (billion laughs).
        if b"<!DOCTYPE" in body.upper() or b"<!ENTITY" in body.upper():
            return response.text("malformed XML", status=400)
        try:
            if safe_mode:
                envelope = xmltodict.parse(body)["xml"]
                xml = self.crypto.decrypt_message(
                    {"Encrypt": envelope["Encrypt"]}, args.get("msg_signature"), timestamp, nonce
                )
            else:
                xml = body.decode("utf-8")
            message = parse_message(xml)
            if message is None or not message.source:
                raise ValueError("no sender")
            key = self._dedup_key(message)
        except InvalidSignatureException:
            logger.warning("rejected a WeChat request with a bad msg_signature")
            return response.text("bad signature", status=403)
        except Exception as error:  # expat, base64, padding, app id, missing fields
            logger.warning("rejected a malformed WeChat message: %s", type(error).__name__)
            return response.text("malformed XML", status=400)

        first, future = self.dedup.claim(key)
        if first:
            self._background(self._resolve(future, message, on_new_message))
        else:
            logger.info("WeChat retry from %s: answered from the first delivery", mask(message.source))
        try:
            # shield: WeChat hanging up must not cancel the work itself
            outcome = await asyncio.wait_for(asyncio.shield(future), timeout=self.reply_budget + 0.5)
        except asyncio.TimeoutError:
            outcome = NO_REPLY
        return self._reply(outcome, message, safe_mode, nonce)

    # -- protocol helpers ------------------------------------------------------

    def _fresh(self, timestamp: Text) -> bool:
        try:
            return abs(self.clock() - int(timestamp)) <= self.max_clock_skew
        except (TypeError, ValueError):
            return False

    def _signed(self, signature: Optional[Text], timestamp: Text, nonce: Text) -> bool:
        if not signature:
            return False
        try:
            check_signature(self.token, signature, timestamp, nonce)
            return True
        except InvalidSignatureException:
            return False

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
        self, future: asyncio.Future, message: Any, on_new_message: Callable[[UserMessage], Awaitable[Any]]
    ) -> None:
        try:
            outcome = await self._process(message, on_new_message)
        except Exception:
            logger.exception("WeChat message from %s failed", mask(message.source))
            outcome = Outcome(FAILURE_TEXT)
        if not future.done():
            future.set_result(outcome)

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

        chosen = self.buttons.resolve(sender, text)
        self.buttons.forget(sender)  # numbers only answer the buttons of the last turn
        logger.info(
            "WeChat %s message %s from %s%s",
            message.type, describe_text(text), mask(sender), " (numbered choice)" if chosen else "",
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
