"""Ticket intake: what POST /tickets does between the request and the response.

The complaint is classified (unless the caller gave category and severity), the Idempotency-Key
claimed (a retry gets the ticket the first request made), the ticket written and committed, and
the response built from what was just written. The route only turns the outcome into HTTP.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from app.core.security import Actor
from app.crud import bookings, idempotency
from app.crud import tickets as crud
from app.crud.tickets import Routing
from app.models import Ticket
from app.schemas.ticket import TicketCreate, TicketOut
from app.services.views import ticket_out

if TYPE_CHECKING:  # the classifier package imports spaCy: only where it is used
    from app.services.classifier import ComplaintClassifier

log = logging.getLogger(__name__)


class IdempotencyConflict(Exception):
    """The Idempotency-Key belongs to a request still in progress, or to another body (409)."""


class UnknownBooking(Exception):
    """The complaint names a booking number the booking table does not know (422)."""


@dataclass(frozen=True)
class Intake:
    ticket: TicketOut
    replayed: bool = False  # an earlier request with the same Idempotency-Key made the ticket


def route(data: TicketCreate, classifier: ComplaintClassifier) -> Routing:
    """Category and severity: the caller's when given, the classifier's for what is missing."""
    if data.category is not None and data.severity is not None:
        return Routing(data.category, data.severity, None, ["category and severity given by the caller"])
    result = classifier.classify(data.description)
    return Routing(
        category=data.category or result.category,
        severity=data.severity or result.severity,
        confidence=result.confidence if data.category is None else None,
        reasons=list(result.reasons),
    )


def open_ticket(
    session: Session,
    *,
    data: TicketCreate,
    caller: Actor,
    classifier: ComplaintClassifier,
    now: datetime,
    idempotency_key: str | None = None,
) -> Intake:
    """Create the ticket and commit; or, for a retry with the same key and body, answer with the
    ticket the first request made. Raises IdempotencyConflict or UnknownBooking."""
    # Classify before touching the database: on SQLite the first statement takes the write lock.
    routing = route(data, classifier)
    staff = caller.role != "service"
    fingerprint = idempotency.request_fingerprint(data)
    if idempotency_key:
        # Claim the key first (one statement). If it exists this is a retry: answer as before.
        # On PostgreSQL a concurrent claim of the same key waits here for the other transaction.
        if not idempotency.claim(session, key=idempotency_key, fingerprint=fingerprint, now=now):
            return _replay(session, idempotency_key, fingerprint, now, staff=staff)

    trip = None
    if data.booking_ref:
        trip = bookings.get_trip_dates(session, ref=data.booking_ref)
        if trip is None:
            raise UnknownBooking(data.booking_ref)
    ticket = crud.create_ticket(session, data=data, routing=routing, trip=trip, actor=caller, now=now)
    if idempotency_key:
        idempotency.bind(session, key=idempotency_key, ticket_id=ticket.id)
    session.commit()
    log.info(
        "ticket %s created by %s: %s/%s", ticket.ticket_no, caller.name, ticket.category, ticket.severity
    )
    # The children just written are known: skip reading them back for the response. The ticket
    # leaves the session first, so these copies can never be flushed (a later request reloads).
    session.expunge(ticket)
    set_committed_value(ticket, "notes", [])
    set_committed_value(ticket, "deadlines", crud.deadlines_as_written(ticket))
    return Intake(ticket_out(ticket, masked=False, now=now, staff=staff))


def _replay(session: Session, key: str, fingerprint: str, now: datetime, *, staff: bool) -> Intake:
    row = idempotency.lookup(session, key=key)
    if row is None or row[1] is None:
        raise IdempotencyConflict("request with this Idempotency-Key is in progress")
    if row[0] != fingerprint:
        raise IdempotencyConflict("Idempotency-Key was used with a different request body")
    ticket = session.get(Ticket, row[1])
    return Intake(ticket_out(ticket, masked=False, now=now, staff=staff), replayed=True)
