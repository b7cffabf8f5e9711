"""Issue 15's remaining desk features over HTTP, on SQLite and PostgreSQL: agents' availability
(stored in the database, derived with the request's clock), the queue's wait estimate from the
agents online, opening hours in China time, private notes in the conversation and typing cues.

The clock is the `clock` fixture (get_now overridden): no test sleeps. Rasa is FakeRasa
(tests/routes/test_handoffs.py); the typing routes of Rasa's socket.io channel are played by
FakeTypingRoutes below, with the same JWT check.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from app.api.deps import get_now
from app.core.db import get_session
from app.crud import handoffs as crud
from app.crud.users import create_user
from app.main import create_app
from app.models import AuditLog, Ticket, TicketNote
from app.services.availability import CHINA, AvailabilitySettings, OpeningHours, get_availability_settings
from app.services.typing_relay import TypingRelay, get_typing_relay
from tests.conftest import login, test_settings
from tests.factories import create_ticket
from tests.routes.test_handoffs import RASA_TOKEN, open_handoff, paused_conversation, rasa, rasa_jwt_is_valid  # noqa: F401

DAY_SHIFT = AvailabilitySettings(opening_hours="08:00-22:00", agent_away_minutes=5, agent_offline_seconds=150)


def china(hour: int, minute: int = 0, day: int = 6) -> datetime:
    return datetime(2026, 12, day, hour, minute, tzinfo=CHINA).astimezone(UTC)


@pytest.fixture
def hours(app):
    """Opening hours 08:00-22:00 China time, whatever the server's zone (tests run in UTC)."""
    app.dependency_overrides[get_availability_settings] = lambda: DAY_SHIFT
    return DAY_SHIFT


@pytest.fixture
def midday(clock, hours):
    clock.set(china(12))  # inside the opening hours, before anyone logs in
    return clock


# --- opening hours: pure --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "moment", "is_open", "next_opening"),
    [
        ("08:00-22:00", china(7, 59), False, china(8)),
        ("08:00-22:00", china(8), True, None),
        ("08:00-22:00", china(21, 59), True, None),
        ("08:00-22:00", china(22), False, china(8, day=7)),
        ("08:00-22:00", china(23, 30), False, china(8, day=7)),
        ("20:00-02:00", china(1, 30), True, None),  # a shift past midnight
        ("20:00-02:00", china(3), False, china(20)),
        ("00:00-24:00", china(3), True, None),
    ],
)
def test_opening_hours_are_china_time_every_day(text, moment, is_open, next_opening):
    hours = OpeningHours.parse(text)
    assert hours.is_open(moment) is is_open
    assert hours.next_opening(moment) == next_opening


@pytest.mark.parametrize("text", ["", "8-22", "08:00-25:00", "24:00-08:00", "08:60-22:00"])
def test_malformed_opening_hours_are_refused_at_start(text):
    with pytest.raises(ValueError):
        AvailabilitySettings(opening_hours=text)


def test_the_wait_counts_only_agents_online():
    assert crud.expected_wait_minutes(place=3, per_place=4.0, online=0) is None
    assert crud.expected_wait_minutes(place=3, per_place=4.0, online=1) == 12
    assert crud.expected_wait_minutes(place=3, per_place=4.0, online=2) == 8  # two turns of two
    assert crud.expected_wait_minutes(place=3, per_place=4.0, online=3) == 4
    assert crud.expected_wait_minutes(place=None, per_place=4.0, online=3) is None


# --- availability -----------------------------------------------------------------------------


def status_of(client, headers) -> dict:
    response = client.post("/auth/heartbeat", json={"active": False}, headers=headers)
    assert response.status_code == 200, response.text
    return response.json()


def roster(client, supervisor) -> dict[str, str]:
    response = client.get("/auth/presence", headers=supervisor)
    assert response.status_code == 200, response.text
    return {p["username"]: p["status"] for p in response.json()["items"]}


