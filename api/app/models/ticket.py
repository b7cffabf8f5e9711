from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.models.base import Base, utcnow
from app.models.user import User


class Ticket(Base):
    """A complaint with every record field of DESIGN §3."""

    __tablename__ = "tickets"

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_no: Mapped[str] = mapped_column(String(20), unique=True)
    # Complainant and channel
    name: Mapped[str | None] = mapped_column(String(64))
    phone: Mapped[str] = mapped_column(String(20))
    channel: Mapped[str] = mapped_column(String(32))
    conversation_id: Mapped[str | None] = mapped_column(String(128))
    received_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    # What happened
    booking_ref: Mapped[str | None] = mapped_column(String(10), index=True)
    stage: Mapped[str | None] = mapped_column(String(16))
    description: Mapped[str] = mapped_column(Text)
    occurred_at: Mapped[str | None] = mapped_column(String(100))
    location: Mapped[str | None] = mapped_column(String(200))
    evidence: Mapped[list] = mapped_column(default=list)
    request: Mapped[str | None] = mapped_column(
        String(16)
    )  # normalised: refund|compensation|apology|fix|other
    request_detail: Mapped[str | None] = mapped_column(String(500))  # the same, in the traveller's words
    emotion: Mapped[str | None] = mapped_column(String(32))
    # Routing
    category: Mapped[str] = mapped_column(String(32), index=True)
    severity: Mapped[str] = mapped_column(String(16), index=True)
    department: Mapped[str] = mapped_column(String(32), index=True)
    authority_level: Mapped[int]
    confidence: Mapped[float | None]
    classifier_reasons: Mapped[list] = mapped_column(default=list)
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    status: Mapped[str] = mapped_column(String(16), default="received", index=True)
    is_repeat: Mapped[bool] = mapped_column(default=False)
    calendar_fallback: Mapped[bool] = mapped_column(default=False)
    first_response_at: Mapped[datetime | None]
    # Outcome
    result_findings: Mapped[str | None] = mapped_column(Text)
    result_measures: Mapped[str | None] = mapped_column(Text)
    result_apology: Mapped[str | None] = mapped_column(Text)
    rejection_reason: Mapped[str | None] = mapped_column(Text)
    delay_reason: Mapped[str | None] = mapped_column(Text)  # "cannot be solved in time"
    expected_completion_at: Mapped[datetime | None]
    confirmed: Mapped[bool | None]
    satisfaction: Mapped[int | None]
    second_follow_up: Mapped[bool] = mapped_column(default=False)
    # Compensation: record -> verify -> plan -> agreement -> payment
    compensation_status: Mapped[str | None] = mapped_column(String(16))
    compensation_method: Mapped[str | None] = mapped_column(String(16))
    compensation_loss_type: Mapped[str | None] = mapped_column(String(24))
    compensation_amount_cny: Mapped[int | None]
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    closed_at: Mapped[datetime | None]
    # Set by the retention job (app/services/retention.py) when the personal data was masked.
    anonymised_at: Mapped[datetime | None]

    owner: Mapped[User | None] = relationship(lazy="joined")
    deadlines: Mapped[list[TicketDeadline]] = relationship(
        back_populates="ticket",
        order_by="TicketDeadline.due_at",
        lazy="selectin",
        cascade="all, delete-orphan",
    )
    notes: Mapped[list[TicketNote]] = relationship(
        order_by="TicketNote.id", lazy="selectin", cascade="all, delete-orphan"
    )


class TicketDeadline(Base):
    __tablename__ = "ticket_deadlines"
    __table_args__ = (UniqueConstraint("ticket_id", "name", name="uq_ticket_deadlines_ticket_name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(32))
    due_at: Mapped[datetime]
    done_at: Mapped[datetime | None]

    ticket: Mapped[Ticket] = relationship(back_populates="deadlines")


class TicketNote(Base):
    __tablename__ = "ticket_notes"

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"), index=True)
    author: Mapped[str] = mapped_column(String(64))
    text: Mapped[str] = mapped_column(Text)
    # Public notes are the "measures taken" shown to the traveller in progress messages.
    public: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class TicketCounter(Base):
    """Per-day sequence for ticket numbers, bumped atomically with an upsert."""

    __tablename__ = "ticket_counters"

    day: Mapped[str] = mapped_column(String(8), primary_key=True)
    last: Mapped[int]


class IdempotencyKey(Base):
    __tablename__ = "idempotency_keys"

    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    request_hash: Mapped[str] = mapped_column(String(64))
    # Inserted before the ticket exists, so a concurrent retry blocks on (or fails at) the key.
    ticket_id: Mapped[int | None] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class AuditLog(Base):
    """Who did what to which record; also every read of unmasked personal data by a person."""

    __tablename__ = "audit_log"
    __table_args__ = (Index("ix_audit_log_ticket_at", "ticket_id", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(default=utcnow)
    actor: Mapped[str] = mapped_column(String(64))
    actor_role: Mapped[str] = mapped_column(String(16))
    action: Mapped[str] = mapped_column(String(32))
    ticket_id: Mapped[int | None] = mapped_column(ForeignKey("tickets.id", ondelete="SET NULL"))
    booking_ref: Mapped[str | None] = mapped_column(String(10))
    field: Mapped[str | None] = mapped_column(String(64))
    old_value: Mapped[str | None] = mapped_column(Text)
    new_value: Mapped[str | None] = mapped_column(Text)
