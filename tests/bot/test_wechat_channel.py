"""The WeChat channel over real HTTP on loopback.

The channel's blueprint is served by a real Sanic server; messages are built,
signed and encrypted with wechatpy as WeChat would send them; the bot is a small
scripted callback speaking through the channel's output channel as Rasa does;
late answers go to the fake WeChat API server in tests/fakes.
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
import uuid
from dataclasses import dataclass, field
from typing import Any, Awaitable, Callable, Dict, List, Optional

import httpx
import pytest
import xmltodict
from rasa.core.channels.channel import UserMessage
from sanic import Sanic
from wechatpy.crypto import WeChatCrypto
from wechatpy.exceptions import InvalidSignatureException
from wechatpy.utils import WeChatSigner, check_signature

from bot.channels.wechat import WeChatInput
from bot.channels.wechat_api import FileTokenStore, RedisTokenStore, WeChatAPI
from bot.channels.wechat_text import ButtonMemory, parse_choice, render_buttons, split_text, utf8_len
from tests.fakes.wechat_api import FakeWeChatAPI
from tests.services import free_port

TOKEN = "test-wechat-token"
AES_KEY = "kWxPEV2UEDyxWpmPdKC3F4dgPDmOvfKX1HGnEUDS1aR"
APP_ID = "wx-test-app"
ACCOUNT = "gh_travel_account"

# Several Sanic apps in one process: test mode keeps Sanic from re-patching its
# request handler for each of them (it fails the second time otherwise).
Sanic.test_mode = True


# -- helpers -------------------------------------------------------------------


def sign(*parts: str) -> str:
    signer = WeChatSigner()
    signer.add_data(*parts)
    return signer.signature


def text_xml(user: str, content: str, msg_id: int, created: Optional[int] = None) -> str:
    return (
        f"<xml><ToUserName><![CDATA[{ACCOUNT}]]></ToUserName>"
        f"<FromUserName><![CDATA[{user}]]></FromUserName>"
        f"<CreateTime>{created or int(time.time())}</CreateTime>"
        f"<MsgType><![CDATA[text]]></MsgType><Content><![CDATA[{content}]]></Content>"
        f"<MsgId>{msg_id}</MsgId></xml>"
    )


def other_xml(user: str, msg_type: str, fields: str, msg_id: Optional[int] = None) -> str:
    msg_id_xml = f"<MsgId>{msg_id}</MsgId>" if msg_id else ""
    return (
        f"<xml><ToUserName><![CDATA[{ACCOUNT}]]></ToUserName>"
        f"<FromUserName><![CDATA[{user}]]></FromUserName><CreateTime>{int(time.time())}</CreateTime>"
        f"<MsgType><![CDATA[{msg_type}]]></MsgType>{fields}{msg_id_xml}</xml>"
    )


def safe_body(encrypt: str, account: str = ACCOUNT) -> bytes:
    """The body WeChat posts in safe mode: the account and the ciphertext."""
    return (
        f"<xml><ToUserName><![CDATA[{account}]]></ToUserName><Encrypt><![CDATA[{encrypt}]]></Encrypt></xml>"
    ).encode()


def decrypt_reply(crypto: WeChatCrypto, text: str) -> Dict[str, str]:
    envelope = xmltodict.parse(text)["xml"]
    plain = crypto.decrypt_message(text, envelope["MsgSignature"], envelope["TimeStamp"], envelope["Nonce"])
    return xmltodict.parse(plain)["xml"]


def new_user() -> str:
    return "o" + uuid.uuid4().hex[:27]  # OpenIDs are 28 characters


def new_msg_id() -> int:
    return uuid.uuid4().int % 10**19


class FakeClock:
    """Epoch seconds that move only when a test says so."""

    def __init__(self, start: Optional[float] = None) -> None:
        self.now = float(time.time() if start is None else start)

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@dataclass
class ScriptedBot:
    """Stands in for Rasa's agent: answers by text through the message's output channel."""

    replies: Dict[str, List[Dict[str, Any]]] = field(default_factory=dict)
    delay: float = 0.0
    received: List[UserMessage] = field(default_factory=list)
    handler: Optional[Callable[[UserMessage], Awaitable[None]]] = None

    async def __call__(self, message: UserMessage) -> None:
        self.received.append(message)
        if self.handler:
            return await self.handler(message)
        await asyncio.sleep(self.delay)
        for reply in self.replies.get(message.text, [{"text": f"收到：{message.text}"}]):
            await message.output_channel.send_response(message.sender_id, dict(reply))

    def texts(self) -> List[str]:
        return [m.text for m in self.received]


class Harness:
    """A Sanic server with the channel mounted as Rasa mounts it, and a WeChat-like client."""

    def __init__(self, channel: WeChatInput, bot: ScriptedBot) -> None:
        self.channel, self.bot = channel, bot
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}/webhooks/wechat/webhook"
        self.http = httpx.AsyncClient(timeout=15)

    async def start(self) -> "Harness":
        app = Sanic(f"wechat_test_{uuid.uuid4().hex}", configure_logging=False)
        app.blueprint(self.channel.blueprint(self.bot), url_prefix="/webhooks/wechat")
        self.server = await app.create_server(
            host="127.0.0.1", port=self.port, return_asyncio_server=True, access_log=False
        )
        await self.server.startup()
        return self

    async def stop(self) -> None:
        await self.http.aclose()
        self.server.close()
        await self.server.wait_closed()

    def signed_params(self, timestamp: Optional[int] = None, token: str = TOKEN) -> Dict[str, str]:
        ts, nonce = str(timestamp or int(time.time())), uuid.uuid4().hex[:10]
        return {"timestamp": ts, "nonce": nonce, "signature": sign(token, ts, nonce)}

    async def post_plain(self, xml: str, params: Optional[Dict[str, str]] = None) -> httpx.Response:
        params = self.signed_params() if params is None else params
        return await self.http.post(self.url, params=params, content=xml.encode())

    async def post_aes(self, xml: str, crypto: WeChatCrypto) -> tuple[httpx.Response, Dict[str, str]]:
        params = self.signed_params()
        envelope = xmltodict.parse(crypto.encrypt_message(xml, params["nonce"], params["timestamp"]))["xml"]
        params.update(encrypt_type="aes", msg_signature=envelope["MsgSignature"], openid="x")
        response = await self.http.post(self.url, params=params, content=safe_body(envelope["Encrypt"]))
        return response, params


def reply_of(response: httpx.Response) -> Dict[str, str]:
    assert response.status_code == 200, response.text
    assert response.text != "success", "expected a passive reply"
    return xmltodict.parse(response.text)["xml"]


@pytest.fixture
def fake_api():
    fake = FakeWeChatAPI(app_id=APP_ID).start()
    yield fake
    fake.stop()


@pytest.fixture
async def make_harness(fake_api, tmp_path):
    harnesses: List[Harness] = []

    async def make(bot: Optional[ScriptedBot] = None, **options: Any) -> Harness:
        options.setdefault("token", TOKEN)
        options.setdefault("app_id", APP_ID)
        options.setdefault("app_secret", fake_api.app_secret)
        options.setdefault("api_base", fake_api.url)
        options.setdefault("token_cache", str(tmp_path / "token.json"))
        harness = await Harness(WeChatInput(**options), bot or ScriptedBot()).start()
        harnesses.append(harness)
        return harness

    yield make
    for harness in harnesses:
        await harness.stop()


async def wait_sent(fake: FakeWeChatAPI, user: str, count: int, timeout: float = 10) -> List[str]:
    return await asyncio.to_thread(fake.wait_for, user, count, timeout)


# -- published test vectors ----------------------------------------------------


def test_official_plain_signature_vector():
    # wechatpy's published vector for the server-verification signature
    check_signature("test", "f21891de399b4e33a1a93c9a7b8a8fffb5a443ff", "1410685589", "test")
    with pytest.raises(InvalidSignatureException):
        check_signature("test", "f21891de399b4e33a1a93c9a7b8a8fffb5a443fe", "1410685589", "test")


# The sample of WeChat's official message encryption SDK (WXBizMsgCrypt, Sample.py):
# token, EncodingAESKey, AppID, timestamp, nonce, msg_signature and ciphertext as published.
OFFICIAL = {
    "token": "spamtest",
    "aes_key": "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG",
    "app_id": "wx2c2769f8efd9abc2",
    "timestamp": "1409735669",
    "nonce": "1320562132",
    "msg_signature": "5d197aaffba7e9b25a30732f161a50dee96bd5fa",
    "encrypt": (
        "hyzAe4OzmOMbd6TvGdIOO6uBmdJoD0Fk53REIHvxYtJlE2B655HuD0m8KUePWB3+LrPXo87wzQ1QLvbeUgmBM4x6F8PGHQHFV"
        "AFmOD2LdJF9FrXpbUAh0B5GIItb52sn896wVsMSHGuPE328HnRGBcrS7C41IzDWyWNlZkyyXwon8T332jisa+h6tEDYsVti"
        "cbSnyU8dKOIbgU6ux5VTjg3yt+WGzjlpKn6NPhRjpA912xMezR4kw6KWwMrCVKSVCZciVGCgavjIQ6X8tCOp3yZbGpy0Vxp"
        "Ae+77TszTfRd5RJSVO/HTnifJpXgCSUdUue1v6h0EIBYYI1BD1DlD+C0CR8e6OewpusjZ4uBl9FyJvnhvQl+q5rv1ixrcpC"
        "umEPo5MJSgM9ehVsNPfUM669WuMyVWQLCzpu9GhglF2PE="
    ),
}


@pytest.mark.parametrize(
    "signature, status",
    [(OFFICIAL["msg_signature"], 200), ("5d197aaffba7e9b25a30732f161a50dee96bd5fb", 403)],
    ids=["published", "one-digit-off"],
)
async def test_official_safe_mode_sample_through_the_channel(make_harness, signature, status):
    bot = ScriptedBot(replies={"abcdteT": [{"text": "好的"}]})
    # the sample is from 2014: run the channel's clock at the sample's time
    h = await make_harness(
        bot,
        token=OFFICIAL["token"],
        aes_key=OFFICIAL["aes_key"],
        app_id=OFFICIAL["app_id"],
        clock=lambda: int(OFFICIAL["timestamp"]) + 2,
    )
    params = {
        "timestamp": OFFICIAL["timestamp"],
        "nonce": OFFICIAL["nonce"],
        "encrypt_type": "aes",
        "msg_signature": signature,
    }
    body = safe_body(OFFICIAL["encrypt"], account="gh_10f6c3c3ac5a")
    response = await h.http.post(h.url, params=params, content=body)
    assert response.status_code == status
    if status == 403:
        assert bot.received == []
        return
    assert [(m.sender_id, m.text) for m in bot.received] == [("oyORnuP8q7ou2gfYjqLzSIWZf0rs", "abcdteT")]
    crypto = WeChatCrypto(OFFICIAL["token"], OFFICIAL["aes_key"], OFFICIAL["app_id"])
    reply = decrypt_reply(crypto, response.text)
    assert reply["Content"] == "好的" and reply["ToUserName"] == "oyORnuP8q7ou2gfYjqLzSIWZf0rs"


# -- server verification and request checks ------------------------------------


async def test_get_verification_echoes_echostr(make_harness):
    h = await make_harness()
    params = {**h.signed_params(), "echostr": "8734628172645"}
    response = await h.http.get(h.url, params=params)
    assert (response.status_code, response.text) == (200, "8734628172645")


@pytest.mark.parametrize(
    "tamper",
    [
        lambda p: {**p, "signature": p["signature"][:-1] + ("0" if p["signature"][-1] != "0" else "1")},
        lambda p: {k: v for k, v in p.items() if k != "signature"},
        lambda p: {**p, "nonce": p["nonce"] + "x"},
    ],
    ids=["forged", "missing", "nonce-changed"],
)
async def test_get_verification_refuses_bad_signatures(make_harness, tamper):
    h = await make_harness()
    response = await h.http.get(h.url, params=tamper({**h.signed_params(), "echostr": "123"}))
    assert response.status_code == 403 and "123" not in response.text


async def test_get_verification_with_msg_signature_in_safe_mode(make_harness):
    h = await make_harness(aes_key=AES_KEY)
    ts, nonce = str(int(time.time())), "nonce1"
    echo = xmltodict.parse(WeChatCrypto(TOKEN, AES_KEY, APP_ID).encrypt_message("echo-42", nonce, ts))["xml"]
    good = {"timestamp": ts, "nonce": nonce, "echostr": echo["Encrypt"]}
    good["msg_signature"] = echo["MsgSignature"]
    response = await h.http.get(h.url, params=good)
    assert (response.status_code, response.text) == (200, "echo-42")
    bad = {**good, "msg_signature": sign(TOKEN, ts, nonce, "something else")}
    assert (await h.http.get(h.url, params=bad)).status_code == 403


async def test_stale_timestamp_is_refused_and_nothing_processed(make_harness):
    bot = ScriptedBot()
    h = await make_harness(bot)
    user = new_user()
    for offset in (-301, 301, -3600):
        params = h.signed_params(timestamp=int(time.time()) + offset)  # correctly signed but old
        response = await h.post_plain(text_xml(user, "你好", new_msg_id()), params)
        assert response.status_code == 403
    ok = await h.post_plain(text_xml(user, "你好", new_msg_id()), h.signed_params(int(time.time()) - 200))
    assert ok.status_code == 200
    assert bot.texts() == ["你好"]


async def test_forged_signature_is_refused_and_nothing_processed(make_harness, fake_api):
    bot = ScriptedBot(delay=0.1)
    h = await make_harness(bot, aes_key=AES_KEY)
    user = new_user()
    forged = h.signed_params(token="not-the-token")
    assert (await h.post_plain(text_xml(user, "你好", new_msg_id()), forged)).status_code == 403
    assert (await h.post_plain(text_xml(user, "你好", new_msg_id()), {})).status_code == 403
    # safe mode: right outer signature, msg_signature made with another token
    other = WeChatCrypto("not-the-token", AES_KEY, APP_ID)
    response, _ = await h.post_aes(text_xml(user, "你好", new_msg_id()), other)
    assert response.status_code == 403
    await asyncio.sleep(0.3)
    assert bot.received == [] and fake_api.sent == []


@pytest.mark.parametrize(
    "body",
    [
        "this is not xml",
        "<xml><ToUserName>gh</ToUserName>",
        "<xml><FromUserName><![CDATA[oabc]]></FromUserName></xml>",  # no MsgType
        "<xml>just text</xml>",
        "",
        '<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;">]>'
        "<xml><MsgType>text</MsgType><Content>&lol2;</Content></xml>",
        "<xml><ToUserName>a</ToUserName><FromUserName>b</FromUserName><CreateTime>1</CreateTime>"
        "<MsgType>text</MsgType><Content>x</Content><MsgId>not-a-number</MsgId></xml>",
    ],
    ids=["text", "unclosed", "no-type", "no-fields", "empty", "entities", "bad-msgid"],
)
async def test_malformed_xml_is_400_and_the_channel_keeps_working(make_harness, body):
    bot = ScriptedBot()
    h = await make_harness(bot)
    response = await h.post_plain(body)
    assert response.status_code == 400
    assert bot.received == []
    after = await h.post_plain(text_xml(new_user(), "还在吗", new_msg_id()))
    assert reply_of(after)["Content"] == "收到：还在吗"


async def test_malformed_safe_mode_envelope_is_400(make_harness):
    h = await make_harness(aes_key=AES_KEY)
    params = h.signed_params()
    params.update(encrypt_type="aes", msg_signature=sign(TOKEN, params["timestamp"], params["nonce"], "@@@"))
    response = await h.http.post(h.url, params=params, content=safe_body("@@@"))
    assert response.status_code == 400
    response = await h.http.post(h.url, params=params, content=b"<xml><Nothing/></xml>")
    assert response.status_code in (400, 403)


# -- hardening: safe mode only, replays, body size, constant-time checks --------------


async def test_safe_mode_account_refuses_plaintext(make_harness):
    """The plain signature covers only the URL: with an AES key nothing else is trusted."""
    bot = ScriptedBot()
    h = await make_harness(bot, aes_key=AES_KEY)
    crypto = WeChatCrypto(TOKEN, AES_KEY, APP_ID)
    user = new_user()
    response = await h.post_plain(text_xml(user, "你好", new_msg_id()))  # correctly signed
    assert response.status_code == 403 and "safe mode" in response.text
    # a captured safe-mode URL (signature, msg_signature) with a plaintext body of one's own
    genuine, params = await h.post_aes(text_xml(user, "我的行程", new_msg_id()), crypto)
    assert genuine.status_code == 200
    forged = {k: v for k, v in params.items() if k != "encrypt_type"}
    response = await h.http.post(h.url, params=forged, content=text_xml(user, "转账", new_msg_id()).encode())
    assert response.status_code == 403
    # ... or with another ciphertext under the same key: msg_signature covers the body
    other = xmltodict.parse(crypto.encrypt_message(text_xml(user, "转账", new_msg_id()), "n", "1"))["xml"]
    response = await h.http.post(h.url, params=params, content=safe_body(other["Encrypt"]))
    assert response.status_code == 403
    await asyncio.sleep(0.2)
    assert bot.texts() == ["我的行程"]


@pytest.mark.parametrize("skew", [300, 900])
async def test_replay_after_the_retry_window_is_refused(make_harness, skew):
    """Retries are answered for dedup_ttl (120 s); replays stay refused while the
    timestamp is accepted, however long the allowed clock skew is."""
    clock = FakeClock()
    bot = ScriptedBot(replies={"退款政策": [{"text": "退款规则如下……"}]})
    h = await make_harness(bot, clock=clock, max_clock_skew=skew)
    user, msg_id = new_user(), new_msg_id()
    xml = text_xml(user, "退款政策", msg_id)
    params = h.signed_params(int(clock()))
    assert reply_of(await h.post_plain(xml, params))["Content"] == "退款规则如下……"
    clock.advance(30)  # WeChat's retry, same URL: answered from the first delivery
    assert reply_of(await h.post_plain(xml, params))["Content"] == "退款规则如下……"
    clock.advance(skew - 31)  # past the retry window, the timestamp still accepted
    replay = await h.post_plain(xml, params)
    assert replay.status_code == 403
    # the same message under a newer signed URL is a replay too
    replay = await h.post_plain(xml, h.signed_params(int(clock())))
    assert replay.status_code == 403
    clock.advance(2)  # and now the old URL is stale anyway
    assert (await h.post_plain(xml, params)).status_code == 403
    assert bot.texts() == ["退款政策"]


async def test_signed_url_cannot_carry_another_message(make_harness):
    """Plaintext mode: a captured URL (valid for the clock skew) with a body of one's own."""
    bot = ScriptedBot()
    h = await make_harness(bot)
    user = new_user()
    params = h.signed_params()
    assert (
        reply_of(await h.post_plain(text_xml(user, "你好", new_msg_id()), params))["Content"] == "收到：你好"
    )
    forged = await h.post_plain(text_xml(user, "我要退款到这个账户", new_msg_id()), params)
    assert forged.status_code == 403
    assert bot.texts() == ["你好"]


