"""The handoff protocol over HTTP: open, queue, take (also concurrently), transcript, reply,
hand back, close — on SQLite and PostgreSQL.

Rasa itself runs in the other Python environment; here its HTTP API is played by `FakeRasa`,
a small in-memory tracker store that keeps Rasa's pause/resume semantics. The real Rasa is
exercised by tests/e2e/test_handoff.py and the browser test.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from datetime import UTC, datetime, timedelta
from urllib.parse import unquote

import httpx
import pytest
import uvicorn
from sqlalchemy import select
from sqlalchemy.orm import sessionmaker

from app.api.deps import get_now
from app.core.db import get_session, make_engine
from app.main import create_app
from app.models import AuditLog, Handoff
from app.services.availability import AvailabilitySettings, get_availability_settings
from app.services.rasa_client import RasaClient, get_rasa_client
from app.services.typing_relay import TypingRelay, get_typing_relay
from tests.conftest import login, new_database, prepare, test_settings
from tests.factories import create_ticket

RASA_TOKEN = "test-rasa-token"


def rasa_jwt_is_valid(authorization: str) -> bool:
    """Rasa's --jwt-secret check: `Bearer <HS256 JWT>` signed with the secret, role admin, not expired."""
    import base64
    import hashlib
    import hmac

    def unb64(part: str) -> bytes:
        return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))

    scheme, _, token = authorization.partition(" ")
    try:
        header, body, signature = token.split(".")
    except ValueError:
        return False
    expected = hmac.new(RASA_TOKEN.encode(), f"{header}.{body}".encode(), hashlib.sha256).digest()
    claims = json.loads(unb64(body))
    return (
        scheme == "Bearer"
        and hmac.compare_digest(unb64(signature), expected)
        and claims["user"]["role"] == "admin"
        and claims["exp"] > time.time()
    )


class FakeRasa:
    """Rasa's conversation endpoints as the API uses them, with the token check."""

    def __init__(self) -> None:
        self.events: dict[str, list[dict]] = {}
        self.calls: list[tuple[str, str, dict]] = []
        self.down = False

    def add(self, conversation_id: str, *events: dict) -> None:
        stamped = [{"timestamp": time.time(), **e} for e in events]
        self.events.setdefault(conversation_id, []).extend(stamped)

    def paused(self, conversation_id: str) -> bool:
        paused = False
        for event in self.events.get(conversation_id, []):
            if event["event"] == "pause":
                paused = True
            elif event["event"] == "resume":
                paused = False
        return paused

    def handler(self, request: httpx.Request) -> httpx.Response:
        if self.down:
            raise httpx.ConnectError("connection refused", request=request)
        if "token" in request.url.params or not rasa_jwt_is_valid(request.headers.get("Authorization", "")):
            return httpx.Response(401, json={"message": "bad token"})
        parts = request.url.raw_path.decode().split("?")[0].split("/")
        conversation_id = unquote(parts[2])
        self.calls.append((request.method, "/".join(parts[3:]), dict(request.url.params)))
        if request.method == "GET" and parts[3:] == ["tracker"]:
            return httpx.Response(
                200,
                json={
                    "sender_id": conversation_id,
                    "events": self.events.get(conversation_id, []),
                    "paused": self.paused(conversation_id),
                },
            )
        if request.method == "POST" and parts[3:] == ["tracker", "events"]:
            self.add(conversation_id, *json.loads(request.content))
            return httpx.Response(200, json={"sender_id": conversation_id})
        return httpx.Response(404)


@pytest.fixture
def rasa(app):
    fake = FakeRasa()
    client = RasaClient("http://rasa.test", RASA_TOKEN, transport=httpx.MockTransport(fake.handler))
    app.dependency_overrides[get_rasa_client] = lambda: client
    # Typing cues go nowhere real (a Rasa without the typing routes: no cue), never to a real port.
    relay = TypingRelay(
        "http://rasa.test", RASA_TOKEN, transport=httpx.MockTransport(lambda _: httpx.Response(404))
    )
    app.dependency_overrides[get_typing_relay] = lambda: relay
    return fake


