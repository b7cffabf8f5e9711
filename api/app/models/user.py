from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.models.base import Base, utcnow


class User(Base):
    """An agent or supervisor of the complaint desk (the bot uses the service token instead)."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(64))
    role: Mapped[str] = mapped_column(String(16))  # agent | supervisor
    password_hash: Mapped[str] = mapped_column(String(200))
    is_active: Mapped[bool] = mapped_column(default=True)
    # Set on accounts created with an initial password: their tokens only change the password.
    must_change_password: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


# Availability an agent chooses in the console header (DESIGN §6: the wait estimate counts only
# agents who are online).
PRESENCE_STATUSES = ("online", "away", "offline")


class AgentPresence(Base):
    """An agent's availability, in the database so that every API worker agrees (issue 15).

    Only what happened is stored (the choice, the last heartbeat, the last console activity);
    the status shown is derived from it at read time (crud/presence.py), so "away after some
    idle minutes" and "offline when the heartbeats stop" need no timer in any worker."""

    __tablename__ = "agent_presence"

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    chosen: Mapped[str] = mapped_column(String(16), default="offline")  # online | away | offline
    last_seen_at: Mapped[datetime | None]  # the console's latest heartbeat
    last_active_at: Mapped[datetime | None]  # the agent's latest keyboard/mouse use in the console
    changed_at: Mapped[datetime] = mapped_column(default=utcnow)  # when `chosen` last changed


class ApiToken(Base):
    __tablename__ = "api_tokens"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]

    user: Mapped[User] = relationship(lazy="joined")