def test_login_is_online_idle_is_away_silence_is_offline_logout_is_offline(client, midday, supervisor):
    agent1 = login(client, "agent1")
    assert roster(client, supervisor)["agent1"] == "online"
    assert roster(client, supervisor)["agent2"] == "offline"  # never logged in

    midday.set(midday.now + timedelta(minutes=6))  # heartbeats, but no keyboard or mouse
    me = status_of(client, agent1)
    assert (me["status"], me["chosen"], me["automatic"]) == ("away", "online", True)
    me = client.post("/auth/heartbeat", json={"active": True}, headers=agent1).json()
    assert (me["status"], me["automatic"]) == ("online", False)  # back at the desk

    midday.set(midday.now + timedelta(minutes=3))  # the console stopped reporting
    assert roster(client, supervisor)["agent1"] == "offline"
    assert status_of(client, agent1)["status"] == "online"  # it reports again (no activity needed yet)

    assert client.post("/auth/logout", headers=agent1).status_code == 200
    assert roster(client, supervisor)["agent1"] == "offline"


def test_an_initial_password_login_is_not_at_work_yet(client, db, midday, supervisor):
    create_user(
        db,
        username="agent3",
        display_name="赵磊",
        role="agent",
        password="initial-password-3",
        scrypt_n=2**14,
    )
    response = client.post("/auth/login", json={"username": "agent3", "password": "initial-password-3"})
    assert response.json()["must_change_password"] is True
    assert roster(client, supervisor)["agent3"] == "offline"  # the token may only change the password
    headers = {"Authorization": f"Bearer {response.json()['access_token']}"}
    assert client.post("/auth/heartbeat", json={"active": True}, headers=headers).status_code == 403
    changed = client.post(
        "/auth/password",
        json={"current_password": "initial-password-3", "new_password": "a-new-long-password-3"},
        headers=headers,
    )
    assert changed.status_code == 200, changed.text
    assert roster(client, supervisor)["agent3"] == "online"  # the desk opens now


def test_an_agent_chooses_away_and_back(client, midday, agent1, supervisor):
    me = client.put("/auth/presence", json={"status": "away"}, headers=agent1).json()
    assert (me["status"], me["automatic"]) == ("away", False)
    client.post("/auth/heartbeat", json={"active": True}, headers=agent1)
    assert roster(client, supervisor)["agent1"] == "away"  # activity does not override a choice
    assert (
        client.put("/auth/presence", json={"status": "online"}, headers=agent1).json()["status"] == "online"
    )
    assert client.put("/auth/presence", json={"status": "busy"}, headers=agent1).status_code == 422


def test_only_supervisors_see_the_desk(client, midday, agent1, supervisor):
    assert client.get("/auth/presence", headers=agent1).status_code == 403
    data = client.get("/auth/presence", headers=supervisor).json()
    assert (data["online_agents"], data["open_now"], data["opening_hours"]) == (1, True, "08:00–22:00")
    assert client.post("/auth/heartbeat", json={}).status_code == 401


def test_every_api_worker_agrees_on_who_is_online(app, client, db, midday, supervisor):
    """A second app (another worker) sharing only the database sees the first one's heartbeat."""
    other = create_app(test_settings())
    other.dependency_overrides[get_session] = lambda: db
    other.dependency_overrides[get_now] = lambda: midday.now
    other.dependency_overrides[get_availability_settings] = lambda: DAY_SHIFT
    second = TestClient(other)
    agent1 = login(client, "agent1")
    assert roster(second, supervisor)["agent1"] == "online"
    second.put("/auth/presence", json={"status": "away"}, headers=agent1)
    assert roster(client, supervisor)["agent1"] == "away"


# --- the wait the traveller is told -------------------------------------------------------------


def test_with_nobody_online_there_is_no_estimate(client, service, rasa, midday, supervisor):
    # A supervisor is logged in (online) but does not work the queue: not counted.
    assert roster(client, supervisor)["supervisor"] == "online"
    opened = open_handoff(client, service)
    assert (opened["position"], opened["agents_online"], opened["open_now"]) == (1, 0, True)
    assert opened["expected_wait_minutes"] is None


def test_the_estimate_divides_the_queue_among_agents_online(client, service, rasa, midday):
    login(client, "agent1")
    first = open_handoff(client, service, conversation_id="q-1")
    second = open_handoff(client, service, conversation_id="q-2")
    assert (first["expected_wait_minutes"], second["expected_wait_minutes"]) == (3, 6)
    login(client, "agent2")
    again = client.get(f"/handoffs/{second['id']}", headers={**service, "X-Sender-Id": "q-2"}).json()
    assert (again["agents_online"], again["expected_wait_minutes"]) == (2, 3)