def open_handoff(client, service, expected=201, **overrides) -> dict:
    body = {
        "conversation_id": "web-abc123",
        "channel": "socketio",
        "reason": "request_human",
        "summary": {"booking_ref": "TR20260001", "phone": "13812345678"},
    }
    body.update(overrides)
    response = client.post("/handoffs", json=body, headers=service)
    assert response.status_code == expected, response.text
    return response.json()


def paused_conversation(rasa: FakeRasa, conversation_id: str) -> None:
    rasa.add(
        conversation_id,
        {"event": "user", "text": "我要转人工"},
        {"event": "bot", "text": "已为您转接人工客服，您前面还有 0 位。"},
        {"event": "pause"},
        {"event": "user", "text": "导游把我们丢在景区了，电话 13812345678"},
        {"event": "user", "text": "<script>alert(1)</script>"},
    )


@pytest.fixture
def always_open(app):
    """Opening hours round the clock: the wait estimate must not depend on when the suite runs."""
    app.dependency_overrides[get_availability_settings] = lambda: AvailabilitySettings(
        opening_hours="00:00-24:00"
    )


def test_the_bot_opens_a_handoff_once_per_conversation(client, service, rasa, always_open, agent1):
    first = open_handoff(client, service)  # agent1 logged in: online
    assert first["created"] is True and first["status"] == "waiting"
    assert first["position"] == 1 and first["expected_wait_minutes"] >= 1
    assert (first["severity"], first["colour"]) == ("general", "yellow")
    again = open_handoff(client, service, expected=200)
    assert again["id"] == first["id"] and again["created"] is False and again["upgraded"] is False


def test_only_the_service_opens_handoffs_and_links_must_exist(client, service, agent1, rasa):
    body = {"conversation_id": "web-x", "reason": "request_human"}
    assert client.post("/handoffs", json=body, headers=agent1).status_code == 403
    assert client.post("/handoffs", json=body).status_code == 401
    bad = client.post("/handoffs", json={**body, "ticket_no": "C20260101999"}, headers=service)
    assert bad.status_code == 422 and "ticket" in bad.text
    assert (
        client.post("/handoffs", json={**body, "conversation_id": "a b<"}, headers=service).status_code == 422
    )


def test_urgent_complaint_links_the_ticket_and_jumps_the_queue(client, service, agent1, clock, rasa):
    start = clock.now
    general = open_handoff(client, service, conversation_id="c-general")
    clock.set(start + timedelta(minutes=1))
    ticket = create_ticket(
        client,
        service,
        category="safety",
        severity="urgent",
        description="同行老人摔倒受伤，现在还在景区等救护车",
    )
    urgent = open_handoff(
        client, service, conversation_id="c-urgent", reason="urgent_complaint", ticket_no=ticket["ticket_no"]
    )
    clock.set(start + timedelta(minutes=2))
    major = open_handoff(client, service, conversation_id="c-major", severity="major")
    assert (urgent["severity"], urgent["colour"], urgent["ticket_no"]) == (
        "urgent",
        "red",
        ticket["ticket_no"],
    )
    assert urgent["position"] == 1
    queue = client.get("/handoffs", headers=agent1).json()
    assert [h["id"] for h in queue["items"]] == [urgent["id"], major["id"], general["id"]]
    assert [h["position"] for h in queue["items"]] == [1, 2, 3]
    assert [h["colour"] for h in queue["items"]] == ["red", "red", "yellow"]
    assert queue["waiting"] == 3
    # Agents who do not hold a conversation see its personal data masked.
    assert queue["items"][2]["summary"]["phone"] == "*******5678" and queue["items"][2]["masked"]


def test_an_emergency_is_urgent_and_red_at_the_head_of_the_queue_whatever_severity_is_sent(
    client, service, agent1, clock, rasa
):
    start = clock.now
    major = open_handoff(client, service, conversation_id="c-major", severity="major")
    clock.set(start + timedelta(minutes=1))
    complaint = open_handoff(client, service, conversation_id="c-complaint", reason="urgent_complaint")
    clock.set(start + timedelta(minutes=2))
    emergency = open_handoff(
        client,
        service,
        conversation_id="c-emergency",
        reason="emergency",
        severity="general",
        summary={"last_message": "同伴从栈道上摔下去了"},
    )
    assert (emergency["reason"], emergency["severity"], emergency["colour"]) == ("emergency", "urgent", "red")
    queue = client.get("/handoffs", headers=agent1).json()["items"]
    # Urgent first (among urgent ones, the longest wait first), then major.
    assert [h["id"] for h in queue] == [complaint["id"], emergency["id"], major["id"]]
    assert [h["severity"] for h in queue] == ["urgent", "urgent", "major"]


