"""Alerts to the desk (deadline alerts, the daily digest) and the stored digests (issue 16).

An alert is for one person (`user_id`): agents and supervisors read theirs in the console
(GET /alerts) and mark them read. `key` is unique per event and recipient
("C20261206001:investigated:due_soon:3"), so an alert is recorded once whatever runs the job,
how often, and in how many workers."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base, utcnow

DUE_SOON, OVERDUE, DIGEST = "due_soon", "overdue", "digest"


class Alert(Base):
    __tablename__ = "alerts"
    __table_args__ = (Index("ix_alerts_user_read", "user_id", "read_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(200), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(16))  # due_soon | overdue | digest
    ticket_id: Mapped[int | None] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"), index=True)
    deadline: Mapped[str | None] = mapped_column(String(32))  # the deadline's name
    due_at: Mapped[datetime | None]
    text: Mapped[str] = mapped_column(Text)  # Chinese, nothing personal (ticket number and step)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    read_at: Mapped[datetime | None]


class Digest(Base):
    """The supervisors' daily digest: one per China date, the figures as computed then."""

    __tablename__ = "digests"

    id: Mapped[int] = mapped_column(primary_key=True)
    day: Mapped[str] = mapped_column(String(10), unique=True)  # China date, YYYY-MM-DD
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    figures: Mapped[dict] = mapped_column(default=dict)
