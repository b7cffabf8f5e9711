"""What a person reads of tickets, and the audit of that read, in one place: one ticket's view
(personal data shown or masked by who asks) and a page of the list (always masked). The caller
loads the tickets (TicketAccess, ticket_queries.list_tickets); these build the answer and record
the read in audit_log: read_personal_data when unmasked, read_masked_data when masked (the
service, the traveller's own channel, is not recorded). Both commit what they recorded.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from app.core.security import Actor
from app.crud import audit, bookings, ticket_queries, tickets
from app.models import Ticket
from app.schemas.ticket import TicketOut, TicketPage
from app.services.views import ticket_out, ticket_summary


def ticket_view(session: Session, ticket: Ticket, actor: Actor, now: datetime) -> TicketOut:
    """Agents see personal data (name, phone, and what the free text holds) only on their own
    tickets; supervisors and the service see it all. Every read by a person is audited:
    read_personal_data when unmasked, read_masked_data when masked."""
    masked = actor.role == "agent" and ticket.owner_id != actor.user_id
    known: tuple[str | None, ...] = ()
    if masked and ticket.booking_ref:
        holder = bookings.get_by_ref(session, ref=ticket.booking_ref)
        known = (holder.traveller_name, holder.phone) if holder else ()
    if audit.record_read(
        session,
        actor=actor.name,
        actor_role=actor.role,
        masked=masked,
        field="ticket",
        what=ticket.ticket_no,
        ticket_id=ticket.id,
        at=now,
    ):
        session.commit()
    out = ticket_out(ticket, masked=masked, now=now, known=known, staff=actor.role != "service")
    if actor.role != "service":  # the console's workspace: the allowed moves and the history
        out.next_statuses = ticket_queries.next_statuses(ticket)
        out.next_compensation_status = tickets.next_compensation_step(ticket.compensation_status)
        out.history = ticket_queries.history(session, ticket)
    return out


def ticket_page(
    session: Session, *, rows: list[Ticket], total: int, limit: int, offset: int, actor: Actor, now: datetime
) -> TicketPage:
    """A page of the list: masked rows (the booking holders' names and numbers masked in the
    traveller's words too) with the next open deadline. Lists are always masked; who listed
    which tickets is recorded all the same."""
    holders = bookings.holders(session, refs=(t.booking_ref for t in rows if t.booking_ref))
    items = [ticket_summary(t, now=now, known=holders.get(t.booking_ref, ())) for t in rows]
    for item, t in zip(items, rows):
        item.next_due_at, item.overdue = (
            ticket_queries.next_open_deadline(t),
            ticket_queries.is_overdue(t, now),
        )
    if audit.record_read(
        session,
        actor=actor.name,
        actor_role=actor.role,
        masked=True,
        field="tickets",
        what=",".join(t.ticket_no for t in rows) or None,
        at=now,
    ):
        session.commit()
    return TicketPage(items=items, total=total, limit=limit, offset=offset)
