"""NUL, blank and invisible-only strings get a 422 naming the field; naive datetimes are China time."""

from __future__ import annotations

import pytest

from tests.factories import create_ticket, ticket_payload


@pytest.mark.parametrize("bad", ["酒店\x00很差", "   ", "\u200b\u200b", "\u3000\u200d "])
def test_bad_strings_are_refused_with_the_field(client, service, bad):
    response = client.post("/tickets", json={**ticket_payload(), "description": bad}, headers=service)
    assert response.status_code == 422, response.text
    assert response.json()["detail"][0]["loc"] == ["body", "description"]


def test_nested_and_query_values_too(client, service, supervisor):
    response = client.post(
        "/tickets", json={**ticket_payload(), "evidence": ["ok", "a\x00b"]}, headers=service
    )
    assert response.json()["detail"][0]["loc"] == ["body", "evidence", 1]
    response = client.get("/tickets?category=%00", headers=supervisor)
    assert response.status_code == 422 and response.json()["detail"][0]["loc"] == ["query", "category"]
    response = client.post("/auth/login", json={"username": "agent1\x00", "password": "x"})
    assert response.status_code == 422 and response.json()["detail"][0]["loc"] == ["body", "username"]


def test_body_size_limit(client, service):
    response = client.post(
        "/tickets", json={**ticket_payload(), "description": "很" * 70_000}, headers=service
    )
    assert response.status_code == 413


def test_naive_datetimes_are_china_time(client, service, supervisor):
    assert (
        client.get("/stats?since=2026-01-01T00:00:00&until=2027-01-01T00:00", headers=supervisor).status_code
        == 200
    )
    ticket = create_ticket(client, service)
    response = client.put(
        f"/tickets/{ticket['ticket_no']}/delay",
        json={"reason": "等待航空公司回复", "expected_at": "2030-01-02T10:00:00"},
        headers=supervisor,
    )
    assert response.status_code == 200, response.text
    assert response.json()["progress"]["expected_completion"] in (
        "2030-01-02T10:00:00+08:00",
        "2030-01-02T02:00:00Z",
    )


@pytest.mark.parametrize(
    "method, suffix",
    [
        ("get", ""),
        ("post", "/take"),
        ("get", "/transcript"),
        ("post", "/messages"),
        ("post", "/return"),
        ("post", "/close"),
    ],
)
def test_handoff_ids_beyond_an_integer_are_a_422(client, supervisor, method, suffix):
    # Found by schemathesis (tests/test_fuzz_openapi.py): SQLite raised OverflowError, a 500.
    body = {"text": "您好"} if suffix == "/messages" else None
    for handoff_id in (2**63, 2**31, 0):
        response = client.request(method, f"/handoffs/{handoff_id}{suffix}", json=body, headers=supervisor)
        assert response.status_code == 422, (handoff_id, suffix, response.text)
        assert response.json()["detail"][0]["loc"] == ["path", "handoff_id"]
