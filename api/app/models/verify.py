from __future__ import annotations

from datetime import datetime

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base


class VerifyFailure(Base):
    """Missed phone-digit checks of one booking or ticket within the current window.

    Four digits are only 10,000 guesses, and a caller can open as many chats as it
    likes, so the count lives in the database where every worker sees it."""

    __tablename__ = "verify_failures"

    subject: Mapped[str] = mapped_column(String(40), primary_key=True)  # booking:TR… | ticket:C20…
    failures: Mapped[int]
    window_start: Mapped[datetime]
