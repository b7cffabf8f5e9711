"""Typing cues on the socket.io channel (issue 15), over real sockets on loopback, with Rasa's
own JWT extension on the server as `rasa run --enable-api --jwt-secret` sets it up.

The traveller's cue counts only for the socket's own conversation and stays out of the
tracker; the routes the ticketing API calls answer only Rasa's admin JWT; the agent's cue
reaches the conversation's tabs and no other.
"""

from __future__ import annotations

import asyncio
import uuid
from typing import Any, List

import httpx
import pytest
from rasa.shared.core.events import UserUttered
from sanic import Sanic
from sanic_jwt import Initialize

from bot.channels import socketio as channel_module
from servicekit import make_jwt, rasa_admin_jwt
from tests.bot.test_web_channels import (  # noqa: F401  (fixtures and the harness)
    Server,
    TrackingBot,
    development,
    Widget,
    socket_channel,
)

JWT_SECRET = "test-rasa-jwt-secret"


class JwtServer(Server):
    """The harness's server with Rasa's JWT set-up (rasa/server.py create_app)."""

    async def start(self) -> "JwtServer":
        app = Sanic(f"typing_{uuid.uuid4().hex}", configure_logging=False)
        app.config["USE_JWT"] = True

        async def authenticate(*_: Any, **__: Any) -> None:  # Rasa's: no logins, tokens only
            raise NotImplementedError

        Initialize(app, secret=JWT_SECRET, authenticate=authenticate, algorithm="HS256", user_id="username")
        app.ctx.agent = self.bot
        for item in self.channels:
            app.blueprint(item.blueprint(self.bot), url_prefix=f"/webhooks/{item.url_prefix()}")
        self.server = await app.create_server(
            host="127.0.0.1", port=self.port, return_asyncio_server=True, access_log=False
        )
        await self.server.startup()
        await self.server.before_start()
        return self


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


@pytest.fixture
async def jwt_server():
    servers: List[Server] = []

    async def make(bot: Any = None) -> Server:
        servers.append(await JwtServer(socket_channel(), bot=bot).start())
        return servers[-1]

    yield make
    for item in servers:
        await item.stop()


def staff() -> dict:
    return {"Authorization": f"Bearer {rasa_admin_jwt(JWT_SECRET, 'ticketing-api')}"}


async def traveller_typing(url: str, conversation: str, headers: dict) -> httpx.Response:
    async with httpx.AsyncClient() as client:
        return await client.post(
            f"{url}/webhooks/socketio/typing/traveller", json={"conversation": conversation}, headers=headers
        )


async def eventually(predicate, timeout: float = 3.0) -> bool:
    for _ in range(int(timeout / 0.05)):
        if await predicate():
            return True
        await asyncio.sleep(0.05)
    return False


async def test_the_traveller_signals_only_for_their_own_conversation_and_not_into_the_tracker(
    jwt_server, widgets
):
    bot = TrackingBot()
    srv = await jwt_server(bot)
    widget, other = widgets(srv.url), widgets(srv.url)
    mine = (await widget.connect()).split(".")[0]
    theirs = (await other.connect()).split(".")[0]

    async def typing(conversation: str) -> bool:
        return (await traveller_typing(srv.url, conversation, staff())).json()["typing"]

    assert await typing(mine) is False
    # The data names another conversation: the cue still counts for the socket's own only.
    await widget.client.emit("traveller_typing", {"typing": True, "session_id": theirs})
    assert await eventually(lambda: typing(mine))
    assert await typing(theirs) is False
    await widget.client.emit("traveller_typing", {"typing": False})
    assert await eventually(lambda: _not(typing(mine)))

    await widget.client.emit("traveller_typing", {"typing": True})
    assert await eventually(lambda: typing(mine))
    await widget.say("你好", None)  # sending the message ends the cue
    await widget.next_reply()
    assert await typing(mine) is False
    tracker = await bot.tracker_store.retrieve(mine)
    assert [e.text for e in tracker.events if isinstance(e, UserUttered)] == ["你好"]  # no cue stored


async def _not(result) -> bool:
    return not await result


