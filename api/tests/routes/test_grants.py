"""The booking is read by the bot only with the grant of a right phone check: for that booking,
that sender, until it expires."""

from __future__ import annotations

from datetime import timedelta

REF = "TR20260001"


def _grant(client, service, sender="s-grant"):
    response = client.post(
        f"/bookings/{REF}/verify", json={"phone_last4": "5678", "sender_id": sender}, headers=service
    )
    assert response.status_code == 200
    return response.json()


def test_the_grant_reads_the_booking_and_nothing_else(client, service, clock):
    body = _grant(client, service)
    headers = {**service, "X-Verification-Grant": body["grant"], "X-Sender-Id": "s-grant"}
    assert client.get(f"/bookings/{REF}", headers=headers).json()["ref"] == REF
    # A tracker claiming "verified" without a grant, another sender, another booking: refused.
    assert client.get(f"/bookings/{REF}", headers=service).status_code == 403
    assert client.get(f"/bookings/{REF}", headers={**headers, "X-Sender-Id": "s-other"}).status_code == 403
    assert client.get("/bookings/TR20260002", headers=headers).status_code == 403
    forged = body["grant"].rsplit(".", 2)
    assert (
        client.get(
            f"/bookings/{REF}",
            headers={**headers, "X-Verification-Grant": f"{forged[0]}.9999999999.{forged[2]}"},
        ).status_code
        == 403
    )
    # It expires (30 minutes by default).
    clock.set(clock.now + timedelta(minutes=31))
    assert client.get(f"/bookings/{REF}", headers=headers).status_code == 403


def test_emergency_contact_needs_no_grant_and_tells_nothing_personal(client, service):
    body = client.get(f"/bookings/{REF}/emergency-contact", headers=service).json()
    assert set(body) == {"ref", "tour_type", "guide_name", "guide_phone", "departure_date", "return_date"}


def test_emergency_contact_tells_the_trip_dates(client, service):
    """The bot tells from them whether an outbound traveller is abroad now and whether a
    complaint is about a trip that has ended: ISO dates, the booking's own."""
    body = client.get(f"/bookings/{REF}/emergency-contact", headers=service).json()
    assert (body["departure_date"], body["return_date"]) == ("2026-12-05", "2026-12-10")
