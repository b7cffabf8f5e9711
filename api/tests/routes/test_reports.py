"""Supervisors' listing and statistics."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from app.services.deadlines import CHINA_TZ
from tests.conftest import login
from tests.factories import create_ticket


@pytest.fixture
def desk(client, service, clock):
    clock.set(datetime(2026, 11, 23, 12, 0, tzinfo=CHINA_TZ))  # TR20260001 upcoming, TR20260002 under way
    made = [
        create_ticket(client, service, category="meals", severity="general"),
        create_ticket(client, service, category="meals", severity="major"),
        create_ticket(
            client,
            service,
            category="safety",
            severity="urgent",
            booking_ref="TR20260002",
            phone="13900001111",
        ),
        create_ticket(client, service, category="billing", severity="general", booking_ref=None),
    ]
    return made


def test_filters_and_paging(client, supervisor, desk):
    def listed(**params):
        body = client.get("/tickets", params=params, headers=supervisor).json()
        return body, {item["ticket_no"] for item in body["items"]}

    body, numbers = listed()
    assert body["total"] == 4 and len(numbers) == 4
    assert listed(category="meals")[0]["total"] == 2
    assert listed(severity="urgent")[1] == {desk[2]["ticket_no"]}
    assert listed(department="finance")[1] == {desk[3]["ticket_no"]}
    assert listed(status="received")[0]["total"] == 4
    assert listed(status="closed")[0]["total"] == 0
    page1, first = listed(limit=3, offset=0)
    page2, second = listed(limit=3, offset=3)
    assert len(first) == 3 and len(second) == 1 and not first & second and page2["total"] == 4
    assert client.get("/tickets", params={"limit": 0}, headers=supervisor).status_code == 422
    assert client.get("/tickets", params={"severity": "huge"}, headers=supervisor).status_code == 422


def test_deadline_state_filter(client, supervisor, desk, clock):
    assert client.get("/tickets", params={"deadline_state": "due"}, headers=supervisor).json()["total"] == 4
    assert (
        client.get("/tickets", params={"deadline_state": "breached"}, headers=supervisor).json()["total"] == 0
    )
    clock.set(clock.now + timedelta(hours=1))  # urgent first response (15 min) has passed
    supervisor = login(client, "supervisor")
    breached = client.get("/tickets", params={"deadline_state": "breached"}, headers=supervisor).json()
    assert {i["ticket_no"] for i in breached["items"]} == {desk[2]["ticket_no"]}
    assert breached["items"][0]["deadline_state"] == "breached"
    assert client.get("/tickets", params={"deadline_state": "due"}, headers=supervisor).json()["total"] == 3
    assert client.get("/tickets", params={"deadline_state": "met"}, headers=supervisor).json()["total"] == 0


def test_agents_can_list_their_own(client, desk):
    for username in ("agent1", "agent2"):
        headers = login(client, username)
        mine = client.get("/tickets", params={"mine": True}, headers=headers).json()
        assert mine["total"] == 2
        assert {i["owner"]["username"] for i in mine["items"]} == {username}


def test_stats(client, service, supervisor, desk, clock):
    stats = client.get("/stats", headers=supervisor).json()
    assert stats["total"] == 4
    assert stats["by_category"] == {"meals": 2, "safety": 1, "billing": 1}
    assert stats["by_severity"] == {"general": 2, "major": 1, "urgent": 1}
    assert stats["by_status"] == {"received": 4}
    assert stats["by_stage"] == {"pre_trip": 2, "in_trip": 1, "unknown": 1}
    assert stats["repeats"] == 1  # the second meals ticket on TR20260001
    assert stats["deadlines_met_share"] is None and stats["deadlines_breached"] == 0
    assert stats["satisfaction_mean"] is None
    client.patch(
        f"/tickets/{desk[0]['ticket_no']}/feedback",
        json={"satisfaction": 5},
        headers={**service, "X-Sender-Id": desk[0]["conversation_id"]},
    )
    client.patch(
        f"/tickets/{desk[1]['ticket_no']}/feedback",
        json={"satisfaction": 2},
        headers={**service, "X-Sender-Id": desk[1]["conversation_id"]},
    )
    owner = login(client, desk[0]["owner"]["username"])
    client.post(f"/tickets/{desk[0]['ticket_no']}/notes", json={"text": "已联系"}, headers=owner)
    stats = client.get("/stats", headers=supervisor).json()
    assert (
        stats["satisfaction_count"] == 2
        and stats["satisfaction_mean"] == 3.5
        and stats["low_satisfaction"] == 1
    )
    assert stats["deadlines_met"] == 1 and stats["deadlines_met_share"] == 1.0
    clock.set(clock.now + timedelta(hours=1))
    stats = client.get("/stats", headers=login(client, "supervisor")).json()
    assert stats["deadlines_breached"] == 1 and stats["deadlines_met_share"] == 0.5