async def test_a_stale_cue_expires(jwt_server, widgets, monkeypatch):
    monkeypatch.setattr(channel_module, "TYPING_FRESH_SECONDS", 0.0)  # every cue is already old
    srv = await jwt_server()
    widget = widgets(srv.url)
    mine = (await widget.connect()).split(".")[0]
    await widget.client.emit("traveller_typing", {"typing": True})
    await asyncio.sleep(0.3)
    assert (await traveller_typing(srv.url, mine, staff())).json() == {"typing": False}


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Bearer not-a-jwt"},
        {"Authorization": f"Bearer {rasa_admin_jwt('another-secret', 'x')}"},
        # Rasa's per-conversation role reaches only that conversation's tracker: not these routes.
        {"Authorization": f"Bearer {make_jwt(JWT_SECRET, {'user': {'username': 'c1', 'role': 'user'}})}"},
        # expired (beyond the JWT extension's 180 s leeway)
        {"Authorization": f"Bearer {rasa_admin_jwt(JWT_SECRET, 'x', lifetime_seconds=-600)}"},
    ],
)
async def test_the_routes_take_only_rasa_admin_jwt(jwt_server, headers):
    srv = await jwt_server()
    assert (await traveller_typing(srv.url, "c1", headers)).status_code == 403
    async with httpx.AsyncClient() as client:
        answer = await client.post(
            f"{srv.url}/webhooks/socketio/typing/agent",
            json={"conversation": "c1", "typing": True, "agent": "张敏"},
            headers=headers,
        )
    assert answer.status_code == 403


async def test_without_a_jwt_secret_the_routes_are_closed(widgets):
    srv = await Server(socket_channel()).start()  # no JWT extension: Rasa without --jwt-secret
    try:
        assert (await traveller_typing(srv.url, "c1", staff())).status_code == 403
    finally:
        await srv.stop()


async def test_the_agents_cue_reaches_the_conversations_tabs_only(jwt_server, widgets):
    srv = await jwt_server()
    one, two, stranger = widgets(srv.url), widgets(srv.url), widgets(srv.url)
    seen: dict = {"one": [], "two": [], "stranger": []}
    for name, widget in (("one", one), ("two", two), ("stranger", stranger)):
        widget.client.on("agent_typing", lambda data, name=name: seen[name].append(data))
    token = await one.connect()
    await two.connect(token)
    await stranger.connect()
    async with httpx.AsyncClient() as client:
        answer = await client.post(
            f"{srv.url}/webhooks/socketio/typing/agent",
            json={"conversation": token.split(".")[0], "typing": True, "agent": "张敏"},
            headers=staff(),
        )
        assert answer.json() == {"ok": True}
        assert (
            await client.post(
                f"{srv.url}/webhooks/socketio/typing/agent", json={"typing": True}, headers=staff()
            )
        ).status_code == 400

    async def both() -> bool:
        return bool(seen["one"] and seen["two"])

    assert await eventually(both)
    assert seen["one"] == seen["two"] == [{"typing": True, "agent": "张敏"}]
    await asyncio.sleep(0.3)
    assert seen["stranger"] == []


@pytest.fixture
def redis_server(tmp_path, monkeypatch):
    """A redis-server of our own (the machine's shared one is never touched), as CHANNEL_REDIS_URL."""
    import shutil
    import subprocess
    import time

    from tests.services import free_port

    binary = shutil.which("redis-server")
    if binary is None:
        pytest.skip("redis-server is not installed")
    port = free_port()
    process = subprocess.Popen(
        [
            binary,
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            str(tmp_path),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        import redis

        probe = redis.Redis(port=port)
        for _ in range(100):
            try:
                if probe.ping():
                    break
            except redis.ConnectionError:
                time.sleep(0.05)
        monkeypatch.setenv("CHANNEL_REDIS_URL", f"redis://127.0.0.1:{port}/0")
        monkeypatch.setenv("REDIS_KEY_PREFIX", f"test{port}")
        yield port
    finally:
        process.terminate()
        process.wait(timeout=10)


async def test_two_replicas_share_both_cues_through_redis(redis_server, jwt_server, widgets):
    """The traveller's socket on replica A; the API's calls land on replica B."""
    a, b = await jwt_server(), await jwt_server()
    widget = widgets(a.url)
    cues: List[dict] = []
    widget.client.on("agent_typing", cues.append)
    conversation = (await widget.connect()).split(".")[0]

    async def typing_at_b() -> bool:
        return (await traveller_typing(b.url, conversation, staff())).json()["typing"]

    await widget.client.emit("traveller_typing", {"typing": True})
    assert await eventually(typing_at_b)
    await widget.client.emit("traveller_typing", {"typing": False})
    assert await eventually(lambda: _not(typing_at_b()))

    async with httpx.AsyncClient() as client:
        sent = await client.post(
            f"{b.url}/webhooks/socketio/typing/agent",
            json={"conversation": conversation, "typing": True, "agent": "张敏"},
            headers=staff(),
        )
    assert sent.json() == {"ok": True}

    async def arrived() -> bool:
        return bool(cues)

    assert await eventually(arrived, timeout=5.0)
    assert cues == [{"typing": True, "agent": "张敏"}]
