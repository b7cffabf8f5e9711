"""Outbound messages to travellers (DESIGN §6): one row per notice, written in the same
transaction as the change it announces (an outbox), delivered afterwards by
app/services/notifier.py.

`key` is unique per ticket and event ("C20261206001:status:investigating"): a notice is
recorded once whatever retries, double clicks or workers do, and the delivery claims the row
before sending, so it is never sent twice."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base, utcnow

PENDING, SENDING, SENT, FAILED, SKIPPED = "pending", "sending", "sent", "failed", "skipped"


class Notification(Base):
    __tablename__ = "notifications"
    __table_args__ = (Index("ix_notifications_status_next", "status", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(200), unique=True)
    ticket_id: Mapped[int | None] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(24))  # progress | result | delay
    channel: Mapped[str | None] = mapped_column(String(32))
    conversation_id: Mapped[str | None] = mapped_column(String(128))
    text: Mapped[str] = mapped_column(Text)
    buttons: Mapped[list] = mapped_column(default=list)  # [{"title", "payload"}]
    # Slots set in the conversation with the notice (the survey's state for the bot).
    slots: Mapped[dict] = mapped_column(default=dict)
    # WeChat template message fields when the 48-hour window is closed.
    template: Mapped[dict] = mapped_column(default=dict)
    status: Mapped[str] = mapped_column(String(16), default=PENDING)
    # How it went out: rasa:socketio | rasa:wechat (customer-service message) | wechat_template |
    # tracker (REST: stored in the conversation, nothing can be pushed).
    route: Mapped[str | None] = mapped_column(String(32))
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(default=utcnow)
    claimed_at: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    sent_at: Mapped[datetime | None]
