"""Conversation identity on the web channels, over real sockets on loopback.

The socket.io and REST channels are mounted on a real Sanic server as Rasa mounts them;
the bot is a small callback answering through the message's output channel. A real
socket.io client (python-socketio) plays the widget and an attacker who knows, or
guesses, another traveller's conversation id.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from typing import Any, Dict, List, Optional

import aiohttp
import httpx
import pytest
import socketio
from rasa.core.channels.channel import UserMessage
from rasa.core.tracker_store import InMemoryTrackerStore
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, BotUttered, ConversationPaused, UserUttered
from sanic import Sanic

from bot.channels.rest import InsecureRestChannel, RestInput
from bot.channels.session_ids import InsecureSecret, SessionSigner
from bot.channels.socketio import NEW_CONVERSATION_NOTICE, SocketIOInput, conversation_history
from tests.services import free_port

Sanic.test_mode = True  # several Sanic apps in one process (see test_wechat_channel.py)
if not hasattr(aiohttp, "ClientWSTimeout"):
    # python-engineio 4.15's client builds aiohttp ≥ 3.10's ClientWSTimeout; Rasa 3.6 pins
    # aiohttp 3.9, whose ws_connect takes the close timeout as a plain number.
    aiohttp.ClientWSTimeout = lambda ws_close=10.0, **_: ws_close

SECRET = "test-chat-session-secret"


@pytest.fixture(autouse=True)
def development(monkeypatch):
    """The embedded defaults (dev.env); tests of production set APP_ENV themselves."""
    monkeypatch.setenv("APP_ENV", "development")


# -- session ids -----------------------------------------------------------------------------


def test_issued_tokens_verify_and_name_their_conversation():
    signer = SessionSigner(SECRET, "socketio")
    token = signer.issue()
    conversation = signer.verify(token)
    assert conversation and len(conversation) == 32 and token.startswith(conversation + ".")
    assert signer.issue() != token  # unguessable: a fresh random conversation each time
    renewed = signer.issue(conversation)
    assert signer.verify(renewed) == conversation


@pytest.mark.parametrize(
    "forge",
    [
        lambda t: t.split(".")[0],  # the bare conversation id (what agents and logs may see)
        lambda t: t[:-1] + ("0" if t[-1] != "0" else "1"),  # a changed MAC
        lambda t: uuid.uuid4().hex + "." + t.split(".", 1)[1],  # someone else's conversation, this MAC
        lambda t: "",
        lambda t: None,
        lambda t: 12345,
        lambda t: t + "x",
    ],
)
def test_forged_tokens_are_refused(forge):
    signer = SessionSigner(SECRET, "socketio")
    assert signer.verify(forge(signer.issue())) is None


def test_tokens_are_bound_to_the_secret_the_purpose_and_expire():
    signer = SessionSigner(SECRET, "socketio", max_age=3600)
    token = signer.issue(now=time.time() - 7200)
    assert signer.verify(token) is None  # expired
    fresh = signer.issue()
    assert SessionSigner("another-secret-value", "socketio").verify(fresh) is None
    assert SessionSigner(SECRET, "rest").verify(fresh) is None  # a widget token is not a REST sender


@pytest.mark.parametrize("app_env", ["production", None])
def test_production_refuses_a_missing_or_development_secret(monkeypatch, app_env):
    if app_env:
        monkeypatch.setenv("APP_ENV", app_env)
    else:
        monkeypatch.delenv("APP_ENV")  # unset counts as production, as for the WeChat channel
    for secret in ("", None, "dev-chat-session-secret", "short"):
        with pytest.raises(InsecureSecret):
            SessionSigner(secret, "socketio")
    assert SessionSigner("a-real-secret-from-the-vault", "socketio").issue()


# -- harness ---------------------------------------------------------------------------------


class EchoBot:
    """Stands in for Rasa: records each message and answers in its conversation."""

    def __init__(self) -> None:
        self.received: List[UserMessage] = []

    async def __call__(self, message: UserMessage) -> None:
        self.received.append(message)
        await message.output_channel.send_text_message(message.sender_id, f"收到：{message.text}")


class TrackingBot(EchoBot):
    """Stands in for Rasa's agent with a real tracker store: each message is stored as Rasa
    stores it, and a paused conversation gets no answer (RASA-NOTES, "Handoff")."""

    def __init__(self) -> None:
        super().__init__()
        self.tracker_store = InMemoryTrackerStore(Domain.empty())

    async def __call__(self, message: UserMessage) -> None:
        self.received.append(message)
        tracker = await self.tracker_store.get_or_create_tracker(message.sender_id)
        tracker.update(
            UserUttered(message.text, metadata=message.metadata, input_channel=message.input_channel)
        )
        if not tracker.is_paused():
            await asyncio.sleep(0.2)  # the bot thinks: the typing cue is on meanwhile
            reply = f"收到：{message.text}"
            await message.output_channel.send_text_message(message.sender_id, reply)
            tracker.update(BotUttered(reply))
        await self.tracker_store.save(tracker)

    async def store(self, conversation: str, *events: Any) -> None:
        tracker = await self.tracker_store.get_or_create_tracker(conversation)
        for event in events:
            tracker.update(event)
        await self.tracker_store.save(tracker)


class Server:
    def __init__(self, *channels: Any, bot: Optional[EchoBot] = None) -> None:
        self.channels, self.bot, self.port = channels, bot or EchoBot(), free_port()
        self.url = f"http://127.0.0.1:{self.port}"

    async def start(self) -> "Server":
        app = Sanic(f"web_channels_{uuid.uuid4().hex}", configure_logging=False)
        if isinstance(self.bot, TrackingBot):
            app.ctx.agent = self.bot  # where the channel finds Rasa's agent and its tracker store
        for channel in self.channels:
            app.blueprint(channel.blueprint(self.bot), url_prefix=f"/webhooks/{channel.url_prefix()}")
        self.server = await app.create_server(
            host="127.0.0.1", port=self.port, return_asyncio_server=True, access_log=False
        )
        await self.server.startup()
        await self.server.before_start()  # as Rasa's server does: channels' listeners run
        return self

    async def stop(self) -> None:
        self.server.close()
        await self.server.wait_closed()


class Widget:
    """What api/app/static/widget.js does, with a python-socketio client."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.client = socketio.AsyncClient(reconnection=False)
        self.confirmed: "asyncio.Queue[str]" = asyncio.Queue()
        self.uttered: "asyncio.Queue[Dict]" = asyncio.Queue()
        self.refused: "asyncio.Queue[Dict]" = asyncio.Queue()
        self.history: "asyncio.Queue[Dict]" = asyncio.Queue()
        self.echoes: "asyncio.Queue[Dict]" = asyncio.Queue()
        self.typing: List[bool] = []
        self.states: "asyncio.Queue[Dict]" = asyncio.Queue()
        self.left: "asyncio.Queue[Dict]" = asyncio.Queue()
        self.client.on("session_confirm", self.confirmed.put)
        self.client.on("bot_uttered", self.uttered.put)
        self.client.on("session_refused", self.refused.put)
        self.client.on("history", self.history.put)
        self.client.on("user_echo", self.echoes.put)
        self.client.on("bot_typing", lambda data: self.typing.append(data["typing"]))
        self.client.on("handoff_state", self.states.put)
        self.client.on("conversation_left", self.left.put)

    async def connect(self, token: Optional[str] = None, request: bool = True) -> Optional[str]:
        await self.client.connect(self.url, transports=["websocket"], wait_timeout=10)
        if not request:
            return None
        return await self.session(token)

    async def session(self, token: Optional[str]) -> str:
        await self.client.emit("session_request", {"session_id": token})
        return await asyncio.wait_for(self.confirmed.get(), 10)

    async def say(self, text: str, session_id: Optional[str], **metadata: Any) -> None:
        data: Dict[str, Any] = {"message": text, "session_id": session_id}
        if metadata:
            data["metadata"] = metadata  # the channel's metadata_key (stock default)
        await self.client.emit("user_uttered", data)

    async def next_reply(self, timeout: float = 5) -> Dict:
        return await asyncio.wait_for(self.uttered.get(), timeout)

    async def nothing_for(self, seconds: float = 0.5) -> bool:
        await asyncio.sleep(seconds)
        return self.uttered.empty()

    async def close(self) -> None:
        await self.client.disconnect()


