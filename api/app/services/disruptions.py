"""Disruption notices (issue 16 item 4, DESIGN §6): a supervisor picks a departure (product and
departure date, from the bookings), writes a notice, and every conversation that verified a
booking of that departure (booking_contacts) gets it through the notifier's outbox.

- One `disruption_recipients` row per conversation and disruption (unique), created in the same
  transaction as its `notifications` row (key `disruption:<id>:<hash of the conversation>`,
  also unique): a conversation is told once per disruption, whatever double clicks, retries or
  a later "send to new contacts" do. Two bookings of one family verified in one conversation
  make one recipient.
- Delivery, retries and outcomes are the notifier's (services/notifier.py): socket.io pushed and
  kept in the widget's history, WeChat customer-service message within 48 hours of the
  traveller's last message and a template message after, REST in the tracker.
- Tickets count too: a conversation that opened a ticket about a booking of the departure
  (within the trackers' retention, RETENTION_TRACKER_DAYS) is recorded as a contact when the
  notice is written (crud/contacts.record_ticket_contacts).
- A contact whose channel the bot did not say is looked up in its tracker (the newest user
  message's `input_channel`) before the notice is written.
- Replies are read, not recorded: `replies()` reads each recipient's tracker from Rasa and lists
  the traveller's messages after the notice (up to the next disruption notice in that
  conversation), masked. The tracker is where those messages already are; a copy in the API
  would be a second store of personal data for the retention job to chase, and the bot would
  need to know which notice a message answers. The price: replies need Rasa to answer, and they
  go when the retention job deletes the tracker.
- A departure already under way when the notice is written (China's date between departure
  and return) gets the handbooks' in-trip deadline for an alternative plan (1 hour,
  taxonomy.ALTERNATIVE_PLAN_WITHIN), shown met / due / breached like a ticket's deadlines; a
  supervisor records the alternative (`mark_alternative`).
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.core.db import upsert_insert
from app.crud import audit
from app.crud.contacts import contacts_for_bookings, record_ticket_contacts, set_channel
from app.models import Booking
from app.models.contact import BookingContact
from app.models.disruption import Disruption, DisruptionRecipient
from app.models.notification import PENDING, Notification
from app.services import deadlines as dl
from app.services.masking import mask_text
from app.services.rasa_client import ConversationNotFound, RasaClient, RasaUnavailable
from app.services.taxonomy import ALTERNATIVE_PLAN_WITHIN

log = logging.getLogger(__name__)

KIND = "disruption"
TITLE = "出行变更通知"
CHANNELS = frozenset({"socketio", "rest", "wechat"})


class DisruptionError(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


# --- departures ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Departure:
    product: str
    departure_date: date
    return_date: date
    bookings: int
    travellers: int
    contacts: int
    under_way: bool


def departures(session: Session, *, now: datetime) -> list[Departure]:
    """Departures not yet back (China's date), soonest first, with how many conversations a
    notice would reach."""
    today = dl.china_today(now)
    contacts = (
        select(
            Booking.product,
            Booking.departure_date,
            func.count(func.distinct(BookingContact.conversation_id)).label("contacts"),
        )
        .join(BookingContact, BookingContact.booking_id == Booking.id)
        .group_by(Booking.product, Booking.departure_date)
        .subquery()
    )
    rows = session.execute(
        select(
            Booking.product,
            Booking.departure_date,
            func.max(Booking.return_date),
            func.count(Booking.id),
            func.sum(Booking.travellers),
            func.max(func.coalesce(contacts.c.contacts, 0)),
        )
        .outerjoin(
            contacts,
            (contacts.c.product == Booking.product) & (contacts.c.departure_date == Booking.departure_date),
        )
        .group_by(Booking.product, Booking.departure_date)
        .having(func.max(Booking.return_date) >= today)
        .order_by(Booking.departure_date, Booking.product)
    ).all()
    return [
        Departure(product, dep, ret, int(n), int(people or 0), int(reach or 0), dep <= today <= ret)
        for product, dep, ret, n, people, reach in rows
    ]


def _bookings_of(session: Session, product: str, departure_date: date) -> list[Booking]:
    return list(
        session.scalars(
            select(Booking)
            .where(Booking.product == product, Booking.departure_date == departure_date)
            .order_by(Booking.id)
        )
    )


# --- the notice ------------------------------------------------------------------------------


def _day(value: date) -> str:
    return f"{value.year}年{value.month}月{value.day}日"


def notice_text(disruption: Disruption, booking: Booking) -> str:
    lines = [
        f"【{TITLE}】您预订的“{disruption.product}”（{_day(disruption.departure_date)}出发，"
        f"订单号 {booking.ref}）有以下变更：",
        disruption.text.strip(),
    ]
    if disruption.in_trip:
        lines.append("我们将在1小时内为您安排替代方案，请留意消息。")
    lines.append("如有疑问或需要协助，请直接回复本消息，我们会尽快为您处理。")
    return "\n".join(lines)


def _template(disruption: Disruption, booking: Booking, text: str, now: datetime) -> dict:
    # The same service-progress template as the ticket notices (notifier.Notice.template).
    local = now.astimezone(dl.CHINA_TZ)
    return {
        "first": TITLE,
        "keyword1": booking.ref,
        "keyword2": TITLE,
        "keyword3": f"{_day(local.date())} {local:%H:%M}",
        "remark": text,
    }


def notice_key(disruption_id: int, conversation_id: str) -> str:
    # Not the conversation id itself: keys show up in the tracker's metadata and in logs.
    digest = hashlib.sha256(conversation_id.encode()).hexdigest()[:24]
    return f"{KIND}:{disruption_id}:{digest}"


# --- channels the bot did not give -----------------------------------------------------------


def channel_from_tracker(tracker: dict) -> str | None:
    for event in reversed(tracker.get("events") or []):
        if event.get("event") == "user" and event.get("input_channel") in CHANNELS:
            return event["input_channel"]
    return None


def resolve_channels(session: Session, rasa: RasaClient, contacts: Iterable[BookingContact]) -> None:
    """Fill in the channel of contacts recorded without one, from their conversations' trackers.
    Rasa down: they stay unknown, and their notice lands in the tracker only (the widget's
    history shows it; nothing is pushed)."""
    for conversation_id in sorted({c.conversation_id for c in contacts if c.channel is None}):
        try:
            channel = channel_from_tracker(rasa.tracker(conversation_id))
        except (RasaUnavailable, ConversationNotFound) as error:
            log.warning("channel of a disruption recipient not known: %s", error)
            continue
        if channel:
            set_channel(session, conversation_id=conversation_id, channel=channel)
    session.flush()


# --- creating and sending --------------------------------------------------------------------


def create(
    session: Session,
    *,
    product: str,
    departure_date: date,
    text: str,
    actor: str,
    actor_role: str,
    now: datetime,
) -> Disruption:
    """Record the disruption (audited); `send` writes its notices. The caller commits."""
    booked = _bookings_of(session, product, departure_date)
    if not booked:
        raise DisruptionError("unknown_departure", "no booking of this product departs on this date")
    return_date = max(b.return_date for b in booked)
    today = dl.china_today(now)
    in_trip = departure_date <= today <= return_date
    if today > return_date:
        raise DisruptionError("departure_over", "this departure has already come back")
    disruption = Disruption(
        product=product,
        departure_date=departure_date,
        return_date=return_date,
        text=text.strip(),
        created_by=actor,
        created_at=now,
        in_trip=in_trip,
        alternative_due_at=now + ALTERNATIVE_PLAN_WITHIN if in_trip else None,
    )
    session.add(disruption)
    session.flush()
    audit.record(
        session,
        actor=actor,
        actor_role=actor_role,
        action="disruption_created",
        field="disruption",
        new=f"{disruption.id}: {product} {departure_date.isoformat()}",
        at=now,
    )
    return disruption


def send(
    session: Session,
    disruption: Disruption,
    *,
    rasa: RasaClient,
    actor: str,
    actor_role: str,
    now: datetime,
    tickets_since: datetime | None = None,
) -> int:
    """Write a notice for every contact of the departure not told yet; returns how many were
    new (0 the second time). Conversations that opened a ticket about one of its bookings since
    `tickets_since` are contacts too. The caller commits; the notifier delivers after it."""
    booked = {b.id: b for b in _bookings_of(session, disruption.product, disruption.departure_date)}
    if tickets_since is not None:
        record_ticket_contacts(session, bookings=booked.values(), since=tickets_since)
        session.flush()
    contacts = contacts_for_bookings(session, booked)
    resolve_channels(session, rasa, contacts)
    added = 0
    seen: set[str] = set()
    for contact in contacts:
        if contact.conversation_id in seen:
            continue  # one family, two bookings, one conversation: one notice
        seen.add(contact.conversation_id)
        added += _add_recipient(session, disruption, booked[contact.booking_id], contact, now)
    session.flush()
    if added:
        audit.record(
            session,
            actor=actor,
            actor_role=actor_role,
            action="disruption_sent",
            field="disruption",
            new=f"{disruption.id}: {added} recipient(s)",
            at=now,
        )
    return added


def _add_recipient(
    session: Session, disruption: Disruption, booking: Booking, contact: BookingContact, now: datetime
) -> int:
    insert = upsert_insert(session)
    recipient_id = session.execute(
        insert(DisruptionRecipient)
        .values(
            disruption_id=disruption.id,
            booking_id=booking.id,
            conversation_id=contact.conversation_id,
            channel=contact.channel,
            created_at=now,
        )
        .on_conflict_do_nothing(
            index_elements=[DisruptionRecipient.disruption_id, DisruptionRecipient.conversation_id]
        )
        .returning(DisruptionRecipient.id)
    ).scalar_one_or_none()
    if recipient_id is None:
        return 0  # told before
    text = notice_text(disruption, booking)
    key = notice_key(disruption.id, contact.conversation_id)
    session.execute(
        insert(Notification)
        .values(
            key=key,
            ticket_id=None,
            kind=KIND,
            channel=contact.channel,
            conversation_id=contact.conversation_id,
            text=text,
            buttons=[],
            slots={},
            template=_template(disruption, booking, text, now),
            status=PENDING,
            attempts=0,
            next_attempt_at=now,
            created_at=now,
        )
        .on_conflict_do_nothing(index_elements=[Notification.key])
    )
    notification_id = session.scalar(select(Notification.id).where(Notification.key == key))
    session.get(DisruptionRecipient, recipient_id).notification_id = notification_id
    return 1


def get(session: Session, disruption_id: int) -> Disruption | None:
    return session.get(Disruption, disruption_id)


def listing(session: Session, *, limit: int = 100) -> list[Disruption]:
    return list(
        session.scalars(
            select(Disruption).order_by(Disruption.created_at.desc(), Disruption.id.desc()).limit(limit)
        )
    )


def alternative_state(disruption: Disruption, now: datetime) -> str | None:
    """met | due | breached, as a ticket's deadlines (deadlines.deadline_state); None when the
    departure was not under way."""
    if disruption.alternative_due_at is None:
        return None
    return dl.deadline_state(disruption.alternative_due_at, disruption.alternative_offered_at, now)


def mark_alternative(
    session: Session, disruption: Disruption, *, note: str, actor: str, actor_role: str, now: datetime
) -> None:
    if not disruption.in_trip:
        raise DisruptionError("not_in_trip", "only a departure under way has an alternative deadline")
    if disruption.alternative_offered_at is not None:
        raise DisruptionError("alternative_recorded", "the alternative was recorded already")
    disruption.alternative_offered_at = now
    disruption.alternative_offered_by = actor
    disruption.alternative_note = note.strip()
    audit.record(
        session,
        actor=actor,
        actor_role=actor_role,
        action="disruption_alternative",
        field="alternative_offered_at",
        new=now,
        at=now,
    )


# --- replies ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Reply:
    text: str
    at: datetime


def replies_in(tracker: dict, key: str, known: Iterable[str | None] = ()) -> list[Reply] | None:
    """The traveller's messages after the notice `key` in a tracker, up to the next disruption
    notice; None when the notice is not in it (not delivered yet). Text masked."""
    events = tracker.get("events") or []
    start = next(
        (
            i
            for i, e in enumerate(events)
            if e.get("event") == "bot" and (e.get("metadata") or {}).get("notice_key") == key
        ),
        None,
    )
    if start is None:
        return None
    out: list[Reply] = []
    for event in events[start + 1 :]:
        metadata = event.get("metadata") or {}
        if event.get("event") == "bot" and metadata.get("notice") == KIND:
            break  # a later disruption's notice: what follows answers that one
        if event.get("event") == "user":
            text = event.get("text") or ""
            if text.startswith("/"):
                text = f"[按钮] {text}"
            at = datetime.fromtimestamp(float(event.get("timestamp") or 0), UTC)
            out.append(Reply(mask_text(text, known) or "", at))
    return out


# --- alerts for the 1-hour deadline ----------------------------------------------------------

# A 1-hour deadline: "due soon" in its last half hour (the tickets' 4 working hours make no
# sense for it).
ALTERNATIVE_DUE_SOON = timedelta(minutes=30)


def alternative_alerts(session: Session, *, now: datetime) -> dict[str, int]:
    """Alert every active supervisor when an in-trip disruption's alternative plan is due within
    half an hour, and again when it is overdue; once each (unique alert keys, safe in several
    workers). Meant for the deadline-alert job beside the tickets' deadlines. Flushes; the
    caller commits."""
    from app.crud import alerts as alert_crud
    from app.models.alert import DUE_SOON, OVERDUE

    counts = {"alternative_due_soon": 0, "alternative_overdue": 0}
    open_ones = session.scalars(
        select(Disruption)
        .where(
            Disruption.alternative_due_at.is_not(None),
            Disruption.alternative_offered_at.is_(None),
            Disruption.alternative_due_at <= now + ALTERNATIVE_DUE_SOON,
        )
        .order_by(Disruption.alternative_due_at, Disruption.id)
    ).all()
    supervisors = alert_crud.active_supervisors(session)
    for disruption in open_ones:
        due = disruption.alternative_due_at.astimezone(dl.CHINA_TZ)
        what = (
            f"出行变更通知「{disruption.product}（{_day(disruption.departure_date)}出发）」的行程中替代方案"
        )
        if disruption.alternative_due_at <= now:
            kind, counted = OVERDUE, "alternative_overdue"
            text = f"{what}已于 {due:%H:%M} 超过1小时时限仍未提供，请督办并在工作台记录。"
        else:
            kind, counted = DUE_SOON, "alternative_due_soon"
            text = f"{what}将于 {due:%H:%M} 到期（1小时时限），请尽快提供并在工作台记录。"
        for user in supervisors:
            if alert_crud.add(
                session,
                key=f"disruption:{disruption.id}:alternative_plan:{kind}:{user.id}",
                user_id=user.id,
                kind=kind,
                text=text,
                now=now,
                deadline="alternative_plan",
                due_at=disruption.alternative_due_at,
            ):
                counts[counted] += 1
    session.flush()
    return counts