def test_a_cancellation_request_is_general_unless_a_severity_is_given(client, service, rasa):
    plain = open_handoff(client, service, conversation_id="c-cancel", reason="cancellation_request")
    assert (plain["reason"], plain["severity"], plain["colour"]) == (
        "cancellation_request",
        "general",
        "yellow",
    )
    given = open_handoff(
        client, service, conversation_id="c-cancel-2", reason="cancellation_request", severity="major"
    )
    assert (given["severity"], given["colour"]) == ("major", "red")
    unknown = client.post(
        "/handoffs", json={"conversation_id": "c-x", "reason": "cancel_trip"}, headers=service
    )
    assert unknown.status_code == 422


@pytest.mark.parametrize("taken", [False, True])
def test_an_emergency_raises_the_conversations_open_handoff_to_urgent(
    client, service, agent1, db, clock, rasa, taken
):
    start = clock.now
    first = open_handoff(client, service, conversation_id="c-1", reason="request_human")
    clock.set(start + timedelta(minutes=1))
    other = open_handoff(client, service, conversation_id="c-2", severity="major")
    if taken:
        client.post(f"/handoffs/{first['id']}/take", headers=agent1)
    ticket = create_ticket(
        client, service, category="safety", severity="urgent", description="老人在景区晕倒了，现在还没醒"
    )
    clock.set(start + timedelta(minutes=3))
    raised = open_handoff(
        client,
        service,
        expected=200,
        conversation_id="c-1",
        reason="emergency",
        ticket_no=ticket["ticket_no"],
        summary={"last_message": "我爸晕倒了，快来人"},
    )
    assert raised["id"] == first["id"] and raised["created"] is False and raised["upgraded"] is True
    assert (raised["reason"], raised["severity"], raised["colour"]) == ("emergency", "urgent", "red")
    assert raised["ticket_no"] == ticket["ticket_no"]
    assert raised["summary"]["last_message"] == "我爸晕倒了，快来人"
    assert raised["summary"]["booking_ref"] == "TR20260001"  # what the bot gave before is kept
    assert raised["status"] == ("active" if taken else "waiting")
    if not taken:
        assert raised["position"] == 1
        queue = client.get("/handoffs", headers=agent1).json()["items"]
        assert [h["id"] for h in queue] == [first["id"], other["id"]]
    rows = db.scalars(select(AuditLog).where(AuditLog.action == "handoff_upgrade")).all()
    assert [(r.old_value, r.new_value, r.actor) for r in rows] == [
        (f"#{first['id']} request_human general", f"#{first['id']} emergency urgent", "service")
    ]
    # Asking again changes nothing more; a non-emergency request does not lower it.
    again = open_handoff(client, service, expected=200, conversation_id="c-1", reason="emergency")
    assert again["upgraded"] is False and again["severity"] == "urgent"
    calmer = open_handoff(
        client, service, expected=200, conversation_id="c-1", reason="request_human", severity="general"
    )
    assert (calmer["reason"], calmer["severity"], calmer["upgraded"]) == ("emergency", "urgent", False)
    assert len(db.scalars(select(AuditLog).where(AuditLog.action == "handoff_upgrade")).all()) == 1


def test_take_is_exclusive_and_the_second_agent_gets_a_clear_refusal(client, service, agent1, agent2, rasa):
    handoff = open_handoff(client, service)
    taken = client.post(f"/handoffs/{handoff['id']}/take", headers=agent1)
    assert (
        taken.status_code == 200 and taken.json()["status"] == "active" and taken.json()["agent"] == "agent1"
    )
    refused = client.post(f"/handoffs/{handoff['id']}/take", headers=agent2)
    assert refused.status_code == 409
    assert "agent1" in refused.json()["detail"] and "已由客服" in refused.json()["detail"]
    again = client.post(f"/handoffs/{handoff['id']}/take", headers=agent1)
    assert again.status_code == 200  # the holder's double click is harmless
    assert client.post("/handoffs/999999/take", headers=agent1).status_code == 404
    assert client.post(f"/handoffs/{handoff['id']}/take", headers=service).status_code == 403