def socket_channel() -> SocketIOInput:
    return SocketIOInput.from_credentials(
        {
            "user_message_evt": "user_uttered",
            "bot_message_evt": "bot_uttered",
            "session_persistence": True,
            "session_secret": SECRET,
            "session_max_age": 3600,
        }
    )


@pytest.fixture
async def server():
    servers: List[Server] = []

    async def make(*channels: Any, bot: Optional[EchoBot] = None) -> Server:
        servers.append(await Server(*channels, bot=bot).start())
        return servers[-1]

    yield make
    for item in servers:
        await item.stop()


@pytest.fixture
async def widgets():
    made: List[Widget] = []

    def make(url: str) -> Widget:
        made.append(Widget(url))
        return made[-1]

    yield make
    for widget in made:
        if widget.client.connected:
            await widget.close()


# -- socket.io -------------------------------------------------------------------------------


async def test_the_server_issues_the_session_id_and_the_reply_reaches_the_socket(server, widgets):
    srv = await server(socket_channel())
    widget = widgets(srv.url)
    token = await widget.connect()
    conversation = token.split(".")[0]
    assert socket_channel().signer.verify(token) == conversation
    await widget.say("你好", token)
    assert (await widget.next_reply())["text"] == "收到：你好"
    assert [m.sender_id for m in srv.bot.received] == [conversation]
    assert srv.bot.received[0].input_channel == "socketio"


