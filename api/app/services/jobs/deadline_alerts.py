"""Deadline alerts (DESIGN §3, issue 16 item 3).

- A step due within DEADLINE_ALERT_WORKING_HOURS working hours (09:00-18:00 China time on
  China's working days, chinese_calendar) alerts the ticket's owner (no owner: the
  supervisors).
- An overdue step alerts the supervisors (the desk has no per-agent supervisor: every active
  supervisor is the owner's supervisor) and escalates the ticket one authority level, once,
  audited with the system actor, exactly as a traveller's progress check past a deadline does
  (crud.tickets.escalate_if_overdue).

Each alert has a unique key (ticket, step, kind, recipient), so a second run, or a second
worker, adds nothing; the escalation takes the ticket's row lock first, so two concurrent runs
cannot both escalate."""

from __future__ import annotations

from datetime import datetime, time, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.core.config import Settings
from app.crud import alerts as alert_crud
from app.crud import tickets as ticket_crud
from app.core.security import Actor
from app.models import Ticket, TicketDeadline
from app.models.alert import DUE_SOON, OVERDUE
from app.services import deadlines as dl
from app.services import workflow

# The working day the "4 working hours" count in; it ends when working-day deadlines fall due.
WORKDAY_STARTS = time(9, 0)
SYSTEM = Actor(name="scheduler", role="system", display_name="系统")
AUTHORITY_LABELS = {1: "总经理", 2: "部门负责人"}
# Far enough ahead for any 4 working hours, a Spring Festival week included.
LOOKAHEAD = timedelta(days=15)


def working_seconds_between(start: datetime, end: datetime) -> float:
    """Seconds of China working hours (WORKDAY_STARTS-WORKDAY_ENDS on working days) in [start, end)."""
    if end <= start:
        return 0.0
    total, day = 0.0, dl.china_today(start)
    last = dl.china_today(end)
    while day <= last:
        if dl.is_working_day(day)[0]:
            opens = datetime.combine(day, WORKDAY_STARTS, tzinfo=dl.CHINA_TZ)
            closes = datetime.combine(day, dl.WORKDAY_ENDS, tzinfo=dl.CHINA_TZ)
            lo, hi = max(opens, start), min(closes, end)
            if hi > lo:
                total += (hi - lo).total_seconds()
        day += timedelta(days=1)
    return total


def _china(at: datetime) -> str:
    local = at.astimezone(dl.CHINA_TZ)
    return f"{local.month}月{local.day}日 {local:%H:%M}"


def _owner_name(ticket: Ticket) -> str:
    return (ticket.owner.display_name or ticket.owner.username) if ticket.owner else "未分配"


def _escalate(session: Session, ticket_id: int, now: datetime) -> Ticket:
    # The row lock (PostgreSQL; SQLite's BEGIN IMMEDIATE already serialises writers) and a fresh
    # read: a concurrent run that escalated first is seen, and this one does nothing.
    ticket = session.scalars(
        select(Ticket)
        .where(Ticket.id == ticket_id)
        .with_for_update(of=Ticket)
        .execution_options(populate_existing=True)
    ).one()
    ticket_crud.escalate_if_overdue(session, ticket=ticket, actor=SYSTEM, now=now)
    return ticket


def run(session: Session, *, settings: Settings, now: datetime) -> dict[str, int]:
    """One pass over the open deadlines of open tickets; the caller commits."""
    horizon = settings.deadline_alert_working_hours * 3600
    rows = session.execute(
        select(TicketDeadline.name, TicketDeadline.due_at, Ticket.id)
        .join(Ticket, Ticket.id == TicketDeadline.ticket_id)
        .where(
            TicketDeadline.done_at.is_(None),
            TicketDeadline.due_at <= now + LOOKAHEAD,
            Ticket.status.in_(workflow.OPEN),
            Ticket.anonymised_at.is_(None),
        )
        .order_by(TicketDeadline.due_at, Ticket.id)
    ).all()
    supervisors = alert_crud.active_supervisors(session)
    counts = {"due_soon": 0, "overdue": 0, "escalated": 0}
    seen: set[tuple[int, datetime]] = set()
    for name, due_at, ticket_id in rows:
        # The general tickets' `resolution` is the `resolved` step: one alert for one moment.
        if (ticket_id, due_at) in seen:
            continue
        seen.add((ticket_id, due_at))
        ticket = session.get(Ticket, ticket_id)
        label = dl.deadline_label(name)
        if due_at <= now:
            before = ticket.authority_level
            ticket = _escalate(session, ticket_id, now)
            if ticket.authority_level < before:
                counts["escalated"] += 1
            level = AUTHORITY_LABELS.get(ticket.authority_level, str(ticket.authority_level))
            text = (
                f"工单 {ticket.ticket_no} 的「{label}」已于 {_china(due_at)} 超时未完成，"
                f"负责人：{_owner_name(ticket)}。工单已升级至{level}处理权限，请督办。"
            )
            recipients, kind = [user.id for user in supervisors], OVERDUE
        elif working_seconds_between(now, due_at) <= horizon:
            hours = working_seconds_between(now, due_at) / 3600
            text = (
                f"工单 {ticket.ticket_no} 的「{label}」将于 {_china(due_at)} 到期"
                f"（剩余约 {hours:.1f} 个工作小时），请及时处理。"
            )
            owner = ticket.owner if ticket.owner is not None and ticket.owner.is_active else None
            recipients = [owner.id] if owner is not None else [user.id for user in supervisors]
            kind = DUE_SOON
        else:
            continue
        for user_id in recipients:
            if alert_crud.add(
                session,
                key=f"{ticket.ticket_no}:{name}:{kind}:{user_id}",
                user_id=user_id,
                kind=kind,
                text=text,
                now=now,
                ticket_id=ticket.id,
                deadline=name,
                due_at=due_at,
            ):
                counts[kind] += 1
    # The in-trip disruptions' 1-hour alternative plan is a deadline like the tickets' ones.
    from app.services import disruptions  # imports the Rasa client: only when the job runs

    counts.update(disruptions.alternative_alerts(session, now=now))
    session.flush()
    return counts