def test_out_of_hours_the_queue_waits_for_the_next_opening(client, service, rasa, clock, hours):
    clock.set(china(7, 30))  # online agents or not, the desk is closed
    login(client, "agent1")
    opened = open_handoff(client, service)
    assert (opened["status"], opened["position"]) == ("waiting", 1)  # still taken into the queue
    assert (opened["open_now"], opened["expected_wait_minutes"]) == (False, None)
    assert datetime.fromisoformat(opened["next_opening"]) == china(8)
    clock.set(china(8, 1))
    agent1 = login(client, "agent1")
    now = client.get(f"/handoffs/{opened['id']}", headers=agent1).json()
    assert (now["open_now"], now["next_opening"], now["expected_wait_minutes"]) == (True, None, 3)


# --- private notes ----------------------------------------------------------------------------------


def taken(client, service, rasa, agent) -> dict:
    opened = open_handoff(client, service)
    paused_conversation(rasa, "web-abc123")
    response = client.post(f"/handoffs/{opened['id']}/take", headers=agent)
    assert response.status_code == 200, response.text
    return opened


def test_a_note_is_in_the_transcript_by_time_and_never_reaches_the_traveller(
    client, service, rasa, midday, agent1
):
    handoff = taken(client, service, rasa, agent1)
    events_before = len(rasa.events["web-abc123"])
    calls_before = [c for c in rasa.calls if c[1] == "tracker/events"]
    midday.set(midday.now + timedelta(seconds=5))
    note = client.post(
        f"/handoffs/{handoff['id']}/notes", json={"text": "旅客情绪激动，先安抚"}, headers=agent1
    )
    assert note.status_code == 201, note.text
    assert note.json()["author"] == "张敏"
    # Nothing went to Rasa: not into the tracker, so never into the widget or its history.
    assert len(rasa.events["web-abc123"]) == events_before
    assert [c for c in rasa.calls if c[1] == "tracker/events"] == calls_before
    rasa.add("web-abc123", {"event": "user", "text": "还在吗"})  # after the note

    lines = client.get(f"/handoffs/{handoff['id']}/transcript", headers=agent1).json()["lines"]
    notes = [line for line in lines if line["sender"] == "note"]
    assert [(n["text"], n["agent"]) for n in notes] == [("旅客情绪激动，先安抚", "张敏")]
    assert [line["at"] for line in lines] == sorted(line["at"] for line in lines)
    assert lines[-1]["text"] == "还在吗"


def test_notes_are_for_the_holder_and_supervisors_masked_for_others(
    client, service, rasa, midday, agent1, agent2, supervisor
):
    opened = open_handoff(client, service)
    paused_conversation(rasa, "web-abc123")
    # While it waits, a supervisor may leave a note for whoever takes it; other agents may not write.
    assert (
        client.post(f"/handoffs/{opened['id']}/notes", json={"text": "x"}, headers=agent2).status_code == 403
    )
    text = "回拨旅客 13812345678 确认航班"
    assert (
        client.post(f"/handoffs/{opened['id']}/notes", json={"text": text}, headers=supervisor).status_code
        == 201
    )
    masked = client.get(f"/handoffs/{opened['id']}/transcript", headers=agent2).json()["lines"]
    assert [line["text"] for line in masked if line["sender"] == "note"] == ["回拨旅客 138****5678 确认航班"]
    full = client.get(f"/handoffs/{opened['id']}/transcript", headers=supervisor).json()["lines"]
    assert [line["text"] for line in full if line["sender"] == "note"] == [text]
    client.post(f"/handoffs/{opened['id']}/take", headers=agent1)
    assert (
        client.post(f"/handoffs/{opened['id']}/notes", json={"text": "y"}, headers=agent2).status_code == 403
    )
    assert (
        client.post(f"/handoffs/{opened['id']}/notes", json={"text": " "}, headers=agent1).status_code == 422
    )
    assert client.post("/handoffs/999999/notes", json={"text": "z"}, headers=agent1).status_code == 404