def test_transcript_shows_what_the_traveller_wrote_while_waiting(client, service, agent1, agent2, rasa):
    handoff = open_handoff(client, service)
    paused_conversation(rasa, "web-abc123")
    preview = client.get(f"/handoffs/{handoff['id']}/transcript", headers=agent2).json()
    assert "138****5678" in preview["lines"][3]["text"]  # waiting: any agent may triage, masked
    client.post(f"/handoffs/{handoff['id']}/take", headers=agent1)
    assert client.get(f"/handoffs/{handoff['id']}/transcript", headers=agent2).status_code == 403
    full = client.get(f"/handoffs/{handoff['id']}/transcript", headers=agent1).json()
    assert full["paused"] is True and full["source"] == "rasa"
    assert [(line["sender"], line["text"]) for line in full["lines"]] == [
        ("traveller", "我要转人工"),
        ("bot", "已为您转接人工客服，您前面还有 0 位。"),
        ("system", "机器人已暂停，等待人工客服"),
        ("traveller", "导游把我们丢在景区了，电话 13812345678"),
        ("traveller", "<script>alert(1)</script>"),  # data, returned verbatim; pages insert it as text
        ("agent", "客服张敏已接入，正在为您处理。"),  # the take tells the traveller who joined
    ]


@pytest.mark.parametrize(
    "suffix, bad, good",
    [
        ("messages", {"text": "  "}, {"text": "您好"}),
        ("notes", {"text": "  "}, {"text": "已致电"}),
        ("typing", {"typing": "yes"}, {"typing": True}),
    ],
)
def test_a_bad_body_is_a_422_before_an_unknown_or_forbidden_handoff(
    client, service, agent1, agent2, suffix, bad, good
):
    """The access dependency (api/handoff_deps.py) loads the handoff only when the route asks:
    a bad body is answered first, as FastAPI validates bodies after running dependencies."""
    assert client.post(f"/handoffs/999999/{suffix}", json=bad, headers=agent1).status_code == 422
    assert client.post(f"/handoffs/999999/{suffix}", json=good, headers=agent1).status_code == 404
    held = open_handoff(client, service, conversation_id=f"web-order-{suffix}")
    assert client.post(f"/handoffs/{held['id']}/take", headers=agent1).status_code == 200
    assert client.post(f"/handoffs/{held['id']}/{suffix}", json=bad, headers=agent2).status_code == 422
    assert client.post(f"/handoffs/{held['id']}/{suffix}", json=good, headers=agent2).status_code == 403


def test_only_the_holder_replies_and_the_first_reply_time_is_recorded(
    client, service, agent1, agent2, clock, rasa
):
    handoff = open_handoff(client, service)
    paused_conversation(rasa, "web-abc123")
    hid = handoff["id"]
    assert client.post(f"/handoffs/{hid}/messages", json={"text": "您好"}, headers=agent1).status_code == 403
    client.post(f"/handoffs/{hid}/take", headers=agent1)
    assert client.post(f"/handoffs/{hid}/messages", json={"text": "您好"}, headers=agent2).status_code == 403
    assert client.post(f"/handoffs/{hid}/messages", json={"text": "  "}, headers=agent1).status_code == 422
    clock.set(clock.now + timedelta(seconds=95))
    sent = client.post(f"/handoffs/{hid}/messages", json={"text": "您好，我是客服小王"}, headers=agent1)
    assert sent.status_code == 201, sent.text
    assert sent.json()["pushed"] is True and sent.json()["first_reply"] is True
    method, path, params = rasa.calls[-1]
    assert (method, path) == ("POST", "tracker/events")
    assert params["output_channel"] == "socketio" and params["execute_side_effects"] == "true"
    last = rasa.events["web-abc123"][-1]
    assert last["event"] == "bot" and last["text"] == "您好，我是客服小王"
    second = client.post(
        f"/handoffs/{hid}/messages", json={"text": "请问发生了什么？"}, headers=agent1
    ).json()
    assert second["first_reply"] is False
    out = client.get(f"/handoffs/{hid}", headers=agent1).json()
    assert out["first_reply_wait_seconds"] == 95
    lines = client.get(f"/handoffs/{hid}/transcript", headers=agent1).json()["lines"]
    assert [line["sender"] for line in lines[-2:]] == ["agent", "agent"] and lines[-1]["agent"]


