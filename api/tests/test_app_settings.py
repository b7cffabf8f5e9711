"""create_app(settings) chooses whom the app talks to and how: its Rasa (URL and JWT secret), the
notifier's settings and the agents' opening hours come from the settings it was given, not from
the process's environment or a module-level cache. Two apps in one process, two Rasas."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from app.api.deps import get_now
from app.core.db import get_session
from app.main import create_app
from app.models import Notification
from tests.conftest import SERVICE_TOKEN, login, test_settings
from tests.factories import create_ticket
from tests.routes.test_workflow import move

SERVICE = {"Authorization": f"Bearer {SERVICE_TOKEN}"}
NOON_IN_CHINA = datetime(2026, 12, 7, 4, 0, tzinfo=UTC)  # a Monday, 12:00 China time


class RecordingRasa:
    """Rasa's conversation endpoints on a free loopback port: an empty paused tracker for every
    conversation; each call recorded with its Authorization header."""

    def __init__(self) -> None:
        calls = self.calls = []

        class Handler(BaseHTTPRequestHandler):
            def _answer(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                self.rfile.read(length)
                calls.append((self.command, self.path.split("?")[0], self.headers.get("Authorization", "")))
                body = json.dumps({"events": [], "paused": True}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            do_GET = do_POST = _answer

            def log_message(self, *args) -> None:  # quiet test output
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()


def signed_with(authorization: str, secret: str) -> bool:
    """Whether `Bearer <HS256 JWT>` carries the signature of `secret` (what Rasa checks)."""
    header, body, signature = authorization.removeprefix("Bearer ").split(".")
    expected = hmac.new(secret.encode(), f"{header}.{body}".encode(), hashlib.sha256).digest()
    return hmac.compare_digest(signature, base64.urlsafe_b64encode(expected).rstrip(b"=").decode())


@pytest.fixture
def two_rasas():
    rasas = {"a": RecordingRasa(), "b": RecordingRasa()}
    yield rasas
    for rasa in rasas.values():
        rasa.stop()


def two_apps(db, rasas, **per_app) -> dict[str, TestClient]:
    """One app per Rasa on the test's database, each with its own settings (`per_app[name]`)."""
    clients = {}
    for name, rasa in rasas.items():
        app = create_app(
            test_settings(rasa_url=rasa.url, rasa_jwt_secret=f"rasa-secret-{name}", **per_app.get(name, {}))
        )
        app.dependency_overrides[get_session] = lambda: db
        app.dependency_overrides[get_now] = lambda: NOON_IN_CHINA
        clients[name] = TestClient(app)
    return clients


def test_each_app_talks_to_the_rasa_and_keeps_the_opening_hours_of_its_settings(db, two_rasas):
    clients = two_apps(db, two_rasas, a={"opening_hours": "08:00-22:00"}, b={"opening_hours": "00:00-24:00"})
    labels = {}
    for name, client in clients.items():
        opened = client.post(
            "/handoffs",
            json={"conversation_id": f"rest-{name}", "channel": "rest", "reason": "request_human"},
            headers=SERVICE,
        )
        assert opened.status_code == 201, opened.text
        labels[name] = opened.json()["opening_hours"]
        transcript = client.get(
            f"/handoffs/{opened.json()['id']}/transcript", headers=login(client, "supervisor")
        )
        assert transcript.status_code == 200, transcript.text
    assert labels == {"a": "08:00–22:00", "b": "全天"}
    for name, rasa in two_rasas.items():
        ((method, path, authorization),) = rasa.calls
        assert (method, path) == ("GET", f"/conversations/rest-{name}/tracker")
        assert signed_with(authorization, f"rasa-secret-{name}")


def test_each_app_notifies_travellers_as_its_own_settings_say(db, two_rasas):
    """NOTIFIER_ENABLED of one app does not switch the other's notices off, nor the reverse."""
    clients = two_apps(db, two_rasas, a={"notifier_enabled": True}, b={"notifier_enabled": False})
    for name, client in clients.items():
        ticket = create_ticket(client, SERVICE, channel="rest", conversation_id=f"rest-notice-{name}")
        move(client, login(client, ticket["owner"]["username"]), ticket["ticket_no"], "investigating")
    db.expire_all()
    notices = {
        n.conversation_id: n.status
        for n in db.scalars(select(Notification).where(Notification.conversation_id.like("rest-notice-%")))
    }
    assert notices == {"rest-notice-a": "sent", "rest-notice-b": "pending"}
    ((method, path, authorization),) = two_rasas["a"].calls
    assert (method, path) == ("POST", "/conversations/rest-notice-a/tracker/events")
    assert signed_with(authorization, "rasa-secret-a")
    assert two_rasas["b"].calls == []
