from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, text
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base, utcnow

# A conversation has at most one open handoff; the partial index enforces it on both backends.
OPEN_STATUSES = ("waiting", "active")
_OPEN = text("status IN ('waiting', 'active')")


class Handoff(Base):
    """A conversation handed from the bot to a human agent (issue 5)."""

    __tablename__ = "handoffs"
    __table_args__ = (
        Index(
            "uq_handoffs_open_conversation",
            "conversation_id",
            unique=True,
            sqlite_where=_OPEN,
            postgresql_where=_OPEN,
        ),
        Index("ix_handoffs_status_created", "status", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    conversation_id: Mapped[str] = mapped_column(String(128), index=True)
    channel: Mapped[str] = mapped_column(String(32))
    # request_human | urgent_complaint | fallback | form_failures | emergency | cancellation_request
    reason: Mapped[str] = mapped_column(String(32))
    severity: Mapped[str] = mapped_column(String(16))  # urgent | major | general (DESIGN §3)
    colour: Mapped[str] = mapped_column(String(8))  # red | yellow
    ticket_no: Mapped[str | None] = mapped_column(String(20), index=True)
    summary: Mapped[dict] = mapped_column(default=dict)  # slots the bot collected
    status: Mapped[str] = mapped_column(String(16), default="waiting")  # waiting|active|closed|returned
    agent: Mapped[str | None] = mapped_column(String(64))
    agent_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    taken_at: Mapped[datetime | None]
    first_agent_reply_at: Mapped[datetime | None]
    # Waiting time to the first agent reply (the handbooks' response target), kept for reporting.
    first_reply_wait_seconds: Mapped[int | None]
    closed_at: Mapped[datetime | None]
    # The conversation as it stood at hand-back/close (Rasa's tracker is not the record).
    transcript: Mapped[list | None]
