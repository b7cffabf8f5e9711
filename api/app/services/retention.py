"""Retention: personal data is not kept for ever (issue 14 item 9).

One job, run by `make retention` (`python -m app.cli retention`) or in the API process every
RETENTION_INTERVAL_HOURS by one worker only (app/services/scheduler.py, APScheduler with a
job_runs claim per due time):

1. complaints whose last activity (update or close) and receipt are older than
   RETENTION_COMPLAINT_DAYS are anonymised: name cleared, phone cleared, every free text
   (description, time, place, request, result, rejection/delay reasons, notes) passed through
   `masking.mask_text` with the record's own names and numbers (complainant, booking holder,
   the bot's summary), evidence reduced to the host, the conversation id shortened; the linked
   handoffs lose their transcript and get a masked summary; the ticket's audit rows have their
   old/new values masked. The ticket stays (category, severity, department, status, deadlines,
   satisfaction) for the statistics; `anonymised_at` is set and the change is audited;
2. full handoff transcripts older than RETENTION_TRANSCRIPT_DAYS (from the close) are deleted
   and the handoff's summary masked (the ticket keeps its masked note of the transcript);
3. Idempotency-Key records older than RETENTION_IDEMPOTENCY_DAYS, phone-digit and login
   failure counters whose window has ended, and expired login tokens are deleted;
4. Rasa conversations (all `events` rows of a sender id in the SQL tracker store, SQLite or
   PostgreSQL) idle for longer than RETENTION_TRACKER_DAYS are deleted;
5. by the same rule, the addresses that point at those conversations: booking contacts
   (which conversation verified which booking) not seen for RETENTION_TRACKER_DAYS are
   deleted, and disruption recipients older than that keep only a masked conversation id
   (their notice rows too); the disruption and its delivery counts stay.

Every step is idempotent: running the job twice, or in two processes, does no harm.
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import (
    Column,
    Engine,
    Float,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    delete,
    func,
    inspect,
    or_,
    select,
)
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from app.core.config import Settings
from app.models import ApiToken, AuditLog, Booking, Handoff, IdempotencyKey, Ticket, TicketNote, VerifyFailure
from app.models.contact import BookingContact
from app.models.disruption import DisruptionRecipient
from app.models.notification import Notification
from app.services.masking import (
    known_in_summary,
    mask_conversation_id,
    mask_evidence,
    mask_identifier,
    mask_name,
    mask_phone,
    mask_summary,
    mask_text,
)

log = logging.getLogger(__name__)

ACTOR = "retention"
ACTOR_ROLE = "system"
ANONYMISED = "retention_anonymised"
TRANSCRIPT_DELETED = "retention_transcript_deleted"

# Free-text columns of a ticket that may carry personal data.
TICKET_TEXT_FIELDS = (
    "description",
    "occurred_at",
    "location",
    "request_detail",
    "result_findings",
    "result_measures",
    "result_apology",
    "rejection_reason",
    "delay_reason",
)

# Rasa 3.6's SQLTrackerStore table (rasa/core/tracker_store.py, SQLTrackerStore.SQLEvent):
# one row per event, the conversation is every row of a sender_id; timestamp is epoch seconds.
tracker_metadata = MetaData()
tracker_events = Table(
    "events",
    tracker_metadata,
    Column("id", Integer, primary_key=True),
    Column("sender_id", String(255), nullable=False, index=True),
    Column("type_name", String(255), nullable=False),
    Column("timestamp", Float),
    Column("intent_name", String(255)),
    Column("action_name", String(255)),
    Column("data", Text),
)


@dataclass
class Report:
    tickets_anonymised: int = 0
    transcripts_deleted: int = 0
    idempotency_keys_deleted: int = 0
    verify_counters_deleted: int = 0
    tokens_deleted: int = 0
    trackers_deleted: int = 0
    tracker_events_deleted: int = 0
    contacts_deleted: int = 0
    disruption_recipients_masked: int = 0

    def as_dict(self) -> dict[str, int]:
        return asdict(self)


# --- 1. complaints --------------------------------------------------------------------------


def _audit(
    session: Session,
    *,
    action: str,
    now: datetime,
    ticket_id: int | None,
    field: str,
    new: str,
) -> None:
    session.add(
        AuditLog(
            at=now,
            actor=ACTOR,
            actor_role=ACTOR_ROLE,
            action=action,
            ticket_id=ticket_id,
            field=field,
            new_value=new,
        )
    )


def _handoffs_of(session: Session, ticket: Ticket) -> list[Handoff]:
    conditions = [Handoff.ticket_no == ticket.ticket_no]
    if ticket.conversation_id:
        conditions.append(Handoff.conversation_id == ticket.conversation_id)
    return list(session.scalars(select(Handoff).where(or_(*conditions))))


def _mask_audit_value(field: str | None, value: str | None, known: list[str]) -> str | None:
    if not value:
        return value
    if field == "name":
        return mask_name(value)
    if field == "phone":
        return mask_phone(value)
    return mask_text(value, known)


def anonymise_ticket(session: Session, ticket: Ticket, *, now: datetime, days: int) -> None:
    booking = None
    if ticket.booking_ref:
        booking = session.scalar(select(Booking).where(Booking.ref == ticket.booking_ref))
    handoffs = _handoffs_of(session, ticket)
    known: list[str] = [v for v in (ticket.name, ticket.phone) if v]
    if booking is not None:
        known += [booking.traveller_name, booking.phone]
    for handoff in handoffs:
        known += known_in_summary(handoff.summary)
    ticket.name = None
    ticket.phone = ""
    for name in TICKET_TEXT_FIELDS:
        value = getattr(ticket, name)
        if value:
            setattr(ticket, name, mask_text(value, known))
    ticket.evidence = [mask_evidence(item) for item in ticket.evidence or []]
    ticket.conversation_id = mask_identifier(ticket.conversation_id)
    for note in session.scalars(select(TicketNote).where(TicketNote.ticket_id == ticket.id)):
        note.text = mask_text(note.text, known) or ""
    for handoff in handoffs:
        handoff.transcript = None
        handoff.summary = mask_summary(handoff.summary, known)
    for row in session.scalars(select(AuditLog).where(AuditLog.ticket_id == ticket.id)):
        row.old_value = _mask_audit_value(row.field, row.old_value, known)
        row.new_value = _mask_audit_value(row.field, row.new_value, known)
    ticket.anonymised_at = now
    ticket.updated_at = now  # explicit, or the column's onupdate would take the wall clock
    _audit(
        session,
        action=ANONYMISED,
        now=now,
        ticket_id=ticket.id,
        field="personal_data",
        new=f"older than {days} days",
    )


def anonymise_tickets(session: Session, *, now: datetime, days: int) -> int:
    cutoff = now - timedelta(days=days)
    due = session.scalars(
        select(Ticket)
        .where(
            Ticket.anonymised_at.is_(None),
            Ticket.received_at < cutoff,
            Ticket.updated_at < cutoff,
            or_(Ticket.closed_at.is_(None), Ticket.closed_at < cutoff),
        )
        .order_by(Ticket.id)
    ).all()
    for ticket in due:
        anonymise_ticket(session, ticket, now=now, days=days)
    session.flush()
    return len(due)


# --- 2. transcripts -------------------------------------------------------------------------


def delete_transcripts(session: Session, *, now: datetime, days: int) -> int:
    cutoff = now - timedelta(days=days)
    due = session.scalars(
        select(Handoff)
        .where(
            Handoff.transcript.is_not(None),
            func.coalesce(Handoff.closed_at, Handoff.created_at) < cutoff,
            Handoff.status.not_in(("waiting", "active")),
        )
        .order_by(Handoff.id)
    ).all()
    for handoff in due:
        ticket_id = None
        if handoff.ticket_no:
            ticket_id = session.scalar(select(Ticket.id).where(Ticket.ticket_no == handoff.ticket_no))
        handoff.transcript = None
        handoff.summary = mask_summary(handoff.summary)
        _audit(
            session,
            action=TRANSCRIPT_DELETED,
            now=now,
            ticket_id=ticket_id,
            field="transcript",
            new=f"handoff #{handoff.id}, older than {days} days",
        )
    session.flush()
    return len(due)


# --- 3. keys, counters, tokens --------------------------------------------------------------


def delete_expired_keys(session: Session, *, now: datetime, settings: Settings) -> tuple[int, int, int]:
    key_cutoff = now - timedelta(days=settings.retention_idempotency_days)
    keys = session.execute(delete(IdempotencyKey).where(IdempotencyKey.created_at < key_cutoff)).rowcount
    # A counter whose window has ended counts as nothing (verify_guard.reserve restarts it).
    window = timedelta(minutes=max(settings.verify_window_minutes, settings.login_window_minutes))
    counters = session.execute(
        delete(VerifyFailure).where(VerifyFailure.window_start < now - window)
    ).rowcount
    tokens = session.execute(delete(ApiToken).where(ApiToken.expires_at < now)).rowcount
    return keys, counters, tokens


def purge(session: Session, *, settings: Settings, now: datetime, report: Report | None = None) -> Report:
    """Steps 1-3 in the caller's transaction (flushes; the caller commits)."""
    report = report or Report()
    report.tickets_anonymised = anonymise_tickets(session, now=now, days=settings.retention_complaint_days)
    report.transcripts_deleted = delete_transcripts(session, now=now, days=settings.retention_transcript_days)
    keys, counters, tokens = delete_expired_keys(session, now=now, settings=settings)
    report.idempotency_keys_deleted = keys
    report.verify_counters_deleted = counters
    report.tokens_deleted = tokens
    report.contacts_deleted, report.disruption_recipients_masked = purge_contacts(
        session, now=now, days=settings.retention_tracker_days
    )
    return report


