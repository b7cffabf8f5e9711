"""booking_contacts: a successful verification records which conversation verified which
booking (crud/contacts.py), on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from app.crud import bookings
from app.crud.contacts import contacts_for_bookings, delete_for_conversations, record_contact, set_channel
from app.models import BookingContact


def _verify(
    client, service, sender: str, *, channel: str | None = None, last4: str = "5678", ref="TR20260001"
):
    body = {"phone_last4": last4, "sender_id": sender}
    if channel:
        body["channel"] = channel
    return client.post(f"/bookings/{ref}/verify", json=body, headers=service)


def test_a_verification_records_the_conversation_and_a_miss_does_not(client, service, db, clock):
    booking = bookings.get_by_ref(db, ref="TR20260001")
    assert _verify(client, service, "conv-miss", last4="0000").status_code == 403
    assert _verify(client, service, "conv-web", channel="socketio").status_code == 200

    [contact] = contacts_for_bookings(db, [booking.id])
    assert (contact.conversation_id, contact.channel) == ("conv-web", "socketio")
    assert contact.first_seen_at == contact.last_seen_at == clock.now


def test_verifying_again_moves_last_seen_and_keeps_a_known_channel(client, service, db, clock):
    booking = bookings.get_by_ref(db, ref="TR20260001")
    first = clock.now
    assert _verify(client, service, "conv-wx", channel="wechat").status_code == 200
    clock.set(first + timedelta(hours=5))
    # An older bot that does not say its channel: the known one stays.
    assert _verify(client, service, "conv-wx").status_code == 200

    rows = list(db.scalars(select(BookingContact).where(BookingContact.booking_id == booking.id)))
    assert len(rows) == 1
    db.refresh(rows[0])
    assert rows[0].channel == "wechat"
    assert rows[0].first_seen_at == first
    assert rows[0].last_seen_at == first + timedelta(hours=5)


def test_contacts_for_bookings_lists_every_conversation_of_the_bookings_asked(db, clock):
    one = bookings.get_by_ref(db, ref="TR20260001")
    two = bookings.get_by_ref(db, ref="TR20260004")
    other = bookings.get_by_ref(db, ref="TR20260007")
    record_contact(db, booking=one, conversation_id="a", channel="rest", now=clock.now)
    record_contact(db, booking=one, conversation_id="b", channel=None, now=clock.now)
    record_contact(db, booking=two, conversation_id="a", channel="rest", now=clock.now)
    record_contact(db, booking=other, conversation_id="c", channel="rest", now=clock.now)
    # An earlier sighting recorded late (a slow request) does not move last_seen back.
    record_contact(db, booking=one, conversation_id="a", channel="rest", now=clock.now - timedelta(days=1))
    db.flush()

    found = contacts_for_bookings(db, [two.id, one.id, one.id])
    assert [(c.booking_id, c.conversation_id) for c in found] == [(one.id, "a"), (one.id, "b"), (two.id, "a")]
    assert {c.last_seen_at for c in found} == {clock.now}
    assert contacts_for_bookings(db, []) == []

    set_channel(db, conversation_id="b", channel="socketio")
    db.flush()
    assert [c.channel for c in contacts_for_bookings(db, [one.id])] == ["rest", "socketio"]

    assert delete_for_conversations(db, ["a"]) == 2
    assert [c.conversation_id for c in contacts_for_bookings(db, [one.id, two.id])] == ["b"]


def test_an_overlong_sender_id_is_verified_but_not_kept_as_a_contact(client, service, db):
    booking = bookings.get_by_ref(db, ref="TR20260001")
    assert _verify(client, service, "x" * 150).status_code == 200
    assert contacts_for_bookings(db, [booking.id]) == []


def test_an_unknown_channel_name_is_refused(client, service):
    assert _verify(client, service, "conv-1", channel="Web Chat!").status_code == 422


def test_the_retention_job_deletes_contacts_idle_as_long_as_a_tracker(db, clock):
    from app.services.retention import purge
    from tests.conftest import test_settings

    settings = test_settings(retention_tracker_days=90)
    booking = bookings.get_by_ref(db, ref="TR20260001")
    record_contact(
        db, booking=booking, conversation_id="old", channel="rest", now=clock.now - timedelta(days=91)
    )
    record_contact(
        db, booking=booking, conversation_id="recent", channel="rest", now=clock.now - timedelta(days=89)
    )
    # Seen again lately: the first sighting's age does not matter.
    record_contact(
        db, booking=booking, conversation_id="back", channel="rest", now=clock.now - timedelta(days=200)
    )
    record_contact(
        db, booking=booking, conversation_id="back", channel="rest", now=clock.now - timedelta(days=1)
    )
    db.flush()

    report = purge(db, settings=settings, now=clock.now)
    assert report.contacts_deleted == 1
    assert [c.conversation_id for c in contacts_for_bookings(db, [booking.id])] == ["recent", "back"]
    assert purge(db, settings=settings, now=clock.now).contacts_deleted == 0