async def test_replay_cache_is_bounded_and_expires(make_harness):
    clock = FakeClock()
    h = await make_harness(clock=clock)
    for _ in range(5):
        await h.post_plain(text_xml(new_user(), "你好", new_msg_id()), h.signed_params(int(clock())))
    assert len(h.channel.replays) == 10  # one URL and one message key each
    clock.advance(2 * h.channel.max_clock_skew + 1)
    assert h.channel.replays.get("anything") is None and len(h.channel.replays) == 0


def padded_text_xml(user: str, size: int) -> bytes:
    """A valid text message of exactly `size` bytes."""
    msg_id = new_msg_id()
    empty = text_xml(user, "", msg_id).encode()
    body = text_xml(user, "长" * ((size - len(empty)) // 3) + "x" * ((size - len(empty)) % 3), msg_id)
    encoded = body.encode()
    assert len(encoded) == size, (len(encoded), size)
    return encoded


async def test_body_over_64_kb_is_413_and_nothing_processed(make_harness):
    bot = ScriptedBot()
    h = await make_harness(bot)
    user = new_user()
    too_big = await h.http.post(h.url, params=h.signed_params(), content=padded_text_xml(user, 64 * 1024 + 1))
    assert too_big.status_code == 413
    assert bot.received == []
    at_limit = await h.http.post(h.url, params=h.signed_params(), content=padded_text_xml(user, 64 * 1024))
    assert at_limit.status_code == 200 and len(bot.received) == 1


async def raw_request(h: Harness, params: Dict[str, str], head: str, body: bytes) -> tuple[bytes, bool]:
    """Sends a request by hand; returns what the server answered and whether it hung up."""
    reader, writer = await asyncio.open_connection("127.0.0.1", h.port)
    query = "&".join(f"{k}={v}" for k, v in params.items())
    writer.write(f"POST /webhooks/wechat/webhook?{query} HTTP/1.1\r\nHost: x\r\n{head}\r\n".encode() + body)
    await writer.drain()
    answer = b""
    closed = False
    try:
        while b"\r\n\r\n" not in answer or not answer.endswith((b"success", b"large", b"signature")):
            chunk = await asyncio.wait_for(reader.read(65536), timeout=5)
            if not chunk:
                closed = True
                break
            answer += chunk
        if not closed:
            closed = await asyncio.wait_for(reader.read(1), timeout=3) == b""
    except (asyncio.TimeoutError, ConnectionResetError):
        pass
    writer.close()
    return answer, closed


async def test_declared_huge_body_is_refused_before_it_is_sent(make_harness):
    """Content-Length says 50 MB; the server answers 413 and hangs up without waiting for it."""
    bot = ScriptedBot()
    h = await make_harness(bot)
    answer, closed = await raw_request(h, h.signed_params(), "Content-Length: 50000000\r\n", b"<xml>")
    assert answer.startswith(b"HTTP/1.1 413"), answer[:80]
    assert closed
    # a forged signature is refused, and the connection is not kept open to drain the body
    forged = {**h.signed_params(), "signature": "0" * 40}
    answer, closed = await raw_request(h, forged, "Content-Length: 50000000\r\n", b"<xml>")
    assert answer.startswith(b"HTTP/1.1 403") and closed
    assert bot.received == []


async def test_chunked_body_over_64_kb_is_413(make_harness):
    bot = ScriptedBot()
    h = await make_harness(bot)
    body = padded_text_xml(new_user(), 70 * 1024)
    parts = (body[i : i + 4096] for i in range(0, len(body), 4096))
    chunks = b"".join(b"%x\r\n%s\r\n" % (len(part), part) for part in parts) + b"0\r\n\r\n"
    answer, _ = await raw_request(h, h.signed_params(), "Transfer-Encoding: chunked\r\n", chunks)
    assert answer.startswith(b"HTTP/1.1 413"), answer[:80]
    assert bot.received == []


async def test_safe_mode_body_is_authenticated_before_any_xml_parsing(make_harness, monkeypatch):
    import wechatpy

    parsed = []
    real_parse = xmltodict.parse
    monkeypatch.setattr(xmltodict, "parse", lambda *a, **k: parsed.append(a) or real_parse(*a, **k))
    monkeypatch.setattr(
        "bot.channels.wechat.parse_message", lambda xml: parsed.append(xml) or wechatpy.parse_message(xml)
    )
    bot = ScriptedBot()
    h = await make_harness(bot, aes_key=AES_KEY)
    crypto = WeChatCrypto(TOKEN, AES_KEY, APP_ID)
    message = text_xml(new_user(), "你好", new_msg_id())
    envelope = xmltodict.parse(crypto.encrypt_message(message, "n", "1"))["xml"]
    parsed.clear()
    params = h.signed_params()
    wrong = sign(TOKEN, params["timestamp"], params["nonce"], "other")
    params.update(encrypt_type="aes", msg_signature=wrong)
    bomb = (
        '<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;">]>'
        f"<xml><ToUserName>&b;</ToUserName><Encrypt><![CDATA[{envelope['Encrypt']}]]></Encrypt></xml>"
    ).encode()
    for body in (safe_body(envelope["Encrypt"]), bomb):
        response = await h.http.post(h.url, params=params, content=body)
        assert response.status_code == 403
    assert parsed == [] and bot.received == []


async def test_signatures_are_compared_in_constant_time(make_harness, monkeypatch):
    import hmac

    compared = []
    real = hmac.compare_digest
    monkeypatch.setattr(hmac, "compare_digest", lambda a, b: compared.append((a, b)) or real(a, b))
    h = await make_harness(aes_key=AES_KEY)
    crypto = WeChatCrypto(TOKEN, AES_KEY, APP_ID)
    response, params = await h.post_aes(text_xml(new_user(), "你好", new_msg_id()), crypto)
    assert response.status_code == 200
    assert (params["signature"].encode(), params["signature"].encode()) in compared
    assert (params["msg_signature"].encode(), params["msg_signature"].encode()) in compared
    compared.clear()
    await h.http.get(h.url, params={**h.signed_params(), "echostr": "1"})
    assert len(compared) == 1


# -- configuration: development secrets ---------------------------------------------


def dev_env_wechat() -> Dict[str, str]:
    from tests.services import ROOT

    pairs = (line.split("=", 1) for line in (ROOT / "dev.env").read_text().splitlines())
    return {k: v for k, v in (p for p in pairs if len(p) == 2) if k.startswith("WECHAT_")}


@pytest.mark.parametrize("app_env", [None, "", "production", "staging", "dev"])
@pytest.mark.parametrize("weak", ["WECHAT_TOKEN", "WECHAT_APP_SECRET", "WECHAT_AES_KEY"])
def test_development_secrets_are_refused_outside_development(monkeypatch, app_env, weak):
    from rasa.shared.utils.io import read_config_file

    from bot.channels.wechat import InsecureWeChatConfiguration
    from tests.services import ROOT

    real = {
        "WECHAT_APP_ID": "wx-real",
        "WECHAT_APP_SECRET": "real-secret",
        "WECHAT_TOKEN": "real-token",
        "WECHAT_AES_KEY": AES_KEY,
        "WECHAT_API_BASE": "https://api.weixin.qq.com",
    }
    for name, value in {**real, weak: dev_env_wechat()[weak]}.items():
        monkeypatch.setenv(name, value)
    if app_env is None:
        monkeypatch.delenv("APP_ENV", raising=False)
    else:
        monkeypatch.setenv("APP_ENV", app_env)
    settings = read_config_file(str(ROOT / "credentials.yml"))["bot.channels.wechat.WeChatInput"]
    with pytest.raises(InsecureWeChatConfiguration, match=weak):
        WeChatInput.from_credentials(settings)
    monkeypatch.setenv("APP_ENV", "development")  # only an explicit development allows them
    assert WeChatInput.from_credentials(settings).token


def test_real_secrets_start_without_app_env(monkeypatch):
    monkeypatch.delenv("APP_ENV", raising=False)
    channel = WeChatInput.from_credentials({"token": "real-token", "app_secret": "real", "aes_key": AES_KEY})
    assert channel.crypto is not None


# -- round trips -----------------------------------------------------------------


async def test_plaintext_round_trip(make_harness):
    bot = ScriptedBot(replies={"你好": [{"text": "您好！"}, {"text": "请问有什么可以帮您？"}]})
    h = await make_harness(bot)
    user = new_user()
    reply = reply_of(await h.post_plain(text_xml(user, "你好", new_msg_id())))
    assert reply["ToUserName"] == user and reply["FromUserName"] == ACCOUNT
    assert reply["MsgType"] == "text"
    assert reply["Content"] == "您好！\n\n请问有什么可以帮您？"
    assert bot.received[0].input_channel == "wechat" and bot.received[0].sender_id == user


async def test_reply_text_cannot_break_the_xml(make_harness):
    tricky = "订单 <TR20260001> & 说明]]><MsgType>news</MsgType>"
    h = await make_harness(ScriptedBot(replies={"你好": [{"text": tricky}]}))
    reply = reply_of(await h.post_plain(text_xml(new_user(), "你好", new_msg_id())))
    assert (reply["Content"], reply["MsgType"]) == (tricky, "text")


async def test_safe_mode_round_trip(make_harness):
    bot = ScriptedBot(replies={"我的行程": [{"text": "请提供订单号，例如 TR20260001。"}]})
    h = await make_harness(bot, aes_key=AES_KEY)
    crypto = WeChatCrypto(TOKEN, AES_KEY, APP_ID)
    user = new_user()
    response, params = await h.post_aes(text_xml(user, "我的行程", new_msg_id()), crypto)
    assert response.status_code == 200
    assert xmltodict.parse(response.text)["xml"]["Nonce"] == params["nonce"]
    assert "TR20260001" not in response.text  # encrypted on the wire
    reply = decrypt_reply(crypto, response.text)
    assert (reply["ToUserName"], reply["Content"]) == (user, "请提供订单号，例如 TR20260001。")
    assert bot.texts() == ["我的行程"]


# -- exactly once ----------------------------------------------------------------


async def test_triple_delivery_is_processed_once(make_harness):
    bot = ScriptedBot(delay=0.5, replies={"退款政策": [{"text": "退款规则如下……"}]})
    h = await make_harness(bot)
    user, msg_id = new_user(), new_msg_id()
    xml = text_xml(user, "退款政策", msg_id)
    # WeChat's retries: the later ones arrive while the first is still running...
    first = asyncio.create_task(h.post_plain(xml))
    await asyncio.sleep(0.1)
    retries = await asyncio.gather(h.post_plain(xml), h.post_plain(xml))
    responses = [await first, *retries]
    # ...and one more after it finished
    responses.append(await h.post_plain(xml))
    assert [reply_of(r)["Content"] for r in responses] == ["退款规则如下……"] * 4
    assert bot.texts() == ["退款政策"]
    # a new MsgId is a new message
    await h.post_plain(text_xml(user, "退款政策", new_msg_id()))
    assert bot.texts() == ["退款政策", "退款政策"]


class CountingInput(WeChatInput):
    """The real channel, counting how often it processes a message."""

    processed = 0

    async def _process(self, message, on_new_message):
        type(self).processed += 1
        return await super()._process(message, on_new_message)


async def test_event_retries_are_deduplicated_by_sender_and_time(fake_api, tmp_path):
    CountingInput.processed = 0
    channel = CountingInput(
        TOKEN, APP_ID, fake_api.app_secret, api_base=fake_api.url, token_cache=str(tmp_path / "t")
    )
    h = await Harness(channel, ScriptedBot()).start()
    try:
        user, created = new_user(), int(time.time())
        event = re.sub(
            r"<CreateTime>\d+</CreateTime>",
            f"<CreateTime>{created}</CreateTime>",
            other_xml(user, "event", "<Event><![CDATA[subscribe]]></Event>"),
        )
        replies = [reply_of(await h.post_plain(event))["Content"] for _ in range(3)]
        assert len(set(replies)) == 1 and "欢迎" in replies[0]
        assert CountingInput.processed == 1
        # the same event a second later is a new event
        later = event.replace(f">{created}</CreateTime>", f">{created + 1}</CreateTime>")
        await h.post_plain(later)
        assert CountingInput.processed == 2
    finally:
        await h.stop()


# -- the 5-second rule -------------------------------------------------------------


async def test_slow_bot_answers_success_then_uses_the_message_api(make_harness, fake_api):
    bot = ScriptedBot(
        delay=2.5, replies={"查一下我的投诉": [{"text": "您的投诉正在处理中。"}, {"text": "预计明天回复。"}]}
    )
    h = await make_harness(bot, reply_budget=0.5)
    user = new_user()
    xml = text_xml(user, "查一下我的投诉", new_msg_id())
    started = time.monotonic()
    response = await h.post_plain(xml)
    assert response.status_code == 200 and response.text == "success"
    assert time.monotonic() - started < 2.0  # answered well before the bot finished
    retry = await h.post_plain(xml)  # WeChat's retry while the bot still works
    assert retry.text == "success"
    assert await wait_sent(fake_api, user, 2) == ["您的投诉正在处理中。", "预计明天回复。"]
    assert bot.texts() == ["查一下我的投诉"]
    assert fake_api.token_fetches == 1
    assert fake_api.token_requests[0] == {
        "grant_type": "client_credential",
        "appid": APP_ID,
        "secret": fake_api.app_secret,
    }


async def test_messages_sent_after_the_budget_keep_their_order(make_harness, fake_api):
    async def bot(message: UserMessage) -> None:
        out = message.output_channel
        await out.send_response(message.sender_id, {"text": "正在为您查询……"})
        await asyncio.sleep(0.8)
        await out.send_response(message.sender_id, {"text": "查询结果：集合时间 07:30。"})

    h = await make_harness(ScriptedBot(handler=bot), reply_budget=0.3)
    user = new_user()
    response = await h.post_plain(text_xml(user, "集合时间", new_msg_id()))
    assert response.text == "success"
    assert await wait_sent(fake_api, user, 2) == ["正在为您查询……", "查询结果：集合时间 07:30。"]


async def test_failing_bot_gets_a_polite_reply(make_harness):
    async def broken(message: UserMessage) -> None:
        raise RuntimeError("model not loaded")

    h = await make_harness(ScriptedBot(handler=broken))
    assert "稍后" in reply_of(await h.post_plain(text_xml(new_user(), "你好", new_msg_id())))["Content"]


# -- access token ----------------------------------------------------------------------


async def test_token_is_cached_and_refreshed_before_expiry(fake_api, tmp_path):
    # One fake clock for WeChat and the client: the token ages without sleeping.
    clock = FakeClock()
    fake_api.clock = clock
    fake_api.expires_in = 6  # refreshed at half its life, i.e. after 3 s
    path = str(tmp_path / "t.json")
    api = WeChatAPI(APP_ID, fake_api.app_secret, fake_api.url, FileTokenStore(path), clock=clock)
    user = new_user()
    for i in range(3):
        await api.send_text(user, f"消息{i}")
    assert fake_api.token_fetches == 1
    # another worker (a second client on the same cache file) reuses it
    other = WeChatAPI(APP_ID, fake_api.app_secret, fake_api.url, FileTokenStore(path), clock=clock)
    await other.send_text(user, "来自另一个进程")
    clock.advance(2.9)
    await api.send_text(user, "还没到刷新时间")
    assert fake_api.token_fetches == 1
    clock.advance(0.3)
    await api.send_text(user, "过期前刷新")
    assert fake_api.token_fetches == 2
    clock.advance(3.2)  # the second token is due as well
    await other.send_text(user, "再次刷新")
    assert fake_api.token_fetches == 3
    assert fake_api.rejected == []  # never used an expired token
    assert fake_api.texts_to(user) == [
        "消息0",
        "消息1",
        "消息2",
        "来自另一个进程",
        "还没到刷新时间",
        "过期前刷新",
        "再次刷新",
    ]


async def test_expired_token_on_a_stopped_clock_is_replaced(fake_api, tmp_path):
    """WeChat's clock ran past the expiry while ours did not: 42001, then a new token."""
    fake_clock = FakeClock()
    fake_api.clock = fake_clock
    api = WeChatAPI(APP_ID, fake_api.app_secret, fake_api.url, FileTokenStore(str(tmp_path / "t.json")))
    user = new_user()
    await api.send_text(user, "第一条")
    fake_clock.advance(fake_api.expires_in + 1)
    await api.send_text(user, "第二条")
    assert fake_api.token_fetches == 2 and len(fake_api.rejected) == 1
    assert fake_api.texts_to(user) == ["第一条", "第二条"]


def test_channel_clock_drives_the_access_token(tmp_path):
    clock = FakeClock()
    channel = WeChatInput(TOKEN, APP_ID, "secret", token_cache=str(tmp_path / "t.json"), clock=clock)
    assert channel.api.clock is clock and channel.dedup.clock is clock


async def test_concurrent_refreshes_fetch_once(fake_api, tmp_path):
    store = FileTokenStore(str(tmp_path / "t.json"))
    apis = [WeChatAPI(APP_ID, fake_api.app_secret, fake_api.url, store) for _ in range(3)]
    tokens = await asyncio.gather(*(apis[i % 3].access_token() for i in range(12)))
    assert len(set(tokens)) == 1 and fake_api.token_fetches == 1


async def test_token_rejected_by_wechat_is_replaced_once(fake_api, tmp_path):
    api = WeChatAPI(APP_ID, fake_api.app_secret, fake_api.url, FileTokenStore(str(tmp_path / "t.json")))
    user = new_user()
    await api.send_text(user, "第一条")
    fake_api.invalidate_tokens()  # e.g. someone fetched a token with the same AppSecret elsewhere
    await api.send_text(user, "第二条")
    assert fake_api.token_fetches == 2
    assert fake_api.texts_to(user) == ["第一条", "第二条"]
    assert len(fake_api.rejected) == 1


async def test_redis_token_store_is_shared(fake_api):
    redis = pytest.importorskip("redis")
    url = "redis://127.0.0.1:6379/0"
    try:
        redis.Redis.from_url(url).ping()
    except redis.ConnectionError:
        pytest.skip("no Redis on 127.0.0.1:6379")
    prefix = f"test:wechat:{uuid.uuid4().hex}:"
    apis = [
        WeChatAPI(APP_ID, fake_api.app_secret, fake_api.url, RedisTokenStore(url, prefix)) for _ in range(2)
    ]
    tokens = await asyncio.gather(*(apis[i % 2].access_token() for i in range(6)))
    assert len(set(tokens)) == 1 and fake_api.token_fetches == 1
    ttl = redis.Redis.from_url(url).ttl(prefix + apis[0].cache_key)
    assert 0 < ttl <= fake_api.expires_in
    redis.Redis.from_url(url).delete(prefix + apis[0].cache_key)


# -- long texts and buttons ----------------------------------------------------------


def test_split_text_respects_the_byte_limit_and_lines():
    lines = [f"第{i}条：行程变更需提前七个工作日通知，费用按合同约定扣除。" for i in range(80)]
    text = "\n".join(lines)
    pieces = split_text(text)
    assert len(pieces) > 1
    assert all(utf8_len(p) <= 2048 for p in pieces)
    assert "\n".join(pieces) == text  # cut only between lines
    long_line = "很" * 1500  # 4500 bytes, no line break
    cut = split_text(long_line)
    assert [utf8_len(p) for p in cut] == [2046, 2046, 408] and "".join(cut) == long_line
    assert split_text("短消息") == ["短消息"] and split_text("\n\n") == []


async def test_long_answer_is_split_and_sent_by_the_api(make_harness, fake_api):
    long_text = "\n".join(
        f"{i}. 退改规则：出发前第{i}天取消，扣除团费的百分之{i % 20 + 5}。" for i in range(1, 90)
    )
    assert utf8_len(long_text) > 2048
    bot = ScriptedBot(replies={"退改规则": [{"text": long_text}]})
    h = await make_harness(bot)
    user = new_user()
    response = await h.post_plain(text_xml(user, "退改规则", new_msg_id()))
    assert response.text == "success"  # one passive reply cannot hold it
    pieces = await wait_sent(fake_api, user, 2)
    await asyncio.sleep(0.3)
    pieces = fake_api.texts_to(user)
    assert len(pieces) >= 2 and all(utf8_len(p) <= 2048 for p in pieces)
    assert "\n".join(pieces) == long_text
    assert fake_api.rejected == []


def test_buttons_render_and_numbers_parse():
    buttons = [{"title": "同意", "payload": "/affirm"}, {"title": "不同意", "payload": "/deny"}]
    assert render_buttons("是否同意？", buttons) == "是否同意？\n回复数字选择：\n1. 同意\n2. 不同意"
    assert [parse_choice(t) for t in ["1", " 2 ", "２", "2.", "选1", "第二个", "一"]] == [1, 2, 2, 2, 1, 2, 1]
    assert [parse_choice(t) for t in ["13812345678", "5678", "TR20260001", "1个人", "同意"]] == [None] * 5
    memory = ButtonMemory()
    memory.remember("u", buttons)
    assert memory.resolve("u", "2") == "/deny" and memory.resolve("u", "3") is None
    assert memory.resolve("other", "1") is None


async def test_buttons_become_numbers_and_a_number_answers_them(make_harness):
    consent = [
        {"title": "同意", "payload": '/affirm{"consent": true}'},
        {"title": "不同意", "payload": "/deny"},
    ]
    bot = ScriptedBot(
        replies={"我要投诉": [{"text": "为处理投诉需要您的手机号，是否同意？", "buttons": consent}]}
    )
    h = await make_harness(bot)
    user = new_user()
    reply = reply_of(await h.post_plain(text_xml(user, "我要投诉", new_msg_id())))
    assert reply["Content"] == "为处理投诉需要您的手机号，是否同意？\n回复数字选择：\n1. 同意\n2. 不同意"
    await h.post_plain(text_xml(user, "1", new_msg_id()))
    assert bot.texts()[-1] == '/affirm{"consent": true}'
    # the buttons answered, a bare number is just text again
    await h.post_plain(text_xml(user, "1", new_msg_id()))
    assert bot.texts()[-1] == "1"
    # numbers out of range and other users' numbers pass through unchanged
    await h.post_plain(text_xml(user, "我要投诉", new_msg_id()))
    await h.post_plain(text_xml(user, "3", new_msg_id()))
    stranger = new_user()
    await h.post_plain(text_xml(stranger, "2", new_msg_id()))
    assert bot.texts()[-2:] == ["3", "2"]


# -- message types ----------------------------------------------------------------------


async def test_subscribe_welcomes_and_unsubscribe_is_ignored(make_harness):
    bot = ScriptedBot()
    h = await make_harness(bot)
    user = new_user()
    welcome = reply_of(await h.post_plain(other_xml(user, "event", "<Event><![CDATA[subscribe]]></Event>")))
    assert "欢迎" in welcome["Content"] and "投诉" in welcome["Content"] and "行程" in welcome["Content"]
    bye = await h.post_plain(other_xml(new_user(), "event", "<Event><![CDATA[unsubscribe]]></Event>"))
    assert (bye.status_code, bye.text) == (200, "success")
    assert bot.received == []


async def test_voice_uses_recognition_and_asks_again_without_it(make_harness):
    bot = ScriptedBot()
    h = await make_harness(bot)
    user = new_user()
    fields = "<MediaId><![CDATA[media-1]]></MediaId><Format><![CDATA[amr]]></Format>"
    heard = await h.post_plain(
        other_xml(user, "voice", fields + "<Recognition><![CDATA[我要查行程]]></Recognition>", new_msg_id())
    )
    assert reply_of(heard)["Content"] == "收到：我要查行程"
    unheard = await h.post_plain(
        other_xml(user, "voice", fields + "<Recognition><![CDATA[]]></Recognition>", new_msg_id())
    )
    assert "语音" in reply_of(unheard)["Content"]
    assert bot.texts() == ["我要查行程"]


async def test_image_reaches_the_bot_as_evidence_metadata(make_harness):
    bot = ScriptedBot(replies={"[图片]": [{"text": "已收到您的图片。"}]})
    h = await make_harness(bot)
    user, msg_id = new_user(), new_msg_id()
    fields = "<PicUrl><![CDATA[http://mmbiz.qpic.cn/abc]]></PicUrl><MediaId><![CDATA[media-img-7]]></MediaId>"
    reply = reply_of(await h.post_plain(other_xml(user, "image", fields, msg_id)))
    assert reply["Content"] == "已收到您的图片。"
    message = bot.received[0]
    assert message.text == "[图片]"
    assert message.metadata == {
        "wechat_media": {
            "type": "image",
            "media_id": "media-img-7",
            "pic_url": "http://mmbiz.qpic.cn/abc",
            "msg_id": str(msg_id),
        }
    }


@pytest.mark.parametrize(
    "msg_type, fields",
    [
        ("video", "<MediaId>m</MediaId><ThumbMediaId>t</ThumbMediaId>"),
        ("location", "<Location_X>23.1</Location_X><Location_Y>113.3</Location_Y><Label>广州</Label>"),
        ("link", "<Title>t</Title><Description>d</Description><Url>http://x</Url>"),
    ],
)
async def test_other_messages_get_a_polite_text_only_reply(make_harness, msg_type, fields):
    bot = ScriptedBot()
    h = await make_harness(bot)
    reply = reply_of(await h.post_plain(other_xml(new_user(), msg_type, fields, new_msg_id())))
    assert "目前仅支持文字消息" in reply["Content"]
    assert bot.received == []


# -- handoff output channel and logging ---------------------------------------------------


async def test_output_channel_delivers_agent_messages(make_harness, fake_api):
    h = await make_harness()
    output = h.channel.get_output_channel()
    assert output.name() == "wechat"
    user = new_user()
    await output.send_response(user, {"text": "您好，我是客服小王，正在为您处理。"})
    buttons = [{"title": "需要", "payload": "/affirm"}]
    await output.send_response(user, {"text": "请问是否需要改签？", "buttons": buttons})
    assert fake_api.texts_to(user) == [
        "您好，我是客服小王，正在为您处理。",
        "请问是否需要改签？\n回复数字选择：\n1. 需要",
    ]
    # the traveller answers the agent's numbered option
    await h.post_plain(text_xml(user, "1", new_msg_id()))
    assert h.bot.texts() == ["/affirm"]


async def test_logs_hold_no_openid_and_no_message_text(make_harness, caplog):
    caplog.set_level(logging.DEBUG, logger="bot.channels")
    bot = ScriptedBot(delay=0.6)
    h = await make_harness(bot, reply_budget=0.2)
    user = new_user()
    await h.post_plain(text_xml(user, "我的手机号是13812345678", new_msg_id()))
    await asyncio.sleep(1.0)
    assert caplog.records, "the channel logs something"
    assert user not in caplog.text and "13812345678" not in caplog.text


# -- configuration ---------------------------------------------------------------------


def test_repository_credentials_build_the_channel(monkeypatch):
    from rasa.shared.exceptions import RasaException
    from rasa.shared.utils.common import class_from_module_path
    from rasa.shared.utils.io import read_config_file

    from tests.services import ROOT

    env = {
        "WECHAT_APP_ID": "wx-from-env",
        "WECHAT_APP_SECRET": "secret-from-env",
        "WECHAT_TOKEN": "token-from-env",
        "WECHAT_AES_KEY": AES_KEY,
        "WECHAT_API_BASE": "http://127.0.0.1:9/",
    }
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    credentials = read_config_file(str(ROOT / "credentials.yml"))
    keys = [key for key in credentials if "wechat" in key]
    assert keys == ["bot.channels.wechat.WeChatInput"]
    assert "bot.channels.socketio.SocketIOInput" in credentials
    assert any("rest" in key.lower() for key in credentials)
    channel = class_from_module_path(keys[0]).from_credentials(credentials[keys[0]])
    assert channel.name() == "wechat" and channel.token == "token-from-env"
    assert channel.crypto is not None and channel.reply_budget == 4.0
    assert (channel.api.app_id, channel.api.app_secret) == ("wx-from-env", "secret-from-env")
    assert channel.api.api_base == "http://127.0.0.1:9"
    with pytest.raises(RasaException):
        WeChatInput.from_credentials({"app_id": "x"})
