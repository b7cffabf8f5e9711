"""Calls to Rasa hold no database transaction, and ending a handoff claims it before anyone is
told — against a real, slow HTTP server on loopback standing in for Rasa's HTTP API (no mock
transport), with the API under uvicorn and real commits, on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from datetime import UTC, datetime
from urllib.parse import parse_qs, unquote

import httpx
import pytest
import uvicorn
from sqlalchemy import select
from sqlalchemy.orm import sessionmaker

from app.api.deps import get_now
from app.core.db import get_session, make_engine
from app.main import create_app
from app.models import AuditLog, Handoff
from app.services.rasa_client import RasaClient, get_rasa_client
from tests.conftest import SERVICE_TOKEN, login, new_database, prepare, test_settings
from tests.factories import ticket_payload
from tests.live import free_port
from tests.routes.test_handoffs import rasa_jwt_is_valid


def _header(scope: dict, name: bytes) -> str:
    return next((value.decode() for key, value in scope["headers"] if key.lower() == name), "")


RASA_TOKEN = "test-rasa-token"
SERVICE = {"Authorization": f"Bearer {SERVICE_TOKEN}"}


class SlowRasa:
    """Rasa's conversation endpoints as a raw ASGI app that answers after `delay` seconds.
    On every request it notes how many database connections the API has checked out."""

    def __init__(self, engine) -> None:
        self.engine = engine
        self.delay = 0.0
        self.events: dict[str, list[dict]] = {}
        self.calls: list[tuple[str, str]] = []
        self.connections_in_use: list[int] = []
        self.arrived = threading.Event()
        self.failing = False  # answer 500 to everything

    async def __call__(self, scope, receive, send) -> None:
        assert scope["type"] == "http"
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        self.connections_in_use.append(self.engine.pool.checkedout())
        self.arrived.set()
        await asyncio.sleep(self.delay)
        params = parse_qs(scope["query_string"].decode())
        status, payload = 404, {}
        parts = scope["raw_path"].decode().split("?")[0].split("/")
        if self.failing:
            status, payload = 500, {"message": "down"}
        elif "token" in params or not rasa_jwt_is_valid(_header(scope, b"authorization")):
            status, payload = 401, {"message": "bad token"}
        elif len(parts) >= 4 and parts[1] == "conversations":
            conversation_id = unquote(parts[2])
            self.calls.append((scope["method"], "/".join(parts[3:])))
            if scope["method"] == "GET" and parts[3:] == ["tracker"]:
                status, payload = (
                    200,
                    {
                        "sender_id": conversation_id,
                        "events": self.events.get(conversation_id, []),
                        "paused": True,
                    },
                )
            elif scope["method"] == "POST" and parts[3:] == ["tracker", "events"]:
                stamped = [{"timestamp": time.time(), **e} for e in json.loads(body)]
                self.events.setdefault(conversation_id, []).extend(stamped)
                status, payload = 200, {"sender_id": conversation_id}
        data = json.dumps(payload).encode()
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(data)).encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": data})

    def farewells(self, conversation_id: str) -> list[dict]:
        return [
            e
            for e in self.events.get(conversation_id, [])
            if e["event"] == "bot" and "人工客服已结束" in e["text"]
        ]


def _serve(app, port: int) -> tuple[uvicorn.Server, threading.Thread]:
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    assert server.started
    return server, thread


@pytest.fixture(params=["sqlite", "postgresql"])
def stack(request, tmp_path_factory):
    """The API (uvicorn, real sessions and commits) talking over HTTP to a slow Rasa."""
    database = new_database(request.param, tmp_path_factory)
    prepare(database.url)
    engine = make_engine(database.url)
    sessions = sessionmaker(bind=engine, expire_on_commit=False)
    rasa = SlowRasa(engine)
    rasa_server, rasa_thread = _serve(rasa, rasa_port := free_port())
    rasa_client = RasaClient(f"http://127.0.0.1:{rasa_port}", RASA_TOKEN, timeout=30)

    def session():
        with sessions() as s:
            yield s

    app = create_app(test_settings())
    app.dependency_overrides[get_session] = session
    app.dependency_overrides[get_now] = lambda: datetime.now(UTC)
    app.dependency_overrides[get_rasa_client] = lambda: rasa_client
    api_server, api_thread = _serve(app, api_port := free_port())
    yield f"http://127.0.0.1:{api_port}", rasa, sessions
    for server, thread in ((api_server, api_thread), (rasa_server, rasa_thread)):
        server.should_exit = True
        thread.join(10)
    rasa_client.close()
    engine.dispose()
    for step in database.cleanup:
        step()


def _taken_handoff(http: httpx.Client, agent: dict, conversation_id: str, **extra) -> int:
    body = {"conversation_id": conversation_id, "channel": "socketio", "reason": "request_human", **extra}
    handoff_id = http.post("/handoffs", json=body, headers=SERVICE).json()["id"]
    assert http.post(f"/handoffs/{handoff_id}/take", headers=agent).status_code == 200
    return handoff_id


def test_no_connection_is_held_while_rasa_answers(stack):
    base, rasa, _ = stack
    with httpx.Client(base_url=base, timeout=60) as http:
        agent = login(http, "agent1")
        handoff_id = _taken_handoff(http, agent, "io-1")
        rasa.delay = 0.3
        assert http.get(f"/handoffs/{handoff_id}/transcript", headers=agent).status_code == 200
        assert (
            http.post(f"/handoffs/{handoff_id}/messages", json={"text": "您好"}, headers=agent).status_code
            == 201
        )
        assert http.post(f"/handoffs/{handoff_id}/return", headers=agent).status_code == 200
    # joined notice at the take; transcript; message; farewell, resume, tracker at the end: none
    # with a connection out.
    assert len(rasa.connections_in_use) == 6
    assert rasa.connections_in_use == [0] * 6


def test_a_slow_rasa_does_not_stall_ticket_creation(stack):
    base, rasa, _ = stack
    with httpx.Client(base_url=base, timeout=60) as http:
        agent = login(http, "agent1")
        handoff_id = _taken_handoff(http, agent, "io-2")
        # The first ticket of a process is slow (imports, calendars): not what is measured.
        assert (
            http.post(
                "/tickets", json=ticket_payload(category="meals", severity="general"), headers=SERVICE
            ).status_code
            == 201
        )
    rasa.delay = 3.0
    rasa.arrived.clear()
    polled: list[int] = []

    def poll() -> None:
        with httpx.Client(base_url=base, timeout=60) as http:
            polled.append(http.get(f"/handoffs/{handoff_id}/transcript", headers=agent).status_code)

    poller = threading.Thread(target=poll)
    poller.start()
    assert rasa.arrived.wait(10)  # the transcript request is now waiting for Rasa
    started = time.monotonic()
    with httpx.Client(base_url=base, timeout=60) as http:
        created = http.post(
            "/tickets", json=ticket_payload(category="meals", severity="general"), headers=SERVICE
        )
    elapsed = time.monotonic() - started
    poller.join(30)
    assert created.status_code == 201, created.text
    assert elapsed < 1.5, f"ticket creation waited {elapsed:.1f} s for a transcript poll"
    assert polled == [200]


@pytest.mark.parametrize("ending", ["close", "return"])
def test_two_concurrent_ends_message_the_traveller_once(stack, ending):
    base, rasa, sessions = stack
    with httpx.Client(base_url=base, timeout=60) as http:
        agent, supervisor = login(http, "agent1"), login(http, "supervisor")
        handoff_id = _taken_handoff(http, agent, f"io-end-{ending}")
    rasa.delay = 0.5
    barrier = threading.Barrier(2)
    answers: list[int] = []

    def end(headers: dict) -> None:
        with httpx.Client(base_url=base, timeout=60) as http:
            barrier.wait()
            answers.append(http.post(f"/handoffs/{handoff_id}/{ending}", headers=headers).status_code)

    threads = [threading.Thread(target=end, args=(h,)) for h in (agent, supervisor)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert sorted(answers) == [200, 409]
    assert len(rasa.farewells(f"io-end-{ending}")) == 1
    assert [kind for kind in (e["event"] for e in rasa.events[f"io-end-{ending}"]) if kind == "resume"] == [
        "resume"
    ]
    with sessions() as session:
        handoff = session.get(Handoff, handoff_id)
        assert (
            handoff.status == ("closed" if ending == "close" else "returned")
            and handoff.transcript is not None
        )
        actions = session.scalars(
            select(AuditLog.action).where(AuditLog.action.in_(["handoff_close", "handoff_return"]))
        ).all()
        assert len(actions) == 1


def test_rasa_down_after_the_claim_puts_the_handoff_back(stack):
    base, rasa, sessions = stack
    with httpx.Client(base_url=base, timeout=60) as http:
        agent = login(http, "agent1")
        handoff_id = _taken_handoff(http, agent, "io-down")
        rasa.failing = True
        assert http.post(f"/handoffs/{handoff_id}/close", headers=agent).status_code == 502
        rasa.failing = False
        out = http.get(f"/handoffs/{handoff_id}", headers=agent).json()
        assert out["status"] == "active" and out["closed_at"] is None
        # It can be ended once Rasa is back.
        assert http.post(f"/handoffs/{handoff_id}/close", headers=agent).status_code == 200
    with sessions() as session:
        actions = session.scalars(
            select(AuditLog.action).where(AuditLog.field == "handoff").order_by(AuditLog.id)
        ).all()
        assert [a for a in actions if a.startswith("handoff_")][-3:] == [
            "handoff_close",
            "handoff_reopen",
            "handoff_close",
        ]


def test_an_emergency_while_waiting_is_answered_through_the_channel(stack):
    base, rasa, _ = stack
    advice = "请先确保自身和身边人员的安全！\n有人受伤或身体不适：请立即拨打 120 急救电话。"
    with httpx.Client(base_url=base, timeout=60) as http:
        first = {"conversation_id": "io-sos", "channel": "socketio", "reason": "request_human"}
        assert http.post("/handoffs", json=first, headers=SERVICE).status_code == 201
        upgrade = {**first, "reason": "emergency", "severity": "urgent", "notice": advice}
        # A notice only for the conversation the bot acts for.
        other = http.post("/handoffs", json=upgrade, headers={**SERVICE, "X-Sender-Id": "io-other"})
        assert other.status_code == 403
        time.sleep(0.5)
        assert rasa.events.get("io-sos") is None  # nothing relayed without a notice, or for a refusal
        own = {**SERVICE, "X-Sender-Id": "io-sos"}
        answer = http.post("/handoffs", json=upgrade, headers=own)
        assert answer.status_code == 200 and answer.json()["upgraded"] is True, answer.text
        # Relayed after the response (the bot's call holds Rasa's lock on the conversation).
        deadline = time.monotonic() + 10
        while not rasa.events.get("io-sos") and time.monotonic() < deadline:
            time.sleep(0.05)
        said = [e for e in rasa.events.get("io-sos", []) if e["event"] == "bot"]
        assert [e["text"] for e in said] == [advice]
        assert ("POST", "tracker/events") in rasa.calls
        # Rasa down: the upgrade still stands and the bot gets its answer, no 5xx.
        rasa.failing = True
        again = http.post("/handoffs", json=upgrade, headers=own)
        assert again.status_code == 200, again.text
        assert http.post("/handoffs", json={**upgrade, "notice": "  "}, headers=own).status_code == 422


def test_a_missing_conversation_is_reported_without_its_raw_id(tmp_path):
    from app.services.rasa_client import ConversationNotFound

    rasa = SlowRasa(make_engine(f"sqlite:///{tmp_path / 'unused.db'}"))
    server, thread = _serve(rasa, port := free_port())
    client = RasaClient(f"http://127.0.0.1:{port}", RASA_TOKEN, timeout=10)
    try:
        with pytest.raises(ConversationNotFound) as raised:
            client._call("GET", "/conversations/oAbCdEfSecretOpenid123/unknown")
        assert "oAbCdEfSecretOpenid123" not in str(raised.value)
    finally:
        client.close()
        server.should_exit = True
        thread.join(10)