@pytest.mark.parametrize("presented", ["self-chosen-id", uuid.uuid4().hex, "victim-conversation"])
async def test_a_client_chosen_or_stolen_conversation_id_starts_a_new_conversation(
    server, widgets, presented
):
    channel = socket_channel()
    srv = await server(channel)
    victim = widgets(srv.url)
    victim_token = await victim.connect()
    victim_conversation = victim_token.split(".")[0]
    if presented == "victim-conversation":
        presented = victim_conversation  # what an agent, a log line or the tracker shows

    attacker = widgets(srv.url)
    token = await attacker.connect(presented)
    assert token.split(".")[0] not in (presented, victim_conversation)

    # The agent (or the bot) speaks to the victim's conversation: only the victim hears it.
    await channel.get_output_channel().send_text_message(victim_conversation, "您的行程单已发送")
    assert (await victim.next_reply())["text"] == "您的行程单已发送"
    assert await attacker.nothing_for()


async def test_a_message_for_another_session_is_refused(server, widgets):
    srv = await server(socket_channel())
    victim, attacker = widgets(srv.url), widgets(srv.url)
    victim_token = await victim.connect()
    own = await attacker.connect()
    for claimed in (victim_token, victim_token.split(".")[0]):
        await attacker.say("我要退团", claimed)
        assert (await asyncio.wait_for(attacker.refused.get(), 5))["reason"]
    await asyncio.sleep(0.3)
    assert srv.bot.received == []
    assert await victim.nothing_for(0.2)
    await attacker.say("你好", own)  # its own session still works
    assert (await attacker.next_reply())["text"] == "收到：你好"
    assert [m.sender_id for m in srv.bot.received] == [own.split(".")[0]]


