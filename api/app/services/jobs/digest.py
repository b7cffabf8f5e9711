"""The supervisors' daily digest (issue 16 item 3): what the desk faces this morning, by
department. Stored (one per China date, `digests`), shown in the console and by GET /digest,
and announced to every supervisor as an alert.

- new: complaints received on the previous China day;
- overdue: open tickets with a step past its deadline now;
- due_today: open tickets with a step due later today (China date), not yet overdue;
- low_ratings: tickets rated 1 or 2 stars on the previous China day (the audit's rating changes).
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime, time, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.core.config import Settings
from app.core.db import upsert_insert
from app.crud import alerts as alert_crud
from app.models import AuditLog, Ticket, TicketDeadline
from app.models.alert import DIGEST, Digest
from app.services import deadlines as dl
from app.services import workflow

FIGURES = ("new", "overdue", "due_today", "low_ratings")


def _china_midnight(day) -> datetime:
    return datetime.combine(day, time(0, 0), tzinfo=dl.CHINA_TZ)


def compute(session: Session, *, now: datetime) -> dict:
    today = dl.china_today(now)
    today_start = _china_midnight(today)
    yesterday_start, tomorrow_start = today_start - timedelta(days=1), today_start + timedelta(days=1)
    counts: dict[str, Counter] = {name: Counter() for name in FIGURES}

    for (department,) in session.execute(
        select(Ticket.department).where(
            Ticket.received_at >= yesterday_start, Ticket.received_at < today_start
        )
    ):
        counts["new"][department] += 1

    open_steps = (
        select(Ticket.id, Ticket.department, TicketDeadline.due_at)
        .join(TicketDeadline, TicketDeadline.ticket_id == Ticket.id)
        .where(Ticket.status.in_(workflow.OPEN), TicketDeadline.done_at.is_(None))
    )
    overdue, due_today = {}, {}
    for ticket_id, department, due_at in session.execute(open_steps):
        if due_at <= now:
            overdue[ticket_id] = department
        elif due_at < tomorrow_start:
            due_today[ticket_id] = department
    for ticket_id, department in overdue.items():
        counts["overdue"][department] += 1
    for ticket_id, department in due_today.items():
        if ticket_id not in overdue:
            counts["due_today"][department] += 1

    low = dict(
        session.execute(
            select(Ticket.id, Ticket.department)
            .join(AuditLog, AuditLog.ticket_id == Ticket.id)
            .where(
                AuditLog.field == "satisfaction",
                AuditLog.new_value.in_([str(n) for n in range(1, workflow.LOW_SATISFACTION + 1)]),
                AuditLog.at >= yesterday_start,
                AuditLog.at < today_start,
            )
        ).all()
    )
    for department in low.values():
        counts["low_ratings"][department] += 1

    departments = sorted(set().union(*counts.values()))
    return {
        "day": today.isoformat(),
        "covers": (today - timedelta(days=1)).isoformat(),
        "generated_at": now.isoformat(),
        "totals": {name: sum(counts[name].values()) for name in FIGURES},
        "by_department": {d: {name: counts[name][d] for name in FIGURES} for d in departments},
    }


def run(session: Session, *, settings: Settings, now: datetime) -> dict:
    """Store today's digest (once: a second run keeps the first) and alert the supervisors."""
    figures = compute(session, now=now)
    stored = session.execute(
        upsert_insert(session)(Digest)
        .values(day=figures["day"], created_at=now, figures=figures)
        .on_conflict_do_nothing(index_elements=[Digest.day])
        .returning(Digest.id)
    ).scalar_one_or_none()
    totals = figures["totals"]
    day = dl.china_today(now)
    text = (
        f"每日简报（{day.month}月{day.day}日）：昨日新投诉 {totals['new']} 件，"
        f"超时未办 {totals['overdue']} 件，今日到期 {totals['due_today']} 件，"
        f"昨日低分评价 {totals['low_ratings']} 件。详见工作台「每日简报」。"
    )
    alerted = sum(
        alert_crud.add(
            session,
            key=f"digest:{figures['day']}:{user.id}",
            user_id=user.id,
            kind=DIGEST,
            text=text,
            now=now,
        )
        for user in alert_crud.active_supervisors(session)
    )
    session.flush()
    return {"stored": stored is not None, "alerts": alerted, **totals}
