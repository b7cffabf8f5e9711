"""The service token (the action server) acts for one conversation at a time: it reads a ticket
opened from that conversation or verified in it (the grant of the phone check), and only its
own conversation's handoff. A forged call for another sender gets 403, whether or not the
ticket or handoff exists."""

from __future__ import annotations

from datetime import timedelta

from tests.factories import create_ticket

PHONE_LAST4 = "5678"  # the factory's phone 13812345678


def _as(service, sender, grant=None):
    headers = {**service, "X-Sender-Id": sender}
    return headers | ({"X-Verification-Grant": grant} if grant else {})


def _verify(client, service, no, sender):
    response = client.post(
        f"/tickets/{no}/verify", json={"phone_last4": PHONE_LAST4, "sender_id": sender}, headers=service
    )
    assert response.status_code == 200, response.text
    return response.json()


def test_a_ticket_is_read_from_the_conversation_that_opened_it_and_no_other(client, service):
    ticket = create_ticket(client, service, conversation_id="wx-opener")
    no = ticket["ticket_no"]
    assert client.get(f"/tickets/{no}", headers=_as(service, "wx-opener")).status_code == 200
    for headers in (service, _as(service, "wx-someone-else")):
        refused = client.get(f"/tickets/{no}", headers=headers)
        assert refused.status_code == 403, refused.text
        assert refused.json()["detail"]["field"] == "grant"
    # Feedback answers with the whole ticket: scoped the same way.
    assert (
        client.patch(
            f"/tickets/{no}/feedback", json={"satisfaction": 4}, headers=_as(service, "wx-x")
        ).status_code
        == 403
    )
    assert (
        client.patch(
            f"/tickets/{no}/feedback", json={"satisfaction": 4}, headers=_as(service, "wx-opener")
        ).status_code
        == 200
    )


def test_the_verify_grant_reads_the_ticket_for_that_sender_until_it_expires(client, service, clock):
    ticket = create_ticket(client, service, conversation_id="web-opener")
    no = ticket["ticket_no"]
    checked = _verify(client, service, no, "web-later")
    assert checked["ticket_no"] == no and checked["grant"] and checked["grant_expires_at"]
    assert "phone" not in checked and "name" not in checked  # progress only, as before
    grant = checked["grant"]
    body = client.get(f"/tickets/{no}", headers=_as(service, "web-later", grant))
    assert body.status_code == 200 and body.json()["ticket_no"] == no
    # Without the grant, with another sender, for another ticket, forged, expired: refused.
    other = create_ticket(client, service, conversation_id="web-other")["ticket_no"]
    assert client.get(f"/tickets/{no}", headers=_as(service, "web-later")).status_code == 403
    assert client.get(f"/tickets/{no}", headers=_as(service, "web-intruder", grant)).status_code == 403
    assert client.get(f"/tickets/{other}", headers=_as(service, "web-later", grant)).status_code == 403
    head, _, signature = grant.rsplit(".", 2)
    assert (
        client.get(
            f"/tickets/{no}", headers=_as(service, "web-later", f"{head}.9999999999.{signature}")
        ).status_code
        == 403
    )
    clock.set(clock.now + timedelta(minutes=31))
    assert client.get(f"/tickets/{no}", headers=_as(service, "web-later", grant)).status_code == 403


def test_a_booking_grant_does_not_read_a_ticket(client, service):
    no = create_ticket(client, service, conversation_id="web-a")["ticket_no"]
    booking = client.post(
        "/bookings/TR20260001/verify",
        json={"phone_last4": PHONE_LAST4, "sender_id": "web-b"},
        headers=service,
    ).json()
    assert client.get(f"/tickets/{no}", headers=_as(service, "web-b", booking["grant"])).status_code == 403
    ticket_grant = _verify(client, service, no, "web-b")["grant"]
    assert client.get("/bookings/TR20260001", headers=_as(service, "web-b", ticket_grant)).status_code == 403


def test_unknown_tickets_are_403_for_the_service_not_404(client, service):
    assert client.get("/tickets/C20260101999", headers=_as(service, "web-a")).status_code == 403


def test_staff_read_tickets_as_before(client, service, supervisor):
    no = create_ticket(client, service)["ticket_no"]
    assert client.get(f"/tickets/{no}", headers=supervisor).status_code == 200


def test_a_handoff_is_read_only_by_its_own_conversation(client, service, supervisor):
    opened = client.post(
        "/handoffs",
        json={"conversation_id": "wx-oAbc123", "channel": "wechat", "reason": "request_human"},
        headers=service,
    )
    assert opened.status_code == 201, opened.text
    hid = opened.json()["id"]
    own = client.get(f"/handoffs/{hid}", headers=_as(service, "wx-oAbc123"))
    assert own.status_code == 200 and own.json()["conversation_id"] == "wx-oAbc123"
    for headers in (service, _as(service, "wx-oOther")):
        refused = client.get(f"/handoffs/{hid}", headers=headers)
        assert refused.status_code == 403, refused.text
    assert client.get(f"/handoffs/{hid + 1000}", headers=_as(service, "wx-oAbc123")).status_code == 403
    assert client.get(f"/handoffs/{hid + 1000}", headers=supervisor).status_code == 404
