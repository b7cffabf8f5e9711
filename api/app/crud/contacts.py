"""booking_contacts: which conversation verified which booking (models/contact.py)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from app.core.db import upsert_insert
from app.models import Booking
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
