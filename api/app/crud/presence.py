"""Agents' availability (issue 15). Data functions take a Session, flush but never commit.

Only facts are stored (the agent's choice, the console's last heartbeat, the agent's last
activity in it); the status is derived when read, so every API worker gives the same answer
and "away after idle minutes" or "offline when heartbeats stop" need no timer anywhere.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app.models import User
from app.models.user import PRESENCE_STATUSES, AgentPresence
from app.services.availability import AvailabilitySettings


@dataclass(frozen=True)
class Presence:
    user: User
    status: str  # online | away | offline, as shown
    chosen: str  # what the agent chose in the console header
    automatic: bool  # status differs from the choice because of idleness or silence
    last_seen_at: datetime | None
    last_active_at: datetime | None


def status_of(row: AgentPresence | None, *, now: datetime, settings: AvailabilitySettings) -> str:
    if row is None or row.chosen == "offline":
        return "offline"
    if row.last_seen_at is None or now - row.last_seen_at > settings.offline_after:
        return "offline"  # the console stopped reporting: nobody is there to answer
    if row.chosen == "away":
        return "away"
    if row.last_active_at is None or now - row.last_active_at > settings.away_after:
        return "away"
    return "online"


def _row(session: Session, *, user_id: int, now: datetime) -> AgentPresence:
    row = session.get(AgentPresence, user_id, populate_existing=True)
    if row is not None:
        return row
    try:
        # Two workers may see the first heartbeat and the login at once: the primary key settles it.
        with session.begin_nested():
            row = AgentPresence(user_id=user_id, chosen="offline", changed_at=now)
            session.add(row)
            session.flush()
    except IntegrityError:
        row = session.get(AgentPresence, user_id, populate_existing=True)
        assert row is not None
    return row


def choose(session: Session, *, user_id: int, status: str, now: datetime) -> AgentPresence:
    """The agent's own choice; choosing online or away counts as activity and as a heartbeat."""
    if status not in PRESENCE_STATUSES:
        raise ValueError(status)
    row = _row(session, user_id=user_id, now=now)
    if row.chosen != status:
        row.chosen, row.changed_at = status, now
    if status != "offline":
        row.last_seen_at = row.last_active_at = now
    session.flush()
    return row


def heartbeat(session: Session, *, user_id: int, now: datetime, active: bool) -> AgentPresence:
    """The console is open (and, with `active`, the agent used it since the last heartbeat)."""
    row = _row(session, user_id=user_id, now=now)
    row.last_seen_at = now
    if active:
        row.last_active_at = now
    session.flush()
    return row


def presence_of(session: Session, *, user: User, now: datetime, settings: AvailabilitySettings) -> Presence:
    row = session.get(AgentPresence, user.id, populate_existing=True)
    return _presence(user, row, now, settings)


def _presence(
    user: User, row: AgentPresence | None, now: datetime, settings: AvailabilitySettings
) -> Presence:
    status = status_of(row, now=now, settings=settings)
    chosen = row.chosen if row is not None else "offline"
    return Presence(
        user=user,
        status=status,
        chosen=chosen,
        automatic=status != chosen,
        last_seen_at=row.last_seen_at if row is not None else None,
        last_active_at=row.last_active_at if row is not None else None,
    )


def roster(session: Session, *, now: datetime, settings: AvailabilitySettings) -> list[Presence]:
    """Every active person of the desk, agents first, then by username."""
    rows = session.execute(
        select(User, AgentPresence)
        .outerjoin(AgentPresence, AgentPresence.user_id == User.id)
        .where(User.is_active.is_(True))
        .order_by(User.role, User.username)
        .execution_options(populate_existing=True)
    ).all()
    return [_presence(user, row, now, settings) for user, row in rows]


def online_agents(session: Session, *, now: datetime, settings: AvailabilitySettings) -> int:
    """Agents who can answer now. Supervisors are left out: they watch the desk but do not
    work the queue, so counting them would promise travellers a wait nobody keeps."""
    return sum(
        1
        for p in roster(session, now=now, settings=settings)
        if p.user.role == "agent" and p.status == "online"
    )


@dataclass(frozen=True)
class Staffing:
    """What a traveller asking for a person is told about: agents online, opening hours."""

    online: int
    open_now: bool
    opening_hours: str
    next_opening: datetime | None


def staffing(session: Session, *, now: datetime, settings: AvailabilitySettings) -> Staffing:
    hours = settings.hours
    return Staffing(
        online=online_agents(session, now=now, settings=settings),
        open_now=hours.is_open(now),
        opening_hours=hours.label,
        next_opening=hours.next_opening(now),
    )