def test_notes_are_audited_and_go_masked_with_the_transcript_to_the_ticket(
    client, service, rasa, midday, agent1, db
):
    ticket = create_ticket(client, service, conversation_id="web-abc123")
    opened = open_handoff(client, service, ticket_no=ticket["ticket_no"])
    paused_conversation(rasa, "web-abc123")
    client.post(f"/handoffs/{opened['id']}/take", headers=agent1)
    client.post(
        f"/handoffs/{opened['id']}/notes", json={"text": "旅客手机 13812345678 可回访"}, headers=agent1
    )
    client.get(f"/handoffs/{opened['id']}/transcript", headers=agent1)
    actions = [(a.action, a.actor, a.field) for a in db.scalars(select(AuditLog).order_by(AuditLog.id))]
    assert ("handoff_note", "agent1", "handoff") in actions
    assert ("read_personal_data", "agent1", "transcript") in actions
    assert client.post(f"/handoffs/{opened['id']}/close", json={}, headers=agent1).status_code == 200
    stored = client.get(f"/handoffs/{opened['id']}/transcript", headers=agent1).json()
    assert stored["source"] == "stored" and any(line["sender"] == "note" for line in stored["lines"])
    notes = db.scalars(
        select(TicketNote)
        .join(Ticket, Ticket.id == TicketNote.ticket_id)
        .where(Ticket.ticket_no == ticket["ticket_no"])
    ).all()
    record = next(n.text for n in notes if "人工会话记录" in n.text)
    assert "内部备注(张敏)：旅客手机 138****5678 可回访" in record


# --- typing cues ----------------------------------------------------------------------------------


class FakeTypingRoutes:
    """The socket.io channel's two typing routes, with Rasa's JWT check."""

    def __init__(self) -> None:
        self.agent_cues: list[dict] = []
        self.typing: set[str] = set()

    def handler(self, request: httpx.Request) -> httpx.Response:
        if not rasa_jwt_is_valid(request.headers.get("Authorization", "")):
            return httpx.Response(401)
        body = json.loads(request.content)
        if request.url.path == "/webhooks/socketio/typing/agent":
            self.agent_cues.append(body)
            return httpx.Response(200, json={"ok": True})
        if request.url.path == "/webhooks/socketio/typing/traveller":
            return httpx.Response(200, json={"typing": body["conversation"] in self.typing})
        return httpx.Response(404)


@pytest.fixture
def cues(app):
    fake = FakeTypingRoutes()
    relay = TypingRelay("http://rasa.test", RASA_TOKEN, transport=httpx.MockTransport(fake.handler))
    app.dependency_overrides[get_typing_relay] = lambda: relay
    return fake


def test_only_the_holder_makes_the_widget_say_the_agent_is_typing(
    client, service, rasa, cues, midday, agent1, agent2, supervisor
):
    handoff = taken(client, service, rasa, agent1)
    path = f"/handoffs/{handoff['id']}/typing"
    assert client.post(path, json={"typing": True}, headers=agent1).json() == {"pushed": True}
    assert cues.agent_cues == [{"conversation": "web-abc123", "typing": True, "agent": "张敏"}]
    assert client.post(path, json={"typing": True}, headers=agent2).status_code == 403
    assert client.post(path, json={"typing": True}, headers=supervisor).status_code == 403
    assert client.post(path, json={"typing": "yes"}, headers=agent1).status_code == 422
    assert len(cues.agent_cues) == 1
    client.post(f"/handoffs/{handoff['id']}/close", json={}, headers=agent1)
    assert client.post(path, json={"typing": False}, headers=agent1).status_code == 409


def test_the_console_sees_the_traveller_typing(client, service, rasa, cues, midday, agent1):
    handoff = taken(client, service, rasa, agent1)
    path = f"/handoffs/{handoff['id']}/transcript"
    assert client.get(path, headers=agent1).json()["traveller_typing"] is False
    cues.typing.add("web-abc123")
    assert client.get(path, headers=agent1).json()["traveller_typing"] is True


def test_a_cue_that_cannot_be_read_is_no_cue(client, service, rasa, midday, agent1, app):
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("down", request=request)

    relay = TypingRelay("http://rasa.test", RASA_TOKEN, transport=httpx.MockTransport(refuse))
    app.dependency_overrides[get_typing_relay] = lambda: relay
    handoff = taken(client, service, rasa, agent1)
    assert (
        client.get(f"/handoffs/{handoff['id']}/transcript", headers=agent1).json()["traveller_typing"]
        is False
    )
    assert client.post(f"/handoffs/{handoff['id']}/typing", json={"typing": True}, headers=agent1).json() == {
        "pushed": False
    }
