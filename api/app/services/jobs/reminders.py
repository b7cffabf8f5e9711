"""Reminders to travellers through the notifier's outbox (issue 16 items 2-3).

- Survey: a closed ticket whose written result (with the survey) went out more than
  SURVEY_REMINDER_HOURS ago and got no answer at all (no confirmation, rating or comment from
  the traveller's channel since, nor any other change to the ticket) is asked once more; key "<ticket>:survey_reminder".
- Itinerary: ITINERARY_REMINDER_DAYS China days before departure, every conversation that
  verified the booking (crud/contacts.py) gets the meeting time and place and the guide;
  key "itinerary:<booking>:<departure>:<conversation>", so once per booking, departure and
  traveller whatever runs the job.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import exists, select
from sqlalchemy.orm import Session

from app.core.config import Settings
from app.models import AuditLog, Ticket
from app.models.notification import SENT, Notification
from app.services import notifier
from app.services import deadlines as dl

# Older results are not chased any more (the follow-up call has long happened).
SURVEY_REMINDER_WINDOW = timedelta(days=7)
SURVEY_ANSWERS = ("feedback", "survey")


def survey_reminder_notice(ticket: Ticket) -> notifier.Notice:
    closed = ticket.closed_at.astimezone(dl.CHINA_TZ)
    text = (
        f"【满意度回访】您好！您的投诉（工单号 {ticket.ticket_no}）已于{closed.month}月{closed.day}日办结，"
        "我们还没有收到您的反馈。请确认您是否认可处理结果，之后可以为我们的处理打分（1-5星），"
        "您的意见对我们很重要："
    )
    return notifier.Notice(
        "survey_reminder",
        "survey_reminder",
        text,
        "满意度回访提醒",
        tuple(notifier.CONFIRM_BUTTONS),
        {notifier.SURVEY_TICKET_SLOT: ticket.ticket_no, notifier.SURVEY_STEP_SLOT: "confirm"},
    )


def survey_reminders(session: Session, *, settings: Settings, now: datetime) -> dict[str, int]:
    cutoff = now - timedelta(hours=settings.survey_reminder_hours)
    answered = exists().where(
        AuditLog.ticket_id == Ticket.id,
        AuditLog.actor_role == "service",
        AuditLog.action.in_(SURVEY_ANSWERS),
        AuditLog.at > Notification.sent_at,
    )
    due = session.scalars(
        select(Ticket)
        .join(Notification, Notification.key == Ticket.ticket_no + ":result")
        .where(
            Ticket.status == "closed",
            Ticket.anonymised_at.is_(None),
            Notification.status == SENT,
            Notification.sent_at <= cutoff,
            Notification.sent_at > now - SURVEY_REMINDER_WINDOW,
            # The answer touches the ticket even when it repeats a value (no audit row then).
            Ticket.updated_at <= Notification.sent_at,
            ~answered,
        )
        .order_by(Ticket.id)
    ).all()
    queued = sum(
        notifier.enqueue(session, ticket=ticket, notice=survey_reminder_notice(ticket), now=now)
        for ticket in due
    )
    session.flush()
    return {"due": len(due), "queued": queued}
