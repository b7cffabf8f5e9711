"""What a person reads of a booking, and the audit of that read (as ticket_reads does for
tickets): supervisors see the traveller's name and phone, recorded as read_personal_data with the
booking's number; agents see them masked (not recorded); the service, the bot, sees them in full
once its grant is checked (not recorded). Commits what it recorded.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from app.core.security import Actor
from app.crud import audit
from app.models import Booking
from app.schemas.booking import BookingOut
from app.services.views import booking_out


def booking_view(session: Session, booking: Booking, actor: Actor, now: datetime) -> BookingOut:
    if actor.role == "supervisor":
        audit.record(
            session,
            actor=actor.name,
            actor_role=actor.role,
            action=audit.READ_PERSONAL,
            booking_ref=booking.ref,
            field="booking",
            at=now,
        )
        session.commit()
    return booking_out(booking, masked=actor.role == "agent")
