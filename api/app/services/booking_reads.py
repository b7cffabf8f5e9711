"""What a person reads of a booking, and the audit of that read (as ticket_reads does for
tickets): supervisors see the traveller's name and phone (read_personal_data), agents see them
masked (read_masked_data), both recorded with the booking's number; the service, the bot, sees
them in full once its grant is checked (not recorded: it is the traveller's own channel).
Commits what it recorded.
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
    masked = actor.role == "agent"
    if audit.record_read(
        session,
        actor=actor.name,
        actor_role=actor.role,
        masked=masked,
        field="booking",
        booking_ref=booking.ref,
        at=now,
    ):
        session.commit()
    return booking_out(booking, masked=masked)