def test_rest_channel_messages_land_in_the_tracker_only(client, service, agent1, rasa):
    handoff = open_handoff(client, service, channel="rest", conversation_id="rest-1")
    client.post(f"/handoffs/{handoff['id']}/take", headers=agent1)
    sent = client.post(f"/handoffs/{handoff['id']}/messages", json={"text": "您好"}, headers=agent1).json()
    assert sent["pushed"] is False
    assert rasa.events["rest-1"][-1]["text"] == "您好"


def test_hand_back_resumes_the_bot_and_stores_the_transcript_with_the_ticket(
    client, service, agent1, db, rasa
):
    ticket = create_ticket(
        client,
        service,
        category="safety",
        severity="urgent",
        description="孩子在酒店泳池受伤流血，现在需要帮助",
    )
    handoff = open_handoff(client, service, reason="urgent_complaint", ticket_no=ticket["ticket_no"])
    paused_conversation(rasa, "web-abc123")
    hid = handoff["id"]
    client.post(f"/handoffs/{hid}/take", headers=agent1)
    client.post(f"/handoffs/{hid}/messages", json={"text": "已联系当地导游和医院"}, headers=agent1)
    back = client.post(f"/handoffs/{hid}/return", json={"note": "已安排就医"}, headers=agent1)
    assert back.status_code == 200, back.text
    assert back.json()["status"] == "returned" and back.json()["closed_at"]
    kinds = [e["event"] for e in rasa.events["web-abc123"][-3:]]
    assert kinds == ["bot", "resume", "action"]  # farewell, then resume AND action_listen
    assert rasa.events["web-abc123"][-1]["name"] == "action_listen"
    assert rasa.paused("web-abc123") is False
    # The ticket keeps the transcript as an internal note (agent1 may or may not own it: use the service).
    notes = client.get(
        f"/tickets/{ticket['ticket_no']}", headers={**service, "X-Sender-Id": ticket["conversation_id"]}
    ).json()["notes"]
    assert any(
        "已联系当地导游和医院" in n["text"]
        and "导游把我们丢在景区了" in n["text"]
        and "已安排就医" in n["text"]
        for n in notes
    )
    stored = client.get(f"/handoffs/{hid}/transcript", headers=agent1).json()
    assert stored["source"] == "stored"
    assert [line["sender"] for line in stored["lines"][-2:]] == ["agent", "system"]
    assert stored["lines"][-2]["text"].startswith("人工客服已结束")
    actions = set(db.scalars(select(AuditLog.action).where(AuditLog.field == "handoff")))
    assert {"handoff_open", "handoff_take", "handoff_reply", "handoff_return"} <= actions
    # Ended: no more replies, no second hand-back.
    assert (
        client.post(f"/handoffs/{hid}/messages", json={"text": "还在吗"}, headers=agent1).status_code == 409
    )
    assert client.post(f"/handoffs/{hid}/return", headers=agent1).status_code == 409
    # The conversation may be handed over again later.
    assert open_handoff(client, service)["id"] != hid


def test_a_supervisor_closes_a_waiting_handoff_when_the_traveller_left(
    client, service, agent1, supervisor, rasa
):
    handoff = open_handoff(client, service)
    assert client.post(f"/handoffs/{handoff['id']}/close", headers=agent1).status_code == 403
    closed = client.post(f"/handoffs/{handoff['id']}/close", json={"farewell": False}, headers=supervisor)
    assert closed.status_code == 200 and closed.json()["status"] == "closed"
    assert [e["event"] for e in rasa.events["web-abc123"]] == ["resume", "action"]
    assert client.get("/handoffs", headers=agent1).json()["items"] == []
    history = client.get("/handoffs", params={"status": "closed"}, headers=agent1).json()
    assert [h["id"] for h in history["items"]] == [handoff["id"]]


