"""Which conversation verified which booking (issue 16): the addresses of a booking's
travellers for notices that concern the booking rather than a ticket (disruptions, itinerary
reminders).

One row per (booking, conversation); `last_seen_at` moves at every later verification or
ticket. `channel` (socketio | rest | wechat) is what the bot said it was talking on; NULL when
it did not say (services/disruptions.py then reads it from the conversation's tracker).
A conversation id is personal data (a WeChat openid identifies the person for good): masked
in every view, deleted by the retention job with the conversation's tracker."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base, utcnow


class BookingContact(Base):
    __tablename__ = "booking_contacts"
    __table_args__ = (UniqueConstraint("booking_id", "conversation_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    booking_id: Mapped[int] = mapped_column(ForeignKey("bookings.id", ondelete="CASCADE"), index=True)
    conversation_id: Mapped[str] = mapped_column(String(128), index=True)
    channel: Mapped[str | None] = mapped_column(String(32))
    first_seen_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
