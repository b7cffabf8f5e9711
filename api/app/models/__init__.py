"""All tables, imported here so Alembic's metadata sees them."""

from app.models.alert import Alert, Digest
from app.models.base import Base
from app.models.booking import Booking
from app.models.contact import BookingContact
from app.models.disruption import Disruption, DisruptionRecipient
from app.models.handoff import Handoff
from app.models.job import JobRun
from app.models.notification import Notification
from app.models.ticket import (
    AuditLog,
    IdempotencyKey,
    Ticket,
    TicketCounter,
    TicketDeadline,
    TicketNote,
)
from app.models.user import ApiToken, User
from app.models.verify import VerifyFailure

__all__ = [
    "Alert",
    "ApiToken",
    "AuditLog",
    "Base",
    "Booking",
    "Digest",
    "BookingContact",
    "Disruption",
    "DisruptionRecipient",
    "Handoff",
    "JobRun",
    "Notification",
    "IdempotencyKey",
    "Ticket",
    "TicketCounter",
    "TicketDeadline",
    "TicketNote",
    "User",
    "VerifyFailure",
]