def test_rasa_down_changes_nothing(client, service, agent1, rasa):
    handoff = open_handoff(client, service)
    client.post(f"/handoffs/{handoff['id']}/take", headers=agent1)
    rasa.down = True
    failed = client.post(f"/handoffs/{handoff['id']}/messages", json={"text": "您好"}, headers=agent1)
    assert failed.status_code == 502 and "不可用" in failed.json()["detail"]
    assert client.post(f"/handoffs/{handoff['id']}/return", headers=agent1).status_code == 502
    out = client.get(f"/handoffs/{handoff['id']}", headers=agent1).json()
    assert out["status"] == "active" and out["first_agent_reply_at"] is None


# --- two agents at once, on a real server with committed transactions ---------------------


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(params=["sqlite", "postgresql"])
def live_api(request, tmp_path_factory):
    database = new_database(request.param, tmp_path_factory)
    prepare(database.url)
    engine = make_engine(database.url)
    sessions = sessionmaker(bind=engine, expire_on_commit=False)

    def session():
        with sessions() as s:
            yield s

    app = create_app(test_settings())
    app.dependency_overrides[get_session] = session
    app.dependency_overrides[get_now] = lambda: datetime.now(UTC)
    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}", sessions
    server.should_exit = True
    thread.join(10)
    engine.dispose()
    for step in database.cleanup:
        step()


def test_concurrent_takes_let_exactly_one_agent_win(live_api):
    base, sessions = live_api
    with httpx.Client(base_url=base, timeout=30) as http:
        service = {"Authorization": "Bearer test-service-token"}
        agents = [login(http, "agent1"), login(http, "agent2")]
        ids = [
            http.post(
                "/handoffs", json={"conversation_id": f"race-{i}", "reason": "request_human"}, headers=service
            ).json()["id"]
            for i in range(6)
        ]

    results: dict[int, list[tuple[int, str]]] = {i: [] for i in ids}

    def take(handoff_id: int, headers: dict, barrier: threading.Barrier) -> None:
        with httpx.Client(base_url=base, timeout=30) as http:
            barrier.wait()
            response = http.post(f"/handoffs/{handoff_id}/take", headers=headers)
            results[handoff_id].append((response.status_code, response.text))

    for handoff_id in ids:
        barrier = threading.Barrier(2)
        threads = [threading.Thread(target=take, args=(handoff_id, h, barrier)) for h in agents]
        for t in threads:
            t.start()
        for t in threads:
            t.join(30)
    for handoff_id, answers in results.items():
        codes = sorted(code for code, _ in answers)
        assert codes == [200, 409], answers
        assert any("已由客服" in body for code, body in answers if code == 409)
    with sessions() as session:
        rows = session.scalars(select(Handoff).where(Handoff.id.in_(ids))).all()
        assert all(h.status == "active" and h.agent in {"agent1", "agent2"} for h in rows)
        takes = session.scalars(select(AuditLog).where(AuditLog.action == "handoff_take")).all()
        assert len(takes) == len(ids)  # the loser left no trace


def test_expected_wait_follows_recent_take_times_and_positions_move_up(
    client, service, agent1, clock, rasa, always_open
):
    start = clock.now
    first = open_handoff(client, service, conversation_id="w-1")
    assert first["expected_wait_minutes"] == 3  # no history yet: the default per place
    clock.set(start + timedelta(minutes=10))
    client.post("/auth/heartbeat", json={"active": True}, headers=agent1)  # still at the desk
    client.post(f"/handoffs/{first['id']}/take", headers=agent1)  # took 10 minutes
    second = open_handoff(client, service, conversation_id="w-2")
    third = open_handoff(client, service, conversation_id="w-3")
    assert (second["position"], second["expected_wait_minutes"]) == (1, 10)
    assert (third["position"], third["expected_wait_minutes"]) == (2, 20)
    client.post(f"/handoffs/{second['id']}/take", headers=agent1)
    assert (
        client.get(f"/handoffs/{third['id']}", headers={**service, "X-Sender-Id": "w-3"}).json()["position"]
        == 1
    )
