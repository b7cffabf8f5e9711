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


class HandoffNote(Base):
    """An agent's private note in a handoff's conversation (issue 15): for agents and supervisors
    only, never relayed to the traveller, so it lives in the API and not in Rasa's tracker."""

    __tablename__ = "handoff_notes"
    __table_args__ = (Index("ix_handoff_notes_handoff_created", "handoff_id", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    handoff_id: Mapped[int] = mapped_column(ForeignKey("handoffs.id", ondelete="CASCADE"))
    author_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    author: Mapped[str] = mapped_column(String(64))  # username, kept if the account goes
    author_name: Mapped[str] = mapped_column(String(64))  # display name at the time of writing
    text: Mapped[str] = mapped_column(String(2000))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