async def test_a_message_before_session_request_is_refused(server, widgets):
    srv = await server(socket_channel())
    widget = widgets(srv.url)
    await widget.connect(request=False)
    await widget.say("你好", uuid.uuid4().hex)
    await widget.say("你好", None)
    assert (await asyncio.wait_for(widget.refused.get(), 5))["reason"] == "session_request first"
    await asyncio.sleep(0.3)
    assert srv.bot.received == []


async def test_a_reconnecting_tab_resumes_its_own_conversation(server, widgets):
    channel = socket_channel()
    srv = await server(channel)
    first = widgets(srv.url)
    token = await first.connect()
    await first.close()

    again = widgets(srv.url)
    renewed = await again.connect(token)
    conversation = token.split(".")[0]
    assert renewed.split(".")[0] == conversation
    # Joined the room (rasa#13027: the stock handler never awaited enter_room).
    await channel.get_output_channel().send_text_message(conversation, "客服：导游十分钟后到")
    assert (await again.next_reply())["text"] == "客服：导游十分钟后到"
    await again.say("好的", renewed)
    await again.say("好的", token)  # the token it held before renewal names the same conversation
    assert (await again.next_reply())["text"] == "收到：好的"
    assert (await again.next_reply())["text"] == "收到：好的"
    assert [m.sender_id for m in srv.bot.received] == [conversation, conversation]


async def test_an_expired_or_foreign_token_gets_a_new_conversation(server, widgets):
    srv = await server(socket_channel())
    old = SessionSigner(SECRET, "socketio").issue(now=time.time() - 7200)  # older than session_max_age
    other_server = SessionSigner("some-other-secret", "socketio").issue()
    rest_token = SessionSigner(SECRET, "rest").issue()
    for presented in (old, other_server, rest_token):
        widget = widgets(srv.url)
        token = await widget.connect(presented)
        assert token.split(".")[0] != presented.split(".")[0]


# -- server-side history, other tabs, typing, leaving (issue 15) -------------------------------


def test_history_shows_button_titles_agents_and_the_handoff_state():
    events = [
        {"event": "action", "name": "action_session_start", "timestamp": 1.0},
        {"event": "user", "text": "你好", "timestamp": 10.0},
        {
            "event": "bot",
            "text": "您好！\n\n需要登记投诉吗？",
            "timestamp": 11.0,
            "data": {
                "buttons": [{"title": "是的", "payload": "/affirm"}, {"title": "不用", "payload": "/deny"}]
            },
        },
        {"event": "user", "text": "/affirm", "timestamp": 12.0},
        {"event": "user", "text": "EXTERNAL: reminder", "timestamp": 12.5},
        {"event": "pause", "timestamp": 13.0},
        {
            "event": "bot",
            "text": "客服小王已接入，正在为您处理。",
            "timestamp": 14.0,
            "metadata": {"handoff_agent": "小王"},
        },
    ]
    messages, state = conversation_history(events)
    assert [(m["from"], m["text"]) for m in messages] == [
        ("user", "你好"),
        ("bot", "您好！"),
        ("bot", "需要登记投诉吗？"),
        ("user", "是的"),
        ("agent", "客服小王已接入，正在为您处理。"),
    ]
    assert messages[2]["buttons"][0] == {"title": "是的", "payload": "/affirm"} and messages[2]["answered"]
    assert "buttons" not in messages[1] and messages[4]["agent"] == "小王" and messages[4]["ts"] == 14.0
    assert state == {"handoff": True, "agent": "小王"}
    events.append({"event": "resume", "timestamp": 20.0})
    assert conversation_history(events)[1] == {"handoff": False, "agent": None}
    # A payload no button offered (an older bot message): the title the widget sent with it.
    events.append({"event": "user", "text": "/deny", "timestamp": 21.0, "metadata": {"shown_as": "不用了"}})
    events.append({"event": "user", "text": "/stop", "timestamp": 22.0})
    assert [m["text"] for m in conversation_history(events)[0][-2:]] == ["不用", "/stop"]
    events[-2]["text"] = "/other"
    assert conversation_history(events)[0][-2]["text"] == "不用了"
    assert len(conversation_history(events, limit=2)[0]) == 2


