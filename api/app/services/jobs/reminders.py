"""Reminders to travellers through the notifier's outbox (issue 16 items 2-3).

- Survey: a closed ticket whose written result (with the survey) went out more than
  SURVEY_REMINDER_HOURS ago and got no answer at all (no confirmation, rating or comment from
  the traveller's channel since, nor any other change to the ticket) is asked once more; key
  "<ticket>:survey_reminder".
- Itinerary: ITINERARY_REMINDER_DAYS China days before departure, every conversation that
  verified the booking (crud/contacts.py) gets the meeting time and place and the guide;
  key "itinerary:<booking>:<departure>:<conversation>", so once per booking, departure and
  traveller whatever runs the job.
"""

from __future__ import annotations

import hashlib
from datetime import date, datetime, timedelta

from sqlalchemy import exists, select
from sqlalchemy.orm import Session

from app.core.config import Settings
from app.core.db import upsert_insert
from app.crud.contacts import contacts_for_bookings
from app.models import AuditLog, Booking, Ticket
from app.models.notification import PENDING, SENT, Notification
from app.services import notifier
from app.services import deadlines as dl
from app.services.disruptions import resolve_channels
from app.services.rasa_client import RasaClient

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


# --- itinerary reminder ---------------------------------------------------------------------

ITINERARY_KIND = "itinerary_reminder"
ITINERARY_TITLE = "出行提醒"


def _day(value: date) -> str:
    return f"{value.month}月{value.day}日"


def _first_day(booking: Booking) -> dict:
    days = [d for d in booking.itinerary or [] if isinstance(d, dict)]
    for day in days:
        if day.get("date") == booking.departure_date.isoformat():
            return day
    return next((d for d in days if d.get("day") == 1), days[0] if days else {})


def itinerary_text(booking: Booking) -> str:
    """Meeting time and place and the guide, from the booking's first day (DESIGN §6)."""
    first = _first_day(booking)
    meeting = first.get("meeting") or {}
    guide = first.get("guide") or {}
    guide_name = guide.get("name") or booking.guide_name
    guide_phone = guide.get("phone") or booking.guide_phone
    lines = [
        f"【{ITINERARY_TITLE}】您好！您预订的“{booking.product}”（订单号 {booking.ref}）"
        f"将于{_day(booking.departure_date)}出发。",
        f"集合时间：{_day(booking.departure_date)} {meeting.get('time') or '请留意导游通知'}",
        f"集合地点：{meeting.get('place') or '请留意导游通知'}",
    ]
    if guide_name:
        lines.append(f"导游：{guide_name}" + (f"，电话 {guide_phone}" if guide_phone else ""))
    for flight in first.get("flights") or []:
        lines.append(
            f"航班：{flight.get('number', '')} {flight.get('from', '')}→{flight.get('to', '')} "
            f"{flight.get('departure', '')}起飞"
        )
    lines.append("请携带有效身份证件，提前到达集合地点。如有疑问，可直接回复本消息。")
    return "\n".join(lines)


def itinerary_key(booking: Booking, conversation_id: str) -> str:
    # Not the conversation id itself (an openid identifies the person): keys reach logs and
    # the tracker's metadata (as in services/disruptions.py).
    digest = hashlib.sha256(conversation_id.encode()).hexdigest()[:24]
    return f"itinerary:{booking.ref}:{booking.departure_date.isoformat()}:{digest}"


def itinerary_reminders(
    session: Session, *, settings: Settings, now: datetime, rasa: RasaClient | None = None
) -> dict[str, int]:
    """Queue the reminder for every conversation that verified a booking departing in
    ITINERARY_REMINDER_DAYS China days (or fewer, for a contact first seen late or a run
    missed, as long as the trip has not started)."""
    today = dl.china_today(now)
    latest = today + timedelta(days=settings.itinerary_reminder_days)
    bookings = {
        b.id: b
        for b in session.scalars(
            select(Booking).where(Booking.departure_date > today, Booking.departure_date <= latest)
        )
    }
    contacts = contacts_for_bookings(session, bookings)
    if rasa is not None:
        resolve_channels(session, rasa, contacts)
    queued = 0
    for contact in contacts:
        booking = bookings[contact.booking_id]
        text = itinerary_text(booking)
        stored = session.execute(
            upsert_insert(session)(Notification)
            .values(
                key=itinerary_key(booking, contact.conversation_id),
                ticket_id=None,
                kind=ITINERARY_KIND,
                channel=contact.channel,
                conversation_id=contact.conversation_id,
                text=text,
                buttons=[],
                slots={},
                template={
                    "first": ITINERARY_TITLE,
                    "keyword1": booking.ref,
                    "keyword2": booking.product,
                    "keyword3": _day(booking.departure_date),
                    "remark": text,
                },
                status=PENDING,
                attempts=0,
                next_attempt_at=now,
                created_at=now,
            )
            .on_conflict_do_nothing(index_elements=[Notification.key])
            .returning(Notification.id)
        ).scalar_one_or_none()
        queued += stored is not None
    session.flush()
    return {"bookings": len(bookings), "contacts": len(contacts), "queued": queued}
