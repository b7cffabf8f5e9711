"""Alerts to agents and supervisors (models/alert.py). They take a Session, flush but never commit."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from app.core.db import upsert_insert
from app.models import Ticket, User
from app.models.alert import Alert, Digest


def add(
    session: Session,
    *,
    key: str,
    user_id: int,
    kind: str,
    text: str,
    now: datetime,
    ticket_id: int | None = None,
    deadline: str | None = None,
    due_at: datetime | None = None,
) -> bool:
    """Record the alert unless its key exists (one statement: safe in concurrent workers).
    False: it was recorded before."""
    stmt = (
        upsert_insert(session)(Alert)
        .values(
            key=key,
            user_id=user_id,
            kind=kind,
            text=text,
            ticket_id=ticket_id,
            deadline=deadline,
            due_at=due_at,
            created_at=now,
        )
        .on_conflict_do_nothing(index_elements=[Alert.key])
        .returning(Alert.id)
    )
    return session.execute(stmt).scalar_one_or_none() is not None


def active_supervisors(session: Session) -> list[User]:
    return list(
        session.scalars(
            select(User).where(User.role == "supervisor", User.is_active.is_(True)).order_by(User.id)
        )
    )


def for_user(session: Session, *, user_id: int, limit: int = 50) -> list[tuple[Alert, str | None]]:
    """The person's alerts with their ticket numbers, unread first, newest first."""
    rows = session.execute(
        select(Alert, Ticket.ticket_no)
        .outerjoin(Ticket, Ticket.id == Alert.ticket_id)
        .where(Alert.user_id == user_id)
        .order_by(Alert.read_at.is_not(None), Alert.created_at.desc(), Alert.id.desc())
        .limit(limit)
    ).all()
    return [(alert, ticket_no) for alert, ticket_no in rows]


def unread_count(session: Session, *, user_id: int) -> int:
    return session.scalar(
        select(func.count()).select_from(Alert).where(Alert.user_id == user_id, Alert.read_at.is_(None))
    )


def mark_read(session: Session, *, alert_id: int, user_id: int, now: datetime) -> bool:
    """False when the alert is not this person's (or does not exist). Reading again is a no-op."""
    alert = session.get(Alert, alert_id)
    if alert is None or alert.user_id != user_id:
        return False
    session.execute(update(Alert).where(Alert.id == alert_id, Alert.read_at.is_(None)).values(read_at=now))
    session.flush()
    return True


def latest_digest(session: Session) -> Digest | None:
    return session.scalar(select(Digest).order_by(Digest.day.desc()).limit(1))