async def test_a_returning_tab_gets_its_own_conversation_from_the_tracker_and_no_other(server, widgets):
    bot = TrackingBot()
    channel = socket_channel()
    srv = await server(channel, bot=bot)
    first = widgets(srv.url)
    token = await first.connect()
    assert (await asyncio.wait_for(first.history.get(), 5))["messages"] == []
    conversation = token.split(".")[0]
    await first.say("你好", token)
    await first.next_reply()
    await first.close()
    # While the tab is closed an agent takes over and replies (the API appends to the tracker).
    await bot.store(
        conversation,
        ConversationPaused(),
        ActionExecuted("action_listen"),
        BotUttered("客服小王已接入，正在为您处理。", metadata={"handoff_agent": "小王"}),
    )

    again = widgets(srv.url)
    await again.connect(token)
    history = await asyncio.wait_for(again.history.get(), 5)
    assert [(m["from"], m["text"]) for m in history["messages"]] == [
        ("user", "你好"),
        ("bot", "收到：你好"),
        ("agent", "客服小王已接入，正在为您处理。"),
    ]
    assert all(m["ts"] > 1e9 for m in history["messages"])
    assert history["state"] == {"handoff": True, "agent": "小王"}

    # Another traveller, or someone presenting the bare conversation id, sees none of it.
    for presented in (None, conversation):
        stranger = widgets(srv.url)
        await stranger.connect(presented)
        assert (await asyncio.wait_for(stranger.history.get(), 5))["messages"] == []


async def test_tabs_of_one_conversation_see_each_others_messages_and_the_typing_cue(server, widgets):
    bot = TrackingBot()
    srv = await server(socket_channel(), bot=bot)
    one, two, stranger = widgets(srv.url), widgets(srv.url), widgets(srv.url)
    token = await one.connect()
    await two.connect(token)
    await stranger.connect()
    await one.say("/affirm", token, shown_as="是的")
    echo = await asyncio.wait_for(two.echoes.get(), 5)
    assert echo["text"] == "是的" and echo["ts"] > 1e9
    assert (await one.next_reply())["text"] == "收到：/affirm"
    assert (await two.next_reply())["text"] == "收到：/affirm"
    assert (await asyncio.wait_for(two.states.get(), 5)) == {"handoff": False, "agent": None}
    assert one.typing == [True, False] and two.typing == [True, False]
    assert one.echoes.empty()  # the writing tab shows its own message already
    await one.say("我在东门", token, shown_as="别的文字")  # a title only ever replaces a payload
    assert (await asyncio.wait_for(two.echoes.get(), 5))["text"] == "我在东门"
    await asyncio.sleep(0.5)
    assert stranger.echoes.empty() and stranger.uttered.empty() and stranger.typing == []


@pytest.mark.parametrize("paused", [True, False])
async def test_leaving_during_a_handoff_tells_the_agent(server, widgets, paused):
    bot = TrackingBot()
    srv = await server(socket_channel(), bot=bot)
    widget = widgets(srv.url)
    token = await widget.connect()
    conversation = token.split(".")[0]
    if paused:
        await bot.store(conversation, ConversationPaused())
    else:
        await bot.store(conversation, UserUttered("你好"))
    await widget.client.emit("leave_conversation", {})
    assert (await asyncio.wait_for(widget.left.get(), 5)) == {"told_agent": paused}
    tracker = await bot.tracker_store.retrieve(conversation)
    said = [e.text for e in tracker.events if isinstance(e, UserUttered)]
    assert (NEW_CONVERSATION_NOTICE in said) is paused
    assert widget.uttered.empty()  # the paused bot stays silent
    fresh = await widget.session(None)  # then the new conversation
    assert fresh.split(".")[0] != conversation