# --- 5. booking contacts and disruption recipients -----------------------------------------


def purge_contacts(session: Session, *, now: datetime, days: int) -> tuple[int, int]:
    """Contacts idle for `days` deleted; older disruption recipients' conversation ids masked
    (a masked id contains "…", so a second run leaves them alone). Returns both counts."""
    cutoff = now - timedelta(days=days)
    contacts = session.execute(delete(BookingContact).where(BookingContact.last_seen_at < cutoff)).rowcount
    recipients = list(
        session.scalars(
            select(DisruptionRecipient).where(
                DisruptionRecipient.created_at < cutoff,
                DisruptionRecipient.conversation_id.not_like("%…%"),
            )
        )
    )
    for recipient in recipients:
        masked = mask_conversation_id(recipient.conversation_id, recipient.channel)
        if recipient.notification_id is not None:
            notice = session.get(Notification, recipient.notification_id)
            if notice is not None:
                notice.conversation_id = masked
        recipient.conversation_id = masked
    session.flush()
    return contacts, len(recipients)


# --- 4. Rasa trackers -----------------------------------------------------------------------


def purge_trackers(engine: Engine, *, now: datetime, days: int) -> tuple[int, int]:
    """Delete every event of the conversations whose newest event is older than `days`.
    Returns (conversations, events) deleted; (0, 0) when the store has no `events` table yet."""
    if not inspect(engine).has_table("events"):
        return 0, 0
    cutoff = (now - timedelta(days=days)).timestamp()
    idle = (
        select(tracker_events.c.sender_id)
        .group_by(tracker_events.c.sender_id)
        .having(func.max(tracker_events.c.timestamp) < cutoff)
    )
    with engine.begin() as connection:
        senders = [row[0] for row in connection.execute(idle)]
        events = 0
        for start in range(0, len(senders), 500):
            chunk = senders[start : start + 500]
            events += connection.execute(
                delete(tracker_events).where(tracker_events.c.sender_id.in_(chunk))
            ).rowcount
    return len(senders), events


def tracker_engine(settings: Settings) -> Engine | None:
    url = settings.tracker_sqlalchemy_url
    if not url:
        return None
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite" and parsed.database and not Path(parsed.database).exists():
        return None  # Rasa has not created its store yet: nothing to purge
    from app.core.db import make_engine

    return make_engine(url)


# --- the job --------------------------------------------------------------------------------


def run_job(engine: Engine, settings: Settings, *, now: datetime) -> Report:
    """The whole job: steps 1-3 in one transaction of the API's database, then the trackers."""
    report = Report()
    with Session(engine, expire_on_commit=False) as session:
        purge(session, settings=settings, now=now, report=report)
        session.commit()
    trackers = tracker_engine(settings)
    if trackers is not None:
        try:
            report.trackers_deleted, report.tracker_events_deleted = purge_trackers(
                trackers, now=now, days=settings.retention_tracker_days
            )
        finally:
            trackers.dispose()
    log.info("retention: %s", report.as_dict())
    return report
