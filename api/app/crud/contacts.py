"""booking_contacts: which conversation verified which booking (models/contact.py)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from app.core.db import upsert_insert
from app.models import Booking, Ticket
from app.models.contact import BookingContact


def record_contact(
    session: Session, *, booking: Booking, conversation_id: str, channel: str | None, now: datetime
) -> None:
    """Remember that this conversation verified (or complained about) this booking, in the
    caller's transaction. Seen again: `last_seen_at` moves; a known channel is never replaced
    by an unknown one."""
    insert = upsert_insert(session)(BookingContact)
    stmt = insert.values(
        booking_id=booking.id,
        conversation_id=conversation_id,
        channel=channel,
        first_seen_at=now,
        last_seen_at=now,
    ).on_conflict_do_update(
        index_elements=[BookingContact.booking_id, BookingContact.conversation_id],
        set_={
            "last_seen_at": func.max(BookingContact.last_seen_at, insert.excluded.last_seen_at)
            if session.get_bind().dialect.name == "sqlite"
            else func.greatest(BookingContact.last_seen_at, insert.excluded.last_seen_at),
            "channel": func.coalesce(insert.excluded.channel, BookingContact.channel),
        },
    )
    session.execute(stmt)


def contacts_for_bookings(session: Session, booking_ids: Iterable[int]) -> list[BookingContact]:
    """Every conversation known for these bookings, oldest booking and contact first."""
    ids = sorted(set(booking_ids))
    if not ids:
        return []
    return list(
        session.scalars(
            select(BookingContact)
            .where(BookingContact.booking_id.in_(ids))
            .order_by(BookingContact.booking_id, BookingContact.id)
        )
    )


# Ticket channels that are conversations with the assistant (a notice can reach them).
CONVERSATION_CHANNELS = ("socketio", "rest", "wechat")


def record_ticket_contacts(session: Session, *, bookings: Iterable[Booking], since: datetime) -> None:
    """Conversations that opened a ticket about one of these bookings since `since` count as
    its contacts too (a complaint names its booking, verified or not). Recorded when a notice
    is about to go out, at the ticket's time, so that an old complaint does not look recent."""
    by_ref = {b.ref: b for b in bookings}
    if not by_ref:
        return
    rows = session.execute(
        select(Ticket.booking_ref, Ticket.conversation_id, Ticket.channel, Ticket.received_at).where(
            Ticket.booking_ref.in_(sorted(by_ref)),
            Ticket.conversation_id.is_not(None),
            Ticket.channel.in_(CONVERSATION_CHANNELS),
            Ticket.anonymised_at.is_(None),
            Ticket.received_at >= since,
        )
    ).all()
    for ref, conversation_id, channel, received_at in rows:
        if len(conversation_id) <= 128:
            record_contact(
                session,
                booking=by_ref[ref],
                conversation_id=conversation_id,
                channel=channel,
                now=received_at,
            )


def set_channel(session: Session, *, conversation_id: str, channel: str) -> None:
    """A channel learnt later (from the conversation's tracker) for contacts that lacked one."""
    for contact in session.scalars(
        select(BookingContact).where(
            BookingContact.conversation_id == conversation_id, BookingContact.channel.is_(None)
        )
    ):
        contact.channel = channel


def delete_for_conversations(session: Session, conversation_ids: Iterable[str]) -> int:
    """The retention job: a conversation's contacts go with its tracker."""
    ids = list(set(conversation_ids))
    deleted = 0
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        deleted += session.execute(
            delete(BookingContact).where(BookingContact.conversation_id.in_(chunk))
        ).rowcount
    return deleted