# -- REST ------------------------------------------------------------------------------------


def rest_channel(senders: str) -> RestInput:
    return RestInput.from_credentials({"senders": senders, "session_secret": SECRET})


async def test_rest_open_takes_any_sender_as_before(server):
    srv = await server(rest_channel("open"))
    async with httpx.AsyncClient(base_url=srv.url, timeout=10) as http:
        reply = await http.post("/webhooks/rest/webhook", json={"sender": "test-abc", "message": "你好"})
        assert reply.status_code == 200 and reply.json()[0]["text"] == "收到：你好"
        token = (await http.post("/webhooks/rest/session")).json()["sender"]
        await http.post("/webhooks/rest/webhook", json={"sender": token, "message": "在吗"})
    assert [m.sender_id for m in srv.bot.received] == ["test-abc", token.split(".")[0]]


async def test_rest_signed_refuses_senders_the_server_did_not_issue(server):
    srv = await server(rest_channel("signed"), socket_channel())
    socket_token = socket_channel().signer.issue()
    async with httpx.AsyncClient(base_url=srv.url, timeout=10) as http:
        for sender in ("test-abc", uuid.uuid4().hex, None, socket_token, socket_token.split(".")[0]):
            refused = await http.post(
                "/webhooks/rest/webhook", json={"sender": sender, "message": "我要退团"}
            )
            assert refused.status_code == 403, sender
        assert (await http.post("/webhooks/rest/webhook", content=b"not json")).status_code == 400
        assert srv.bot.received == []
        token = (await http.post("/webhooks/rest/session")).json()["sender"]
        reply = await http.post("/webhooks/rest/webhook", json={"sender": token, "message": "你好"})
        assert reply.status_code == 200 and reply.json() == [
            {"recipient_id": token.split(".")[0], "text": "收到：你好"}
        ]
    assert [m.sender_id for m in srv.bot.received] == [token.split(".")[0]]


async def test_rest_off_answers_nothing(server):
    srv = await server(rest_channel("off"))
    async with httpx.AsyncClient(base_url=srv.url, timeout=10) as http:
        assert (
            await http.post("/webhooks/rest/webhook", json={"sender": "x", "message": "你好"})
        ).status_code == 404
        assert (await http.post("/webhooks/rest/session")).status_code == 404
    assert srv.bot.received == []


def test_rest_open_is_refused_in_production_and_signed_is_its_default(monkeypatch):
    monkeypatch.setenv("APP_ENV", "production")
    secret = "a-real-secret-from-the-vault"
    with pytest.raises(InsecureRestChannel):
        RestInput.from_credentials({"senders": "open", "session_secret": secret})
    assert RestInput.from_credentials({"senders": "", "session_secret": secret}).mode == "signed"
    assert RestInput.from_credentials({"senders": "off", "session_secret": secret}).mode == "off"
    monkeypatch.setenv("APP_ENV", "development")
    assert RestInput.from_credentials({"senders": "", "session_secret": ""}).mode == "open"
    with pytest.raises(InsecureRestChannel):
        RestInput.from_credentials({"senders": "anything"})


def test_credentials_mount_both_channels_under_their_stock_names(monkeypatch):
    from rasa.core.run import create_http_input_channels

    from tests.services import ROOT, dev_defaults

    for key, value in dev_defaults().items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("CHAT_SESSION_SECRET", SECRET)
    channels = {c.name(): c for c in create_http_input_channels(None, str(ROOT / "credentials.yml"))}
    assert isinstance(channels["rest"], RestInput) and channels["rest"].mode == "open"
    assert isinstance(channels["socketio"], SocketIOInput)
    assert channels["socketio"].session_persistence is True
    token = channels["socketio"].signer.issue()
    assert SessionSigner(SECRET, "socketio").verify(token)  # keyed with CHAT_SESSION_SECRET
