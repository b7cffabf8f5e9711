"""Disruption notices (issue 16 item 4): a supervisor's notice to every traveller of one
departure (product + departure date) who has talked to the assistant.

`DisruptionRecipient` is one conversation told of one disruption: unique per (disruption,
conversation), so a notice never goes twice to a conversation, whatever retries, double
clicks or a later "send to new contacts" do. Its notice is an ordinary `notifications` row
(ticket_id NULL), delivered and retried by services/notifier.py.

A departure already under way when the notice is written (in_trip) gets the handbooks'
1-hour deadline for an alternative plan: `alternative_due_at`, met when a supervisor records
the alternative (`alternative_offered_at`) before it."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.models.base import Base, utcnow
from app.models.notification import Notification


class Disruption(Base):
    __tablename__ = "disruptions"
    __table_args__ = (Index("ix_disruptions_departure", "product", "departure_date"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    product: Mapped[str] = mapped_column(String(200))
    departure_date: Mapped[date]
    return_date: Mapped[date]
    text: Mapped[str] = mapped_column(Text)
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    in_trip: Mapped[bool] = mapped_column(default=False)
    alternative_due_at: Mapped[datetime | None]
    alternative_offered_at: Mapped[datetime | None]
    alternative_offered_by: Mapped[str | None] = mapped_column(String(64))
    alternative_note: Mapped[str | None] = mapped_column(Text)

    recipients: Mapped[list[DisruptionRecipient]] = relationship(
        back_populates="disruption",
        cascade="all, delete-orphan",
        order_by="DisruptionRecipient.id",
    )


class DisruptionRecipient(Base):
    __tablename__ = "disruption_recipients"
    __table_args__ = (UniqueConstraint("disruption_id", "conversation_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    disruption_id: Mapped[int] = mapped_column(ForeignKey("disruptions.id", ondelete="CASCADE"), index=True)
    booking_id: Mapped[int] = mapped_column(ForeignKey("bookings.id", ondelete="CASCADE"), index=True)
    conversation_id: Mapped[str] = mapped_column(String(128), index=True)
    channel: Mapped[str | None] = mapped_column(String(32))
    notification_id: Mapped[int | None] = mapped_column(
        ForeignKey("notifications.id", ondelete="SET NULL"), index=True
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    disruption: Mapped[Disruption] = relationship(back_populates="recipients")
    notification: Mapped[Notification | None] = relationship(lazy="joined")
