from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.models import AuditLog
from app.models.base import utcnow


def _text(value: object) -> str | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        return value.isoformat()
    return str(value)


def record(
    session: Session,
    *,
    actor: str,
    actor_role: str,
    action: str,
    ticket_id: int | None = None,
    booking_ref: str | None = None,
    field: str | None = None,
    old: object = None,
    new: object = None,
    at: datetime | None = None,
) -> AuditLog:
    row = AuditLog(
        at=at or utcnow(), actor=actor, actor_role=actor_role, action=action,
        ticket_id=ticket_id, booking_ref=booking_ref, field=field,
        old_value=_text(old), new_value=_text(new),
    )
    session.add(row)
    return row


def for_ticket(session: Session, *, ticket_id: int) -> list[AuditLog]:
    return list(
        session.scalars(select(AuditLog).where(AuditLog.ticket_id == ticket_id).order_by(AuditLog.id))
    )
