from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from app.core.config import API_ROOT
from app.models import AuditLog

FIXTURE = json.loads((API_ROOT / "fixtures" / "bookings.json").read_text(encoding="utf-8"))["bookings"]


def test_fixture_has_enough_varied_bookings():
    assert len(FIXTURE) >= 20
    refs = [b["ref"] for b in FIXTURE]
    assert len(set(refs)) == len(refs)
    assert {b["tour_type"] for b in FIXTURE} == {"domestic", "outbound"}
    for booking in FIXTURE:
        assert len(booking["itinerary"]) >= 1
        assert booking["itinerary"][0]["date"] == booking["departure_date"]
        assert booking["itinerary"][-1]["date"] == booking["return_date"]


def test_service_gets_the_full_booking(client, service):
    grant = client.post(
        "/bookings/TR20260001/verify", json={"phone_last4": "5678", "sender_id": "s-test"}, headers=service
    ).json()["grant"]
    response = client.get(
        "/bookings/TR20260001", headers={**service, "X-Verification-Grant": grant, "X-Sender-Id": "s-test"}
    )
    assert response.status_code == 200
    body = response.json()
    assert body["phone"] == "13812345678" and body["traveller_name"] == "张伟" and body["masked"] is False
    day1 = body["itinerary"][0]
    assert day1["meeting"]["time"] and day1["hotel"] and day1["flights"][0]["from"]


def test_agents_see_the_booking_masked(client, agent1, db):
    body = client.get("/bookings/TR20260001", headers=agent1).json()
    assert body["phone"] == "138****5678" and body["traveller_name"] == "张*" and body["masked"] is True


def test_supervisor_reads_are_audited(client, supervisor, db):
    assert client.get("/bookings/TR20260002", headers=supervisor).json()["phone"] == "13900001111"
    rows = db.scalars(select(AuditLog).where(AuditLog.booking_ref == "TR20260002")).all()
    assert [(r.actor, r.action) for r in rows] == [("supervisor", "read_personal_data")]


@pytest.mark.parametrize("ref", ["TR2026001", "XX20260001", "TR2026000A", "tr20260001x"])
def test_malformed_booking_refs_are_422_naming_the_field(client, service, ref):
    response = client.get(f"/bookings/{ref}", headers=service)
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["path", "ref"]


def test_unknown_booking_is_404(client, service):
    assert (
        client.get("/bookings/TR99999999", headers=service).status_code == 403
    )  # no grant: existence not told
    assert client.get("/bookings/TR99999999/emergency-contact", headers=service).status_code == 404
    assert (
        client.post(
            "/bookings/TR99999999/verify",
            json={"phone_last4": "1234", "sender_id": "s-test"},
            headers=service,
        ).status_code
        == 404
    )


def test_verify_releases_the_booking_only_on_a_match(client, service):
    ok = client.post(
        "/bookings/TR20260001/verify", json={"phone_last4": "5678", "sender_id": "s-test"}, headers=service
    )
    assert ok.status_code == 200
    assert ok.json()["verified"] is True and ok.json()["booking"]["ref"] == "TR20260001"
    wrong = client.post(
        "/bookings/TR20260001/verify", json={"phone_last4": "5679", "sender_id": "s-test"}, headers=service
    )
    assert wrong.status_code == 403
    assert wrong.json()["detail"]["field"] == "phone_last4"
    assert "张伟" not in wrong.text and "itinerary" not in wrong.text


@pytest.mark.parametrize("last4", ["567", "56789", "abcd", ""])
def test_verify_validates_the_digits(client, service, last4):
    response = client.post(
        "/bookings/TR20260001/verify", json={"phone_last4": last4, "sender_id": "s-test"}, headers=service
    )
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body", "phone_last4"]


def test_every_persons_read_is_recorded_with_the_booking_and_nothing_else(client, supervisor, agent1, db):
    """The whole row: which booking, which view (masked for agents), when; no ticket, no value.
    The bot's reads are never recorded."""
    client.get("/bookings/TR20260002", headers=agent1)
    client.get("/bookings/TR20260002", headers=supervisor)
    rows = db.scalars(select(AuditLog).where(AuditLog.booking_ref == "TR20260002")).all()
    assert [
        (r.actor, r.actor_role, r.action, r.field, r.ticket_id, r.old_value, r.new_value) for r in rows
    ] == [
        ("agent1", "agent", "read_masked_data", "booking", None, None, None),
        ("supervisor", "supervisor", "read_personal_data", "booking", None, None, None),
    ]
    assert all(r.at is not None for r in rows)
