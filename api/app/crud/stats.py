"""Ticket figures for the periodic report (GET /stats) and the deadline-state filter of the
ticket list, in SQL. They take a Session and never write."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import and_, exists, func, not_, or_, select
from sqlalchemy.orm import Session

from app.models import Ticket, TicketDeadline
from app.services import deadlines as dl
from app.services import workflow


def _breached(now: datetime):
    return exists().where(
        TicketDeadline.ticket_id == Ticket.id,
        or_(
            and_(TicketDeadline.done_at.is_(None), TicketDeadline.due_at < now),
            TicketDeadline.done_at > TicketDeadline.due_at,
        ),
    )


def _open_in_time(now: datetime):
    return exists().where(
        TicketDeadline.ticket_id == Ticket.id,
        TicketDeadline.done_at.is_(None),
        TicketDeadline.due_at >= now,
    )


def deadline_state_filter(state: str, now: datetime):
    if state == dl.BREACHED:
        return _breached(now)
    if state == dl.DUE:
        return and_(not_(_breached(now)), _open_in_time(now))
    return and_(not_(_breached(now)), not_(_open_in_time(now)))


def stats(
    session: Session, *, now: datetime, since: datetime | None = None, until: datetime | None = None
) -> dict:
    window = []
    if since is not None:
        window.append(Ticket.received_at >= since)
    if until is not None:
        window.append(Ticket.received_at < until)

    def counts(column) -> dict[str, int]:
        rows = session.execute(select(column, func.count(Ticket.id)).where(*window).group_by(column))
        return {str(key) if key is not None else "unknown": n for key, n in rows}

    deadline_rows = select(TicketDeadline.due_at, TicketDeadline.done_at).join(Ticket).where(*window)
    met = breached = still_open = 0
    for due_at, done_at in session.execute(deadline_rows):
        state = dl.deadline_state(due_at, done_at, now)
        met += state == dl.MET
        breached += state == dl.BREACHED
        still_open += state == dl.DUE
    sat_count, sat_mean = session.execute(
        select(func.count(Ticket.satisfaction), func.avg(Ticket.satisfaction)).where(*window)
    ).one()
    return {
        "total": session.scalar(select(func.count(Ticket.id)).where(*window)) or 0,
        "by_category": counts(Ticket.category),
        "by_severity": counts(Ticket.severity),
        "by_stage": counts(Ticket.stage),
        "by_status": counts(Ticket.status),
        "by_department": counts(Ticket.department),
        "repeats": session.scalar(select(func.count(Ticket.id)).where(Ticket.is_repeat.is_(True), *window))
        or 0,
        "deadlines_met": met,
        "deadlines_breached": breached,
        "deadlines_open": still_open,
        "deadlines_met_share": round(met / (met + breached), 4) if met + breached else None,
        "satisfaction_count": sat_count or 0,
        "satisfaction_mean": round(float(sat_mean), 2) if sat_mean is not None else None,
        "low_satisfaction": session.scalar(
            select(func.count(Ticket.id)).where(Ticket.satisfaction <= workflow.LOW_SATISFACTION, *window)
        )
        or 0,
    }
