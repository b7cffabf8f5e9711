"""Access control per role: 401 without a valid token, 403 for the wrong role."""

from __future__ import annotations

import pytest

from tests.conftest import login
from tests.factories import create_ticket, ticket_payload

# (method, path template, body, roles allowed)
ENDPOINTS = [
    ("GET", "/bookings/TR20260001", None, {"agent", "supervisor"}),  # service: with a grant (test_grants.py)
    ("GET", "/bookings/TR20260001/emergency-contact", None, {"service"}),
    ("POST", "/bookings/TR20260001/verify", {"phone_last4": "5678", "sender_id": "s-access"}, {"service"}),
    ("POST", "/tickets", "ticket", {"service", "agent", "supervisor"}),
    (
        "GET",
        "/tickets/{no}",
        None,
        {"agent", "supervisor"},
    ),  # service: for its conversation (test_service_scope.py)
    ("POST", "/tickets/{no}/verify", {"phone_last4": "5678", "sender_id": "s-access"}, {"service"}),
    ("GET", "/tickets", None, {"agent", "supervisor"}),
    ("POST", "/tickets/{no}/transitions", {"status": "investigating"}, {"agent", "supervisor"}),
    ("POST", "/tickets/{no}/notes", {"text": "已联系酒店"}, {"agent", "supervisor"}),
    (
        "PUT",
        "/tickets/{no}/result",
        {"findings": "a", "measures": "b", "apology": "c"},
        {"agent", "supervisor"},
    ),
    ("PATCH", "/tickets/{no}/feedback", {"satisfaction": 4}, {"agent", "supervisor"}),  # service: as for GET
    ("PUT", "/tickets/{no}/compensation", {"status": "recorded"}, {"agent", "supervisor"}),
    ("GET", "/stats", None, {"supervisor"}),
]


@pytest.fixture
def owned_ticket(client, service):
    # The first ticket of a fresh desk goes to agent1, so agent1 acts as owner below.
    ticket = create_ticket(client, service)
    assert ticket["owner"]["username"] == "agent1"
    return ticket["ticket_no"]


@pytest.mark.parametrize("role", ["service", "agent", "supervisor"])
@pytest.mark.parametrize(("method", "path", "body", "allowed"), ENDPOINTS)
def test_roles(client, service, owned_ticket, method, path, body, allowed, role):
    headers = service if role == "service" else login(client, "agent1" if role == "agent" else "supervisor")
    json_body = ticket_payload() if body == "ticket" else body
    response = client.request(method, path.format(no=owned_ticket), json=json_body, headers=headers)
    if role in allowed:
        assert response.status_code < 400, response.text
    else:
        assert response.status_code == 403, response.text


@pytest.mark.parametrize(("method", "path", "body", "allowed"), ENDPOINTS)
def test_missing_or_invalid_tokens_are_401(client, service, owned_ticket, method, path, body, allowed):
    json_body = ticket_payload() if body == "ticket" else body
    for bad in ({}, {"Authorization": "Bearer nope"}, {"Authorization": "Basic YWdlbnQxOngK"}):
        response = client.request(method, path.format(no=owned_ticket), json=json_body, headers=bad)
        assert response.status_code == 401, (bad, response.text)


def test_an_agent_may_not_change_someone_elses_ticket(client, service, agent2, owned_ticket):
    response = client.post(f"/tickets/{owned_ticket}/notes", json={"text": "x"}, headers=agent2)
    assert response.status_code == 403


def test_login_issues_a_token_with_the_role(client):
    response = client.post(
        "/auth/login", json={"username": "supervisor", "password": "test-supervisor-password"}
    )
    assert response.status_code == 200
    body = response.json()
    assert body["role"] == "supervisor" and body["token_type"] == "bearer" and len(body["access_token"]) >= 40


@pytest.mark.parametrize(
    "credentials",
    [
        {"username": "agent1", "password": "wrong"},
        {"username": "nobody", "password": "test-agent-password"},
    ],
)
def test_login_refuses_wrong_credentials(client, credentials):
    assert client.post("/auth/login", json=credentials).status_code == 401


def test_only_hashes_are_stored(client, db):
    from sqlalchemy import select

    from app.models import ApiToken, User

    token = client.post("/auth/login", json={"username": "agent2", "password": "test-agent-password"}).json()[
        "access_token"
    ]
    stored = db.scalars(select(ApiToken.token_hash)).all()
    assert token not in stored and len(stored) >= 1
    hashes = db.scalars(select(User.password_hash)).all()
    assert all(h.startswith("scrypt$") and "test-agent-password" not in h for h in hashes)


def test_expired_tokens_are_refused(client, clock):
    from datetime import timedelta

    login = client.post("/auth/login", json={"username": "agent1", "password": "test-agent-password"})
    headers = {"Authorization": f"Bearer {login.json()['access_token']}"}
    assert client.get("/tickets", headers=headers).status_code == 200
    clock.set(clock.now + timedelta(hours=13))
    assert client.get("/tickets", headers=headers).status_code == 401
